"""Compatibility gate: every shipped model loads and gives the same outputs in ai-edge-litert
(this venv) and in tflite-runtime 2.14 (.venv-tflite, Python <= 3.11, numpy < 2), so an op
version the older runtime lacks can never reach a Pi; and the fallback's install route (the
tflite extra with constraints/bookworm.txt) resolves and runs moodcast."""

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import run_cli

from moodcast.edge.paths import MODELS_DIR, SAMPLES_DIR
from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors import DetectorOptions, create_detector
from moodcast.edge.vision.detectors.base import iou_matrix, overlap_matrix
from moodcast.edge.vision.detectors.blazeface import BlazeFace, BlazeFaceOptions
from moodcast.edge.vision.detectors.yunet import YuNet, YuNetOptions
from moodcast.edge.vision.detectors.yunet_follow import square_crop
from moodcast.edge.vision.runtime import TFLiteModel

REPO = MODELS_DIR.parent
PROBE = REPO / "tests" / "tflite_runtime_probe.py"
OLD_PYTHON = REPO / ".venv-tflite" / "bin" / "python"
SHIPPED = sorted(MODELS_DIR.glob("*.tflite"))
PHOTOS = REPO.parent / "shared" / "data" / "photos"


def test_there_are_shipped_models():
    assert {p.name for p in SHIPPED} >= {
        "emotion.tflite",
        "blazeface_short.tflite",
        "blazeface_full.tflite",
        "mtcnn_pnet.tflite",
        "mtcnn_rnet.tflite",
        "mtcnn_onet.tflite",
        "yunet.tflite",
        "yunet_follow.tflite",
    }


def int8_inside(model: TFLiteModel) -> bool:
    """An int8 graph behind float input and output (the rebuilt BlazeFace): its raw outputs are
    compared as detections instead (test below), since rounding differences between runtimes add
    up over ~90 int8 layers in anchors that score nothing."""
    inner = model._interpreter.get_tensor_details()
    return not model.outputs[0].quantized and any(d["dtype"] == np.int8 for d in inner)


def run_old_runtime(tmp_path, inputs: dict[str, np.ndarray]):
    """Outputs of tflite-runtime 2.14 for ``{"path|with|bars": input}``."""
    if not OLD_PYTHON.exists():
        pytest.fail(".venv-tflite is missing: scripts/test.sh creates it (tflite-runtime==2.14.0, numpy<2)")
    np.savez(tmp_path / "in.npz", **inputs)
    run = subprocess.run(
        [str(OLD_PYTHON), str(PROBE), str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"tflite-runtime 2.14 could not run a shipped model:\n{run.stderr[-2000:]}"
    return np.load(tmp_path / "out.npz")


OLD_PYTHON_ONLY = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="tflite-runtime 2.14 has no wheels past Python 3.11"
)


@OLD_PYTHON_ONLY
def test_tflite_runtime_2_14_agrees_with_ai_edge_litert(tmp_path):
    rng = np.random.default_rng(0)
    inputs, expected, compared_as_detections = {}, {}, set()
    for path in SHIPPED:
        model = TFLiteModel(path, runtime="ai_edge_litert")
        spec = model.inputs[0]
        shape = spec.shape if min(spec.shape[1:3]) > 1 else (1, 64, 48, 3)  # free-size input (P-Net)
        if np.issubdtype(spec.dtype, np.integer):
            info = np.iinfo(spec.dtype)
            x = rng.integers(info.min, info.max + 1, shape).astype(spec.dtype)
        else:
            x = rng.uniform(-1, 1, shape).astype(spec.dtype)
        key = str(path).replace("/", "|")
        inputs[key] = x
        if int8_inside(model):
            compared_as_detections.add(key)
        for i, out in enumerate(model.run(x)):
            expected[f"{key}#{i}"] = out
    got = run_old_runtime(tmp_path, inputs)
    assert set(got.files) == set(expected)
    for key, want in expected.items():
        have = got[key]
        assert have.dtype == want.dtype and have.shape == want.shape, key
        if key.split("#")[0] in compared_as_detections:
            continue
        if np.issubdtype(want.dtype, np.integer):
            # int8 kernels round differently between runtime versions, and the differences add up
            # over layers: a few steps (1 step = 1/256 of probability) and the same top class.
            assert np.abs(have.astype(int) - want.astype(int)).max() <= 3, key
            assert have.argmax() == want.argmax(), key
        else:
            np.testing.assert_allclose(have, want, rtol=1e-3, atol=1e-3, err_msg=key)


def int8_detector(name: str):
    if name == "yunet":
        return YuNet(YuNetOptions(MODELS_DIR / "yunet.tflite", score_threshold=0.3, max_faces=50))
    return BlazeFace(
        BlazeFaceOptions(model=MODELS_DIR / "blazeface_full.tflite", variant="full", score_threshold=0.3, max_faces=50)
    )


@OLD_PYTHON_ONLY
@pytest.mark.parametrize("name", ["blazeface-full", "yunet"])
@pytest.mark.parametrize("photo", ["dlib_2008_002470.jpg", "linzaer_17.jpg"])
def test_int8_detector_finds_the_same_faces_in_tflite_runtime_2_14(tmp_path, photo, name):
    detector = int8_detector(name)
    assert int8_inside(detector.model)
    scale, px, py = detector.letterbox(read_image(PHOTOS / photo))
    key = str(detector.model.path).replace("/", "|")
    got = run_old_runtime(tmp_path, {key: detector.canvas})
    ours = detector.decode(detector.model.run(detector.canvas), scale, px, py)
    theirs = detector.decode([got[f"{key}#{i}"] for i in range(len(detector.model.outputs))], scale, px, py)
    confident = [f for f in ours if f.score >= 0.5]
    assert len(confident) >= 2
    # Every confident face is there, with about the same score and box (one step of the int8 box
    # output is ~0.8 input pixels: IoU 0.85 on a 30-pixel face).
    for face in confident:
        boxes = np.array([[f.box.x, f.box.y, f.box.w, f.box.h] for f in theirs])
        overlap = iou_matrix(np.array([[face.box.x, face.box.y, face.box.w, face.box.h]]), boxes)[0]
        best = int(overlap.argmax())
        assert overlap[best] > 0.8 and abs(theirs[best].score - face.score) < 0.05, (face, theirs[best])
    assert abs(len(theirs) - len(ours)) <= max(1, len(ours) // 10)


@OLD_PYTHON_ONLY
def test_the_yunet_follow_model_follows_the_same_face_in_tflite_runtime_2_14(tmp_path):
    detector = create_detector(DetectorOptions(name="yunet"))
    frame = read_image(SAMPLES_DIR / "astronaut.jpg")
    (face,) = detector.detect(frame)
    follower = detector.follower
    assert int8_inside(follower.model)
    square_crop(follower.canvas, frame, face.box)
    key = str(follower.model.path).replace("/", "|")
    got = run_old_runtime(tmp_path, {key: follower.canvas})
    ours = follower.candidates(follower.model.run(follower.canvas), 0.6)
    theirs = follower.candidates([got[f"{key}#{i}"] for i in range(len(follower.model.outputs))], 0.6)
    best_ours, best_theirs = ours[ours[:, 4].argmax()], theirs[theirs[:, 4].argmax()]
    assert abs(best_ours[4] - best_theirs[4]) < 0.05
    assert overlap_matrix(best_ours[None, :4], best_theirs[None, :4])[0, 0] > 0.9


@OLD_PYTHON_ONLY
def test_the_tflite_install_route_runs_moodcast_on_tflite_runtime(data):
    """.venv-tflite is installed docs/install-pi.md's fallback way (`pip install -e ".[tflite]" -c
    constraints/bookworm.txt`, scripts/test.sh): pip resolved it (numpy 1, an OpenCV 4 built for
    numpy 1, no ai-edge-litert), and `moodcast analyze` there sees what it sees here."""
    if not OLD_PYTHON.exists():
        pytest.fail(".venv-tflite is missing: scripts/test.sh creates it")
    versions = subprocess.run(
        [str(OLD_PYTHON), "-c", PROBE_VERSIONS], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert versions.returncode == 0, versions.stderr[-2000:]
    numpy_version, cv2_version, runtime, litert, problems = versions.stdout.split("|")
    assert numpy_version.startswith("1.") and cv2_version.startswith("4.") and runtime == "tflite_runtime"
    assert litert == "None", "the tflite route must not pull ai-edge-litert"
    assert problems.strip() == "No broken requirements found.", problems
    photos = [REPO / "samples" / "astronaut.jpg", data / "photos" / "dlib_2008_001322.jpg"]
    old = subprocess.run(
        [str(OLD_PYTHON), "-m", "moodcast", "analyze", "--json", *map(str, photos)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert old.returncode == 0, old.stderr[-2000:]
    theirs = json.loads(old.stdout.strip().splitlines()[-1])["images"]
    code, out, _ = run_cli("analyze", "--json", *map(str, photos))
    ours = json.loads(out.strip().splitlines()[-1])["images"]
    assert code == 0 and len(theirs) == len(ours) == 2
    for a, b in zip(theirs, ours):
        assert len(a["faces"]) == len(b["faces"]) >= 1
        for fa, fb in zip(a["faces"], b["faces"]):
            assert fa["emotion"] == fb["emotion"]
            # The whole pipeline on two runtimes and two OpenCVs: the detector's boxes move by a few
            # pixels (8 at most here), so the crop and its probabilities move more than the
            # model's own int8 steps (checked above): 0.094 on the worst face of these photos.
            assert iou_matrix(np.array([fa["box"]]), np.array([fb["box"]]))[0, 0] > 0.8
            assert max(abs(fa["probabilities"][k] - fb["probabilities"][k]) for k in fb["probabilities"]) <= 0.15


PROBE_VERSIONS = """
import subprocess, sys
from importlib import metadata
import cv2, numpy
from moodcast.edge.vision.runtime import interpreter_class
try:
    litert = metadata.version("ai-edge-litert")
except metadata.PackageNotFoundError:
    litert = None
check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True).stdout
print(numpy.__version__, cv2.__version__, interpreter_class()[0], litert, check, sep="|")
"""
