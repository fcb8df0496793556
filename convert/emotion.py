"""Keras emotion model -> quantized TFLite, checked against the float model on the validation split.

int8 (int8 input and output) is the default: the representative set is drawn, stratified by
class, from real cleaned training crops. Its stem (the input scaling and the first convolution)
stays float: quantized, the scaling maps 256 grey levels onto ~170 and the first convolution adds
its own rounding, which together cost ~0.6 points of agreement with the float model for no speed
(measured in models/README.md). ``int8-full`` quantizes the stem too; ``float16`` and ``dynamic``
(int8 weights, float activations) are there for comparison.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from moodcast.convert.tf import tensorflow
from moodcast.edge.errors import ConfigError, MissingExtraError, ModelError
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.vision.emotion import EmotionOptions, predict_probabilities
from moodcast.edge.vision.runtime import TFLiteModel
from moodcast.evaluation.metrics import classification_report
from moodcast.training import data as fer

MODES = ("int8", "int8-full", "float16", "dynamic")
CALIBRATION_SAMPLES = 500  # crops drawn from the cleaned training split


@dataclass(frozen=True)
class EmotionConversion:
    out: str
    mode: str
    quantizer: str  # "tf": TFLiteConverter; "aeq": ai-edge-quantizer
    bytes: int
    sha256: str
    calibration_samples: int
    seed: int
    validation_split: str
    n: int
    float_accuracy: float
    float_macro_f1: float
    quantized_accuracy: float
    quantized_macro_f1: float
    agreement: float  # share of validation crops where float and quantized models pick the same class
    quantized_per_class_recall: dict[str, float]
    # What the device pipeline computes: the quantized model, averaged with the mirrored crop.
    device_accuracy: float
    device_macro_f1: float
    device_per_class_recall: dict[str, float]
    ms_per_face: float  # one face, one pass
    ms_per_face_device: float  # one face with its mirror, one batched invoke
    runtime: str
    tensorflow: str
    seconds: float


def stratified_sample(faces: fer.FaceSet, n: int, seed: int) -> np.ndarray:
    """About ``n`` crops with every class in its training proportion (at least a few each)."""
    rng = np.random.default_rng(seed)
    picks = []
    for label in range(len(EMOTIONS)):
        members = np.flatnonzero(faces.labels == label)
        take = max(8, round(n * len(members) / len(faces)))
        picks.append(rng.choice(members, min(take, len(members)), replace=False))
    return np.sort(np.concatenate(picks))


def to_tflite(model, mode: str, calibration: np.ndarray | None) -> bytes:
    tf = tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode in ("int8", "int8-full"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([calibration[i : i + 1]] for i in range(len(calibration)))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        if mode == "int8":
            return _int8_with_float_stem(tf, converter)
    else:
        raise ConfigError(f"--mode: must be one of {', '.join(MODES)}, got {mode!r}")
    return converter.convert()


def _int8_with_float_stem(tf, converter) -> bytes:
    """Calibrate, then quantize all but the stem: the ops up to the first convolution."""
    from tensorflow.lite.python import convert as tflite_convert  # the quantizer behind TFLiteConverter

    converter._experimental_calibrate_only = True  # the same route as tf.lite's QuantizationDebugger
    calibrated = converter.convert()
    return tflite_convert.mlir_quantize(
        calibrated,
        fully_quantize=True,
        input_data_type=tf.int8,
        output_data_type=tf.int8,
        denylisted_nodes=stem_nodes(calibrated),
    )


def stem_nodes(content: bytes) -> list[str]:
    """Output tensor names of a TFLite graph's operators up to and including its first CONV_2D."""
    from moodcast.convert.tflite_graph import read_model

    model, ops = read_model(content)
    graph = model.subgraphs[0]
    names = []
    for op, name in zip(graph.operators, ops):
        names.append(graph.tensors[op.outputs[0]].name.decode())
        if name == "CONV_2D":
            return names
    raise ValueError("the model has no CONV_2D to end its stem")


def to_tflite_aeq(model, calibration: np.ndarray) -> bytes:
    """Full-integer int8 with the LiteRT quantizer (ai-edge-quantizer), from the float TFLite model."""
    import tempfile

    try:
        from ai_edge_quantizer import quantizer, recipe
    except ImportError:
        raise MissingExtraError("--quantizer aeq", "train", "ai-edge-quantizer") from None
    tf = tensorflow()
    float_model = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "float.tflite", Path(tmp) / "int8.tflite"
        source.write_bytes(float_model)
        qt = quantizer.Quantizer(str(source))
        qt.load_quantization_recipe(recipe.static_wi8_ai8())
        name = model.inputs[0].name.split(":")[0]
        samples = [{name: calibration[i : i + 1]} for i in range(len(calibration))]
        result = qt.quantize(qt.calibrate({"serving_default": samples}, num_threads=2), enable_progress_report=False)
        result.export_model(str(target), overwrite=True)
        return target.read_bytes()


def time_per_face(model: TFLiteModel, crop: np.ndarray, flip_average: bool, repeats: int = 300) -> float:
    """Median ms to classify one face the way the device does (quantize, invoke, dequantize)."""
    predict_probabilities(model, crop[None], flip_average)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        predict_probabilities(model, crop[None], flip_average)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def convert_emotion(
    model_path: str | Path,
    calib: str | Path,
    out: str | Path,
    mode: str = "int8",
    samples: int = CALIBRATION_SAMPLES,
    seed: int = 0,
    quantizer: str = "tf",
) -> EmotionConversion:
    """Convert, then measure float vs quantized on the validation split of ``calib``'s data."""
    started = time.monotonic()
    tf = tensorflow()
    import keras  # installed with TensorFlow

    model_path, out = Path(model_path), Path(out)
    try:
        model = keras.saving.load_model(model_path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{model_path}: cannot load the Keras model ({exc})") from None
    size = int(model.input_shape[1])
    train_set, val_set = fer.load_splits(calib, size)
    train_set, _ = fer.clean(train_set, val_set)
    picks = stratified_sample(train_set, samples, seed)
    calibration = train_set.images[picks][..., None].astype(np.float32)
    if quantizer == "aeq":
        if mode != "int8-full":
            raise ConfigError("--quantizer: aeq makes full int8 models only (--mode int8-full)")
        content = to_tflite_aeq(model, calibration)
    else:
        content = to_tflite(model, mode, calibration)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)

    float_probs = model.predict(val_set.images[..., None].astype(np.float32), batch_size=512, verbose=0)
    tflite = TFLiteModel(out, num_threads=1)
    quant_probs = np.concatenate(
        [predict_probabilities(tflite, val_set.images[i : i + 256], False) for i in range(0, len(val_set), 256)]
    )
    device_probs = np.concatenate(
        [predict_probabilities(tflite, val_set.images[i : i + 256], True) for i in range(0, len(val_set), 256)]
    )
    f_pred, q_pred = float_probs.argmax(1), quant_probs.argmax(1)
    f_rep = classification_report(val_set.labels, f_pred)
    q_rep = classification_report(val_set.labels, q_pred)
    d_rep = classification_report(val_set.labels, device_probs.argmax(1))
    return EmotionConversion(
        out=str(out),
        mode=mode,
        quantizer=quantizer,
        bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        calibration_samples=len(picks),
        seed=seed,
        validation_split=f"{calib} {fer.split_names(calib)[1]}",
        n=len(val_set),
        float_accuracy=f_rep.accuracy,
        float_macro_f1=f_rep.macro_f1,
        quantized_accuracy=q_rep.accuracy,
        quantized_macro_f1=q_rep.macro_f1,
        agreement=float((f_pred == q_pred).mean()),
        quantized_per_class_recall={k: round(v.recall, 4) for k, v in q_rep.per_class.items()},
        device_accuracy=d_rep.accuracy,
        device_macro_f1=d_rep.macro_f1,
        device_per_class_recall={k: round(v.recall, 4) for k, v in d_rep.per_class.items()},
        ms_per_face=time_per_face(tflite, val_set.images[0], False),
        ms_per_face_device=time_per_face(tflite, val_set.images[0], True),
        runtime=tflite.runtime,
        tensorflow=tf.__version__,
        seconds=round(time.monotonic() - started, 1),
    )


def input_card(model: TFLiteModel) -> dict:
    """What the model card says of the input tensor, read from the converted file."""
    spec = model.inputs[0]
    if spec.quantized:
        scaled = "pixel" if spec.scale == 1 else f"round(pixel / {spec.scale:g})"
        shift = f" - {-spec.zero_point}" if spec.zero_point < 0 else f" + {spec.zero_point}" if spec.zero_point else ""
        values = (
            f"pixel value 0-255; {np.dtype(spec.dtype).name} tensor = {scaled}{shift} "
            f"(scale {spec.scale:g}, zero point {spec.zero_point})"
        )
    else:
        values = f"pixel value 0-255 as {np.dtype(spec.dtype).name}"
    defaults = EmotionOptions()
    return {
        "shape": list(spec.shape),
        "colour": "grey (OpenCV RGB2GRAY weights)",
        "values": values,
        "framing": "square crop around the face box, side = larger box side x (1 + margin), centre moved by "
        f"shift_y box heights (device defaults: margin {defaults.margin:g}, shift_y {defaults.shift_y:g})",
    }


def robustness(model: str | Path, data: str | Path, seed: int = 0) -> dict:
    """The device's accuracy on degraded copies of the validation crops: ``moodcast eval emotion
    --degrade table`` (models/README.md's robustness table)."""
    from moodcast.evaluation.degrade import TABLE, Degradation
    from moodcast.training.evaluate import evaluate_emotion

    result = evaluate_emotion(
        model, data, fer.default_validation_split(data), True, None, tuple(map(Degradation.parse, TABLE)), seed
    )
    return {
        "command": "moodcast eval emotion --data DATA --degrade table",
        "split": fer.split_names(data)[1],
        "seed": seed,
        "accuracy": {"none": result.report.accuracy, **{str(d): r.accuracy for d, r in result.degraded}},
        "macro_f1": {"none": result.report.macro_f1, **{str(d): r.macro_f1 for d, r in result.degraded}},
    }


def write_card_data(result: EmotionConversion, model: Path | None, card: Path, robust: dict | None = None) -> dict:
    """The machine-readable model card: conversion results, robustness, the record of the training
    run that ``model`` (a checkpoint in its run folder) comes from."""
    run_dir, checkpoint = (model.parent, model.name) if model is not None else (None, None)
    model = TFLiteModel(result.out)
    output = model.outputs[0]
    data = {
        "model": Path(result.out).name,
        "task": "facial expression, 7 classes",
        "labels": list(EMOTIONS),
        "input": input_card(model),
        "output": f"{np.dtype(output.dtype).name} probabilities (softmax)"
        + (", dequantize with the tensor's scale and zero point" if output.quantized else ""),
        "conversion": asdict(result),
        **({"robustness": robust} if robust else {}),
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
    }
    if run_dir is not None:
        data["training_checkpoint"] = checkpoint
        # metrics.json describes the run's best.keras, not another checkpoint of it.
        names = ["config.json", "state.json", "cleaning.json"] + (
            ["metrics.json"] if checkpoint == "best.keras" else []
        )
        for name in names:
            p = run_dir / name
            if p.exists():
                data[f"training_{p.stem}"] = json.loads(p.read_text())
    card.write_text(json.dumps(data, indent=2) + "\n")
    return data
