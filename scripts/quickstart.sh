#!/usr/bin/env bash
# moodcast quick start: install into .venv, start a local MQTT broker (mosquitto if installed,
# else an embedded one), start the page (moodcast web) and run the daemon on the shipped sample clip,
# printing what a subscriber receives. Extra arguments go to `moodcast run` (e.g. --source 0 for a
# USB camera).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$python" -m venv .venv
fi
echo "== installing moodcast into .venv (ai-edge-litert, OpenCV, paho-mqtt, numpy; flask and waitress for the page)"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[litert,api]" -c constraints/lock.txt  # the versions the tests pass with
exec .venv/bin/python scripts/quickstart.py "$@"
