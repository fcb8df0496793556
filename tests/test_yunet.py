"""The yunet backend on the shipped int8 model and real photos; its float rebuild against OpenCV's
own YuNet (``cv2.FaceDetectorYN``) on the upstream ONNX file."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import run_cli

from moodcast.edge.errors import ModelError
from moodcast.edge.paths import MODELS_DIR, SAMPLES_DIR
from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors import DetectorOptions, create_detector
from moodcast.edge.vision.detectors.base import Box, Face, FollowingDetector, iou_matrix
from moodcast.edge.vision.detectors.yunet import YuNet, YuNetOptions
from moodcast.edge.vision.detectors.yunet_follow import YuNetFollowing

ONNX = Path(__file__).resolve().parent.parent.parent / "shared" / "upstream" / "yunet" / "yunet_n_dynamic.onnx"
GROUP = "linzaer_25.jpg"  # a group photo: many faces
PHOTOS = ["dlib_2008_002470.jpg", "linzaer_17.jpg", GROUP]


def rows(faces: list[Face] | list[Box]) -> np.ndarray:
    boxes = [f.box if isinstance(f, Face) else f for f in faces]
    return np.array([[b.x, b.y, b.w, b.h] for b in boxes], np.float64).reshape(-1, 4)


@pytest.fixture(scope="module")
def shipped() -> YuNet:
    return YuNet(YuNetOptions(MODELS_DIR / "yunet.tflite", score_threshold=0.5, max_faces=100))


@pytest.fixture(scope="module")
def float_rebuild(tmp_path_factory) -> Path:
    """The upstream ONNX rebuilt unquantized at the shipped model's input size."""
    if not ONNX.is_file():
        pytest.skip(f"{ONNX} is missing: the upstream YuNet weights (reference data) are not beside the checkout")
    pytest.importorskip("onnx", reason="the [train] extra's onnx reads the upstream weights")
    from moodcast.convert.yunet import convert_yunet, read_onnx

    height, width = YuNet(YuNetOptions(MODELS_DIR / "yunet.tflite")).canvas.shape[1:3]
    path = tmp_path_factory.mktemp("yunet") / "yunet_float.tflite"
    path.write_bytes(convert_yunet(read_onnx(ONNX)[0], width, height, "float32"))
    return path


@pytest.mark.parametrize("photo", PHOTOS)
def test_the_float_rebuild_finds_what_opencv_finds_with_the_onnx_file(float_rebuild, data, photo):
    if not hasattr(cv2, "FaceDetectorYN"):
        pytest.skip(f"OpenCV {cv2.__version__} has no FaceDetectorYN (4.8+)")
    ours = YuNet(YuNetOptions(float_rebuild, score_threshold=0.5, max_faces=1000))
    ours.letterbox(read_image(data / "photos" / photo))
    canvas = ours.canvas[0].astype(np.uint8)  # whole pixel values: OpenCV sees the same input
    height, width = canvas.shape[:2]
    opencv = cv2.FaceDetectorYN.create(str(ONNX), "", (width, height), 0.5, 0.3, 5000)
    _, theirs = opencv.detect(np.ascontiguousarray(canvas[:, :, ::-1]))
    faces = ours.decode(ours.model.run(ours.canvas), 1.0, 0, 0)  # in canvas pixels, as OpenCV's
    assert theirs is not None and len(faces) == len(theirs) >= 1
    theirs = theirs[np.argsort(-theirs[:, -1])]
    overlap = iou_matrix(rows(faces), theirs[:, :4].astype(np.float64))
    assert np.diag(overlap).min() > 0.99
    np.testing.assert_allclose([f.score for f in faces], theirs[:, -1], atol=1e-3)
    np.testing.assert_allclose([f.keypoints for f in faces], theirs[:, 4:14].reshape(-1, 5, 2), atol=0.05)


@pytest.mark.parametrize("photo", PHOTOS)
def test_the_int8_model_finds_the_faces_of_the_float_rebuild(float_rebuild, shipped, data, photo):
    frame = read_image(data / "photos" / photo)
    want = YuNet(YuNetOptions(float_rebuild, score_threshold=0.5, max_faces=100)).detect(frame)
    have = shipped.detect(frame)
    confident = [f for f in want if f.score >= 0.7]
    assert confident
    overlap = iou_matrix(rows(confident), rows(have))
    assert (overlap.max(axis=1) > 0.8).all(), overlap.max(axis=1)
    assert abs(len(have) - len(want)) <= max(1, len(want) // 10)


def test_the_astronauts_face_and_its_landmarks():
    frame = read_image(SAMPLES_DIR / "astronaut.jpg")
    faces = create_detector(DetectorOptions(name="yunet")).detect(frame)
    assert len(faces) == 1 and faces[0].score > 0.8
    face = faces[0]
    cascade = create_detector(DetectorOptions(name="blazeface-onet")).detect(frame)[0]
    assert iou_matrix(rows([face]), rows([cascade]))[0, 0] > 0.6
    (rx, ry), (lx, ly), (nx, ny), (mrx, mry), (mlx, mly) = face.keypoints
    box = face.box
    # Eyes first, the subject's right eye on the image's left (the order the Face type promises),
    # level, in the upper half of the box; the nose between and below them, the mouth lower still.
    assert box.x < rx < nx < lx < box.x + box.w
    assert abs(ry - ly) < 0.1 * box.h and box.y < ry < box.y + box.h / 2
    assert ry < ny < mry and ly < ny < mly and mrx < mlx
    # The same eyes as the cascade's O-Net finds, within a tenth of the face (the two mark the eye
    # centre a few pixels apart: 5 here).
    for ours, theirs in zip(face.keypoints[:2], cascade.keypoints[:2]):
        assert np.hypot(ours[0] - theirs[0], ours[1] - theirs[1]) < 0.1 * box.w


def test_boxes_come_back_in_frame_pixels_whatever_the_frame(shipped):
    frame = read_image(SAMPLES_DIR / "astronaut.jpg")
    (face,) = shipped.detect(frame)
    # Part of the picture in a square black frame: another scale, and padded left and right
    # instead of not at all.
    square = np.zeros((400, 400, 3), np.uint8)
    square[100:340, 40:360] = frame[0:240, 160:480]
    (moved,) = shipped.detect(square)
    expected = np.array([[face.box.x - 120, face.box.y + 100, face.box.w, face.box.h]])
    assert iou_matrix(rows([moved]), expected)[0, 0] > 0.85
    # The network's landmarks move a little with the face's scale (float as int8: 7.6 pixels at most
    # here, a mouth corner); a mapping error moves them by the padding (67 pixels) or the scale.
    near = 0.1 * face.box.w
    for (x, y), (ex, ey) in zip(moved.keypoints, face.keypoints):
        assert abs(x - (ex - 120)) < near and abs(y - (ey + 100)) < near


def test_overlapping_candidates_become_one_face_and_max_faces_keeps_the_best(data):
    frame = read_image(data / "photos" / GROUP)
    every = YuNet(YuNetOptions(MODELS_DIR / "yunet.tflite", max_faces=1000)).detect(frame)
    assert len(every) > 10
    overlap = iou_matrix(rows(every), rows(every))
    np.fill_diagonal(overlap, 0)
    assert overlap.max() <= 0.3  # NMS at 0.3, as OpenCV's FaceDetectorYN
    scores = [f.score for f in every]
    assert scores == sorted(scores, reverse=True)
    best = YuNet(YuNetOptions(MODELS_DIR / "yunet.tflite", max_faces=4)).detect(frame)
    assert best == every[:4]


def test_a_model_that_is_not_yunet_is_a_clear_error():
    for other in ("blazeface_full.tflite", "emotion.tflite"):
        with pytest.raises(ModelError, match=other):
            YuNet(YuNetOptions(MODELS_DIR / other))


def test_with_its_follow_model_beside_it_yunet_follows_faces(tmp_path):
    detector = create_detector(DetectorOptions(name="yunet"))
    assert isinstance(detector, FollowingDetector) and isinstance(detector, YuNetFollowing)
    alone = tmp_path / "yunet.tflite"
    alone.write_bytes((MODELS_DIR / "yunet.tflite").read_bytes())
    assert not isinstance(create_detector(DetectorOptions(name="yunet", model=str(tmp_path))), FollowingDetector)


def test_a_face_is_followed_from_where_it_was_and_lost_where_it_is_not(shipped):
    follower = create_detector(DetectorOptions(name="yunet"))
    frame = read_image(SAMPLES_DIR / "astronaut.jpg")
    (face,) = follower.detect(frame)
    b = face.box
    moved = Box(b.x + 0.15 * b.w, b.y - 0.1 * b.h, b.w * 1.1, b.h * 1.1)  # as if the face moved
    nowhere = Box(20, 300, b.w, b.h)  # the astronaut's suit, no face
    followed, lost = follower.refine(frame, [moved, nowhere])
    # The best of the candidates over the face, not any of them (those score down to the threshold).
    assert lost is None and followed is not None and followed.score > 0.85
    assert iou_matrix(rows([followed]), rows([face]))[0, 0] > 0.8
    for (x, y), (ex, ey) in zip(followed.keypoints[:3], face.keypoints[:3]):
        assert np.hypot(x - ex, y - ey) < 0.1 * b.w
    # At the frame's edge the crop is partly outside it: the face is still found where it is.
    edge = np.ascontiguousarray(frame[:, int(b.x) - 10 :])
    (at_edge,) = follower.refine(edge, [Box(10, b.y, b.w, b.h)])
    assert (
        at_edge is not None and iou_matrix(rows([at_edge]), rows([Box(b.x - int(b.x) + 10, b.y, b.w, b.h)]))[0, 0] > 0.8
    )


def test_following_keeps_the_face_it_follows_not_a_neighbour(data):
    """On the boxed group photos, every face followed from its own box is found again, on the
    same person (the true box it overlaps most), as well placed as the detection was."""
    follower = create_detector(DetectorOptions(name="yunet", max_faces=100))
    entries = [e for e in json.loads((data / "photos" / "boxes.json").read_text())["images"] if e.get("boxes")]
    detected, followed = [], []
    for entry in entries:
        frame = read_image(data / "photos" / entry["file"])
        truth = np.array(entry["boxes"], np.float64)
        faces = follower.detect(frame)
        again = follower.refine(frame, [f.box for f in faces])
        assert all(g is not None for g in again), entry["file"]
        before, after = iou_matrix(rows(faces), truth), iou_matrix(rows(again), truth)
        assert (before.argmax(axis=1) == after.argmax(axis=1)).all(), entry["file"]
        detected += list(before.max(axis=1))
        followed += list(after.max(axis=1))
    assert len(followed) >= 30 and np.median(followed) >= np.median(detected) - 0.05


def test_convert_says_what_it_needs_before_converting_anything(tmp_path):
    out = tmp_path / "yunet.tflite"
    code, _, err = run_cli("convert", "detector", "--arch", "yunet", "--out", str(out), "--mode", "float32")
    assert code == 2 and "--source" in err and "yunet_n_dynamic.onnx" in err
    given = ["--source", str(tmp_path / "any.onnx"), "--mode", "float32"]
    code, _, err = run_cli(
        "convert", "detector", "--arch", "yunet", "--out", str(out), *given, "--follow-size", "64x96"
    )
    assert code == 2 and "square" in err
    code, _, err = run_cli(
        "convert", "detector", "--arch", "yunet", "--out", str(out), *given, "--input-size", "250x190"
    )
    assert code == 2 and "multiples of 32" in err
    code, _, err = run_cli("convert", "detector", "--arch", "yunet", "--out", str(out), "--source", str(ONNX))
    assert code == 2 and "--calib" in err  # int8 needs calibration photos
    assert not out.exists()
