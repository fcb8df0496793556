"""Parsing shared by the config, the MQTT commands and the JSON that comes from outside."""

import json

TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_bool(text: str) -> bool:
    """``on``/``true``/``yes``/``1`` or ``off``/``false``/``no``/``0``, any case; ValueError otherwise."""
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def parse_json(text: bytes | str, max_bytes: int) -> object:
    """JSON from outside; ValueError for anything else: too long, not JSON, or nested too deep
    (json raises RecursionError there, which would escape a caller's ``except ValueError``)."""
    if len(text) > max_bytes:
        raise ValueError(f"payload too long ({len(text)} bytes; at most {max_bytes})")
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError("not JSON") from None
