"""Training plots: confusion matrix and training curves (matplotlib, no display needed)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from moodcast.edge.errors import MissingExtraError
from moodcast.edge.labels import EMOTIONS


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError("plots", "train", "matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion(matrix: list[list[int]], out: str | Path) -> None:
    """Row-normalised confusion matrix with counts."""
    plt = _pyplot()
    m = np.asarray(matrix, float)
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(
                j,
                i,
                f"{int(m[i, j])}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the true class")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def curves(history_csv: str | Path, out: str | Path) -> None:
    """Loss and accuracy per epoch, training and validation."""
    plt = _pyplot()
    with open(history_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, axis in (("loss", left), ("accuracy", right)):
        axis.plot(epochs, [float(r[key]) for r in rows], label="train")
        axis.plot(epochs, [float(r[f"val_{key}"]) for r in rows], label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(key)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
