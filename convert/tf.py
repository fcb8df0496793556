"""TensorFlow for the converters, or the error that names the extra to install; and the one
image-model conversion the detector rebuilds share."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

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


def image_model_tflite(
    graph: Callable, width: int, height: int, mode: str = "int8", calibration: np.ndarray | None = None
) -> bytes:
    """``graph`` (a float image batch of shape (1, ``height``, ``width``, 3) in) as a TFLite file.
    ``mode`` int8: int8 weights (per channel) and activations calibrated on ``calibration``, float
    input and outputs; float32: unquantized."""
    tf = tensorflow()
    spec = tf.TensorSpec((1, height, width, 3), tf.float32, name="input")
    function = tf.function(graph, input_signature=[spec])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], function)
    if mode == "int8":
        if calibration is None:
            raise ValueError("int8 needs calibration images")

        def representative() -> Iterator[list[np.ndarray]]:
            for image in calibration:
                yield [image[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif mode != "float32":
        raise ValueError(f"mode must be int8 or float32, not {mode!r}")
    return converter.convert()
