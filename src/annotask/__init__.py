"""annotask: a self-hosted annotation server compatible with CVAT's REST API."""

__version__ = "0.1.0"
CVAT_API_VERSION = "2.80.0"
