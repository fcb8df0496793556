"""FER2013 readers for the three forms users have, and the dataset's known faults.

- the Kaggle folder layout: ``ROOT/<class>/*.jpg`` (or ``ROOT/train/<class>/...`` with a split),
- the Kaggle zip, read in place: ``archive.zip`` with ``train/`` and ``test/``,
- the original ``fer2013.csv``: ``emotion,pixels,Usage``.

Every reader returns a :class:`FaceSet` of 48x48 grey ``uint8`` crops (any other size is
resized), labels in :data:`edge.labels.EMOTIONS` order, and the source path of each crop.
"""

from __future__ import annotations

import csv
import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from moodcast.edge.errors import DatasetError
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.sources.images import IMAGE_SUFFIXES

FER_SIZE = 48  # FER2013's crops are 48x48 grey
# fer2013.csv codes: 0=Angry 1=Disgust 2=Fear 3=Happy 4=Sad 5=Surprise 6=Neutral.
CSV_CODE_TO_LABEL = (0, 1, 2, 3, 5, 6, 4)
CSV_USAGES = ("Training", "PublicTest", "PrivateTest")
ZIP_SPLITS = ("train", "test")
# FER+ vote columns mapped to our labels; contempt, unknown and NF have no counterpart.
FERPLUS_COLUMNS = ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
FERPLUS_OTHER = ("contempt", "unknown", "NF")


@dataclass(frozen=True)
class FaceSet:
    """Grey face crops with their labels."""

    images: np.ndarray  # (N, size, size) uint8
    labels: np.ndarray  # (N,) int64 indices into EMOTIONS
    paths: tuple[str, ...]
    soft: np.ndarray | None = field(default=None, repr=False)  # (N, 7) FER+ vote shares

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, keep: np.ndarray) -> FaceSet:
        idx = np.flatnonzero(keep) if keep.dtype == bool else keep
        return FaceSet(
            self.images[idx],
            self.labels[idx],
            tuple(self.paths[i] for i in idx),
            None if self.soft is None else self.soft[idx],
        )

    def fingerprint(self) -> str:
        """sha256 of the crops and labels, in order: what precomputed per-crop targets were made for."""
        digest = hashlib.sha256(self.images.tobytes())
        digest.update(self.labels.astype(np.int64).tobytes())
        return digest.hexdigest()

    def counts(self) -> dict[str, int]:
        binc = np.bincount(self.labels, minlength=len(EMOTIONS))
        return {name: int(n) for name, n in zip(EMOTIONS, binc)}


def decode_grey(data: bytes, name: str, size: int = FER_SIZE) -> np.ndarray:
    """Decode image bytes to a ``size`` x ``size`` grey crop; raise naming ``name``."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DatasetError(f"{name}: not a readable image")
    return to_crop(image, size)


def to_crop(image: np.ndarray, size: int = FER_SIZE) -> np.ndarray:
    """Grey ``uint8`` crop of ``size`` x ``size`` from a grey or RGB image of any size."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
    if image.shape != (size, size):
        shrink = image.shape[0] > size
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.ascontiguousarray(image, dtype=np.uint8)


def _label_of(class_name: str, where: str) -> int:
    try:
        return EMOTIONS.index(class_name.lower())
    except ValueError:
        raise DatasetError(
            f"{where}: unknown class folder {class_name!r}; expected one of {', '.join(EMOTIONS)}"
        ) from None


def _stack(images: list[np.ndarray], labels: list[int], paths: list[str], where: str, size: int) -> FaceSet:
    if not images:
        raise DatasetError(f"{where}: no images found")
    return FaceSet(
        np.stack(images) if images else np.zeros((0, size, size), np.uint8),
        np.asarray(labels, np.int64),
        tuple(paths),
    )


def read_folder(root: str | Path, split: str | None = None, size: int = FER_SIZE) -> FaceSet:
    """Read ``root/[split/]<class>/<image>``; class folders must be emotion names."""
    base = Path(root) / split if split else Path(root)
    if not base.is_dir():
        raise DatasetError(f"{base}: no such folder")
    images, labels, paths = [], [], []
    for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        label = _label_of(class_dir.name, str(class_dir))
        for file in sorted(class_dir.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            images.append(decode_grey(file.read_bytes(), str(file), size))
            labels.append(label)
            paths.append(str(file.relative_to(base.parent if split else base)))
    return _stack(images, labels, paths, str(base), size)


def read_zip(archive: str | Path, split: str = "train", size: int = FER_SIZE) -> FaceSet:
    """Read one split of the Kaggle zip in place (``train/<class>/..`` or ``test/<class>/..``)."""
    if split not in ZIP_SPLITS:
        raise DatasetError(f"{archive}: split must be one of {ZIP_SPLITS}, not {split!r}")
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{archive}: not a readable zip file ({exc})") from None
    images, labels, paths = [], [], []
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            parts = info.filename.split("/")
            if info.is_dir() or len(parts) != 3 or parts[0] != split:
                continue
            if not parts[2].lower().endswith(IMAGE_SUFFIXES):
                continue
            where = f"{archive}:{info.filename}"
            labels.append(_label_of(parts[1], where))
            images.append(decode_grey(zf.read(info), where, size))
            paths.append(info.filename)
    return _stack(images, labels, paths, f"{archive}:{split}/", size)


def _open_csv(path: str | Path):
    try:
        return open(path, newline="")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open ({exc.strerror})") from None


def read_csv(path: str | Path, usage: str = "Training", size: int = FER_SIZE) -> FaceSet:
    """Read the rows of one ``Usage`` from the original ``fer2013.csv``."""
    if usage not in CSV_USAGES:
        raise DatasetError(f"{path}: usage must be one of {CSV_USAGES}, not {usage!r}")
    images, labels, paths = [], [], []
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or ())
        if missing:
            raise DatasetError(f"{path}: not a fer2013.csv, missing columns {sorted(missing)}")
        for row_no, row in enumerate(reader):
            if row["Usage"] != usage:
                continue
            where = f"{path}: row {row_no + 2}"
            try:
                code = int(row["emotion"])
                pixels = np.array(row["pixels"].split(), dtype=np.int64)
            except ValueError:
                raise DatasetError(f"{where}: emotion and pixels must be integers") from None
            if not 0 <= code < len(CSV_CODE_TO_LABEL) or pixels.size != FER_SIZE * FER_SIZE:
                raise DatasetError(f"{where}: expected an emotion code 0-6 and 2304 pixels")
            if pixels.min() < 0 or pixels.max() > 255:
                raise DatasetError(f"{where}: pixel values must be 0-255")
            images.append(to_crop(pixels.astype(np.uint8).reshape(FER_SIZE, FER_SIZE), size))
            labels.append(CSV_CODE_TO_LABEL[code])
            paths.append(f"row{row_no}")
    return _stack(images, labels, paths, f"{path} ({usage})", size)


def load(path: str | Path, split: str | None = None, size: int = FER_SIZE) -> FaceSet:
    """Open any of the three forms, chosen by what ``path`` is."""
    p = Path(path)
    if p.is_dir():
        return read_folder(p, split, size)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder")
    if p.suffix.lower() == ".zip":
        return read_zip(p, split or "train", size)
    if p.suffix.lower() == ".csv":
        return read_csv(p, split or "Training", size)
    raise DatasetError(f"{p}: expected a folder of <class>/<image>, a Kaggle .zip or fer2013.csv")


def split_names(path: str | Path) -> tuple[str, str]:
    """Training and validation split names for the form of data at ``path`` (Kaggle's zip or
    folder: train/test; fer2013.csv: Training/PublicTest)."""
    if Path(path).suffix.lower() == ".csv":
        return "Training", "PublicTest"
    return "train", "test"


def default_validation_split(path: str | Path) -> str | None:
    """The split ``moodcast eval emotion`` scores by default: the validation split of a zip or
    CSV, and a folder as it is (``<class>/<image>``, e.g. a split folder or expressions-dev)."""
    return None if Path(path).is_dir() else split_names(path)[1]


def load_splits(path: str | Path, size: int) -> tuple[FaceSet, FaceSet]:
    """The training and validation splits of the data at ``path``."""
    train_split, val_split = split_names(path)
    return load(path, train_split, size), load(path, val_split, size)


def read_ferplus_votes(votes_csv: str | Path) -> dict[str, np.ndarray]:
    """FER+ votes by image: the 7 classes in label order, then contempt, unknown, not-a-face.

    Two forms: ``ferplus_labels.csv`` keyed by the image's path in the Kaggle layout, and FER+'s own
    ``fer2013new.csv``, whose rows follow ``fer2013.csv`` (keyed like :func:`read_csv`'s paths)."""
    table = {}
    with _open_csv(votes_csv) as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or ())
        missing = set(FERPLUS_COLUMNS + FERPLUS_OTHER) - fields
        if missing or not fields & {"path", "Image name"}:
            raise DatasetError(
                f"{votes_csv}: not FER+ votes (ferplus_labels.csv or fer2013new.csv); "
                f"missing {sorted(missing) or ['path or Image name']}"
            )
        for row_no, row in enumerate(reader):
            if row[FERPLUS_COLUMNS[0]] != "":
                key = row["path"] if "path" in fields else f"row{row_no}"
                table[key] = np.array([float(row[c]) for c in FERPLUS_COLUMNS + FERPLUS_OTHER], np.float32)
    return table


def ferplus_votes_beside(data: str | Path) -> Path:
    """Where the FER+ votes for a data set are expected: ``fer2013new.csv`` beside ``fer2013.csv``,
    ``ferplus_labels.csv`` beside the Kaggle zip or folder."""
    path = Path(data)
    return path.with_name("fer2013new.csv" if path.suffix.lower() == ".csv" else "ferplus_labels.csv")


def attach_ferplus(faces: FaceSet, votes_csv: str | Path) -> FaceSet:
    """Add FER+ vote shares as soft labels; crops without usable votes keep their hard label."""
    table = read_ferplus_votes(votes_csv)
    soft = np.eye(len(EMOTIONS), dtype=np.float32)[faces.labels]
    for i, path in enumerate(faces.paths):
        seven = table[path][: len(FERPLUS_COLUMNS)] if path in table else None
        if seven is not None and seven.sum() > 0:
            soft[i] = seven / seven.sum()
    return FaceSet(faces.images, faces.labels, faces.paths, soft)


def ferplus_majority(faces: FaceSet, votes_csv: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the crops whose FER+ votes have one clear winner among the 7 classes (more votes
    than any other class, contempt, unknown and not-a-face), and that winner as a label."""
    table = read_ferplus_votes(votes_csv)
    index, labels = [], []
    for i, path in enumerate(faces.paths):
        if path not in table:
            continue
        seven, other = table[path][: len(FERPLUS_COLUMNS)], table[path][len(FERPLUS_COLUMNS) :]
        if seven.max() > other.max() and (seven == seven.max()).sum() == 1:
            index.append(i)
            labels.append(int(seven.argmax()))
    return np.array(index, int), np.array(labels, int)


@dataclass(frozen=True)
class CleaningReport:
    """What :func:`clean` removed, and why."""

    duplicate_copies: int
    conflicting_groups: int
    conflicting_images: int
    leaked_into_validation: int
    near_blank: int
    kept: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def pixel_hash(image: np.ndarray) -> str:
    return hashlib.sha1(image.tobytes()).hexdigest()


def clean(train: FaceSet, validation: FaceSet | None = None, blank_std: float = 2.0) -> tuple[FaceSet, CleaningReport]:
    """Remove FER2013's known faults from a training set.

    Byte-identical copies keep one image; a group whose copies disagree on the label is dropped
    whole (no way to tell which label is right); training images identical to a validation image
    are dropped so validation stays unseen; near-uniform (blank) images are dropped.
    """
    hashes = [pixel_hash(img) for img in train.images]
    held_out = {pixel_hash(img) for img in validation.images} if validation is not None else set()
    groups: dict[str, list[int]] = {}
    for i, h in enumerate(hashes):
        groups.setdefault(h, []).append(i)
    keep = np.zeros(len(train), bool)
    copies = conflicting_groups = conflicting = leaked = 0
    for h, members in groups.items():
        if h in held_out:
            leaked += len(members)
            continue
        if len({int(train.labels[i]) for i in members}) > 1:
            conflicting_groups += 1
            conflicting += len(members)
            continue
        keep[members[0]] = True
        copies += len(members) - 1
    blank = train.images.reshape(len(train), -1).std(axis=1) < blank_std
    blank_dropped = int((keep & blank).sum())
    keep &= ~blank
    report = CleaningReport(copies, conflicting_groups, conflicting, leaked, blank_dropped, int(keep.sum()))
    return train.subset(keep), report
