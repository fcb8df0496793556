"""YuNet's input size by measurement: each size converted to int8 as `moodcast convert detector
--arch yunet` does (same calibration), then AP50 on faces-dev (boxes as given) against the
detector's median milliseconds per photo (letterbox, invoke, decode; one thread).

    .venv/bin/python scripts/yunet_sizes.py [--source ../shared/upstream/yunet/yunet_n_dynamic.onnx]
        [--sizes 256x192 320x256 320x320] [--data ../shared/data/faces-dev]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from checkout import DATA, REPO

from moodcast.convert.detector import Rebuild, convert_detector
from moodcast.edge.vision.detectors import DetectorOptions
from moodcast.evaluation.detector import evaluate_detector


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default=str(DATA.parent / "upstream" / "yunet" / "yunet_n_dynamic.onnx"))
    parser.add_argument("--sizes", nargs="*", default=["256x192", "320x256", "320x320"])
    parser.add_argument("--data", default=str(DATA / "faces-dev"))
    args = parser.parse_args()
    calib = (str(DATA / "photos"), str(REPO / "samples"))
    print(f"{'input':<10}{'AP50':>7}{'recall':>8}{'FP/img':>8}{'ms':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            out = Path(tmp) / f"yunet_{size}.tflite"
            convert_detector("yunet", out, args.source, None, Rebuild(input_size=size, calib=calib))
            report = evaluate_detector(args.data, DetectorOptions(name="yunet", model=str(out)))
            print(
                f"{size:<10}{report.ap50:>7.3f}{report.recall:>8.3f}{report.fp_per_image:>8.3f}"
                f"{report.ms_per_image:>7.2f}"
            )


if __name__ == "__main__":
    main()
