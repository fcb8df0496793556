"""YuNet (libfacedetection.train) rebuilt from its ONNX weights as a TFLite model of fixed input.

The ONNX graph is small and regular (3x3 and 1x1 convolutions, depthwise ones, ReLU, 2x2 max
pooling, nearest 2x upsampling and additions in the neck, sigmoids on two of the four heads), so it
is rebuilt node by node in TensorFlow, NHWC, rather than through a general converter. Two changes
make it fit the device's decoder: the input is RGB (OpenCV feeds the network BGR; the first
convolution's input channels are swapped instead), and the heads stay as feature maps, one tensor
per stride and kind, with the class and objectness sigmoids side by side (``score``: 2 channels,
``bbox``: 4, ``kps``: 10) so that a tensor's shape says what it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from moodcast.convert.tf import image_model_tflite, tensorflow
from moodcast.edge.errors import MissingExtraError, ModelError

STRIDES = (8, 16, 32)
# What the device needs of the graph's outputs, by ONNX output name prefix.
HEADS = ("cls", "obj", "bbox", "kps")
# Shape bookkeeping of the ONNX export around its (N, C, H, W) -> (N, H*W, C) reshapes: the NHWC
# rebuild keeps the feature maps as they are, so these carry no computation here.
SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Concat"}


def read_onnx(path: str | Path):
    """The ONNX model at ``path`` and the sha256 of its bytes."""
    try:
        import onnx
    except ImportError as exc:
        raise MissingExtraError("moodcast convert detector --arch yunet", "train", exc.name or "onnx") from None
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the ONNX file ({exc.strerror})") from None
    try:
        model = onnx.load_from_string(content)
    except Exception as exc:  # onnx raises its own DecodeError types
        raise ModelError(f"{path}: not an ONNX model ({exc})") from None
    return model, hashlib.sha256(content).hexdigest()


def _attributes(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def yunet_graph(model) -> Callable:
    """A function NHWC RGB float (0..255) -> ``{"score_8": .., "bbox_8": .., "kps_8": .., ...}``."""
    from onnx import numpy_helper

    tf = tensorflow()
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    nodes = list(model.graph.node)
    first_conv = next(n for n in nodes if n.op_type == "Conv")
    outputs = {o.name for o in model.graph.output}
    missing = {f"{h}_{s}" for h in HEADS for s in STRIDES} - outputs
    if missing:
        raise ModelError(f"the ONNX graph lacks the YuNet outputs {sorted(missing)}")

    def conv(node, x):
        a = _attributes(node)
        w = weights[node.input[1]]
        bias = weights[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
        if node is first_conv:
            w = w[:, ::-1]  # BGR -> RGB
        if a.get("dilations", [1, 1]) != [1, 1]:
            raise ModelError(f"Conv {node.output[0]}: dilation is not supported")
        top, left, bottom, right = a.get("pads", [0, 0, 0, 0])  # ONNX: begins (H, W), then ends
        if (top, left, bottom, right) != (0, 0, 0, 0):
            x = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
        strides = [1, *a.get("strides", [1, 1]), 1]
        group = a.get("group", 1)
        channels = int(x.shape[-1])
        if group == 1:
            y = tf.nn.conv2d(x, tf.constant(w.transpose(2, 3, 1, 0).copy()), strides, "VALID")
        elif group == channels == w.shape[0] and w.shape[1] == 1:
            y = tf.nn.depthwise_conv2d(x, tf.constant(w.transpose(2, 3, 0, 1).copy()), strides, "VALID")
        else:
            raise ModelError(f"Conv {node.output[0]}: grouped convolution ({group} groups) is not supported")
        return tf.nn.bias_add(y, tf.constant(bias))

    def run(x):
        values = {model.graph.input[0].name: x}
        for node in nodes:
            op, a = node.op_type, _attributes(node)
            if op in SHAPE_OPS:
                continue
            src = values[node.input[0]]
            if op == "Conv":
                y = conv(node, src)
            elif op == "Relu":
                y = tf.nn.relu(src)
            elif op == "Sigmoid":
                y = tf.math.sigmoid(src)
            elif op == "MaxPool":
                if a.get("pads", [0, 0, 0, 0]) != [0, 0, 0, 0] or a.get("ceil_mode", 0):
                    raise ModelError(f"MaxPool {node.output[0]}: only unpadded floor pooling is supported")
                y = tf.nn.max_pool2d(src, a["kernel_shape"], a["strides"], "VALID")
            elif op == "Resize":
                scales = weights[node.input[2]]
                if a.get("mode") != b"nearest" or list(scales) != [1, 1, 2, 2]:
                    raise ModelError(f"Resize {node.output[0]}: only nearest 2x upsampling is supported")
                size = (int(src.shape[1]) * 2, int(src.shape[2]) * 2)
                y = tf.compat.v1.image.resize_nearest_neighbor(src, size, align_corners=False, half_pixel_centers=False)
            elif op == "Add":
                y = src + values[node.input[1]]
            elif op == "Transpose":
                if list(a["perm"]) != [0, 2, 3, 1]:
                    raise ModelError(f"Transpose {node.output[0]}: unexpected permutation {a['perm']}")
                y = src  # NCHW -> NHWC: already NHWC here
            elif op == "Reshape":
                y = src  # (N, H, W, C) -> (N, H*W, C): the feature map is kept
            else:
                raise ModelError(f"ONNX op {op} ({node.output[0]}) is not supported by the YuNet rebuild")
            values[node.output[0]] = y
        result = {}
        for s in STRIDES:
            result[f"score_{s}"] = tf.concat([values[f"cls_{s}"], values[f"obj_{s}"]], axis=-1)
            result[f"bbox_{s}"] = values[f"bbox_{s}"]
            result[f"kps_{s}"] = values[f"kps_{s}"]
        return result

    return run


def calibration_inputs(folders, width: int, height: int, count: int, seed: int) -> np.ndarray:
    """BlazeFace's calibration crops (same photos, crops and letterbox) on YuNet's scale: RGB
    0..255, the padding 0."""
    from moodcast.convert.blazeface import calibration_images

    return (calibration_images(folders, width, height, count, seed) + 1) * np.float32(127.5)


def convert_yunet(model, width: int, height: int, mode: str = "int8", calibration: np.ndarray | None = None) -> bytes:
    """YuNet as a TFLite file of input ``width`` x ``height`` (multiples of 32), float input and
    outputs; ``mode`` int8: int8 weights (per channel) and activations; float32: unquantized."""
    return image_model_tflite(yunet_graph(model), width, height, mode, calibration)


def follow_calibration(model: Path, folders, size: int, count: int, seed: int, threshold: float = 0.5) -> np.ndarray:
    """``count`` follow-model inputs: squares around the faces ``model`` (the converted full-frame
    file) finds in the photos of ``folders``, placed as the tracker places them, jittered (shift up
    to a fifth of the face, size 0.85-1.2x, mirrored half the time) as a face moves between frames."""
    from moodcast.edge.sources.images import IMAGE_SUFFIXES, read_image
    from moodcast.edge.vision.detectors.base import Box
    from moodcast.edge.vision.detectors.yunet import YuNet, YuNetOptions
    from moodcast.edge.vision.detectors.yunet_follow import square_crop

    detector = YuNet(YuNetOptions(model, score_threshold=threshold, max_faces=100))
    paths = [p for folder in folders for p in sorted(Path(folder).rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
    faces = [(rgb, face.box) for rgb in map(read_image, paths) for face in detector.detect(rgb)]
    if not faces:
        raise ValueError(f"no faces found in {', '.join(map(str, folders))} to calibrate the follow model")
    rng = np.random.default_rng(seed)
    batch = np.zeros((count, size, size, 3), np.float32)
    for i in range(count):
        rgb, box = faces[i % len(faces)]
        side = max(box.w, box.h)
        grow = rng.uniform(0.85, 1.2)
        dx, dy = rng.uniform(-0.2, 0.2, 2) * side
        moved = Box(
            box.x + dx + box.w * (1 - grow) / 2, box.y + dy + box.h * (1 - grow) / 2, box.w * grow, box.h * grow
        )
        square_crop(batch[i : i + 1], rgb, moved)
        if rng.random() < 0.5:
            batch[i] = batch[i, :, ::-1]
    return batch
