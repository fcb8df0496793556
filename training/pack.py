"""FER2013 in one small file for a machine without the dataset (the GPU recipe, training/gpu_teachers.py).

The cleaned training crops (in ``moodcast train``'s order, with their fingerprint) and the
validation crops, as lossless WebP mosaics of 7-bit pixels: 40 MB instead of 68, so the file fits
the 64 MiB a device run may carry beside the repository. Dropping the lowest bit (at most 1 grey
level, far below sensor noise) is the one loss; readers restore the mid value. Reading needs only
numpy and OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

BITS = 7
TILE = 100  # crops per mosaic side


@dataclass(frozen=True)
class Pack:
    train: np.ndarray  # (N, 48, 48) uint8
    train_labels: np.ndarray  # (N,) int64
    train_soft: np.ndarray  # (N, 7) float32: FER+ vote shares, or the one-hot label where none
    val: np.ndarray
    val_labels: np.ndarray
    fingerprint: str  # training.data.FaceSet.fingerprint() of the full-precision training crops
    split: str  # the validation split's name


def write_pack(data: str | Path, out: str | Path) -> Pack:
    """Pack FER2013 at ``data`` (with FER+ votes beside it when there) into ``out`` (.npz)."""
    from moodcast.training import data as fer

    train, val = fer.load_splits(data, fer.FER_SIZE)
    train, _ = fer.clean(train, val)
    votes = fer.ferplus_votes_beside(data)
    soft = fer.attach_ferplus(train, votes).soft if votes.is_file() else None
    one_hot = np.eye(7, dtype=np.float32)[train.labels]
    soft = one_hot if soft is None else soft.astype(np.float32)
    np.savez(
        out,
        train=_encode(train.images),
        train_labels=train.labels,
        train_soft=soft.astype(np.float16),
        val=_encode(val.images),
        val_labels=val.labels,
        count=np.array([len(train), len(val)]),
        fingerprint=np.array(train.fingerprint()),
        split=np.array(fer.split_names(data)[1]),
    )
    return read_pack(out)


def read_pack(path: str | Path) -> Pack:
    with np.load(path) as z:
        n_train, n_val = (int(v) for v in z["count"])
        return Pack(
            _decode(z["train"], n_train),
            z["train_labels"].astype(np.int64),
            z["train_soft"].astype(np.float32),
            _decode(z["val"], n_val),
            z["val_labels"].astype(np.int64),
            str(z["fingerprint"]),
            str(z["split"]),
        )


def _encode(images: np.ndarray) -> np.ndarray:
    """WebP mosaics of TILE x TILE crops, concatenated; each prefixed by its length (8 bytes)."""
    side = images.shape[1]
    chunks = []
    for start in range(0, len(images), TILE * TILE):
        part = images[start : start + TILE * TILE] >> (8 - BITS)
        padded = np.zeros((TILE * TILE, side, side), np.uint8)
        padded[: len(part)] = part
        mosaic = padded.reshape(TILE, TILE, side, side).transpose(0, 2, 1, 3).reshape(TILE * side, TILE * side)
        ok, buf = cv2.imencode(".webp", mosaic, [cv2.IMWRITE_WEBP_QUALITY, 101])  # above 100: lossless
        if not ok:
            raise RuntimeError("OpenCV could not encode WebP")
        chunks += [np.frombuffer(np.int64(len(buf)).tobytes(), np.uint8), buf.ravel()]
    return np.concatenate(chunks)


def _decode(blob: np.ndarray, count: int, side: int = 48) -> np.ndarray:
    out, at = [], 0
    while at < len(blob):
        size = int(np.frombuffer(blob[at : at + 8].tobytes(), np.int64)[0])
        mosaic = cv2.imdecode(blob[at + 8 : at + 8 + size], cv2.IMREAD_GRAYSCALE)
        at += 8 + size
        out.append(mosaic.reshape(TILE, side, TILE, side).transpose(0, 2, 1, 3).reshape(-1, side, side))
    low = np.concatenate(out)[:count].astype(np.uint16)
    return ((low << (8 - BITS)) | (1 << (7 - BITS))).astype(np.uint8)  # the mid value of what was dropped


def main(argv: list[str]) -> int:
    """``python -m moodcast.training.pack DATA OUT.npz``: the pack the GPU recipe trains on."""
    import sys
    import time

    if len(argv) != 2:
        print("usage: python -m moodcast.training.pack DATA OUT.npz", file=sys.stderr)
        return 2
    began = time.monotonic()
    pack = write_pack(argv[0], argv[1])
    print(
        f"{argv[1]}: {len(pack.train)} training crops (fingerprint {pack.fingerprint[:12]}), "
        f"{len(pack.val)} {pack.split} crops, {time.monotonic() - began:.0f} s"
    )
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
