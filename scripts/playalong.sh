#!/usr/bin/env bash
# Play along (docs/play.md, "Try it"): a local broker and MPD on
# generated tracks, the daemon on the sample clip, and `moodcast play` following it. Needs mpd and
# sox (sudo apt install mpd sox). Arguments go to scripts/playalong.py (--audio to hear it).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then "$python" -m venv .venv; fi
echo "== installing moodcast[litert,play] into .venv"
.venv/bin/python -m pip install -q -e ".[litert,play]"
exec .venv/bin/python scripts/playalong.py "$@"
