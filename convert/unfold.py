"""int8 emotion ``.tflite`` -> trainable Keras model: the inverse of ``convert emotion``.

The float weights of a shipped model may live only on the machine that trained it; this rebuilds
them from the file itself so a fine-tune never depends on that machine. Weights are dequantized
(per-channel scales), each convolution's folded batch norm becomes a real one again, and its
statistics are re-estimated on training crops, so the model trains in batch-norm training mode
without a jump while computing exactly what the file computes in inference mode.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodcast.convert.tf import keras_module
from moodcast.edge.errors import ModelError
from moodcast.edge.vision.emotion import predict_probabilities
from moodcast.edge.vision.runtime import TFLiteModel, interpreter_class
from moodcast.training import data as fer

UNFOLD_SAMPLES = 4000  # cleaned training crops for the batch-norm statistics


@dataclass(frozen=True)
class Unfolding:
    split: str
    n: int
    float_accuracy: float  # the Keras model, single pass
    file_accuracy: float  # the .tflite file, single pass
    agreement: float  # share of validation crops where the two pick the same class


def unfold_emotion(tflite: str | Path, data: str | Path, out: str | Path, samples: int, seed: int) -> Unfolding:
    """Write the Keras model of ``tflite`` to ``out`` and check it against the file on the data's
    validation split."""
    keras = keras_module("moodcast convert keras")
    file = TFLiteModel(tflite)
    train, val = fer.load_splits(data, file.inputs[0].shape[1])
    train, _ = fer.clean(train, val)
    pick = np.sort(np.random.default_rng(seed).permutation(len(train))[:samples])
    model = keras_from_tflite(keras, tflite, train.images[pick])
    floats = model.predict(val.images[..., None].astype(np.float32), batch_size=512, verbose=0).argmax(axis=1)
    quantized = predict_probabilities(file, val.images, flip_average=False).argmax(axis=1)
    model.save(out)
    return Unfolding(
        fer.split_names(data)[1],
        len(val),
        float((floats == val.labels).mean()),
        float((quantized == val.labels).mean()),
        float((floats == quantized).mean()),
    )


@dataclass(frozen=True)
class Layer:
    """One dequantized layer of the file: a kernel in Keras layout and its bias."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray


def dequantized_layers(path: str | Path) -> list[Layer]:
    """Every CONV_2D and FULLY_CONNECTED of the file, in graph order, as float Keras weights."""
    interp = _plain_interpreter(path)
    details = {d["index"]: d for d in interp.get_tensor_details()}
    layers = []
    for op in interp._get_ops_details():  # the only API that lists a graph's ops and their inputs
        if op["op_name"] not in ("CONV_2D", "FULLY_CONNECTED"):
            continue
        w, b = (details[i] for i in op["inputs"][1:])
        kernel = _dequantize(interp.get_tensor(w["index"]), w)
        # A bias is int32 with scale = input scale x weight scale; float stems keep a float bias.
        bias = _dequantize(interp.get_tensor(b["index"]), b)
        # TFLite keeps output channels first: (out, kh, kw, in) and (out, in) for Keras' last.
        kernel = kernel.transpose(1, 2, 3, 0) if op["op_name"] == "CONV_2D" else kernel.T
        name = w["name"].split("/")[1].removesuffix("_1")
        layers.append(Layer(name, kernel.astype(np.float32), bias.astype(np.float32)))
    if not layers:
        raise ModelError(f"{path}: no convolution or dense layer found; is it an emotion model?")
    return layers


def _plain_interpreter(path: str | Path):
    """The file in an interpreter without delegates, whose constant tensors stay readable."""
    TFLiteModel(path)  # the same checks and errors as on the device
    _, cls = interpreter_class(None)
    resolver = importlib.import_module(cls.__module__).OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = cls(model_path=str(path), experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    return interp


def _dequantize(values: np.ndarray, detail: dict) -> np.ndarray:
    q = detail["quantization_parameters"]
    if not len(q["scales"]):
        return values.astype(np.float32)
    shape = [1] * values.ndim
    shape[q["quantized_dimension"]] = -1
    scales = np.asarray(q["scales"], np.float32).reshape(shape)
    zeros = np.asarray(q["zero_points"], np.float32).reshape(shape)
    return (values.astype(np.float32) - zeros) * scales


def keras_from_tflite(keras, path: str | Path, calibration: np.ndarray, dropout: float = 0.4):
    """The Keras model (``training.model.build_model``'s architecture) that the file was made from,
    as far as int8 kept it; ``calibration`` is ``(N, 48, 48)`` uint8 crops for the batch-norm
    statistics."""
    from moodcast.training.model import build_model

    layers = dequantized_layers(path)
    convs = [layer for layer in layers if layer.kernel.ndim == 4]
    dense = [layer for layer in layers if layer.kernel.ndim == 2]
    widths = tuple(dict.fromkeys(c.kernel.shape[-1] for c in convs))
    if len(dense) != 2 or len(convs) % len(widths):
        raise ModelError(f"{path}: {len(convs)} convolutions and {len(dense)} dense layers: not this architecture")
    model = build_model(
        calibration.shape[1], widths, len(convs) // len(widths), dense[0].kernel.shape[1], dropout=dropout
    )
    for conv in convs:
        model.get_layer(conv.name).set_weights([conv.kernel])
        # Identity first (var + eps = 1): the network now computes the file's function.
        bn = model.get_layer(conv.name.replace("conv", "bn"))
        bn.set_weights(
            [np.ones_like(conv.bias), conv.bias, np.zeros_like(conv.bias), np.full_like(conv.bias, 1 - bn.epsilon)]
        )
    for layer in dense:
        model.get_layer(layer.name).set_weights([layer.kernel, layer.bias])
    _restore_batch_norm(keras, model, [c.name for c in convs], calibration)
    return model


def _restore_batch_norm(keras, model, conv_names: list[str], images: np.ndarray) -> None:
    """Set each batch norm's moving statistics to its input's on ``images``, then its scale and
    offset so that inference computes the same function: gamma (x - m) / sqrt(v + eps) + beta with
    gamma = sqrt(v + eps) and beta = bias + m is x + bias."""
    probe = keras.Model(model.input, [model.get_layer(n).output for n in conv_names])
    outputs = probe.predict(images[..., None].astype(np.float32), batch_size=256, verbose=0)
    for name, out in zip(conv_names, outputs, strict=True):
        bn = model.get_layer(name.replace("conv", "bn"))
        _, bias, _, _ = bn.get_weights()
        mean, var = out.mean(axis=(0, 1, 2)), out.var(axis=(0, 1, 2))
        bn.set_weights([np.sqrt(var + bn.epsilon), bias + mean, mean, var])
