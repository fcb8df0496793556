"""``moodcast train`` (needs the ``[train]`` extra) and ``moodcast eval emotion`` (FER2013 crops;
a ``.keras`` model needs the ``[train]`` extra). Loaded by ``moodcast`` only when called."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moodcast.edge.cli import print_json_last


def eval_emotion(args: argparse.Namespace) -> int:
    from moodcast.edge.vision.emotion import EmotionOptions
    from moodcast.evaluation.degrade import TABLE, Degradation
    from moodcast.training.data import default_validation_split
    from moodcast.training.evaluate import evaluate_emotion

    model = args.model or EmotionOptions().model
    split = args.split or default_validation_split(args.data)
    kinds = [k for text in args.degrade or () for k in (TABLE if text == "table" else (text,))]
    degradations = tuple(Degradation.parse(k) for k in kinds)
    result = evaluate_emotion(model, args.data, split, not args.no_flip, args.ferplus, degradations, args.seed)
    print(f"model {model} on {args.data}" + (f" ({split})" if split else ""))
    print(result.report.format())
    extra = {}
    if result.ferplus:
        print(f"\nagainst FER+'s majority votes ({args.ferplus}), on the crops that have one:")
        print(result.ferplus.format())
        extra["ferplus"] = result.ferplus.as_dict()
    if result.degraded:
        print(f"\nrobustness (degraded copies of the same crops, seed {args.seed}):")
        print(result.robustness_table())
        extra["degraded"] = {str(d): r.as_dict() for d, r in result.degraded}
    if args.json:
        print_json_last({**result.report.as_dict(), **extra, "model": model, "data": str(args.data), "split": split})
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="moodcast train", description="train the emotion model (needs the [train] extra)")
    p.add_argument("--data", required=True, help="Kaggle zip or folder, or fer2013.csv")
    p.add_argument("--config", help="TOML or JSON with TrainConfig fields")
    p.add_argument("--out", default="runs/emotion", help="run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    return p


def main(argv: list[str]) -> int:
    from moodcast.training.train import TrainConfig, train

    args = build_parser().parse_args(argv)
    config = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    metrics = train(
        args.data,
        args.out,
        None if args.resume else config,
        resume=args.resume,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    print(
        f"best model: {Path(args.out) / 'best.keras'}  validation accuracy {metrics['accuracy']:.2%}  "
        f"macro-F1 {metrics['macro_f1']:.3f}"
    )
    return 0
