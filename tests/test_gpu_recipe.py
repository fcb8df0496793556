"""The GPU recipe at toy scale on the CPU: pack -> teachers (torch) -> a student learns from their file."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from moodcast.training.pack import read_pack, write_pack
from moodcast.training.train import TrainConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_fer(data, tmp_path_factory):
    """A Kaggle-layout folder of 700 real FER2013 crops (train 560, test 140)."""
    from moodcast.edge.labels import EMOTIONS
    from moodcast.training import data as fer

    root = tmp_path_factory.mktemp("fer")
    faces = fer.load(data / "fer2013" / "archive.zip", "train")
    pick = np.random.default_rng(0).permutation(len(faces))[:700]
    for n, i in enumerate(pick):
        folder = root / ("train" if n < 560 else "test") / EMOTIONS[faces.labels[i]]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i}.png"), faces.images[i])
    return root


def test_the_pack_keeps_the_crops_to_one_grey_level_and_their_order(small_fer, tmp_path):
    from moodcast.training import data as fer

    pack = write_pack(small_fer, tmp_path / "pack.npz")
    train, val = fer.load_splits(small_fer, 48)
    train, _ = fer.clean(train, val)
    assert pack.train.shape == train.images.shape and pack.val.shape == val.images.shape
    assert np.abs(pack.train.astype(int) - train.images).max() <= 1
    assert np.array_equal(pack.train_labels, train.labels) and np.array_equal(pack.val_labels, val.labels)
    assert pack.fingerprint == train.fingerprint() and pack.split == "test"
    assert np.allclose(pack.train_soft.sum(axis=1), 1, atol=1e-2)
    again = read_pack(tmp_path / "pack.npz")
    assert np.array_equal(again.train, pack.train)


def test_teachers_trained_by_the_recipe_teach_a_student(small_fer, tmp_path):
    pytest.importorskip(
        "torch", reason="the GPU recipe needs torch: scripts/test.sh installs a CPU build where pip finds one"
    )
    from helpers import REPO, run_cli

    pack = write_pack(small_fer, tmp_path / "pack.npz")
    out = tmp_path / "gpu"
    toy = ["--archs", "toy,toy", "--minutes", "0.75", "--batch", "64", "--reserve", "3"]
    done = subprocess.run(
        [sys.executable, "-m", "moodcast.training.gpu_teachers", "--pack", tmp_path / "pack.npz", "--out", out, *toy],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(out / "teachers.npz") as z:
        probs, val_probs, fingerprint = z["train_probs"], z["val_probs"], str(z["fingerprint"])
        assert z["each_val_probs"].shape == (2, len(pack.val), 7)
    assert probs.shape == (len(pack.train), 7) and np.allclose(probs.sum(axis=1), 1, atol=1e-3)
    assert fingerprint == pack.fingerprint and val_probs.shape == (len(pack.val), 7)
    summary = json.loads((out / "teachers.json").read_text())
    assert set(summary["recipe"]["results"]) == {"toy"} and summary["recipe"]["results"]["toy"]["steps"] > 0
    # Each teacher trained on its share of the time and learned something beyond the majority class.
    assert summary["wall_seconds"] < 0.75 * 60 + 10
    assert len({int(c) for c in probs.argmax(axis=1)}) > 1

    conf = tmp_path / "student.json"
    smoke = {"epochs": 1, "batch_size": 64, "widths": [8, 16], "dense": 16}
    conf.write_text(json.dumps({**smoke, "teacher_file": str(out / "teachers.npz"), "teacher_weight": 0.7}))
    code, _, err = run_cli("train", "--data", str(small_fer), "--config", str(conf), "--out", str(tmp_path / "s"))
    assert code == 0, err

    # A file made for other crops is refused, naming the way to make the right one: here one crop
    # is changed, so only the fingerprint tells.
    victim = sorted((small_fer / "train" / "happy").iterdir())[0]
    original = victim.read_bytes()
    victim.write_bytes(cv2.imencode(".png", 255 - cv2.imread(str(victim), cv2.IMREAD_GRAYSCALE))[1].tobytes())
    try:
        code, _, err = run_cli("train", "--data", str(small_fer), "--config", str(conf), "--out", str(tmp_path / "t"))
    finally:
        victim.write_bytes(original)
    assert code != 0 and "other training crops" in err and "moodcast.training.pack" in err


def test_teachers_and_a_teacher_file_are_one_or_the_other():
    with pytest.raises(ValueError, match="use one"):
        TrainConfig.from_dict({"teachers": ["a.keras"], "teacher_file": "t.npz"})


def test_merged_teacher_files_weigh_every_teacher_equally(tmp_path):
    from moodcast.training.merge_teachers import merge

    rng = np.random.default_rng(0)

    def run(name: str, teachers: int, fingerprint: str = "f" * 64):
        each = rng.dirichlet(np.ones(7), size=(teachers, 5)).astype(np.float32)
        train = rng.dirichlet(np.ones(7), size=(teachers, 9)).astype(np.float32)
        np.savez(
            tmp_path / name,
            train_probs=train.mean(0),
            val_probs=each.mean(0),
            each_val_probs=each.astype(np.float16),
            fingerprint=np.array(fingerprint),
        )
        return tmp_path / name, train, each

    (a, train_a, each_a), (b, train_b, each_b) = run("a.npz", 4), run("b.npz", 2)
    merged = merge([str(a), str(b)])
    assert np.allclose(merged["train_probs"], np.concatenate([train_a, train_b]).mean(0), atol=1e-6)
    assert merged["each_val_probs"].shape == (6, 5, 7)
    assert np.allclose(merged["val_probs"], np.concatenate([each_a, each_b]).astype(np.float16).mean(0), atol=1e-3)
    other, _, _ = run("c.npz", 1, fingerprint="0" * 64)
    with pytest.raises(SystemExit, match="different training crops"):
        merge([str(a), str(other)])
