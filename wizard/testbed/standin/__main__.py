"""``python -m wizard.testbed.standin``: the stand-in on its own
(see :mod:`wizard.testbed.standin`)."""

import sys

from wizard.testbed.standin.cli import main

sys.exit(main())
