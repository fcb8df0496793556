#!/usr/bin/env bash
# The aarch64 check (docs/install-pi.md): arm64 Debian Bookworm (Python 3.11) and
# Trixie (3.13) roots run through qemu-aarch64-static, moodcast installed in them the way docs/install-pi.md
# says, `moodcast analyze --json` on the sample photo and FER2013 validation crops compared with the
# x86-64 run of the same commit; also the tflite-runtime 2.14 fallback (Bookworm), docs/install-pi.md's apt
# packages on Debian arm64, and the numpy ABI between apt's packages and the venv.
#
# Run as root on a Debian/Ubuntu x86-64 host, in the background (27 minutes for everything on 2
# shared x86-64 cores, roots built again, 2026-12-01; a resumed run with nothing left to do: 25 s):
#   setsid nohup nice -n 10 ./scripts/pi-check.sh > /tmp/pi-check.log 2>&1 &
# (stop it with kill -- -PID: the emulated processes are in its process group)
# Environment:
#   MOODCAST_PI_DIR   where roots, caches and results live (default /var/tmp/moodcast-pi; never the repo)
#   PI_CHECK_SUITES   default "bookworm trixie"
#   PI_CHECK_LEGS     default "default tflite naive" (Bookworm; Trixie runs "default" only)
#   PI_CHECK_PER_CLASS  validation crops per class (7 classes; default 43 -> 301 crops)
#   PI_CHECK_CPU      the emulated CPU (default cortex-a72, a Raspberry Pi 4's)
#   PI_CHECK_REBUILD=1  build the roots again (else an existing root is reused)
#   PI_CHECK_RUN      results folder name (default a UTC stamp); an existing one is resumed
#   PI_CHECK_CA       CA bundle copied into the roots for pip (default the host's; a TLS-intercepting proxy's CA)
# Resumable: roots, the pip cache and the crops are reused; each run writes
# $MOODCAST_PI_DIR/results/<UTC stamp>/ (result.json, logs) and links results/latest to it.
#
# How a root is made: `mmdebstrap --variant=extract` unpacks python3, python3-venv, python3-numpy,
# python3-pywt (+ their dependencies) without running any maintainer script under emulation; the
# things those scripts would do that these programs need are done on the host (the libblas/liblapack
# alternatives links, /bin/sh, /etc/ssl/certs/ca-certificates.crt). The repository is cloned on the host
# into the root's /opt/moodcast (`git clone` of HEAD: commit first); then, in the root (chroot +
# qemu-aarch64-static via binfmt_misc, /proc and /sys mounted, /proc/cpuinfo replaced by a
# Cortex-A72's: without /proc and /sys XNNPACK is not used, with the host's x86 cpuinfo the
# interpreter segfaults), scripts/pi_check_leg.sh runs docs/install-pi.md's
# `python3 -m venv --system-site-packages` and `pip install` lines.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
base=${MOODCAST_PI_DIR:-/var/tmp/moodcast-pi}
suites=${PI_CHECK_SUITES:-bookworm trixie}
legs=${PI_CHECK_LEGS:-default tflite naive}
per_class=${PI_CHECK_PER_CLASS:-43}
cpu=${PI_CHECK_CPU:-cortex-a72}
host_ca=${PI_CHECK_CA:-/etc/ssl/certs/ca-certificates.crt}
mirror=http://deb.debian.org/debian
fer_zip=${PI_CHECK_FER:-$repo/../shared/data/fer2013/archive.zip}
case "$base" in "$repo" | "$repo"/*) echo "MOODCAST_PI_DIR must be outside the repository" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "run as root (mmdebstrap, chroot, mount)" >&2; exit 2; }

# PI_CHECK_RUN=<name> writes into (or resumes) results/<name>: legs with a leg.json are not run again.
run=$base/results/${PI_CHECK_RUN:-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$run" "$base/roots" "$base/pip-cache" "$base/data"
ln -sfn "$run" "$base/results/latest"
[ -e "$run/date" ] || date -u '+%Y-%m-%d %H:%M UTC' >"$run/date"
log() { echo "[$(date -u +%H:%M:%S)] $*"; }
now() { date +%s.%N; }
secs() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$1" "$2"; }

# ---- host tools
. "$repo/scripts/pi_host_tools.sh"
grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
  { echo "qemu-aarch64 binfmt lacks the F flag: the chroot cannot find the interpreter" >&2; exit 1; }
python3 - >"$run/host.json" <<EOF
import json, platform, subprocess
q = subprocess.run(["qemu-aarch64-static", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
m = subprocess.run(["mmdebstrap", "--version"], capture_output=True, text=True).stdout.strip()
print(json.dumps({"machine": platform.machine(), "cpus": $(nproc), "qemu": q, "mmdebstrap": m, "emulated_cpu": "$cpu",
                  "commit": "$(git -C "$repo" rev-parse --short HEAD)"}))
EOF

# ---- images: the sample photo and the first PI_CHECK_PER_CLASS crops of each class of FER2013's test/
images=$base/data/images-$per_class
if [ ! -e "$images/.done" ]; then
  log "extracting $per_class validation crops per class from $fer_zip"
  rm -rf "$images" && mkdir -p "$images"
  python3 - "$fer_zip" "$images" "$per_class" <<'EOF'
import collections, sys, zipfile
from pathlib import Path
zip_path, out, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
by_class = collections.defaultdict(list)
with zipfile.ZipFile(zip_path) as z:
    for name in sorted(z.namelist()):
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == "test" and name.endswith(".jpg"):
            by_class[parts[1]].append(name)
    for label, names in sorted(by_class.items()):
        for name in names[:n]:
            (out / f"{label}_{Path(name).name}").write_bytes(z.read(name))
EOF
  touch "$images/.done"
fi
cp "$repo/samples/astronaut.jpg" "$images/astronaut.jpg"

# ---- the x86-64 reference: the same commit, this checkout's .venv. One reference per commit (made
# for HEAD now, and for each leg's commit after it: HEAD may move during a run), in a clone per commit.
clone_at() { # the clone of COMMIT under $base/x86-clones (made once)
  local dir=$base/x86-clones/$1
  if [ ! -e "$dir/.git" ]; then
    rm -rf "$dir" && git clone -q "$repo" "$dir" && git -C "$dir" checkout -q "$1"
  fi
  echo "$dir"
}
x86_reference() {
  local commit=$1 src
  [ -s "$run/x86-$commit.json" ] && return 0
  src=$(clone_at "$commit")
  log "x86-64 reference: analyze $(find "$images" -name '*.jpg' | wc -l) images at $commit"
  (cd "$src" && PYTHONPATH=$src "$repo/.venv/bin/python" -m moodcast analyze --json "$images"/*.jpg \
    >"$run/x86-$commit.out" 2>"$run/x86-$commit.err")
  tail -n 1 "$run/x86-$commit.out" >"$run/x86-$commit.json"
  (cd "$src" && PYTHONPATH=$src "$repo/.venv/bin/python" -c "
import json, platform, numpy, cv2
from moodcast import edge
from importlib import metadata
from moodcast.edge.vision.runtime import interpreter_class
assert edge.__file__.startswith('$src/'), edge.__file__
print(json.dumps({'python': platform.python_version(), 'numpy': numpy.__version__, 'cv2': cv2.__version__,
                  'runtime': interpreter_class()[0], 'ai_edge_litert': metadata.version('ai-edge-litert')}))
" >"$run/x86-versions-$commit.json")
}
x86_reference "$(git -C "$repo" rev-parse --short HEAD)"

# ---- what Debian arm64 has of docs/install-pi.md's apt packages (host apt, arm64 lists, nothing installed)
apt_check() {
  local suite=$1 dir=$base/apt-$1
  mkdir -p "$dir/etc/apt/apt.conf.d" "$dir/etc/apt/preferences.d" "$dir/var/lib/apt/lists/partial" \
    "$dir/var/cache/apt/archives/partial" "$dir/var/lib/dpkg"
  touch "$dir/var/lib/dpkg/status"
  echo "deb $mirror $suite main" >"$dir/etc/apt/sources.list"
  local opts=(-o "Dir=$dir" -o "Dir::State::status=$dir/var/lib/dpkg/status" -o APT::Architecture=arm64
    -o APT::Architectures=arm64 -o Dir::Etc::TrustedParts=/usr/share/keyrings)
  apt-get "${opts[@]}" update -qq >/dev/null 2>"$dir/update.err" || { cat "$dir/update.err" >&2; return 1; }
  # docs/install-pi.md's apt line, then what picamera2 needs (Raspberry Pi OS names them), then the ABI stand-ins.
  local packages=(python3-venv python3-picamera2 git mosquitto mosquitto-clients python3-libcamera
    libcamera0.0.3 libcamera0.4 libcamera0.5 libcamera-tools python3-simplejpeg python3-kms++ python3-prctl python3-pidng
    python3-numpy python3-opencv python3-pywt)
  local json="{" sep="" p v
  for p in "${packages[@]}"; do
    v=$(apt-cache "${opts[@]}" policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [ -n "$v" ] && [ "$v" != "(none)" ] && v="\"$v\"" || v=null
    json+="$sep\"$p\": $v" sep=", "
  done
  echo "$json}" >"$run/apt-$suite.json"
}

# ---- roots
fake_cpuinfo=$base/cpuinfo-$cpu
# A Raspberry Pi 4's /proc/cpuinfo (Cortex-A72, r0p3), one block per host CPU (what /sys shows).
: >"$fake_cpuinfo"
for ((i = 0; i < $(nproc); i++)); do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i" >>"$fake_cpuinfo"
done
printf 'Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B (emulated)\n' >>"$fake_cpuinfo"

# What a Raspberry Pi OS Lite image has that the wheels need (libstdc++ for OpenCV and LiteRT),
# docs/install-pi.md's python3-venv, and apt's numpy with a Cython module built against it (the ABI check).
root_packages=bash,coreutils,dash,findutils,grep,sed,libstdc++6,libgcc-s1,zlib1g,libgomp1,ca-certificates
root_packages+=,python3,python3-venv,python3-numpy,python3-pywt
build_root() {
  local suite=$1 root=$base/roots/$1
  if [ -e "$root/.ready" ] && [ "${PI_CHECK_REBUILD:-0}" != 1 ]; then
    log "root $suite: reusing $root (built $(cat "$root/.ready"))"
    echo "{\"reused\": true, \"built\": \"$(cat "$root/.ready")\", \"build_s\": $(cat "$root/.build_s")}" >"$run/root-$suite.json"
    return
  fi
  log "root $suite: mmdebstrap --variant=extract"
  rm -rf "$root" "$root.tmp"
  local t0
  t0=$(now)
  mmdebstrap --quiet --variant=extract --architectures=arm64 \
    --include=$root_packages \
    "$suite" "$root.tmp" "$mirror"
  # What the skipped maintainer scripts would have done that these programs need:
  local lib=$root.tmp/usr/lib/aarch64-linux-gnu
  ln -sf blas/libblas.so.3 "$lib/libblas.so.3"
  ln -sf lapack/liblapack.so.3 "$lib/liblapack.so.3"
  [ -e "$root.tmp/bin/sh" ] || ln -s dash "$root.tmp/usr/bin/sh"
  cat "$root.tmp"/usr/share/ca-certificates/mozilla/*.crt >"$root.tmp/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$root.tmp"/{proc,sys,dev,root/.cache/pip,opt/moodcast,opt/data/images,opt/results,tmp}
  chmod 1777 "$root.tmp/tmp"
  secs "$t0" "$(now)" >"$root.tmp/.build_s"
  date -u '+%Y-%m-%d %H:%M UTC' >"$root.tmp/.ready"
  mv "$root.tmp" "$root"
  echo "{\"reused\": false, \"built\": \"$(cat "$root/.ready")\", \"build_s\": $(cat "$root/.build_s")}" >"$run/root-$suite.json"
}

mounted=()
mount_root() {
  local suite=$1 root=$base/roots/$1
  mkdir -p "$base/pip-cache/$suite"
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
  mount --bind "$fake_cpuinfo" "$root/proc/cpuinfo" && mounted+=("$root/proc/cpuinfo")
  mount -t sysfs sysfs "$root/sys" && mounted+=("$root/sys")
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && mounted+=("$root/dev")
  mount --bind "$base/pip-cache/$suite" "$root/root/.cache/pip" && mounted+=("$root/root/.cache/pip")
  mount --bind "$images" "$root/opt/data/images" && mount -o remount,bind,ro "$root/opt/data/images" &&
    mounted+=("$root/opt/data/images")
  mount --bind "$run" "$root/opt/results" && mounted+=("$root/opt/results")
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # A network that intercepts TLS (as this workplace's does) has its CA in the host's bundle.
  if [ -f "$host_ca" ]; then cp "$host_ca" "$root/etc/ssl/certs/ca-certificates.crt"; fi
}
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -R "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true; done
  mounted=()
}
trap unmount_all EXIT

in_root() {
  local suite=$1
  shift
  chroot "$base/roots/$suite" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin \
    QEMU_CPU="$cpu" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt "$@"
}

# ---- the same commit on x86-64 with the leg's own versions of numpy, OpenCV and the runtime: what
# the architecture alone changes (the x86-64 reference above also differs in library versions).
x86_same_versions() {
  local leg_dir=$1 pins venv extra src
  [ -s "$leg_dir/versions.json" ] && [ -s "$leg_dir/analyze.json" ] && [ -s "$leg_dir/commit" ] || return 0
  x86_reference "$(cat "$leg_dir/commit")"
  [ -s "$leg_dir/x86-same-versions.json" ] && return 0
  src=$(clone_at "$(cat "$leg_dir/commit")")
  pins=$(python3 - "$leg_dir/versions.json" <<'EOF2'
import json, sys
v = json.load(open(sys.argv[1]))
names = {"numpy": "numpy", "opencv": "opencv-python-headless", "ai_edge_litert": "ai-edge-litert",
         "tflite_runtime": "tflite-runtime", "ml_dtypes": "ml-dtypes"}
print(" ".join(f"{dist}=={v[key]}" for key, dist in names.items() if v.get(key)))
EOF2
  )
  case $pins in *tflite-runtime*) extra=tflite ;; *) extra=litert ;; esac
  venv=$base/x86-venvs/$(echo "$pins" | sha256sum | cut -c1-12)
  if [ ! -x "$venv/bin/moodcast" ]; then
    log "x86-64 venv with $pins"
    rm -rf "$venv" && python3 -m venv "$venv"
    # shellcheck disable=SC2086  # one word per pin
    "$venv/bin/pip" install -q -e "${src}[$extra]" $pins >"$leg_dir/x86-same-versions-pip.log" 2>&1 ||
      { log "x86-64 venv with $pins: pip failed"; return 0; }
  fi
  echo "$pins" >"$leg_dir/x86-same-versions.pins"
  (cd "$src" && PYTHONPATH=$src "$venv/bin/python" -m moodcast analyze --json "$images"/*.jpg 2>/dev/null |
    tail -n 1 >"$leg_dir/x86-same-versions.json")
}

for suite in $suites; do
  log "apt check $suite (arm64)"
  apt_check "$suite" || log "apt check $suite failed"
  build_root "$suite"
  root=$base/roots/$suite
  # docs/install-pi.md: git clone <this repository> /opt/moodcast (on the host: the root has no git)
  rm -rf "$root/opt/moodcast" && git clone -q "$repo" "$root/opt/moodcast"
  cp "$repo/scripts/pi_check_leg.sh" "$root/opt/pi_check_leg.sh"
  mount_root "$suite"
  in_root "$suite" /usr/bin/python3 -c 'import platform; print("root", platform.machine(), platform.python_version())'
  if [ "$suite" = bookworm ]; then
    for leg in $legs; do
      case $leg in
        # docs/install-pi.md's Bookworm line.
        default) args='-e .[litert] -c constraints/bookworm.txt' after= ;;
        # The fallback runtime (Python 3.11 only).
        tflite) args='-e .[tflite] -c constraints/bookworm.txt' after= ;;
        # What the install docs said before: no constraints, then pip install "numpy<2".
        naive) args='-e .[litert]' after=numpy-fix ;;
        *) continue ;;
      esac
      if [ -e "$run/$suite-$leg/leg.json" ]; then
        log "leg $suite-$leg: done in this run, skipped"
      else
        log "leg $suite-$leg: pip install $args"
        in_root "$suite" /bin/bash /opt/pi_check_leg.sh "$suite" "$leg" "$args" "$after" || log "leg $suite-$leg failed"
        git -C "$root/opt/moodcast" rev-parse --short HEAD >"$run/$suite-$leg/commit"
      fi
      [ -s "$run/$suite-$leg/commit" ] && x86_reference "$(cat "$run/$suite-$leg/commit")"
      [ -n "$after" ] || x86_same_versions "$run/$suite-$leg"
    done
  else
    for leg in $legs; do
      case $leg in
        default) args='-e .[litert]' ;;
        *) continue ;;
      esac
      if [ -e "$run/$suite-$leg/leg.json" ]; then
        log "leg $suite-$leg: done in this run, skipped"
      else
        log "leg $suite-$leg: pip install $args"
        in_root "$suite" /bin/bash /opt/pi_check_leg.sh "$suite" "$leg" "$args" || log "leg $suite-$leg failed"
        git -C "$root/opt/moodcast" rev-parse --short HEAD >"$run/$suite-$leg/commit"
      fi
      x86_same_versions "$run/$suite-$leg"
    done
  fi
  unmount_all
done

log "summary"
python3 "$repo/scripts/pi_check_compare.py" "$run"
