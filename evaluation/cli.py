"""``moodcast eval``: measure the detector or the whole pipeline on labelled data (the emotion
model's evaluation reads FER2013 and is handed in by the caller: it lives with the datasets)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, replace

from moodcast.edge.cli import load_config, print_json_last, with_config
from moodcast.edge.vision.detectors import BACKENDS
from moodcast.evaluation.degrade import KINDS


def eval_detector(args: argparse.Namespace) -> int:
    from moodcast.evaluation.detector import FDDB_ADJUST, evaluate_detector

    config = load_config(args)
    options = config.detector
    if args.detector:
        options = replace(options, name=args.detector)
    if args.model:
        options = replace(options, model=args.model)
    adjust = None if args.no_adjust else FDDB_ADJUST.get(options.name)
    report = evaluate_detector(args.data, options, config.runtime.threads, adjust)
    print(f"{report.detector} on {args.data}: {report.images} images, {report.faces} faces")
    print(
        f"AP50 {report.ap50:.3f}  AP40 {report.ap40:.3f}  recall {report.recall:.3f}  "
        f"FP/image {report.fp_per_image:.3f} (threshold {report.threshold})  {report.ms_per_image:.2f} ms/image"
    )
    print(f"box adjustment: {report.box_adjust}")
    if args.json:
        print_json_last(asdict(report))
    return 0


def eval_pipeline(args: argparse.Namespace) -> int:
    from moodcast.edge.pipeline import Pipeline
    from moodcast.evaluation.pipeline import evaluate_pipeline

    report = evaluate_pipeline(args.data, Pipeline.from_config(load_config(args), still=True))
    print(
        f"pipeline on {args.data}: n={report.n} accuracy={report.accuracy:.2%} macro-F1={report.macro_f1:.3f} "
        f"no face={report.no_face}"
    )
    if args.json:
        print_json_last(asdict(report))
    return 0


def add_command(sub: argparse._SubParsersAction, eval_emotion: Callable[[argparse.Namespace], int]) -> None:
    """Add ``eval emotion|detector|pipeline`` to ``moodcast``'s subcommands."""
    p = with_config(sub.add_parser("eval", help="measure a model or the pipeline on labelled data"))
    p.add_argument("what", choices=("emotion", "detector", "pipeline"))
    p.add_argument("--data", required=True)
    p.add_argument("--model", help="emotion: .tflite or .keras; detector: .tflite or a folder of them")
    p.add_argument("--split", help="emotion: train|test (zip, folder) or Training|PublicTest|PrivateTest (csv)")
    p.add_argument("--detector", choices=tuple(BACKENDS), help="detector backend (default: the configured one)")
    p.add_argument("--no-adjust", action="store_true", help="detector: score raw boxes, no FDDB box adjustment")
    p.add_argument(
        "--ferplus",
        help="emotion: FER+ votes (ferplus_labels.csv; fer2013new.csv for fer2013.csv): also score against them",
    )
    p.add_argument(
        "--no-flip",
        action="store_true",
        help="emotion: one pass per crop (the device averages each crop with its mirror)",
    )
    p.add_argument(
        "--degrade",
        action="append",
        metavar="KIND[:LEVEL]",
        help="emotion: also score degraded copies of the crops (repeat; 'table' for the models/README.md table; "
        f"kinds: {', '.join(KINDS)})",
    )
    p.add_argument("--seed", type=int, default=0, help="emotion: the degradations' random draw")
    p.add_argument("--json", action="store_true")
    handlers = {"emotion": eval_emotion, "detector": eval_detector, "pipeline": eval_pipeline}
    p.set_defaults(func=lambda args: handlers[args.what](args))
