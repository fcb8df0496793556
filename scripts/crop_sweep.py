"""Measure how the face crop's framing (margin around the detector's box, vertical shift) changes
end-to-end accuracy on a <class>/<photo> folder; prints a table, best first.

    .venv/bin/python scripts/crop_sweep.py [--data ../shared/data/expressions-dev] [--model FILE.tflite]
        [--detector NAME]
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace

import numpy as np
from checkout import DATA

from moodcast.edge.config import Config
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors import DetectorOptions
from moodcast.edge.vision.emotion import EmotionClassifier, EmotionOptions
from moodcast.evaluation.pipeline import NO_FACE, labelled_photos, score_with_misses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DATA / "expressions-dev"))
    parser.add_argument("--model", help="emotion .tflite (default: the shipped model)")
    parser.add_argument("--detector", default=DetectorOptions.name, help="the detector whose boxes are framed")
    args = parser.parse_args()
    config = replace(Config(), detector=DetectorOptions(name=args.detector))
    model = args.model or config.emotion.model
    pipeline = Pipeline.from_config(config, still=True)
    photos = [(read_image(p), label) for p, label in labelled_photos(args.data)]
    boxes = []
    for rgb, _ in photos:
        faces = pipeline.detector.detect(rgb)
        boxes.append(max(faces, key=lambda f: f.box.area) if faces else None)
    truth = np.array([label for _, label in photos])
    rows = []
    for margin, shift in itertools.product((0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6), (-0.1, -0.05, 0.0, 0.05, 0.1)):
        classifier = EmotionClassifier(EmotionOptions(model=model, margin=margin, shift_y=shift))
        pred = np.array(
            [
                EMOTIONS.index(classifier.classify(rgb, [face])[0].label) if face else NO_FACE
                for (rgb, _), face in zip(photos, boxes)
            ]
        )
        report = score_with_misses(truth, pred)
        rows.append((report.accuracy, report.macro_f1, margin, shift))
    print(f"{len(photos)} photos from {args.data}, detector {config.detector.name}, model {model}")
    print(f"{'margin':>7}{'shift_y':>9}{'accuracy':>10}{'macro-F1':>10}")
    for acc, f1, margin, shift in sorted(rows, reverse=True):
        print(f"{margin:>7.2f}{shift:>9.2f}{acc:>10.1%}{f1:>10.3f}")


if __name__ == "__main__":
    main()
