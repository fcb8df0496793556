#!/usr/bin/env bash
# moodcast on a Raspberry Pi (Raspberry Pi OS or Debian, Bookworm or Trixie, 64-bit), from this
# checkout, in one command (docs/install-pi.md):
#   sudo ./scripts/install-pi.sh [--api] [--web] [--play] [--broker]   install, or upgrade in place
#   sudo ./scripts/install-pi.sh --upgrade                     again, with the extras chosen before
#   sudo ./scripts/install-pi.sh --uninstall [--purge]         remove what it added (--purge: config,
#                                                              secrets and learned preferences too)
#   --dry-run prints what would be done (the apt, user, pip, file and systemctl steps), changes nothing.
# Idempotent: each step checks first. Config (/etc/moodcast), secrets and learned preferences
# (/var/lib/moodcast) are never overwritten. The venv is $MOODCAST_PREFIX/.venv (default
# /opt/moodcast, where the units look), made with --system-site-packages for apt's picamera2; where
# the system's numpy is 1.x (Bookworm) pip keeps it with constraints/bookworm.txt.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-/usr/bin/python3} # the system's, whose numpy and picamera2 the venv sees
prefix=${MOODCAST_PREFIX:-/opt/moodcast}
etc=/etc/moodcast
units=/etc/systemd/system
record=$etc/install.conf # what this script added (extras; whether it made the user): kept with the config

action=install extras=(litert) web=0 broker=0 purge=0 dry=0
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
for arg in "$@"; do
  case "$arg" in
    --api) extras+=(api) ;;
    --web) web=1 ;; # the page (moodcast web): the api extra's flask and waitress
    --play) extras+=(play) ;;
    --broker) broker=1 ;;
    --upgrade) action=upgrade ;;
    --uninstall) action=uninstall ;;
    --purge) purge=1 ;;
    --dry-run) dry=1 ;;
    -h | --help) usage ;;
    *) echo "install-pi.sh: unknown option $arg" >&2; usage ;;
  esac
done
[ "$purge" = 1 ] && [ "$action" != uninstall ] && { echo "--purge goes with --uninstall" >&2; exit 2; }
[ "$dry" = 1 ] || [ "$(id -u)" = 0 ] || { echo "run it as root: sudo $0 $*" >&2; exit 2; }

step() { echo "== $*"; }
run() { # a command that changes the system; printed instead under --dry-run
  if [ "$dry" = 1 ]; then echo "   would run: $*"; else "$@"; fi
}
have_systemd() { [ -d /run/systemd/system ]; }
unit_names() { # the units of the extras chosen
  echo moodcast.service
  [[ " ${extras[*]} " == *" api "* ]] && echo moodcast-api.service
  [ "$web" = 1 ] && echo moodcast-web.service
  [[ " ${extras[*]} " == *" play "* ]] && echo moodcast-play.service
  return 0
}

uninstall() {
  local made_user=0 unit
  [ -f "$record" ] && made_user=$(sed -n 's/^made_user=//p' "$record")
  step "stopping and removing the units"
  for unit in moodcast.service moodcast-api.service moodcast-web.service moodcast-play.service; do
    [ -f "$units/$unit" ] || continue
    have_systemd && run systemctl disable --now "$unit"
    run rm -f "$units/$unit"
  done
  have_systemd && run systemctl daemon-reload
  step "removing $prefix/.venv"
  run rm -rf "$prefix/.venv"
  [ -d "$prefix" ] && [ -z "$(ls -A "$prefix" 2>/dev/null)" ] && run rmdir "$prefix"
  if [ "$purge" = 1 ]; then
    step "purging $etc and /var/lib/moodcast (config, secrets, learned preferences)"
    run rm -rf "$etc" /var/lib/moodcast
    if [ "$made_user" = 1 ] && id moodcast >/dev/null 2>&1; then run userdel moodcast; fi
  else
    echo "   kept: $etc (config, secrets), /var/lib/moodcast (learned preferences) and the user moodcast;"
    echo "   --uninstall --purge removes them"
  fi
}

if [ "$action" = uninstall ]; then
  uninstall
  exit 0
fi
if [ "$action" = upgrade ]; then
  [ -f "$record" ] || { echo "nothing to upgrade: $record is missing (install first)" >&2; exit 2; }
  read -r -a extras <<<"$(sed -n 's/^extras=//p' "$record" | tr ',' ' ')"
  web=$(sed -n 's/^web=//p' "$record")
  web=${web:-0}
fi

# ---- the OS: which Python and numpy the venv will see
. /etc/os-release
release=${VERSION_CODENAME:-unknown}
step "system: ${PRETTY_NAME:-$release}, $("$python" -V 2>&1)"
case "$release" in bookworm | trixie) ;; *) echo "   not Bookworm or Trixie: untried, going on" ;; esac

step "apt packages"
packages=(python3-venv python3-numpy)
if apt-cache show python3-picamera2 >/dev/null 2>&1; then
  packages+=(python3-picamera2)
else
  echo "   python3-picamera2 is not in this system's apt sources (it comes from the Raspberry Pi archive):"
  echo "   a USB camera still works ([source] uri = \"0\")"
fi
[ "$broker" = 1 ] && packages+=(mosquitto mosquitto-clients)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  run apt-get update -q
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
  echo "   all there: ${packages[*]}"
fi

constraints=()
numpy_major=$("$python" -c 'import numpy; print(numpy.__version__.split(".")[0])' 2>/dev/null || echo 2)
if [ "$numpy_major" = 1 ]; then
  constraints=(-c "$repo/constraints/bookworm.txt")
  echo "   the system's numpy is 1.x (apt's picamera2 is built against it): pip keeps it (constraints/bookworm.txt)"
fi

step "user moodcast (groups video, render)"
made_user=0
[ -f "$record" ] && made_user=$(sed -n 's/^made_user=//p' "$record")
if ! id moodcast >/dev/null 2>&1; then
  run useradd --system --home-dir /var/lib/moodcast --no-create-home --shell /usr/sbin/nologin moodcast
  made_user=1
fi
for group in video render; do
  getent group "$group" >/dev/null || continue
  id -nG moodcast 2>/dev/null | tr ' ' '\n' | grep -qx "$group" || run usermod -a -G "$group" moodcast
done

pip_extras=("${extras[@]}") # the page needs the api extra's packages, not its unit
[ "$web" = 1 ] && [[ " ${extras[*]} " != *" api "* ]] && pip_extras+=(api)
step "$prefix/.venv: moodcast[$(IFS=,; echo "${pip_extras[*]}")] from $repo"
run install -d -m 755 "$etc"
run install -d -m 755 "$prefix"
[ -x "$prefix/.venv/bin/python" ] || run "$python" -m venv --system-site-packages "$prefix/.venv"
run "$prefix/.venv/bin/python" -m pip install --upgrade --upgrade-strategy only-if-needed \
  "$repo[$(IFS=,; echo "${pip_extras[*]}")]" "${constraints[@]}"
[ "$dry" = 1 ] || printf 'extras=%s\nweb=%s\nmade_user=%s\nsource=%s\n' "$(IFS=,; echo "${extras[*]}")" "$web" "$made_user" "$repo" >"$record"

step "$etc: moodcast.toml and secrets.env (kept when there)"
run install -d -m 755 "$etc"
if [ ! -f "$etc/moodcast.toml" ]; then
  run install -m 644 "$repo/config/moodcast.example.toml" "$etc/moodcast.toml"
else
  echo "   kept $etc/moodcast.toml"
fi
if [ ! -f "$etc/secrets.env" ]; then
  # Readable by the moodcast group: the service (systemd reads it as root) and doctor (run as
  # moodcast) see the same password; nobody else does.
  [ "$dry" = 1 ] || printf '# MOODCAST_MQTT_PASSWORD=...   (if the broker needs one)\n' >"$etc/secrets.env"
  [ "$dry" = 1 ] && echo "   would write $etc/secrets.env"
fi
run chown root:moodcast "$etc/secrets.env"
run chmod 640 "$etc/secrets.env"

step "systemd units: $(unit_names | tr '\n' ' ')"
for unit in $(unit_names); do
  cmp -s "$repo/systemd/$unit" "$units/$unit" 2>/dev/null || run install -m 644 "$repo/systemd/$unit" "$units/$unit"
done
if have_systemd; then
  run systemctl daemon-reload
  for unit in $(unit_names); do
    run systemctl enable "$unit"
    run systemctl restart "$unit"
  done
else
  echo "   systemd is not running here: units installed, not started"
  if command -v systemd-analyze >/dev/null && [ "$dry" = 0 ]; then
    for unit in $(unit_names); do systemd-analyze verify "$units/$unit" && echo "   $unit: systemd-analyze verify ok"; done
  fi
fi

step "moodcast doctor, as the service runs it (user moodcast, secrets.env)"
doctor=(runuser -u moodcast -- sh -c "set -a; . $etc/secrets.env; set +a; exec $prefix/.venv/bin/moodcast doctor --config $etc/moodcast.toml")
if [ "$dry" = 1 ]; then
  echo "   would run: ${doctor[*]}"
else
  "${doctor[@]}" || echo "   doctor found something to fix (above); the install itself is done"
fi
echo "== done. Logs: journalctl -u moodcast -f; again later: sudo ${doctor[*]}"
