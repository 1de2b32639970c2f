import sys

from annotask.cli import main

sys.exit(main())
