#!/bin/bash
# One leg of scripts/pi-check.sh, run INSIDE an arm64 root (through qemu-aarch64-static): make a
# venv the way docs/install-pi.md says, install moodcast with the given pip
# arguments, and record what happened under /opt/results/<suite>-<leg>/:
#   pip.log, pip-check.log, versions.json, sizes.txt, abi.txt, startup.json, analyze.json (+ .err), leg.json
# Usage (in the root): pi_check_leg.sh SUITE LEG "PIP ARGS" [AFTER]
#   AFTER=numpy-fix: then run the install docs' old fix (pip install "numpy<2") and record it too, then
#   docs/install-pi.md's repair (the Bookworm line with constraints/bookworm.txt).
# Needs in the root: python3, python3-venv, python3-numpy, python3-pywt (a Cython module built
# against apt's numpy: the stand-in for picamera2's simplejpeg), /opt/moodcast (the clone),
# /opt/data/images (the images), /opt/results (written).
set -uo pipefail
suite=$1 leg=$2 pip_args=$3 after=${4:-}
out=/opt/results/$suite-$leg
venv=/opt/moodcast/.venv-$leg
mkdir -p "$out"
cd /opt/moodcast || exit 1
now() { date +%s.%N; }
secs() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$1" "$2"; }

rm -rf "$venv"
t0=$(now)
python3 -m venv --system-site-packages "$venv"
# shellcheck disable=SC2086  # the pip arguments are words on purpose
"$venv/bin/pip" install --disable-pip-version-check $pip_args >"$out/pip.log" 2>&1
pip_rc=$?
t1=$(now)
pip_s=$(secs "$t0" "$t1")
if grep -q "dependency resolver does not currently take into account" "$out/pip.log"; then resolver_errors=true; else resolver_errors=false; fi
"$venv/bin/pip" check >"$out/pip-check.log" 2>&1
check_rc=$?

"$venv/bin/python" - >"$out/versions.json" 2>"$out/versions.err" <<'EOF'
import importlib, json, platform, sys
from importlib import metadata
def dist(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
import numpy
v = {"python": platform.python_version(), "machine": platform.machine(),
     "numpy": numpy.__version__, "numpy_from": "apt" if numpy.__file__.startswith("/usr/lib/python3/") else "venv",
     "ai_edge_litert": dist("ai-edge-litert"), "tflite_runtime": dist("tflite-runtime"),
     "opencv": dist("opencv-python-headless"), "ml_dtypes": dist("ml-dtypes"), "pillow": dist("pillow")}
try:
    import cv2
    v["cv2"] = cv2.__version__
except Exception as exc:
    v["cv2"] = f"error: {exc}"
try:
    from moodcast.edge.vision.runtime import interpreter_class
    v["runtime"] = interpreter_class()[0]
except Exception as exc:
    v["runtime"] = f"error: {exc}"
print(json.dumps(v))
EOF

du -sm "$venv" | cut -f1 >"$out/venv_mb"
site=$(echo "$venv"/lib/python3*/site-packages)
du -sm "$site"/* 2>/dev/null | sort -rn | head -12 >"$out/sizes.txt"

# The numpy ABI check: a module built against apt's numpy imported in this venv.
"$venv/bin/python" -c "import numpy, pywt; print('numpy', numpy.__version__, 'from', numpy.__file__); print('pywt', pywt.__version__, 'imports')" >"$out/abi.txt" 2>&1
abi_rc=$?

fix_rc=null fix_resolver_errors=null fix_abi_rc=null repair_rc=null repair_resolver_errors=null repair_check_rc=null repair_abi_rc=null
if [ "$after" = numpy-fix ]; then
  "$venv/bin/pip" install --disable-pip-version-check "numpy<2" >"$out/numpy-fix.log" 2>&1
  fix_rc=$?
  if grep -q "dependency resolver does not currently take into account" "$out/numpy-fix.log"; then fix_resolver_errors=true; else fix_resolver_errors=false; fi
  "$venv/bin/python" -c "import numpy, pywt, cv2" >"$out/numpy-fix-abi.txt" 2>&1
  fix_abi_rc=$?
  # docs/install-pi.md's repair of such a venv: the Bookworm line again (constraints/bookworm.txt).
  "$venv/bin/pip" install --disable-pip-version-check -e ".[litert]" -c constraints/bookworm.txt >"$out/repair.log" 2>&1
  repair_rc=$?
  if grep -q "dependency resolver does not currently take into account" "$out/repair.log"; then repair_resolver_errors=true; else repair_resolver_errors=false; fi
  "$venv/bin/pip" check >"$out/repair-pip-check.log" 2>&1
  repair_check_rc=$?
  "$venv/bin/python" -c "import numpy, pywt, cv2; print('numpy', numpy.__version__, numpy.__file__, 'cv2', cv2.__version__)" >"$out/repair-abi.txt" 2>&1
  repair_abi_rc=$?
fi

# Start-up: the command, its imports and the models on one photo (emulated: compare, do not quote as a Pi).
t0=$(now)
"$venv/bin/moodcast" analyze --json /opt/data/images/astronaut.jpg >"$out/startup.out" 2>"$out/startup.err"
startup_rc=$?
t1=$(now)
startup_s=$(secs "$t0" "$t1")

# All the images (not after the numpy fix: that venv only shows the ABI problem; its start-up run
# above is compared instead).
images=(/opt/data/images/*.jpg)
[ "$after" = numpy-fix ] && images=(/opt/data/images/astronaut.jpg)
t0=$(now)
"$venv/bin/moodcast" analyze --json "${images[@]}" >"$out/analyze.out" 2>"$out/analyze.err"
analyze_rc=$?
t1=$(now)
analyze_s=$(secs "$t0" "$t1")
tail -n 1 "$out/analyze.out" >"$out/analyze.json"
if grep -q "XNNPACK delegate" "$out/analyze.err"; then xnnpack=true; else xnnpack=false; fi

cat >"$out/leg.json" <<EOF
{"suite": "$suite", "leg": "$leg", "pip_args": "$pip_args", "pip_rc": $pip_rc, "pip_s": $pip_s,
 "pip_resolver_errors": $resolver_errors, "pip_check_rc": $check_rc, "venv_mb": $(cat "$out/venv_mb"),
 "abi_rc": $abi_rc, "numpy_fix_rc": $fix_rc, "numpy_fix_resolver_errors": $fix_resolver_errors,
 "numpy_fix_abi_rc": $fix_abi_rc, "repair_rc": $repair_rc, "repair_resolver_errors": $repair_resolver_errors,
 "repair_pip_check_rc": $repair_check_rc, "repair_abi_rc": $repair_abi_rc, "startup_rc": $startup_rc, "startup_s": $startup_s,
 "analyze_rc": $analyze_rc, "analyze_s": $analyze_s, "xnnpack": $xnnpack}
EOF
echo "leg $suite-$leg: pip rc $pip_rc (${pip_s}s), venv $(cat "$out/venv_mb") MB, abi rc $abi_rc, analyze rc $analyze_rc (${analyze_s}s)"
