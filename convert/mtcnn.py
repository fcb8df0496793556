"""MTCNN's P-, R- and O-Net from the weights in the ``mtcnn`` 1.0.0 package (MIT) to TFLite.

The package stores each network as an lz4-compressed joblib list of arrays, in the order its
Keras layers create their weights. The networks are rebuilt here with the same layers (Keras 3,
functional) and converted with float32 weights: they are small (P-Net 27 KB) and the device code
(edge/vision/detectors/mtcnn.py) runs the cascade around them in numpy.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from moodcast.convert.tf import tensorflow
from moodcast.edge.errors import MissingExtraError, ModelError

SOURCE = {"package": "mtcnn", "version": "1.0.0", "licence": "MIT", "folder": "mtcnn/assets/weights"}
NETS = ("pnet", "rnet", "onet")


def _conv_prelu(x, layers, filters: int, kernel: int, name: str):
    x = layers.Conv2D(filters, kernel, padding="valid", name=f"conv{name}")(x)
    return layers.PReLU(shared_axes=[1, 2], name=f"prelu{name}")(x)


def build(net: str):
    """The Keras model of one network, layer for layer as in the mtcnn package."""
    import keras
    from keras import layers

    if net == "pnet":
        inputs = keras.Input((None, None, 3), name="image")
        x = _conv_prelu(inputs, layers, 10, 3, "1")
        x = layers.MaxPooling2D(2, 2, padding="same")(x)
        x = _conv_prelu(x, layers, 16, 3, "2")
        x = _conv_prelu(x, layers, 32, 3, "3")
        reg = layers.Conv2D(4, 1, name="conv4_1")(x)
        cls = layers.Conv2D(2, 1, activation="softmax", name="conv4_2")(x)
        return keras.Model(inputs, [reg, cls], name="pnet")
    if net == "rnet":
        inputs = keras.Input((24, 24, 3), name="patch")
        x = _conv_prelu(inputs, layers, 28, 3, "1")
        x = layers.MaxPooling2D(3, 2, padding="same")(x)
        x = _conv_prelu(x, layers, 48, 3, "2")
        x = layers.MaxPooling2D(3, 2, padding="valid")(x)
        x = _conv_prelu(x, layers, 64, 2, "3")
        x = layers.Flatten()(layers.Permute((2, 1, 3))(x))  # the Caffe original flattens column-major
        x = layers.PReLU(name="prelu4")(layers.Dense(128, name="fc4")(x))
        reg = layers.Dense(4, name="fc5_1")(x)
        cls = layers.Dense(2, activation="softmax", name="fc5_2")(x)
        return keras.Model(inputs, [reg, cls], name="rnet")
    if net == "onet":
        inputs = keras.Input((48, 48, 3), name="patch")
        x = _conv_prelu(inputs, layers, 32, 3, "1")
        x = layers.MaxPooling2D(3, 2, padding="same")(x)
        x = _conv_prelu(x, layers, 64, 3, "2")
        x = layers.MaxPooling2D(3, 2, padding="valid")(x)
        x = _conv_prelu(x, layers, 64, 3, "3")
        x = layers.MaxPooling2D(2, 2, padding="same")(x)
        x = _conv_prelu(x, layers, 128, 2, "4")
        x = layers.Flatten()(layers.Permute((2, 1, 3))(x))
        x = layers.PReLU(name="prelu5")(layers.Dense(256, name="fc5")(x))
        reg = layers.Dense(4, name="fc6_1")(x)
        marks = layers.Dense(10, name="fc6_2")(x)
        cls = layers.Dense(2, activation="softmax", name="fc6_3")(x)
        return keras.Model(inputs, [reg, marks, cls], name="onet")
    raise ValueError(net)


def read_weights(net: str, source: str | Path | None) -> tuple[list, bytes]:
    """The arrays (and the raw file, for its hash) from the mtcnn wheel or an installed copy."""
    import io

    try:
        import joblib  # the package's own format: joblib + lz4
    except ImportError:
        raise MissingExtraError("reading MTCNN weights", "train", "joblib") from None
    member = f"{SOURCE['folder']}/{net}.lz4"
    if source and str(source).endswith(".whl"):
        with zipfile.ZipFile(source) as wheel:
            raw = wheel.read(member)
    else:
        import importlib.util

        root = Path(source) if source else None
        if root is None:
            spec = importlib.util.find_spec("mtcnn")
            if spec is None or not spec.submodule_search_locations:
                raise ModelError(
                    "mtcnn weights not found: pip download --no-deps mtcnn==1.0.0 and pass --source the .whl"
                )
            root = Path(next(iter(spec.submodule_search_locations))).parent
        raw = (root / member).read_bytes()
    # joblib.load takes a file object; the lz4 compression is detected from the content.
    return joblib.load(io.BytesIO(raw)), raw


def convert_mtcnn(out_dir: str | Path, source: str | Path | None = None) -> dict:
    """Write ``mtcnn_{pnet,rnet,onet}.tflite`` to ``out_dir``; returns what the card records."""
    import numpy as np

    tf = tensorflow()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for net in NETS:
        weights, raw = read_weights(net, source)
        model = build(net)
        expected = [tuple(w.shape) for w in model.get_weights()]
        got = [tuple(np.shape(w)) for w in weights]
        if expected != got:
            raise ModelError(f"{net}: the weights do not fit the network ({got} vs {expected})")
        model.set_weights(weights)
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        content = converter.convert()
        path = out_dir / f"mtcnn_{net}.tflite"
        path.write_bytes(content)
        files[net] = {
            "file": path.name,
            "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "weights_sha256": hashlib.sha256(raw).hexdigest(),
        }
    return files


def write_card(files: dict, out_dir: Path, extra: dict) -> Path:
    card = {
        "model": "mtcnn",
        "files": files,
        "source": SOURCE,
        "changes": "networks rebuilt in Keras 3 from the package's weight arrays, converted with float32 weights",
        "command": f"moodcast convert detector --arch mtcnn --out {out_dir}",
        "notes": "R-Net and O-Net also check BlazeFace's proposals in the default detector, blazeface-onet "
        "(edge/vision/detectors/refined.py, measured in models/README.md)",
        **extra,
    }
    path = out_dir / "mtcnn.json"
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path
