"""``python -m mock_server.settings --table`` / ``--write README.md``: the README's settings table."""

import sys

from .table import main

sys.exit(main())
