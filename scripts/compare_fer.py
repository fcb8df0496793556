"""moodcast against the `fer` package on the same frames, in the same run.

Speed: both pipelines on the same frames (detect + classify, decoding excluded), one thread, each
frame analysed in full (moodcast's still-image pipeline: no motion gate, no tracking, as for a
scene that changes every frame). The frames are ``--frames`` copies of ``--input``, or with
``--frames-dir`` real photos letterboxed to 640x480 (e.g. faces-dev, several faces each).
Accuracy: the largest face of each photo in a <class>/<photo> folder.

    .venv/bin/python scripts/compare_fer.py [--frames 100] [--photos ../shared/data/expressions-dev]
    .venv/bin/python scripts/compare_fer.py --frames-dir ../shared/data/faces-dev/images --frames 200

fer needs its own venv (TensorFlow + torch): python3 -m venv .venv-fer &&
.venv-fer/bin/pip install fer==25.10.3 "setuptools<81"
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from checkout import DATA, REPO

from moodcast.edge import config as cfg
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.paths import SAMPLES_DIR
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.sources.images import IMAGE_SUFFIXES, read_image
from moodcast.edge.vision.detectors.blazeface import letterbox_geometry
from moodcast.evaluation.pipeline import NO_FACE, labelled_photos, largest_face_label, score_with_misses


def letterbox(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """``rgb`` scaled to fit ``width`` x ``height`` and centred on black, as a camera frame."""
    _, w, h, x, y = letterbox_geometry(rgb.shape[1], rgb.shape[0], width, height)
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[y : y + h, x : x + w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", default=str(SAMPLES_DIR / "astronaut.jpg"))
    parser.add_argument("--frames", type=int, default=100, help="how many frames (with --frames-dir: at most)")
    parser.add_argument("--frames-dir", help="real photos, letterboxed to 640x480, in place of --input copies")
    parser.add_argument("--photos", default=str(DATA / "expressions-dev"))
    parser.add_argument("--fer-python", default=str(REPO / ".venv-fer" / "bin" / "python"))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="moodcast setting, e.g. --set detector.name=blazeface-full",
    )
    parser.add_argument(
        "--without-fer", action="store_true", help="moodcast's side alone (its stage costs), e.g. without .venv-fer"
    )
    args = parser.parse_args()
    if not args.without_fer and not Path(args.fer_python).exists():
        sys.exit(f"{args.fer_python} not found; see this script's docstring to create the fer venv")

    cv2.setNumThreads(1)  # one thread, like the interpreter
    if args.frames_dir:
        paths = sorted(p for p in Path(args.frames_dir).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        frames = np.stack([letterbox(read_image(p), 640, 480) for p in paths[: args.frames]])
    else:
        frames = np.stack([read_image(args.input)] * args.frames)
    rgb = frames[0]
    config = cfg.load(overrides=[cfg.parse_assignment(s) for s in args.set], environ={})
    pipeline = Pipeline.from_config(config, still=True)
    faces = sum(len(pipeline.process(f).faces) for f in frames)
    for _ in range(5):
        pipeline.process(rgb)
    ours, stages = [], []
    for frame in frames:
        t = time.perf_counter()
        result = pipeline.process(frame)
        ours.append((time.perf_counter() - t) * 1e3)
        stages.append(result.timings_ms)

    photos = labelled_photos(args.photos)
    truth = np.array([label for _, label in photos])
    still = Pipeline.from_config(config, still=True)
    ours_pred = [largest_face_label(still, read_image(path)) for path, _ in photos]
    if args.without_fer:
        rep = score_with_misses(truth, np.asarray(ours_pred))
        source = args.frames_dir or f"copies of {Path(args.input).name}"
        cost = "  ".join(f"{k} {np.median([s[k] for s in stages]):.2f}" for k in ("detect", "classify"))
        print(f"moodcast ({config.detector.name}) on {len(frames)} frames from {source}, {faces} faces found")
        print(
            f"p50 {np.percentile(ours, 50):.2f} ms  p95 {np.percentile(ours, 95):.2f} ms  (stages, p50 ms: {cost}); "
            f"{args.photos}: accuracy {rep.accuracy:.1%}, macro-F1 {rep.macro_f1:.3f}"
        )
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "frames.npz"
        np.savez(npz, frames=frames[..., ::-1])  # fer takes BGR, as cv2.imread gives
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "TF_NUM_INTRAOP_THREADS": "1",
            "TF_NUM_INTEROP_THREADS": "1",
            "CUDA_VISIBLE_DEVICES": "",
        }
        run = subprocess.run(
            [
                args.fer_python,
                str(REPO / "scripts" / "fer_probe.py"),
                str(npz),
                json.dumps([str(p) for p, _ in photos]),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
    if run.returncode != 0:
        sys.exit(f"fer failed:\n{run.stderr[-3000:]}")
    fer = json.loads(run.stdout.strip().splitlines()[-1])
    fer_pred = np.array([EMOTIONS.index(p) if p else NO_FACE for p in fer["predictions"]])

    def accuracy(pred):
        pred = np.asarray(pred)
        rep = score_with_misses(truth, pred)
        return rep.accuracy, rep.macro_f1, int((pred == NO_FACE).sum())

    o50, o95 = np.percentile(ours, 50), np.percentile(ours, 95)
    oa, of1, onf = accuracy(ours_pred)
    fa, ff1, fnf = accuracy(fer_pred)
    source = args.frames_dir or f"copies of {Path(args.input).name}"
    print(
        f"frames: {len(frames)} from {source} ({rgb.shape[1]}x{rgb.shape[0]}), {faces} faces found; "
        f"photos: {args.photos}"
    )
    print(f"{'':<24}{'p50 ms':>9}{'p95 ms':>9}{'accuracy':>10}{'macro-F1':>10}{'no face':>9}")
    print(f"{'moodcast':<24}{o50:>9.2f}{o95:>9.2f}{oa:>10.1%}{of1:>10.3f}{onf:>9d}")
    print(f"{'fer 25.10.3 (Haar)':<24}{fer['ms_p50']:>9.2f}{fer['ms_p95']:>9.2f}{fa:>10.1%}{ff1:>10.3f}{fnf:>9d}")
    print(f"speed-up (fer p50 / moodcast p50): {fer['ms_p50'] / o50:.1f}x")
    print(
        json.dumps(
            {
                "moodcast_ms_p50": o50,
                "fer_ms_p50": fer["ms_p50"],
                "ratio": fer["ms_p50"] / o50,
                "moodcast_accuracy": oa,
                "fer_accuracy": fa,
                "n_photos": len(photos),
                "frames": len(frames),
                "faces": faces,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
