"""Run by the fer venv (.venv-fer: fer 25.10.3, TensorFlow, torch, setuptools<81): time fer's
detect_emotions on the given BGR frames and classify the given photos. Prints one JSON line."""

import json
import sys
import time

import cv2
import numpy as np
from fer.fer import FER

frames = np.load(sys.argv[1])["frames"]
photos = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []
detector = FER()  # its defaults: OpenCV Haar cascade + its bundled emotion model
for frame in frames[:3]:
    detector.detect_emotions(frame)
times = []
for frame in frames:
    t = time.perf_counter()
    detector.detect_emotions(frame)
    times.append((time.perf_counter() - t) * 1e3)
predictions = []
for path in photos:
    faces = detector.detect_emotions(cv2.imread(path))
    if not faces:
        predictions.append(None)
        continue
    largest = max(faces, key=lambda f: f["box"][2] * f["box"][3])
    predictions.append(max(largest["emotions"], key=largest["emotions"].get))
print(
    json.dumps(
        {
            "ms_p50": float(np.percentile(times, 50)),
            "ms_p95": float(np.percentile(times, 95)),
            "predictions": predictions,
        }
    )
)
