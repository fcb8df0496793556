"""Faces too small for the emotion model (``emotion.min_face_px``) are reported but not classified:
the astronaut's face shrunk below the floor in a larger frame, through `moodcast analyze`, the
daemon's tracked pipeline and the MQTT payloads, with the shipped models."""

import re

import cv2
import numpy as np
import pytest
from helpers import last_json, run_cli, validate

from moodcast.edge.config import load
from moodcast.edge.errors import ConfigError
from moodcast.edge.paths import SAMPLES_DIR
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.service.contract import faces_payload, state_payload
from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.emotion import MIN_FACE_PX, EmotionOptions

ASTRONAUT_FACE_PX = 101.7  # the default detector's box on samples/astronaut.jpg (its larger side)


def face_of(side: float) -> np.ndarray:
    """samples/astronaut.jpg scaled so its face is about ``side`` pixels, on a grey 640x480 frame
    (around the face there must be room for the detector to find it)."""
    photo = read_image(SAMPLES_DIR / "astronaut.jpg")
    scale = side / ASTRONAUT_FACE_PX
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 128, np.uint8)
    frame[200 : 200 + small.shape[0], 300 : 300 + small.shape[1]] = small
    return frame


def analyze(tmp_path, frame: np.ndarray, *flags: str) -> tuple[dict, str]:
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    code, out, _ = run_cli("analyze", str(path), "--json", *flags)
    assert code == 0
    code, text, _ = run_cli("analyze", str(path), *flags)
    assert code == 0
    return last_json(out)["images"][0], text


def test_a_face_below_the_floor_is_reported_unclassified_with_the_reason(tmp_path):
    # 22 px asked is the smallest the default detector (blazeface-onet) finds of this face in
    # this frame (its box: 21 px, score 0.6); at 20 px it finds nothing.
    entry, text = analyze(tmp_path, face_of(22))
    validate(entry, "analyze")
    [face] = entry["faces"]
    side = max(face["box"][2:])
    assert side < MIN_FACE_PX
    assert face["classified"] is False and face["why"] == f"too small ({int(side)} px < {MIN_FACE_PX} px)"
    assert face["emotion"] is None and face["confidence"] is None and face["probabilities"] is None
    # Faces in view, none readable: not "nobody".
    assert entry["scene"]["emotion"] is None and entry["scene"]["faces"] == 1 and entry["scene"]["unclassified"] == 1
    assert "1 too small to read, scene none readable" in text
    assert re.search(r"face 0: .* not classified: too small \(\d+ px < \d+ px\)", text)
    # 0 classifies every face.
    every, _ = analyze(tmp_path, face_of(22), "--set", "emotion.min_face_px=0")
    assert every["faces"][0]["classified"] is True and every["faces"][0]["emotion"]
    assert every["scene"]["emotion"] and every["scene"]["unclassified"] == 0


@pytest.mark.parametrize("side", [30, None])
def test_the_same_face_above_the_floor_is_classified(tmp_path, side):
    frame = read_image(SAMPLES_DIR / "astronaut.jpg") if side is None else face_of(side)
    entry, text = analyze(tmp_path, frame)
    validate(entry, "analyze")
    [face] = entry["faces"]
    assert max(face["box"][2:]) >= MIN_FACE_PX
    assert face["classified"] is True and "why" not in face and face["emotion"] in face["probabilities"]
    assert entry["scene"]["emotion"] == face["emotion"] and entry["scene"]["unclassified"] == 0
    assert "not classified" not in text


def counting_invokes(pipeline: Pipeline) -> list[int]:
    """The batch size of every invoke of the emotion model from now on."""
    invokes: list[int] = []
    run = pipeline.classifier.model.run
    pipeline.classifier.model.run = lambda x: invokes.append(len(x)) or run(x)
    return invokes


def test_a_still_spends_no_invoke_on_a_small_face():
    pipeline = Pipeline.from_config(load(environ={}), still=True)
    invokes = counting_invokes(pipeline)
    result = pipeline.process(face_of(22))
    assert len(result.faces) == 1 and result.faces[0].emotion is None
    assert invokes == [] and result.work.classified == 0
    pipeline.process(read_image(SAMPLES_DIR / "astronaut.jpg"))
    assert invokes == [2]  # the face and its mirror


def test_the_tracked_pipeline_spends_no_invoke_on_a_small_face_and_says_so_in_the_payloads():
    pipeline = Pipeline.from_config(load(environ={}))
    invokes = counting_invokes(pipeline)
    small, large = face_of(22), read_image(SAMPLES_DIR / "astronaut.jpg")
    results = [pipeline.process(small, ts=i / 10) for i in range(5)]
    assert invokes == [] and all(r.work.classified == 0 for r in results)
    last = results[-1]
    assert [f.track_id for f in last.faces] == [1] and last.faces[0].emotion is None
    faces, state = faces_payload(last), state_payload(last, True, True)
    validate(faces, "faces")
    validate({**state, "seq": 1, "boot_id": "0123456789abcdef"}, "state")
    assert faces["faces"][0]["classified"] is False and faces["faces"][0]["why"].startswith("too small")
    assert (state["emotion"], state["faces"], state["unclassified"]) == (None, 1, 1)
    # The face grows above the floor: classified at once, and the payloads are the usual ones.
    grown = pipeline.process(large, ts=5.0)  # a full detection is due
    assert invokes and grown.faces[0].emotion is not None and grown.scene.emotion is not None
    validate(faces_payload(grown), "faces")
    assert faces_payload(grown)["faces"][0]["classified"] is True


@pytest.mark.parametrize("value", [-1, 1001])
def test_min_face_px_is_range_checked_naming_the_key(value):
    with pytest.raises(ConfigError, match=r"emotion\.min_face_px: must be 0-1000"):
        load(overrides={"emotion": {"min_face_px": str(value)}}, environ={})


def test_min_face_px_zero_and_the_default_load():
    assert load(overrides={"emotion": {"min_face_px": "0"}}, environ={}).emotion.min_face_px == 0
    assert load(environ={}).emotion.min_face_px == EmotionOptions().min_face_px == MIN_FACE_PX
