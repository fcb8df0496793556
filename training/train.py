"""Train the emotion model on FER2013: data -> model -> fit -> evaluate, resumable.

A run folder holds everything about one run::

    config.json       the full TrainConfig used
    cleaning.json     what was removed from the training set and why
    history.csv       one row per epoch (appended across resumes)
    last.keras        model + optimizer after the latest epoch (what --resume continues)
    state.json        epochs done, best validation accuracy so far, wall time
    best.keras        the model with the best validation accuracy
    metrics.json      validation metrics of best.keras
    confusion.png, curves.png
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from moodcast.edge.errors import ConfigError, DatasetError, MissingExtraError, ModelError, MoodcastError
from moodcast.edge.labels import EMOTIONS
from moodcast.evaluation.metrics import classification_report
from moodcast.training import data as fer
from moodcast.training.augment import AugmentConfig, augment, test_time_views


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 1337
    epochs: int = 50
    batch_size: int = 128
    learning_rate: float = 2e-3
    warmup_epochs: int = 2
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    # "sqrt": weights proportional to 1/sqrt(class frequency), mean 1; "balanced": 1/frequency; "none".
    class_weights: str = "sqrt"
    # FER+'s ten-annotator vote shares as targets (the votes file beside the data), mixed with the
    # FER2013 label: ferplus_weight x votes + (1 - ferplus_weight) x label.
    ferplus_soft_labels: bool = False
    ferplus_weight: float = 1.0
    # Distillation: trained .keras models whose ensembled predictions on each (un-augmented)
    # training crop, averaged over teacher_views test-time views (2: with its mirror image; 8: also
    # zoomed and shifted, see training.augment.test_time_views), are mixed into its target with
    # this weight.
    teachers: tuple[str, ...] = ()
    teacher_weight: float = 0.5
    teacher_views: int = 2
    # Or teachers trained elsewhere: their predictions on the cleaned training crops, in order, as
    # written by training/gpu_teachers.py (``train_probs`` and the crops' ``fingerprint``).
    teacher_file: str = ""
    image_size: int = 48
    widths: tuple[int, ...] = (32, 64, 128, 256)
    convs_per_stage: int = 2
    dense: int = 256
    dropout: float = 0.4
    limit: int = 0  # use only the first N training crops (smoke runs); 0 = all
    init: str = ""  # fine-tune: start from this trained .keras model (same architecture)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a TOML or JSON file; unknown keys are an error naming the key."""
        text = Path(path).read_text()
        raw = tomllib.loads(text) if str(path).endswith(".toml") else json.loads(text)
        return cls.from_dict(raw, str(path))

    def __post_init__(self):
        # TOML and JSON give lists; the config is frozen and hashable all the same.
        object.__setattr__(self, "widths", tuple(self.widths))
        object.__setattr__(self, "teachers", tuple(self.teachers))
        for name in ("teacher_weight", "ferplus_weight"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be between 0 and 1")
        if self.teacher_views not in (2, 8):
            raise ConfigError("teacher_views must be 2 or 8")
        if self.teachers and self.teacher_file:
            raise ConfigError("teachers and teacher_file are two ways to name the teachers; use one")

    @classmethod
    def from_dict(cls, raw: dict, where: str = "config") -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown training option(s) {unknown}; known: {sorted(known)}")
        aug = raw.get("augment", {})
        aug_known = {f.name for f in dataclasses.fields(AugmentConfig)}
        if isinstance(aug, dict) and set(aug) - aug_known:
            raise ConfigError(f"{where}: unknown augment option(s) {sorted(set(aug) - aug_known)}")
        try:
            return cls(**{**raw, "augment": AugmentConfig(**aug) if isinstance(aug, dict) else aug})
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def class_weight_vector(labels: np.ndarray, mode: str) -> np.ndarray:
    """Per-class loss weights, normalised so the average training sample weighs 1."""
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(float)
    if mode == "none":
        return np.ones(len(EMOTIONS))
    power = {"sqrt": 0.5, "balanced": 1.0}.get(mode)
    if power is None:
        raise ConfigError(f"class_weights: must be 'sqrt', 'balanced' or 'none', not {mode!r}")
    w = np.where(counts > 0, 1.0 / np.maximum(counts, 1) ** power, 0.0)
    return w / (w[labels].mean())


def import_keras():
    """Keras on the backend KERAS_BACKEND names (TensorFlow by default); a clear error if it is missing."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    try:
        import keras
    except ImportError as exc:
        if backend != "tensorflow" and exc.name != "keras":
            raise MoodcastError(
                f"KERAS_BACKEND={backend}, but Keras could not import it ({exc}): install that backend "
                "(a GPU machine: pip install 'jax[cuda12]' or torch) or unset KERAS_BACKEND for TensorFlow"
            ) from None
        raise MissingExtraError("moodcast train", "train", "keras") from None
    return keras


def label_targets(faces: fer.FaceSet, ferplus_weight: float) -> np.ndarray:
    """One-hot FER2013 labels, mixed with FER+'s vote shares where they are attached."""
    targets = np.eye(len(EMOTIONS), dtype=np.float32)[faces.labels]
    if faces.soft is None:
        return targets
    return (1 - ferplus_weight) * targets + ferplus_weight * faces.soft


def teacher_targets(keras, teachers: tuple[str, ...], images: np.ndarray, views: int = 2) -> np.ndarray:
    """The teachers' class probabilities for ``images``, averaged over ``views`` test-time views
    of each image, then over teachers."""
    total = np.zeros((len(images), len(EMOTIONS)), np.float32)
    inputs = [v[..., None] for v in test_time_views(images, views)]
    for path in teachers:
        teacher = load_trained(keras, path, "teachers")
        for view in inputs:
            total += teacher.predict(view, batch_size=512, verbose=0)
    return total / (len(inputs) * len(teachers))


def teacher_file_targets(path: str, train_set: fer.FaceSet) -> np.ndarray:
    """The ``train_probs`` of a teacher file, checked to be for exactly these training crops."""
    try:
        with np.load(path) as z:
            probs, fingerprint = z["train_probs"].astype(np.float32), str(z["fingerprint"])
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(
            f"teacher_file: cannot read {path} ({exc}); it comes from training/gpu_teachers.py"
        ) from None
    if fingerprint != train_set.fingerprint() or probs.shape != (len(train_set), len(EMOTIONS)):
        raise DatasetError(
            f"teacher_file: {path} was made for other training crops ({probs.shape[0]} crops, fingerprint "
            f"{fingerprint[:12]}; these: {len(train_set)}, {train_set.fingerprint()[:12]}): pack this data "
            "with python -m moodcast.training.pack and run the teachers on that pack"
        )
    return probs


def load_trained(keras, path: str, option: str):
    """A trained .keras model named by a config option; an error naming both if it won't load."""
    try:
        return keras.saving.load_model(path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{option}: cannot load {path} ({exc})") from None


def start_from(keras, model, path: str) -> None:
    """Copy a trained model's weights into ``model`` (fine-tuning); its architecture must match."""
    try:
        model.set_weights(load_trained(keras, path, "init").get_weights())
    except ValueError as exc:
        raise ConfigError(
            f"init: {path} has another architecture than image_size, widths, convs_per_stage and dense "
            f"in the config ({exc})"
        ) from None


def make_batches(keras, faces: fer.FaceSet, targets: np.ndarray, weights: np.ndarray, cfg: TrainConfig, epoch: int):
    """A PyDataset of augmented, shuffled batches from ``epoch`` on; the shuffle depends only on
    seed and epoch, so a resumed run sees the batches an uninterrupted one would."""

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.start_epoch(epoch)

        def start_epoch(self, number: int) -> None:
            self.epoch = number
            self.order = np.random.default_rng((cfg.seed, number)).permutation(len(faces))

        def __len__(self):
            return int(np.ceil(len(faces) / cfg.batch_size))

        def __getitem__(self, index):
            idx = self.order[index * cfg.batch_size : (index + 1) * cfg.batch_size]
            rng = np.random.default_rng((cfg.seed, self.epoch, index))
            x = augment(faces.images[idx], rng, cfg.augment)[..., None]
            return x, targets[idx], weights[idx]

        def on_epoch_end(self):
            self.start_epoch(self.epoch + 1)

    return Batches()


@dataclass
class RunFolder:
    """One run's folder (see the module's docstring) and where the run stands."""

    path: Path
    state: dict

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    @property
    def last(self) -> Path:
        return self.path / "last.keras"

    @property
    def best(self) -> Path:
        return self.path / "best.keras"

    def save_state(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2))
        os.replace(tmp, self.state_file)


def open_run(out: Path, cfg: TrainConfig | None, resume: bool) -> tuple[RunFolder, TrainConfig]:
    """A new run's folder, or the one ``resume`` continues with the config it was started with."""
    run = RunFolder(out, {"epochs_done": 0, "best_val_accuracy": None, "wall_seconds": 0.0})
    if resume:
        if not run.state_file.exists() or not run.last.exists():
            raise MoodcastError(f"{out}: nothing to resume (no state.json / last.keras); start without --resume")
        cfg = TrainConfig.from_dict(json.loads((out / "config.json").read_text()))
        run.state = json.loads(run.state_file.read_text())
    elif run.state_file.exists():
        raise MoodcastError(f"{out}: a run is already there; use --resume to continue it or pick another --out")
    cfg = cfg or TrainConfig()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg.as_dict(), indent=2))
    return run, cfg


def training_data(keras, data: str | Path, out: Path, cfg: TrainConfig):
    """The cleaned training set with each crop's target (labels, FER+ votes, teachers mixed as the
    config says) and class weight, and the validation set."""
    train_set, val_set = fer.load_splits(data, cfg.image_size)
    train_set, report = fer.clean(train_set, val_set)
    if cfg.ferplus_soft_labels:
        votes = fer.ferplus_votes_beside(data)
        if not votes.is_file():
            raise DatasetError(f"ferplus_soft_labels: no {votes}; put FER+'s {votes.name} beside the data")
        train_set = fer.attach_ferplus(train_set, votes)
    taught = teacher_file_targets(cfg.teacher_file, train_set) if cfg.teacher_file else None
    if cfg.limit:
        keep = np.sort(np.random.default_rng(cfg.seed).permutation(len(train_set))[: cfg.limit])
        train_set = train_set.subset(keep)
        taught = None if taught is None else taught[keep]
    (out / "cleaning.json").write_text(json.dumps(report.as_dict(), indent=2))
    targets = label_targets(train_set, cfg.ferplus_weight)
    if cfg.teachers:
        taught = cached_teacher_targets(keras, out / "teacher_targets.npy", cfg, train_set, len(targets))
    if taught is not None:
        targets = (1 - cfg.teacher_weight) * targets + cfg.teacher_weight * taught
    weights = class_weight_vector(train_set.labels, cfg.class_weights).astype(np.float32)[train_set.labels]
    return train_set, val_set, targets, weights


def cached_teacher_targets(keras, cached: Path, cfg: TrainConfig, train_set: fer.FaceSet, crops: int) -> np.ndarray:
    """Kept in the run folder: a resumed run trains on the same targets even if a teacher moved."""
    if not cached.exists():
        taught = teacher_targets(keras, cfg.teachers, train_set.images, cfg.teacher_views)
        np.save(cached, taught)
        return taught
    taught = np.load(cached)
    if taught.shape != (crops, len(EMOTIONS)):
        raise DatasetError(
            f"{cached}: {taught.shape[0]} teacher targets for {crops} training crops; "
            "made for other data or another limit: delete it to recompute"
        )
    return taught


def compiled_model(keras, cfg: TrainConfig, steps_per_epoch: int):
    """A new model (or ``cfg.init``'s weights), with AdamW on a warm-up then cosine schedule."""
    from moodcast.training.model import build_model

    model = build_model(cfg.image_size, cfg.widths, cfg.convs_per_stage, cfg.dense, cfg.dropout)
    if cfg.init:
        start_from(keras, model, cfg.init)
    steps = cfg.epochs * steps_per_epoch
    warmup = min(cfg.warmup_epochs * steps_per_epoch, steps // 4)
    schedule = keras.optimizers.schedules.CosineDecay(
        cfg.learning_rate / 10, steps - warmup, alpha=0.01, warmup_target=cfg.learning_rate, warmup_steps=warmup
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
        metrics=["accuracy"],
        jit_compile=False,  # XLA is 1.7-3.5x slower on CPU here
    )
    return model


def checkpoints(keras, run: RunFolder) -> list:
    """Best and last models, the history, and state.json after them (never past what is saved)."""

    class RunState(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            acc = float(logs["val_accuracy"])
            best = run.state["best_val_accuracy"]
            run.state["best_val_accuracy"] = acc if best is None else max(best, acc)
            run.state["epochs_done"] = epoch + 1
            run.state["wall_seconds"] += time.monotonic() - self.started
            run.save_state()

    return [
        keras.callbacks.ModelCheckpoint(
            run.best,
            monitor="val_accuracy",
            mode="max",
            save_best_only=True,
            # A checkpoint shipped without best.keras (to keep it small) gets one after the next epoch.
            initial_value_threshold=run.state["best_val_accuracy"] if run.best.exists() else None,
        ),
        keras.callbacks.ModelCheckpoint(run.last),
        keras.callbacks.CSVLogger(run.path / "history.csv", append=True),
        RunState(),
    ]


def evaluate_best(keras, run: RunFolder, data: str | Path, val_set: fer.FaceSet, val_x: np.ndarray) -> dict:
    """best.keras on the validation split: metrics.json, the confusion matrix and the curves."""
    best = keras.saving.load_model(run.best)
    probs = best.predict(val_x, batch_size=512, verbose=0)
    metrics = classification_report(val_set.labels, probs.argmax(axis=1)).as_dict()
    metrics.update(
        split=fer.split_names(data)[1],
        data=str(data),
        epochs_done=run.state["epochs_done"],
        wall_seconds=round(run.state["wall_seconds"], 1),
    )
    (run.path / "metrics.json").write_text(json.dumps(metrics, indent=2))
    from moodcast.training import plots

    plots.confusion(metrics["confusion"], run.path / "confusion.png")
    plots.curves(run.path / "history.csv", run.path / "curves.png")
    return metrics


def train(
    data: str | Path, out: str | Path, cfg: TrainConfig | None = None, resume: bool = False, verbose: int = 1
) -> dict:
    """Run (or continue) one training run; returns the validation metrics of the best model."""
    keras = import_keras()
    run, cfg = open_run(Path(out), cfg, resume)
    done = run.state["epochs_done"]
    keras.utils.set_random_seed(cfg.seed + done)
    train_set, val_set, targets, weights = training_data(keras, data, run.path, cfg)
    batches = make_batches(keras, train_set, targets, weights, cfg, epoch=done)
    val_x = val_set.images[..., None].astype(np.float32)
    val_y = np.eye(len(EMOTIONS), dtype=np.float32)[val_set.labels]
    model = keras.saving.load_model(run.last) if resume else compiled_model(keras, cfg, len(batches))
    if done < cfg.epochs:
        model.fit(
            batches,
            validation_data=(val_x, val_y),
            epochs=cfg.epochs,
            initial_epoch=done,
            callbacks=checkpoints(keras, run),
            verbose=verbose,
        )
    return evaluate_best(keras, run, data, val_set, val_x)
