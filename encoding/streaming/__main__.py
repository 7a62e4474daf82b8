"""``python -m encoding.streaming`` (see :func:`encoding.streaming.cli.main`)."""

import sys

from encoding.streaming.cli import main

sys.exit(main())
