"""``python -m mock_server.settings --table`` / ``--write docs/settings.md``: the settings table of ``docs/settings.md``."""

import sys

from .table import main

sys.exit(main())
