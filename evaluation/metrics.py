"""Classification metrics in numpy: accuracy, macro-F1, per-class scores, confusion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodcast.edge.labels import EMOTIONS


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ClassificationReport:
    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScore]
    confusion: list[list[int]]  # rows: true class, columns: predicted class

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class": {k: v.__dict__ for k, v in self.per_class.items()},
            "confusion": self.confusion,
            "labels": list(EMOTIONS),
        }

    def format(self) -> str:
        lines = [
            f"n={self.n}  accuracy={self.accuracy:.2%}  macro-F1={self.macro_f1:.3f}",
            "",
            f"{'class':<10}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}",
        ]
        for name, s in self.per_class.items():
            lines.append(f"{name:<10}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>8.3f}{s.support:>9d}")
        lines += ["", "confusion (rows: true, columns: predicted)", " " * 10 + "".join(f"{n[:7]:>8}" for n in EMOTIONS)]
        for name, row in zip(EMOTIONS, self.confusion):
            lines.append(f"{name:<10}" + "".join(f"{v:>8d}" for v in row))
        return "\n".join(lines)


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[str, ...] = EMOTIONS
) -> ClassificationReport:
    """Scores of predicted class indices against true ones."""
    y_true = np.asarray(y_true, np.int64)
    y_pred = np.asarray(y_pred, np.int64)
    k = len(labels)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    present = support > 0
    return ClassificationReport(
        n=len(y_true),
        accuracy=float(tp.sum() / max(len(y_true), 1)),
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        per_class={
            name: ClassScore(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
            for i, name in enumerate(labels)
        },
        confusion=confusion.tolist(),
    )
