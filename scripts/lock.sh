#!/usr/bin/env bash
# Write constraints/lock.txt: the exact versions the tests run with (scripts/test.sh installs with
# -c constraints/lock.txt, so a fresh clone tomorrow resolves as today). Run it on purpose, to take
# upgrades: it resolves moodcast[litert,train,api,play,test] afresh in a scratch venv, then commit
# the file once scripts/test.sh passes with it. Python 3.11 (the CI's and Bookworm's).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv "$scratch/venv"
echo "== resolving moodcast[litert,train,api,play,test] with no constraints"
"$scratch/venv/bin/python" -m pip install --upgrade pip
"$scratch/venv/bin/python" -m pip install ".[litert,train,api,play,test]"
{
  echo "# The versions scripts/test.sh installs (pip -c). Written by scripts/lock.sh on $("$python" -V 2>&1);"
  echo "# update on purpose with that script, never by hand."
  "$scratch/venv/bin/python" -m pip freeze --all --exclude-editable | grep -v -i -E "^(moodcast|pip)[= ]" | LC_ALL=C sort -f
} >constraints/lock.txt
echo "constraints/lock.txt: $(grep -vc '^#' constraints/lock.txt) packages"
