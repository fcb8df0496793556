#!/usr/bin/env bash
# The non-blocking check against the newest versions: scripts/test.sh in .venv-latest with no lock.
# Red here and green with the lock means an upgrade breaks something: fix it, then scripts/lock.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
MOODCAST_UNLOCKED=1 MOODCAST_VENV=.venv-latest exec ./scripts/test.sh "$@"
