"""Training on real FER2013 crops: a smoke run writes a complete run folder, resumes, converts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from moodcast.training.train import TrainConfig, class_weight_vector

SMOKE = {"epochs": 1, "limit": 384, "batch_size": 64, "widths": [8, 16], "dense": 16}


@pytest.mark.slow
def test_smoke_run_writes_a_complete_run_folder_and_resumes(tmp_path, data):
    from helpers import run_cli

    out = tmp_path / "run"
    conf = tmp_path / "smoke.json"
    conf.write_text(json.dumps(SMOKE))
    zip_path = str(data / "fer2013" / "archive.zip")
    code, _, err = run_cli("train", "--data", zip_path, "--config", str(conf), "--out", str(out))
    assert code == 0, err
    for name in (
        "config.json",
        "cleaning.json",
        "history.csv",
        "last.keras",
        "best.keras",
        "state.json",
        "metrics.json",
        "confusion.png",
        "curves.png",
    ):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 3589 and set(metrics) >= {"accuracy", "macro_f1", "per_class", "confusion"}
    cleaning = json.loads((out / "cleaning.json").read_text())
    assert cleaning["leaked_into_validation"] > 0 and cleaning["conflicting_groups"] > 0
    assert json.loads((out / "state.json").read_text())["epochs_done"] == 1

    # Resuming a finished run trains nothing more; asking for more epochs continues it.
    config = json.loads((out / "config.json").read_text())
    config["epochs"] = 2
    (out / "config.json").write_text(json.dumps(config))
    (out / "best.keras").unlink()  # a committed checkpoint may leave it out; resuming writes it again
    code, _, err = run_cli("train", "--data", zip_path, "--out", str(out), "--resume")
    assert code == 0, err
    assert (out / "best.keras").exists()
    assert json.loads((out / "state.json").read_text())["epochs_done"] == 2
    assert len((out / "history.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs

    # The run converts to an int8-in, int8-out model that the device classifier accepts, the same file
    # every time; only its stem (input scaling and first convolution) computes in float.
    def convert(out_file):
        convert_run(out, zip_path, out_file)
        return out_file.read_bytes()

    model = tmp_path / "emotion.tflite"
    first = convert(model)
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["conversion"]["agreement"] > 0.9 and card["training_state"]["epochs_done"] == 2
    assert convert(tmp_path / "again.tflite") == first, "converting the same model again changed the file"
    from moodcast.edge.vision.emotion import EmotionClassifier

    classifier = EmotionClassifier.create_from_model_path(model)
    assert classifier.model.inputs[0].dtype == np.int8 and classifier.model.outputs[0].dtype == np.int8
    convs = conv_outputs(model)
    assert convs[0] == np.float32 and set(convs[1:]) == {np.int8}, convs


def convert_run(run_dir, zip_path: str, out_file) -> None:
    """``moodcast convert emotion`` on a run's best model, calibrated on 64 real crops."""
    from helpers import run_cli

    args = ["--model", str(run_dir / "best.keras"), "--calib", zip_path, "--out", str(out_file), "--samples", "64"]
    code, _, err = run_cli("convert", "emotion", *args)
    assert code == 0, err


def conv_outputs(path) -> list:
    """The dtype of each CONV_2D output, in graph order."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interpreter.allocate_tensors()
    tensors = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    return [tensors[op["outputs"][0]] for op in interpreter._get_ops_details() if op["op_name"] == "CONV_2D"]


def test_starting_over_an_existing_run_is_refused(tmp_path, data):
    from helpers import run_cli

    (tmp_path / "state.json").write_text("{}")
    code, _, err = run_cli("train", "--data", str(data / "fer2013" / "archive.zip"), "--out", str(tmp_path))
    assert code != 0 and "--resume" in err


def test_class_weights_favour_rare_classes():
    labels = np.array([0] * 100 + [1] * 4 + [3] * 400)
    sqrt = class_weight_vector(labels, "sqrt")
    balanced = class_weight_vector(labels, "balanced")
    assert sqrt[1] > sqrt[0] > sqrt[3] and balanced[1] / balanced[3] > sqrt[1] / sqrt[3]
    assert np.isclose(sqrt[labels].mean(), 1.0)
    with pytest.raises(ValueError, match="class_weights"):
        class_weight_vector(labels, "inverse")


def test_unknown_training_option_is_named():
    with pytest.raises(ValueError, match="epoch"):
        TrainConfig.from_dict({"epoch": 3})


@pytest.mark.slow
def test_training_is_backend_agnostic(tmp_path, data):
    """A run trained under JAX (the backend for a GPU lease) is the same model to TensorFlow: the
    converter takes it and TensorFlow's evaluation reproduces the run's own confusion matrix."""
    from helpers import last_json, run_cli

    out = tmp_path / "jax-run"
    conf = tmp_path / "smoke.json"
    conf.write_text(json.dumps({**SMOKE, "widths": [16, 32]}))
    zip_path = str(data / "fer2013" / "archive.zip")
    moodcast = Path(sys.executable).with_name("moodcast")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [moodcast, "train", "--data", zip_path, "--config", conf, "--out", out], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((out / "state.json").read_text())["epochs_done"] == 1

    code, stdout, err = run_cli("eval", "emotion", "--data", zip_path, "--model", str(out / "best.keras"), "--json")
    assert code == 0, err
    tf_confusion = np.array(last_json(stdout)["confusion"])
    jax_confusion = np.array(json.loads((out / "metrics.json").read_text())["confusion"])
    # A one-epoch model is nearly undecided, so float rounding differences between the backends'
    # kernels flip a few top classes; a different model would move far more.
    moved = np.abs(tf_confusion - jax_confusion).sum() / 2
    print(f"crops classified differently by the two backends: {moved:.0f} of {tf_confusion.sum()}")
    assert moved <= 0.02 * tf_confusion.sum()
    convert_run(out, zip_path, tmp_path / "jax.tflite")


@pytest.mark.slow
def test_a_run_can_learn_from_teachers(tmp_path, data):
    from helpers import run_cli

    zip_path = str(data / "fer2013" / "archive.zip")
    teacher = tmp_path / "teacher"
    conf = tmp_path / "teacher.json"
    conf.write_text(json.dumps(SMOKE))
    assert run_cli("train", "--data", zip_path, "--config", str(conf), "--out", str(teacher))[0] == 0

    student = tmp_path / "student"
    conf.write_text(
        json.dumps({**SMOKE, "teachers": [str(teacher / "best.keras")], "teacher_weight": 0.7, "teacher_views": 8})
    )
    code, _, err = run_cli("train", "--data", zip_path, "--config", str(conf), "--out", str(student))
    assert code == 0, err
    taught = np.load(student / "teacher_targets.npy")
    assert taught.shape == (SMOKE["limit"], 7) and np.allclose(taught.sum(axis=1), 1, atol=1e-4)
    assert json.loads((student / "config.json").read_text())["teachers"] == [str(teacher / "best.keras")]


@pytest.mark.slow
def test_a_run_can_fine_tune_a_trained_model(tmp_path, data):
    import keras
    from helpers import run_cli

    zip_path = str(data / "fer2013" / "archive.zip")
    conf = tmp_path / "base.json"
    conf.write_text(json.dumps(SMOKE))
    assert run_cli("train", "--data", zip_path, "--config", str(conf), "--out", str(tmp_path / "base"))[0] == 0
    base = str(tmp_path / "base" / "best.keras")

    # With a learning rate of 0 fine-tuning moves no weight: the run starts from the trained model.
    tuned = {**SMOKE, "init": base, "learning_rate": 0.0, "ferplus_soft_labels": True, "ferplus_weight": 0.5}
    conf.write_text(json.dumps(tuned))
    code, _, err = run_cli("train", "--data", zip_path, "--config", str(conf), "--out", str(tmp_path / "tuned"))
    assert code == 0, err
    before = keras.saving.load_model(base).get_layer("s1_conv1").get_weights()[0]
    after = keras.saving.load_model(tmp_path / "tuned" / "best.keras").get_layer("s1_conv1").get_weights()[0]
    assert np.array_equal(before, after)

    conf.write_text(json.dumps({**SMOKE, "init": base, "widths": [8, 8]}))
    code, _, err = run_cli("train", "--data", zip_path, "--config", str(conf), "--out", str(tmp_path / "other"))
    assert code != 0 and "another architecture" in err


def test_ferplus_labels_without_their_votes_file_are_an_error(tmp_path, data):
    import zipfile

    from helpers import run_cli

    small = tmp_path / "small.zip"  # real crops, but no ferplus_labels.csv beside them
    with zipfile.ZipFile(data / "fer2013" / "archive.zip") as zf, zipfile.ZipFile(small, "w") as out:
        for split in ("train", "test"):
            for name in [n for n in zf.namelist() if n.startswith(f"{split}/") and n.endswith(".jpg")][:20]:
                out.writestr(name, zf.read(name))
    conf = tmp_path / "votes.json"
    conf.write_text(json.dumps({**SMOKE, "ferplus_soft_labels": True}))
    code, _, err = run_cli("train", "--data", str(small), "--config", str(conf), "--out", str(tmp_path / "run"))
    assert code != 0 and "ferplus_labels.csv" in err


def test_the_recipe_configs_read():
    from helpers import REPO

    cfg = TrainConfig.from_file(REPO / "config" / "train-ferplus-finetune.toml")
    assert cfg.init.endswith("best.keras") and cfg.ferplus_soft_labels and cfg.ferplus_weight == 0.5
    steps = [TrainConfig.from_file(REPO / "config" / f"train-emotion{s}.toml") for s in ("", "-ferplus", "-distill")]
    assert {cfg.widths for cfg in steps} == {(40, 80, 160, 320)}
    # Each step starts from the one before; the last one learns from seven teachers, the first two among them.
    assert steps[1].init == "runs/emotion-w40/best.keras" and steps[2].init == "runs/emotion-w40fp20/best.keras"
    assert len(steps[2].teachers) == 7 and set(steps[2].teachers) > {steps[1].init, steps[2].init}
    # Step 4 starts from step 3's float weights, which also teach it; its second round goes on from it.
    camera = TrainConfig.from_file(REPO / "config" / "train-emotion-camera.toml")
    assert camera.init == "runs/emotion-w40kd/best.keras" and camera.teachers == (camera.init,)
    again = TrainConfig.from_file(REPO / "config" / "train-emotion-camera-2.toml")
    assert again.init == "runs/emotion-cam/best.keras" and again.teachers == camera.teachers
    assert camera.augment.noise > 0 and camera.augment.low_light > 0 and camera.augment.jpeg > 0
    # The tried step 5 goes on from what ships, taught by step 3 and step 4 together, with more low light.
    ensemble = TrainConfig.from_file(REPO / "config" / "train-emotion-camera-3.toml")
    assert ensemble.init == "models/emotion.keras" and ensemble.teachers == (*camera.teachers, ensemble.init)
    assert ensemble.augment.low_light > camera.augment.low_light
    gpu = TrainConfig.from_file(REPO / "config" / "train-emotion-gpu.toml")
    assert gpu.teacher_file == "training/teachers/gpu-2026-12-04.npz" and (REPO / gpu.teacher_file).is_file()
    assert gpu.augment == camera.augment


def test_training_weights_must_be_shares():
    with pytest.raises(ValueError, match="teacher_weight"):
        TrainConfig.from_dict({"teacher_weight": 1.5})
    with pytest.raises(ValueError, match="ferplus_weight"):
        TrainConfig.from_dict({"ferplus_weight": -0.1})
    with pytest.raises(ValueError, match="teacher_views"):
        TrainConfig.from_dict({"teacher_views": 4})


def test_test_time_views_pair_each_view_with_its_mirror(data):
    from moodcast.training import data as fer
    from moodcast.training.augment import test_time_views

    crops = fer.load(data / "fer2013" / "archive.zip", "test", 48).images[:5]
    views = test_time_views(crops, 8)
    assert len(views) == 8 and all(v.shape == crops.shape for v in views)
    assert np.array_equal(views[0], crops) and np.array_equal(views[4], crops[:, :, ::-1])
    for view, mirror in zip(views[:4], views[4:]):
        assert np.array_equal(mirror, view[:, :, ::-1])
    assert len({v.tobytes() for v in views}) == 8
    with pytest.raises(ValueError, match="2 or 8"):
        test_time_views(crops, 3)
