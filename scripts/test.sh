#!/usr/bin/env bash
# moodcast's test command (README "Quick start"; CI runs exactly this). Installs what the tests
# need: the programs in tests/tools.txt (apt, when root), .venv with the litert/train/api/play/test
# extras at the versions in constraints/lock.txt (scripts/lock.sh updates them), and .venv-tflite
# with the tflite extra (tflite-runtime 2.14) for the compatibility gate; then ruff and pytest.
# Arguments go to pytest (e.g. -k mqtt, -m "not slow").
# MOODCAST_UNLOCKED=1 installs the newest versions instead (scripts/test-latest.sh: the
# non-blocking check that tells when an upgrade breaks something).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
venv=${MOODCAST_VENV:-.venv}
lock=(-c constraints/lock.txt)
[ "${MOODCAST_UNLOCKED:-0}" = 1 ] && lock=()

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
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_apt[@]}" |
      { grep --line-buffered -E '^(Get:|Setting up|E:)' || true; }
  else
    echo "missing: ${need_apt[*]}; install them (sudo apt-get install ${need_apt[*]}) and run again" >&2
    exit 1
  fi
fi

pip_install() { # one line per package pip collects, so a long install shows its progress
  if ! "$@" 2>&1 | { grep --line-buffered -E '^(Collecting|Successfully|ERROR|error)' || true; }; then
    echo "pip failed: $*" >&2
    exit 1
  fi
}

if [ ! -x "$venv/bin/python" ]; then "$python" -m venv "$venv"; fi
echo "== $venv: moodcast[litert,train,api,play,test] ${lock[*]}"
"$venv/bin/python" -m pip install -q --upgrade pip
pip_install "$venv/bin/python" -m pip install -e ".[litert,train,api,play,test]" "${lock[@]}"
# The GPU recipe's smoke test (tests/test_gpu_recipe.py) trains with torch on the CPU. PyPI's torch
# for Linux x86-64 is a CUDA build of several GB, so torch is installed only where pip finds a CPU
# build without an index (a wheel in its find-links, as these machines keep); else that test skips.
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  cpu_torch=$(mktemp -d)
  if "$venv/bin/python" -m pip download -q --no-deps --no-index --only-binary=:all: -d "$cpu_torch" torch 2>/dev/null &&
    ls "$cpu_torch"/torch-*+cpu-*.whl >/dev/null 2>&1; then
    echo "== $venv: $(basename "$cpu_torch"/torch-*.whl) (for the GPU recipe's smoke test)"
    pip_install "$venv/bin/python" -m pip install "$cpu_torch"/torch-*.whl "${lock[@]}"
  else
    echo "== no CPU build of torch in pip's find-links: tests/test_gpu_recipe.py's teacher run will skip"
  fi
  rm -rf "$cpu_torch"
fi

# tflite-runtime 2.14 exists for Python <= 3.11 only and needs numpy < 2: its own venv, installed
# docs/install-pi.md's way for the fallback (the tflite extra with constraints/bookworm.txt).
if "$python" -c 'import sys; sys.exit(sys.version_info >= (3, 12))'; then
  if [ ! -x .venv-tflite/bin/python ]; then "$python" -m venv .venv-tflite; fi
  echo "== .venv-tflite: moodcast[tflite] -c constraints/bookworm.txt (compatibility gate)"
  pip_install .venv-tflite/bin/python -m pip install -e ".[tflite]" -c constraints/bookworm.txt
fi

echo "== ruff"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
echo "== pytest"
exec "$venv/bin/python" -m pytest "$@"
