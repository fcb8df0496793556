"""The repository these scripts run from (they are checkout tools, not part of the installed
package), the development data beside it, and the test bed they share with the tests."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# ../shared/data from the repository, as the brief lays it out; MOODCAST_DATA elsewhere.
DATA = Path(os.environ.get("MOODCAST_DATA", REPO.parent / "shared" / "data"))
# testbed/: a local broker, a local MPD and synthetic clips, for the tests and these scripts.
if str(REPO / "testbed") not in sys.path:
    sys.path.insert(0, str(REPO / "testbed"))
