"""Where a still frame's time goes, stage by stage inside the default detector.

Real photos letterboxed to 640x480 (as scripts/compare_fer.py makes them), one thread, each frame
through BlazeFace's letterbox, invoke and decode, R-Net, O-Net, the emotion crops and the emotion
model, timed apart; then the whole still pipeline on the same frame. Prints p50 and mean in ms.

    .venv/bin/python scripts/stage_costs.py --frames-dir ../shared/data/faces-dev/images --frames 200
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from checkout import DATA
from compare_fer import letterbox

from moodcast.edge import config as cfg
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.sources.images import IMAGE_SUFFIXES, read_image
from moodcast.edge.vision.detectors.base import box_corners
from moodcast.edge.vision.detectors.mtcnn import to_square
from moodcast.edge.vision.detectors.refined import BlazeFaceOnet

STAGES = ("letterbox", "blazeface", "decode", "rnet", "onet", "crops", "emotion", "pipeline")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames-dir", default=str(DATA / "faces-dev" / "images"))
    p.add_argument("--frames", type=int, default=200)
    args = p.parse_args()
    cv2.setNumThreads(1)
    paths = sorted(q for q in Path(args.frames_dir).rglob("*") if q.suffix.lower() in IMAGE_SUFFIXES)
    frames = [letterbox(read_image(q), 640, 480) for q in paths[: args.frames]]
    pipeline = Pipeline.from_config(cfg.load(overrides={}, environ={}), still=True)
    detector = pipeline.detector
    if not isinstance(detector, BlazeFaceOnet):
        raise SystemExit("this breakdown is of the default detector, blazeface-onet")
    proposer, floor = detector.proposer, detector.options.rnet_floor
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    counts = {"proposals": 0, "onet": 0, "faces": 0}
    for rep in range(2):  # the first pass warms the interpreters up
        for frame in frames:
            t = [time.perf_counter()]
            scale, px, py = proposer.letterbox(frame)
            t.append(time.perf_counter())
            outputs = proposer.model.run(proposer.canvas)
            t.append(time.perf_counter())
            proposals = proposer.decode(outputs, scale, px, py)
            t.append(time.perf_counter())
            kept = 0
            if proposals:
                boxes, scores = detector.rnet.refine(frame, to_square(box_corners([f.box for f in proposals])))
                t.append(time.perf_counter())
                if (scores >= floor).any():
                    detector.onet.refine(frame, to_square(boxes[scores >= floor]))
                kept = int((scores >= floor).sum())
            else:
                t.append(t[-1])
            t.append(time.perf_counter())
            faces = detector.detect(frame)
            t.append(time.perf_counter())
            crops = pipeline.classifier.crops(frame, faces)
            t.append(time.perf_counter())
            pipeline.classifier.classify_crops(crops)
            t.append(time.perf_counter())
            pipeline.process(frame)
            t.append(time.perf_counter())
            if rep:
                steps = np.diff(t) * 1e3
                for stage, ms in zip(STAGES, np.delete(steps, 5)):  # step 5 is detect() again, for the faces
                    times[stage].append(ms)
                counts["proposals"] += len(proposals)
                counts["onet"] += kept
                counts["faces"] += len(faces)
    n = len(frames)
    print(f"{n} frames of {args.frames_dir} letterboxed to 640x480, one thread; per frame:")
    print(", ".join(f"{k} {v / n:.2f}" for k, v in counts.items()))
    print("| stage | p50 ms | mean ms |\n|---|---|---|")
    for stage in STAGES:
        print(f"| {stage} | {np.median(times[stage]):.2f} | {np.mean(times[stage]):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
