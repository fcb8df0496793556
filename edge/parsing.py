"""Parsing shared by the config and the MQTT commands."""

TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_bool(text: str) -> bool:
    """``on``/``true``/``yes``/``1`` or ``off``/``false``/``no``/``0``, any case; ValueError otherwise."""
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, got {text!r}")
