"""Rebuild a small float TFLite graph as a TensorFlow function, at any input size.

MediaPipe publishes BlazeFace only as TFLite (float16 weights). Re-expressing its graph in
TensorFlow lets the TF converter do what the published file cannot: take another input size
(e.g. 4:3 instead of a letterboxed square) and quantize to int8 with a calibration set. Only the
operators BlazeFace uses are translated; anything else is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

_NUMPY_TYPES = {
    schema.TensorType.FLOAT32: np.float32,
    schema.TensorType.FLOAT16: np.float16,
    schema.TensorType.INT32: np.int32,
    schema.TensorType.INT64: np.int64,
}
_OPS = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_PADDING = {schema.Padding.SAME: "SAME", schema.Padding.VALID: "VALID"}


def read_model(content: bytes):
    """The model object of a TFLite file, and the builtin name of each operator of its first graph."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    return model, [_OPS[codes[op.opcodeIndex]] for op in model.subgraphs[0].operators]


def _activation(x: tf.Tensor, fused: int) -> tf.Tensor:
    if fused == schema.ActivationFunctionType.NONE:
        return x
    if fused == schema.ActivationFunctionType.RELU:
        return tf.nn.relu(x)
    if fused == schema.ActivationFunctionType.RELU6:
        return tf.nn.relu6(x)
    raise ValueError(f"fused activation {fused} is not supported")


def load_graph(content: bytes) -> Callable[[tf.Tensor], list[tf.Tensor]]:
    """Translate the first subgraph of a TFLite model into ``function(images) -> outputs`` (in the
    file's order); constants become float32 TF constants."""
    model, names = read_model(content)
    graph = model.subgraphs[0]

    constants: dict[int, np.ndarray] = {}
    for index, tensor in enumerate(graph.tensors):
        data = model.buffers[tensor.buffer].data
        if data is not None and len(data):
            array = np.frombuffer(bytes(bytearray(data)), _NUMPY_TYPES[tensor.type]).reshape(tensor.shape)
            constants[index] = array.astype(np.float32) if array.dtype == np.float16 else array
    for op, name in zip(graph.operators, names):  # float16 weights: DEQUANTIZE gives a float32 constant
        if name == "DEQUANTIZE" and op.inputs[0] in constants:
            constants[op.outputs[0]] = constants[op.inputs[0]].astype(np.float32)
    for op, name in zip(graph.operators, names):
        if name not in _TRANSLATORS and not (name == "DEQUANTIZE" and op.outputs[0] in constants):
            raise ValueError(f"operator {name} is not supported by the graph translator")

    def function(images: tf.Tensor) -> list[tf.Tensor]:
        values: dict[int, tf.Tensor] = {graph.inputs[0]: images}
        for op, name in zip(graph.operators, names):
            if name == "DEQUANTIZE":
                continue
            args = [values[i] if i in values else constants[i] for i in op.inputs if i >= 0]
            published = graph.tensors[op.inputs[0]].shape
            values[op.outputs[0]] = _TRANSLATORS[name](args, op.builtinOptions, published)
        return [values[i] for i in graph.outputs]

    return function


def _conv(args, options, published) -> tf.Tensor:
    x, kernel, bias = args
    kernel = tf.constant(np.transpose(kernel, (1, 2, 3, 0)))  # OHWI -> HWIO
    y = tf.nn.conv2d(
        x,
        kernel,
        (1, options.strideH, options.strideW, 1),
        _PADDING[options.padding],
        dilations=(1, options.dilationHFactor, options.dilationWFactor, 1),
    )
    return _activation(tf.nn.bias_add(y, bias), options.fusedActivationFunction)


def _depthwise(args, options, published) -> tf.Tensor:
    x, kernel, bias = args
    kernel = tf.constant(np.transpose(kernel, (1, 2, 3, 0)))  # 1HWC -> HWC1
    y = tf.nn.depthwise_conv2d(
        x,
        kernel,
        (1, options.strideH, options.strideW, 1),
        _PADDING[options.padding],
        dilations=(options.dilationHFactor, options.dilationWFactor),
    )
    return _activation(tf.nn.bias_add(y, bias), options.fusedActivationFunction)


def _max_pool(args, options, published) -> tf.Tensor:
    y = tf.nn.max_pool2d(
        args[0],
        (options.filterHeight, options.filterWidth),
        (options.strideH, options.strideW),
        _PADDING[options.padding],
    )
    return _activation(y, options.fusedActivationFunction)


def _add(args, options, published) -> tf.Tensor:
    return _activation(tf.add(args[0], args[1]), options.fusedActivationFunction)


def _resize_bilinear(args, options, published) -> tf.Tensor:
    # The file fixes the output size; keep its ratio to the input so that other input sizes work.
    x, size = args
    factor = (int(size[0]) // int(published[1]), int(size[1]) // int(published[2]))
    return tf.compat.v1.image.resize_bilinear(
        x,
        (x.shape[1] * factor[0], x.shape[2] * factor[1]),
        align_corners=bool(options.alignCorners),
        half_pixel_centers=bool(options.halfPixelCenters),
    )


def _reshape(args, options, published) -> tf.Tensor:
    # (1, H, W, C) -> (1, H*W, C) in the published file; keep the last axis, fold the rest.
    x = args[0]
    return tf.reshape(x, (x.shape[0], -1, x.shape[-1]))


_TRANSLATORS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "MAX_POOL_2D": _max_pool,
    "ADD": _add,
    "RELU": lambda args, options, published: tf.nn.relu(args[0]),
    "PAD": lambda args, options, published: tf.pad(args[0], args[1]),
    "RESIZE_BILINEAR": _resize_bilinear,
    "RESHAPE": _reshape,
}
