"""``python -m neuralab`` is the ``neuralab`` command."""

import sys

from neuralab.cli import main

sys.exit(main())
