#!/usr/bin/env bash
# scripts/install-pi.sh in emulated arm64 Debian roots (docs/install-pi.md): for each suite, a
# minbase root with apt working (mmdebstrap runs its maintainer scripts through qemu-aarch64-static),
# a clone of HEAD in it, then install (--api --play), --upgrade with an edited config and a password,
# --uninstall and --uninstall --purge, each timed; the units it installed verified by the host's
# systemd-analyze against the root; what each step left behind listed. Root on a Debian x86-64 host:
#   setsid nohup nice -n 10 ./scripts/pi-install-check.sh > /tmp/pi-install-check.log 2>&1 &
# Environment: MOODCAST_PI_DIR (default /var/tmp/moodcast-pi; roots are reused), PI_CHECK_SUITES
# (default "bookworm trixie"), PI_CHECK_REBUILD=1 builds the roots again.
# Not proven here: systemd starting the units (no systemd runs in a chroot), the camera, a Pi's speed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
base=${MOODCAST_PI_DIR:-/var/tmp/moodcast-pi}
suites=${PI_CHECK_SUITES:-bookworm trixie}
mirror=http://deb.debian.org/debian
[ "$(id -u)" = 0 ] || { echo "run as root (mmdebstrap, chroot, mount)" >&2; exit 2; }
run=$base/install-results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$run" "$base/install-roots"
log() { echo "[$(date -u +%H:%M:%S)] $*"; }

. "$repo/scripts/pi_host_tools.sh"

# A Raspberry Pi 4's /proc/cpuinfo: with the host's x86 one LiteRT's XNNPACK crashes under qemu.
cpuinfo=$base/cpuinfo-install
: >"$cpuinfo"
for ((i = 0; i < $(nproc); i++)); do
  printf 'processor\t: %d\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i" >>"$cpuinfo"
done

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -R "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true; done
  mounted=()
}
trap unmount_all EXIT

for suite in $suites; do
  root=$base/install-roots/$suite
  if [ ! -e "$root/.ready" ] || [ "${PI_CHECK_REBUILD:-0}" = 1 ]; then
    log "$suite: mmdebstrap --variant=minbase (arm64, maintainer scripts emulated)"
    rm -rf "$root"
    t0=$(date +%s)
    # Raspberry Pi OS Lite has python3, ca-certificates and systemd's tools; no picamera2 in Debian.
    mmdebstrap --quiet --variant=minbase --architectures=arm64 --include=python3,ca-certificates,git \
      "$suite" "$root" "$mirror"
    echo $(($(date +%s) - t0)) >"$root/.build_s"
    touch "$root/.ready"
  fi
  rm -rf "$root/root/moodcast" && git clone -q "$repo" "$root/root/moodcast"
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
  mount --bind "$cpuinfo" "$root/proc/cpuinfo" && mounted+=("$root/proc/cpuinfo")
  mount -t sysfs sysfs "$root/sys" && mounted+=("$root/sys")
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && mounted+=("$root/dev")
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" # a TLS-intercepting proxy's CA
  in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      QEMU_CPU=cortex-a72 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt "$@"
  }
  leftovers() { # what of moodcast is on the root now
    in_root sh -c 'ls -d /opt/moodcast /opt/moodcast/.venv /etc/moodcast /etc/moodcast/* /var/lib/moodcast \
      /etc/systemd/system/moodcast*.service 2>/dev/null; id moodcast 2>/dev/null || echo "no user moodcast"'
  }
  step() { # name, then the command in the root; its log, wall time and exit code into $run
    local name=$1 t0 code=0
    shift
    log "$suite: $name"
    t0=$(date +%s)
    in_root "$@" >"$run/$suite-$name.log" 2>&1 || code=$?
    printf '%s\t%s\t%s s\texit %s\n' "$suite" "$name" "$(($(date +%s) - t0))" "$code" | tee -a "$run/summary.tsv"
    leftovers >"$run/$suite-$name.left"
  }
  step install /root/moodcast/scripts/install-pi.sh --api --play
  for unit in moodcast moodcast-api moodcast-play; do
    if systemd-analyze verify --root="$root" "/etc/systemd/system/$unit.service" >"$run/$suite-verify-$unit.log" 2>&1; then
      echo "$suite: $unit.service verified" | tee -a "$run/summary.tsv"
    else
      echo "$suite: $unit.service: systemd-analyze verify failed (see $run/$suite-verify-$unit.log)" | tee -a "$run/summary.tsv"
    fi
  done
  in_root sh -c 'echo "# edited" >>/etc/moodcast/moodcast.toml; echo MOODCAST_MQTT_PASSWORD=pw >>/etc/moodcast/secrets.env'
  step upgrade /root/moodcast/scripts/install-pi.sh --upgrade
  in_root sh -c 'tail -n 1 /etc/moodcast/moodcast.toml; grep -c MOODCAST_MQTT_PASSWORD=pw /etc/moodcast/secrets.env;
    stat -c "%a %U:%G" /etc/moodcast/secrets.env; /opt/moodcast/.venv/bin/python -c "import numpy; print(numpy.__version__)"' \
    >"$run/$suite-kept.txt" 2>&1 || true
  step uninstall /root/moodcast/scripts/install-pi.sh --uninstall
  step purge /root/moodcast/scripts/install-pi.sh --uninstall --purge
  unmount_all
done
log "results: $run (summary.tsv, <suite>-<step>.log/.left, <suite>-kept.txt)"
cat "$run/summary.tsv"
