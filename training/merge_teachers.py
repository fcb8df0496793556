"""Merge teacher files from several GPU runs into one:
``python -m moodcast.training.merge_teachers OUT.npz IN.npz [IN.npz ...]``.

Each input is a ``training/gpu_teachers.py`` file; its ``train_probs`` is the mean over its own
teachers (``each_val_probs`` counts them), so the merge weights every teacher equally, whichever
run trained it. The inputs must be for the same training crops (fingerprint).
"""

from __future__ import annotations

import sys

import numpy as np


def merge(paths: list[str]) -> dict[str, np.ndarray]:
    runs = [dict(np.load(p)) for p in paths]
    fingerprints = {str(r["fingerprint"]) for r in runs}
    if len(fingerprints) != 1:
        raise SystemExit(f"the teacher files were made for different training crops: {sorted(fingerprints)}")
    counts = np.array([len(r["each_val_probs"]) for r in runs], np.float64)
    each = np.concatenate([r["each_val_probs"] for r in runs])
    train = sum(c * r["train_probs"].astype(np.float64) for c, r in zip(counts, runs)) / counts.sum()
    return {
        "train_probs": train.astype(np.float32),
        "val_probs": each.astype(np.float32).mean(0),
        "each_val_probs": each,
        "fingerprint": runs[0]["fingerprint"],
    }


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    merged = merge(sys.argv[2:])
    np.savez_compressed(sys.argv[1], **merged)
    print(f"{sys.argv[1]}: {len(merged['each_val_probs'])} teachers, {len(merged['train_probs'])} training crops")
