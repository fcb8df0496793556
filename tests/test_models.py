"""Shipped models on the device runtime: errors for bad files, the detector on real photos,
the emotion model against its model card."""

import json

import numpy as np
import pytest

from moodcast.edge.errors import ModelError
from moodcast.edge.paths import MODELS_DIR
from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors import DetectorOptions, create_detector
from moodcast.edge.vision.detectors.base import iou_matrix
from moodcast.edge.vision.emotion import EmotionClassifier
from moodcast.edge.vision.runtime import TFLiteModel
from moodcast.evaluation.degrade import TABLE


def test_missing_corrupt_and_wrong_models_are_named(tmp_path):
    with pytest.raises(ModelError, match="missing.tflite: model file not found"):
        TFLiteModel(tmp_path / "missing.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="junk.tflite: not a TFLite model"):
        TFLiteModel(junk)
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes((MODELS_DIR / "emotion.tflite").read_bytes()[:5000])
    with pytest.raises(ModelError, match="truncated.tflite"):
        TFLiteModel(truncated)
    # A real model in the wrong stage: the detector file given as the emotion model.
    with pytest.raises(ModelError, match="blazeface_short.tflite: expected a grey square input"):
        EmotionClassifier.create_from_model_path(MODELS_DIR / "blazeface_short.tflite")
    with pytest.raises(ModelError, match="emotion.tflite: unexpected tensors"):
        create_detector(DetectorOptions(name="blazeface-full", model=str(MODELS_DIR / "emotion.tflite")))


@pytest.mark.parametrize(
    "name, photos, share",
    [
        ("blazeface-onet", None, 0.75),  # all six boxed group photos, faces 37-109 px
        ("blazeface-full", None, 0.75),
        ("mtcnn", None, 0.85),
        ("yunet", None, 0.85),
        ("blazeface-short", ["dlib_2008_001322.jpg"], 1.0),  # short range: near, large faces only
    ],
)
def test_detector_finds_the_boxed_faces(data, name, photos, share):
    boxes = json.loads((data / "photos" / "boxes.json").read_text())["images"]
    boxes = [b for b in boxes if photos is None or b["file"] in photos]
    detector = create_detector(DetectorOptions(name=name, score_threshold=0.5))
    found = total = 0
    for entry in boxes:
        if not entry["boxes"]:
            continue
        faces = detector.detect(read_image(data / "photos" / entry["file"]))
        truth = np.array(entry["boxes"], float)
        got = np.array([[f.box.x, f.box.y, f.box.w, f.box.h] for f in faces]).reshape(-1, 4)
        total += len(truth)
        if len(got):
            found += int((iou_matrix(truth, got).max(axis=1) >= 0.3).sum())
        for f in faces:
            assert len(f.keypoints) in (5, 6) and 0.5 <= f.score <= 1
    # dlib's boxes are eyebrows-to-chin squares, so IoU 0.3 is a fair match for a detector's box.
    assert total and found / total >= share, f"{found}/{total}"


@pytest.mark.slow
def test_emotion_model_matches_its_card(data):
    """The shipped model, scored by `moodcast eval emotion` on the validation split (PublicTest),
    clean and degraded, reproduces the accuracies written in models/emotion.json within 0.1 point."""
    from moodcast.cli import main

    card = json.loads((MODELS_DIR / "emotion.json").read_text())
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        argv = ["eval", "emotion", "--data", str(data / "fer2013" / "archive.zip"), "--degrade", "night", "--json"]
        assert main(argv) == 0
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["n"] == 3589
    assert abs(result["accuracy"] - card["conversion"]["device_accuracy"]) <= 0.001
    assert abs(result["degraded"]["night:1"]["accuracy"] - card["robustness"]["accuracy"]["night:1"]) <= 0.001
    assert set(card["robustness"]["accuracy"]) == {"none", *TABLE}
    assert set(result) >= {"n", "accuracy", "macro_f1", "per_class", "confusion"}


@pytest.mark.slow
def test_eval_emotion_scores_against_ferplus_majority_votes(data):
    from helpers import run_cli

    votes = str(data / "fer2013" / "ferplus_labels.csv")
    code, out, err = run_cli(
        "eval", "emotion", "--data", str(data / "fer2013" / "archive.zip"), "--ferplus", votes, "--json"
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    ferplus = result["ferplus"]
    # Ties and crops where contempt, unknown or not-a-face won are left out.
    assert 3000 < ferplus["n"] < result["n"] == 3589
    assert sum(map(sum, ferplus["confusion"])) == ferplus["n"]
    assert ferplus["accuracy"] != result["accuracy"]
    assert "against FER+'s majority votes" in out

    code, _, err = run_cli("eval", "emotion", "--data", str(data / "expressions-dev"), "--ferplus", votes)
    assert code != 0 and "no crop of" in err


def test_emotion_classifier_batches_faces(data):
    from moodcast.edge.vision.detectors.base import Box, Face

    classifier = EmotionClassifier.create_from_model_path(MODELS_DIR / "emotion.tflite")
    rgb = read_image(data / "photos" / "dlib_2008_001322.jpg")
    boxes = [Box(221, 207, 78, 78), Box(99, 157, 84, 84), Box(-20, -20, 60, 60)]  # the last leaves the frame
    boxes = [Face(b, 1.0) for b in boxes]
    batch = classifier.classify(rgb, boxes)
    single = [classifier.classify(rgb, [b])[0] for b in boxes]
    assert len(batch) == 3
    for a, b in zip(batch, single):
        assert a.label == b.label
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
        assert abs(a.probabilities.sum() - 1) < 1e-3


def test_the_runtimes_delegate_notice_is_dropped_and_anything_else_it_prints_kept(capfd):
    """LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." from C++ once per
    process; every command would start with it. Other lines the runtime prints are kept."""
    import os
    import subprocess
    import sys

    from moodcast.edge.vision import runtime

    with runtime._without_delegate_notice():
        os.write(2, f"{runtime.DELEGATE_NOTICE}\nERROR: something the user must see\n".encode())
    err = capfd.readouterr().err
    assert runtime.DELEGATE_NOTICE not in err and "ERROR: something the user must see" in err

    # The real runtime, in a fresh process (the notice comes once per process), every model kind.
    for detector in ("blazeface-onet", "mtcnn"):
        script = (
            "from moodcast.edge.config import load; from moodcast.edge.pipeline import Pipeline; "
            "from moodcast.edge.sources.images import read_image; from moodcast.edge.paths import SAMPLES_DIR; "
            f"c = load(overrides={{'detector': {{'name': '{detector}'}}}}, environ={{}}); "
            "Pipeline.from_config(c, still=True).process(read_image(SAMPLES_DIR / 'astronaut.jpg'))"
        )
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0 and "XNNPACK" not in run.stderr, (detector, run.stderr)
