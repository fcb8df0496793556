"""What the daemon reads from and tells the machine it runs on: systemd's notify socket and
watchdog, and the memory, temperature and model of the host (``/proc``, ``/sys``)."""

from __future__ import annotations

import logging
import os
import platform
import resource
import socket
from pathlib import Path

log = logging.getLogger("moodcast")


def sd_notify(message: str) -> None:
    """Send one sd_notify(3) message; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError as exc:
            log.warning("sd_notify failed: %s", exc)


def watchdog_interval() -> float | None:
    """A quarter of systemd's WatchdogSec for this process (room for a bounded blocking call
    between two pings), or None when the watchdog is off."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 4e6


def current_rss_mb() -> float:
    """Resident memory now (not the peak), so a leak shows as growth in ``stats``."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_temperature() -> float | None:
    """SoC temperature in °C where the Pi (or any Linux thermal zone) exposes it."""
    try:
        return int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) / 1000
    except (OSError, ValueError):
        return None


def hardware_model(device_tree: Path = Path("/proc/device-tree/model")) -> str:
    """The board as the firmware names it ("Raspberry Pi 5 Model B Rev 1.0"), else the machine
    architecture ("x86_64")."""
    try:
        model = device_tree.read_bytes().rstrip(b"\0").decode("utf-8", "replace").strip()
    except OSError:
        model = ""
    return model or platform.machine() or "unknown"
