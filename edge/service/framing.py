"""What waitress is told to refuse before a request reaches the app (``moodcast serve``).

waitress has no setting for either, so its channel and request parser are extended here:

- a request with both ``Content-Length`` and ``Transfer-Encoding`` (or ``Transfer-Encoding`` in
  HTTP/1.0) is answered 400 and its connection closed, with whatever was pipelined behind it
  unserved (RFC 9112 §6.1: the two framings disagree, so the next request's start is unknown);
- request bodies being received or waiting for a worker hold at most ``BodyBudget.limit`` bytes:
  waitress spools each to a temporary file (RAM where /tmp is tmpfs), so a body that would pass
  the budget is answered 503 with ``Retry-After`` from its headers, before it is read.

Needs the ``api`` extra (waitress); imported by ``api.serve`` only. It extends waitress's
internals (HTTPChannel, HTTPRequestParser, the server's channel_class), not a documented API:
tests/test_api.py checks each refusal against a real server at the version in constraints/lock.txt.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import BaseWSGIServer
from waitress.utilities import Error

RETRY_AFTER_S = 1


@dataclass
class BodyBudget:
    """Bytes reserved by the request bodies a server holds; a chunked body, its length unknown
    until it ends, reserves the largest body allowed."""

    limit: int
    reserved: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reserve(self, size: int) -> bool:
        with self.lock:
            if self.reserved + size > self.limit:
                return False
            self.reserved += size
            return True

    def release(self, size: int) -> None:
        with self.lock:
            self.reserved -= size


class ServiceUnavailable(Error):
    code = 503
    reason = "Service Unavailable"

    def to_response(self, ident=None):
        status, headers, body = super().to_response(ident)
        return status, [*headers, ("Retry-After", str(RETRY_AFTER_S))], body


class FramingParser(HTTPRequestParser):
    """waitress's parser, refusing ambiguous framing and bodies over the budget."""

    budget: BodyBudget  # set by channel_class, one per server
    reserved = 0
    error: Error | None = None  # waitress's default, typed (waitress ships no types)

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        # waitress pops Transfer-Encoding for HTTP/1.1 (and reads the body chunked); it leaves it,
        # unread, for HTTP/1.0.
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            raise ParsingError("both Content-Length and Transfer-Encoding: send one of them (RFC 9112 section 6.1)")
        if self.version == "1.0" and "TRANSFER_ENCODING" in self.headers:
            raise ParsingError("Transfer-Encoding in an HTTP/1.0 request: send Content-Length (RFC 9112 section 6.1)")

    def received(self, data: bytes) -> int:
        had_headers = self.headers_finished
        consumed = super().received(data)
        if self.headers_finished and not had_headers and self.error is None and self.body_rcv is not None:
            self.reserve_body()
        return consumed

    def reserve_body(self) -> None:
        size = self.adj.max_request_body_size if self.chunked else self.content_length
        if self.budget.reserve(size):
            self.reserved = size
            return
        limit_mb = self.budget.limit / 2**20
        self.error = ServiceUnavailable(
            f"{limit_mb:g} MB of request bodies are already being received; retry in {RETRY_AFTER_S} s"
        )
        self.completed = True
        self.expect_continue = False  # no 100 Continue for a body that is refused

    def close(self) -> None:
        super().close()
        if self.reserved:
            self.budget.release(self.reserved)
            self.reserved = 0


class FramingChannel(HTTPChannel):
    request: HTTPRequestParser | None = None  # waitress's default, typed

    def handle_close(self) -> None:
        # A client gone mid-body leaves its half-received request here, never served nor closed.
        if self.request is not None:
            self.request.close()
            self.request = None
        super().handle_close()


def channel_class(budget: BodyBudget) -> type[FramingChannel]:
    parser = type("Parser", (FramingParser,), {"budget": budget})
    return type("Channel", (FramingChannel,), {"parser_class": parser})


def use_framing(servers: dict, budget: BodyBudget) -> None:
    """Make every listening server in waitress's socket map (create_server's ``map``) use it."""
    channel = channel_class(budget)
    for dispatcher in servers.values():
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = channel
