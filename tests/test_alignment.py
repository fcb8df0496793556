"""Face alignment (emotion.align): the eye line's tilt, and a crop turned back by it."""

import cv2
import numpy as np
import pytest

from moodcast.edge.config import Config
from moodcast.edge.errors import ConfigError
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors.base import Box, Face
from moodcast.edge.vision.emotion import EmotionClassifier, EmotionOptions, crop_face, eye_tilt


def turned(rgb, degrees):
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REFLECT_101)


@pytest.fixture(scope="module")
def photo(data):
    return read_image(sorted((data / "expressions-dev" / "happy").iterdir())[0])


def test_eye_tilt_is_counter_clockwise_as_seen_and_ignores_strays():
    box = Box(0, 0, 100, 100)
    assert eye_tilt(Face(box, 1.0, ((30, 40), (70, 40)))) == 0
    # The right eye as seen is higher: the face is turned counter-clockwise; keypoint order does not matter.
    assert eye_tilt(Face(box, 1.0, ((70, 30), (30, 40)))) == pytest.approx(np.degrees(np.arctan2(10, 40)))
    assert eye_tilt(Face(box, 1.0, ((30, 30), (70, 40)))) < 0
    assert eye_tilt(Face(box, 1.0, ((30, 0), (40, 60)))) == 0  # 80 degrees: a landmark gone astray
    assert eye_tilt(Face(box, 1.0)) == 0


def test_a_turned_face_is_found_turned_and_its_aligned_crop_is_upright(photo):
    detector = Pipeline.from_config(Config(), still=True).detector
    off = EmotionClassifier(EmotionOptions(align=False))
    on = EmotionClassifier(EmotionOptions(align=True, align_min_degrees=0.0))
    upright = max(detector.detect(photo), key=lambda f: f.box.area)
    reference = on.crops(photo, [upright])[0].astype(np.float32)
    for degrees in (20, -20):
        image = turned(photo, degrees)
        face = max(detector.detect(image), key=lambda f: f.box.area)
        assert eye_tilt(face) == pytest.approx(eye_tilt(upright) + degrees, abs=4)
        plain, aligned = (c.crops(image, [face])[0].astype(np.float32) for c in (off, on))
        # Turned back, the crop matches the upright one far better than the unaligned crop does.
        assert np.abs(aligned - reference).mean() < 0.75 * np.abs(plain - reference).mean()
    square = crop_face(photo, upright.box, 64, 0.1, -0.1, 30.0)
    assert square.shape == (64, 64) and square.dtype == np.uint8


def test_the_classifier_aligns_only_when_asked_and_only_past_its_threshold(photo):
    face = Face(Box(100, 110, 90, 90), 1.0, ((120, 150), (170, 130)))  # tilted ~22 degrees
    level = Face(face.box, 1.0, ((120, 150), (170, 148)))
    options = EmotionOptions(align_min_degrees=12.0)
    off = EmotionClassifier(EmotionOptions(align=False))
    on = EmotionClassifier(EmotionOptions(align=True, align_min_degrees=12.0))
    assert np.array_equal(off.crops(photo, [level]), on.crops(photo, [level]))
    assert not np.array_equal(off.crops(photo, [face]), on.crops(photo, [face]))
    assert on.crops(photo, [face, level]).shape == (2, 48, 48) and options.align_min_degrees == 12
    with pytest.raises(ConfigError, match="align_min_degrees"):
        EmotionOptions(align_min_degrees=90)
