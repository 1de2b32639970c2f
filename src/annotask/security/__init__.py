"""Guards for everything a client controls: paths, names, archives, URLs and XML.

Each concern has exactly one implementation here (see ARCHITECTURE.md, "Security
in one place each") so that a fix lands everywhere at once. The modules are pure
library code: no HTTP server, no database, no settings import at module level.
"""

from annotask.security.errors import UnsafeInput

__all__ = ["UnsafeInput"]
