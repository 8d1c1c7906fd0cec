"""``python -m wizard.standin``: the stand-in on its own (see :mod:`wizard.standin`)."""

import sys

from wizard.standin.cli import main

sys.exit(main())
