"""TensorFlow for the converters, or the error that names the extra to install."""

from moodcast.edge.errors import MissingExtraError


def tensorflow():
    """The ``tensorflow`` module (the ``[train]`` extra)."""
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise MissingExtraError("moodcast convert", "train", exc.name or "tensorflow") from None
    return tf


def keras_module(command: str):
    """The ``keras`` module (the ``[train]`` extra) for ``command``."""
    try:
        import keras
    except ImportError as exc:
        raise MissingExtraError(command, "train", exc.name or "keras") from None
    return keras
