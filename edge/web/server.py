"""``moodcast web``: the follower, its store and the page under waitress, until interrupted."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from moodcast.edge.config import Config
from moodcast.edge.errors import MissingExtraError
from moodcast.edge.service.preview import PreviewRequest
from moodcast.edge.web.app import check_binding, create_app
from moodcast.edge.web.doctor import DoctorRuns
from moodcast.edge.web.follow import Follower
from moodcast.edge.web.store import Store

log = logging.getLogger("moodcast.web")


def keep_timeline(follower: Follower, store: Store, stop: threading.Event, clock=time.time) -> None:
    """A point every ``web.sample_s``, the store written every ``web.flush_s``."""
    web = follower.config.web
    last_flush = clock()
    while not stop.wait(web.sample_s):
        follower.sample()
        if clock() - last_flush >= web.flush_s:
            store.flush(clock())
            last_flush = clock()


def serve_web(
    config: Config, host: str, port: int, doctor_argv: list[str], announce: Callable[[str], None] = print
) -> None:
    """``doctor_argv``: what ``moodcast doctor`` needs to read the same configuration."""
    try:
        import waitress
    except ImportError as exc:
        raise MissingExtraError("moodcast web", "api", exc.name or "waitress") from None
    logging.basicConfig(
        level=os.environ.get("MOODCAST_LOG", "INFO").upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    web = config.web
    token = web.read_token()
    check_binding(host, token)
    store = Store(web.store_path(), web.retention_h * 3600, web.max_changes)
    follower = Follower(config, store)
    doctor = DoctorRuns(doctor_argv)
    app = create_app(config, follower, store, PreviewRequest(config), token, doctor)
    doctor.start()  # a summary to show from the start
    server = waitress.create_server(app, host=host, port=port, threads=4, ident="moodcast", channel_timeout=30)
    stop = threading.Event()
    sampler = threading.Thread(target=keep_timeline, args=(follower, store, stop), daemon=True, name="timeline")
    follower.start()
    sampler.start()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    announce(f"moodcast page on http://{shown}:{port}/ (following {follower.topics.prefix}, store {store.path})")
    if token is not None:
        announce(f"from a phone: http://<this device's address>:{port}/?token=<MOODCAST_WEB_TOKEN>, once per browser")

    def on_term(signum, frame):
        raise KeyboardInterrupt  # out of waitress' loop, through the finally that writes the store

    signal.signal(signal.SIGTERM, on_term)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        follower.stop()
        store.close(time.time())
