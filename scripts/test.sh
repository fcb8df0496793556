#!/usr/bin/env bash
# moodcast's test command (README "Quick start"; CI runs exactly this). Installs what the tests
# need: the programs in tests/tools.txt (apt, when root), .venv with the litert/train/api/play/test extras,
# and .venv-tflite with the tflite extra (tflite-runtime 2.14) for the compatibility gate; then ruff and pytest.
# Arguments go to pytest (e.g. -k mqtt, -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}

need_apt=()
while read -r tool package; do
  case "$tool" in '#'* | '') continue ;; esac
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || need_apt+=("$package")
done < tests/tools.txt
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    mapfile -t need_apt < <(printf '%s\n' "${need_apt[@]}" | sort -u)
    echo "== apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing: ${need_apt[*]}; install them (sudo apt-get install ${need_apt[*]}) and run again" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then "$python" -m venv .venv; fi
echo "== .venv: moodcast[litert,train,api,play,test]"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[litert,train,api,play,test]"
# The GPU recipe's smoke test (tests/test_gpu_recipe.py) runs scripts/gpu_teachers.py on the CPU.
# 2.13.0 is the CPU build these machines keep on disk; any torch >= 2.1 runs the recipe.
.venv/bin/python -m pip install -q "torch==2.13.0"

# tflite-runtime 2.14 exists for Python <= 3.11 only and needs numpy < 2: its own venv, installed
# the README's way for the fallback (the tflite extra with constraints/bookworm.txt).
if "$python" -c 'import sys; sys.exit(sys.version_info >= (3, 12))'; then
  if [ ! -x .venv-tflite/bin/python ]; then "$python" -m venv .venv-tflite; fi
  echo "== .venv-tflite: moodcast[tflite] -c constraints/bookworm.txt (compatibility gate)"
  .venv-tflite/bin/python -m pip install -q -e ".[tflite]" -c constraints/bookworm.txt
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
