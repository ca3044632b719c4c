"""``python -m aiotus`` over tuskit."""

import sys

from tuskit_cli.aiotus import main

sys.exit(main())
