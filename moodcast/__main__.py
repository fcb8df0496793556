"""``python -m moodcast``: the same as the ``moodcast`` command."""

import sys

from moodcast.cli import main

sys.exit(main())
