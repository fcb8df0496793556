"""The numeric parts of detection: anchors, weighted NMS, AP, box adjustment, MTCNN helpers."""

import numpy as np
import pytest

from moodcast.edge.vision.detectors.base import iou_matrix, weighted_nms
from moodcast.edge.vision.detectors.blazeface import VARIANTS, shrink, ssd_anchors
from moodcast.edge.vision.detectors.mtcnn import nms, to_square
from moodcast.evaluation.detection import BoxAdjust, average_precision, match, score_detections
from moodcast.evaluation.metrics import classification_report


@pytest.mark.parametrize("variant, width, height, count", [("short", 128, 128, 896), ("full", 192, 192, 2304)])
def test_anchor_counts_match_mediapipe(variant, width, height, count):
    anchors = ssd_anchors(VARIANTS[variant], width, height)
    assert anchors.shape == (count, 2)
    assert anchors.min() > 0 and anchors.max() < max(width, height)


def test_anchors_of_a_wide_input_follow_rows():
    anchors = ssd_anchors(VARIANTS["full"], 256, 192)
    assert anchors.shape == (64 * 48, 2)
    np.testing.assert_allclose(anchors[:2], [[2, 2], [6, 2]])  # row by row, 4 px cells
    np.testing.assert_allclose(anchors[-1], [254, 190])


def test_weighted_nms_merges_overlaps_by_score():
    boxes = np.array([[10, 10, 20, 20], [12, 10, 20, 20], [100, 100, 10, 10]], np.float32)
    scores = np.array([0.9, 0.3, 0.8], np.float32)
    extra = np.array([[0.0], [4.0], [7.0]], np.float32)
    kept = weighted_nms(boxes, scores, extra, 0.3)
    assert len(kept) == 2
    box, score, merged = kept[0]
    assert score == pytest.approx(0.9)
    assert box[0] == pytest.approx((10 * 0.9 + 12 * 0.3) / 1.2)
    assert merged[0] == pytest.approx(4 * 0.3 / 1.2)


def test_iou_and_matching():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 10, 10], [20, 20, 5, 5]], float)
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150, 0.0]])
    dets = np.array([[0, 0, 10, 10], [1, 0, 10, 10]], float)
    hits = match(dets, np.array([0.5, 0.9]), a, 0.5)
    assert hits.tolist() == [False, True]  # the better-scored detection claims the face


def test_average_precision_all_point():
    # Two faces; detections by score: hit, miss, hit -> precision 1 at recall 0.5, 2/3 at recall 1.
    ap = average_precision(np.array([True, False, True]), np.array([0.9, 0.8, 0.7]), 2)
    assert ap == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    scores = score_detections(
        [(np.array([[0, 0, 10, 10]], float), np.array([0.9]), np.array([[0, 0, 10, 10]], float))], 0.5
    )
    assert scores.ap50 == pytest.approx(1.0) and scores.recall == 1.0 and scores.fp_per_image == 0.0
    # Interpolated: the precision at each recall is the best at that recall or beyond. Hit, miss,
    # miss, hit, hit over three faces: raw precisions 1, 1/2, 1/3, 1/2, 3/5 -> 1, 3/5, 3/5.
    ap = average_precision(np.array([True, False, False, True, True]), np.linspace(0.9, 0.5, 5), 3)
    assert ap == pytest.approx((1 + 3 / 5 + 3 / 5) / 3)


def test_classification_report_scores_a_known_confusion():
    # Classes 0-2 of seven; class 1 is never predicted, classes 3-6 never occur.
    truth = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([0, 0, 2, 0, 2, 2])
    report = classification_report(truth, pred)
    assert report.n == 6 and report.accuracy == pytest.approx(3 / 6)
    angry, disgust, fear = (report.per_class[k] for k in ("angry", "disgust", "fear"))
    assert (angry.precision, angry.recall, angry.support) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert (disgust.precision, disgust.recall, disgust.f1) == (0.0, 0.0, 0.0)
    assert (fear.precision, fear.recall) == (pytest.approx(1 / 3), 1.0)
    # Macro-F1 over the classes that occur (absent classes would drag it down for no reason).
    assert report.macro_f1 == pytest.approx((2 / 3 + 0 + 0.5) / 3)
    assert report.confusion[0][:3] == [2, 0, 1] and report.confusion[1][:3] == [1, 0, 1]


def test_box_adjust_scales_about_the_centre_and_shifts():
    out = BoxAdjust(2.0, 1.5, -0.1).apply(np.array([[10, 20, 10, 20]], float))
    np.testing.assert_allclose(out, [[5, 13, 20, 30]])


def test_mtcnn_helpers():
    rows = np.array([[0, 0, 10, 20, 0.9], [1, 1, 11, 21, 0.8], [50, 50, 60, 60, 0.7]], float)
    assert len(nms(rows, 0.5)) == 2
    square = to_square(rows[:1])
    assert square[0, 2] - square[0, 0] == square[0, 3] - square[0, 1] == 20


def test_shrink_gives_the_asked_size():
    image = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    assert shrink(image, 192, 144).shape == (144, 192, 3)
    assert shrink(image, 640, 480).shape == (480, 640, 3)
    flat = np.full((480, 640, 3), 77, np.uint8)
    assert (shrink(flat, 128, 96) == 77).all()
