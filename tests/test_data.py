"""FER2013 readers: the three forms give identical arrays; malformed input fails clearly."""

import csv
import zipfile

import numpy as np
import pytest

from moodcast.edge.labels import EMOTIONS
from moodcast.training import data as fer

CSV_CODE = {label: code for code, label in enumerate(fer.CSV_CODE_TO_LABEL)}


@pytest.fixture(scope="module")
def small(tmp_path_factory, data):
    """The same 35 real crops (5 per class) as a folder, a zip and a fer2013.csv."""
    root = tmp_path_factory.mktemp("fer")
    chosen = []
    with zipfile.ZipFile(data / "fer2013" / "archive.zip") as zf:
        names = sorted(n for n in zf.namelist() if n.startswith("train/"))
        for emotion in EMOTIONS:
            chosen += [n for n in names if n.split("/")[1] == emotion][:5]
        blobs = {n: zf.read(n) for n in chosen}
    with zipfile.ZipFile(root / "small.zip", "w") as out:
        for name, blob in blobs.items():
            out.writestr(name, blob)
            target = root / "folder" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
    decoded = fer.read_zip(root / "small.zip", "train")
    with open(root / "fer2013.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for image, label in zip(decoded.images, decoded.labels):
            writer.writerow([CSV_CODE[int(label)], " ".join(map(str, image.ravel())), "Training"])
    return root


def test_three_forms_read_identically(small):
    from_zip = fer.read_zip(small / "small.zip", "train")
    from_folder = fer.read_folder(small / "folder", "train")
    from_csv = fer.read_csv(small / "fer2013.csv", "Training")
    assert len(from_zip) == 35
    assert from_zip.counts() == dict.fromkeys(EMOTIONS, 5)
    for other in (from_folder, from_csv):
        np.testing.assert_array_equal(other.images, from_zip.images)
        np.testing.assert_array_equal(other.labels, from_zip.labels)
    assert from_zip.images.dtype == np.uint8 and from_zip.images.shape[1:] == (48, 48)


def test_load_dispatches_on_path(small):
    assert len(fer.load(small / "small.zip", "train")) == 35
    assert len(fer.load(small / "folder", "train")) == 35
    assert len(fer.load(small / "fer2013.csv")) == 35


def test_csv_codes_are_remapped(small):
    # fer2013.csv orders Sad=4, Surprise=5, Neutral=6; the folder names sort differently.
    faces = fer.read_csv(small / "fer2013.csv", "Training")
    assert faces.counts()["neutral"] == 5 and faces.counts()["sad"] == 5


def test_resize_other_sizes(small):
    assert fer.read_folder(small / "folder", "train", size=64).images.shape[1:] == (64, 64)


@pytest.mark.parametrize(
    "content, message",
    [
        ("emotion,pixels\n0,1 2 3\n", "missing columns"),
        ("emotion,pixels,Usage\n9," + " ".join(["0"] * 2304) + ",Training\n", "emotion code"),
        ("emotion,pixels,Usage\n0,1 2 3,Training\n", "2304 pixels"),
        ("emotion,pixels,Usage\nx,1 2,Training\n", "integers"),
    ],
)
def test_malformed_csv(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(fer.DatasetError, match=message) as info:
        fer.read_csv(path, "Training")
    assert str(path) in str(info.value)


def test_unknown_class_folder_and_corrupt_image(tmp_path, small):
    (tmp_path / "joy").mkdir()
    (tmp_path / "joy" / "a.jpg").write_bytes(b"x")
    with pytest.raises(fer.DatasetError, match="unknown class folder 'joy'"):
        fer.read_folder(tmp_path)
    bad = tmp_path / "ok"
    (bad / "happy").mkdir(parents=True)
    (bad / "happy" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(fer.DatasetError, match="broken.jpg: not a readable image"):
        fer.read_folder(bad)


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.zip"
    path.write_text("hello")
    with pytest.raises(fer.DatasetError, match="not a readable zip"):
        fer.read_zip(path)
    with pytest.raises(fer.DatasetError, match="no such file"):
        fer.load(tmp_path / "missing.zip")


def test_clean_removes_duplicates_conflicts_leaks_and_blanks():
    rng = np.random.default_rng(0)
    a, b, c, d = (rng.integers(0, 255, (48, 48), dtype=np.uint8) for _ in range(4))
    blank = np.full((48, 48), 128, np.uint8)
    images = np.stack([a, a, b, b, c, d, blank])
    labels = np.array([3, 3, 0, 5, 2, 1, 4])
    train = fer.FaceSet(images, labels, tuple(f"f{i}" for i in range(7)))
    val = fer.FaceSet(np.stack([d]), np.array([1]), ("v0",))
    kept, report = fer.clean(train, val)
    # a: one copy kept; b: conflicting labels, both dropped; d: leaked into validation; blank dropped.
    assert kept.paths == ("f0", "f4")
    assert report.duplicate_copies == 1
    assert report.conflicting_groups == 1 and report.conflicting_images == 2
    assert report.leaked_into_validation == 1
    assert report.near_blank == 1


def test_ferplus_votes_become_soft_labels(small, data):
    faces = fer.attach_ferplus(fer.read_zip(small / "small.zip", "train"), data / "fer2013" / "ferplus_labels.csv")
    assert faces.soft.shape == (35, 7)
    np.testing.assert_allclose(faces.soft.sum(axis=1), 1.0, rtol=1e-5)
    # FER+ majority agrees with the FER2013 label for about 63% of images (the data's README).
    agree = (faces.soft.argmax(axis=1) == faces.labels).mean()
    assert 0.3 < agree < 1.0


def test_ferplus_votes_read_from_ferplus_own_file_match(small, data, tmp_path):
    # FER+'s fer2013new.csv follows fer2013.csv row by row; build one for the small csv.
    by_path = fer.read_ferplus_votes(data / "fer2013" / "ferplus_labels.csv")
    from_zip = fer.attach_ferplus(fer.read_zip(small / "small.zip", "train"), data / "fer2013" / "ferplus_labels.csv")
    columns = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"]
    order = fer.FERPLUS_COLUMNS + fer.FERPLUS_OTHER
    own = tmp_path / "fer2013new.csv"
    with open(own, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Usage", "Image name", *columns])
        for i, path in enumerate(from_zip.paths):
            if path in by_path:
                votes = dict(zip(order, by_path[path]))
                writer.writerow(["Training", f"fer{i:07d}.png", *(int(votes[c]) for c in columns)])
            else:  # a crop FER+ has no votes for
                writer.writerow(["Training", "", *([""] * len(columns))])
    from_csv = fer.attach_ferplus(fer.read_csv(small / "fer2013.csv", "Training"), own)
    np.testing.assert_array_equal(from_csv.soft, from_zip.soft)
    assert fer.ferplus_votes_beside(small / "fer2013.csv").name == "fer2013new.csv"
    assert fer.ferplus_votes_beside(small / "small.zip").name == "ferplus_labels.csv"

    with pytest.raises(fer.DatasetError, match="not FER\\+ votes"):
        fer.read_ferplus_votes(small / "fer2013.csv")


def test_ferplus_weight_mixes_the_votes_with_the_label(small, data):
    from moodcast.training.train import label_targets

    plain = fer.read_zip(small / "small.zip", "train")
    faces = fer.attach_ferplus(plain, data / "fer2013" / "ferplus_labels.csv")
    one_hot = np.eye(7)[faces.labels]
    np.testing.assert_allclose(label_targets(faces, 0.5), (one_hot + faces.soft) / 2, atol=1e-6)
    np.testing.assert_allclose(label_targets(faces, 1.0), faces.soft)
    assert np.array_equal(label_targets(faces, 0.0), one_hot)
    assert np.array_equal(label_targets(plain, 0.5), one_hot)  # no votes attached: the labels alone


def test_ferplus_majority_keeps_clear_winners_only(small, tmp_path):
    faces = fer.read_zip(small / "small.zip", "train")
    header = "path,usage,fer2013_row,join,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    rows = [
        "0,0,0,0,2,7,1,0,0,0",  # disgust wins
        "4,0,0,0,4,0,0,0,2,0",  # neutral and anger tie
        "1,0,0,0,0,0,0,6,3,0",  # contempt wins
        "3,3,0,0,0,0,0,0,0,4",  # not a face wins
    ]
    votes = tmp_path / "votes.csv"
    votes.write_text(
        "\n".join([header] + [f"{path},Training,0,pixel,{v}" for path, v in zip(faces.paths, rows)]) + "\n"
    )
    index, labels = fer.ferplus_majority(faces, votes)
    assert index.tolist() == [0] and labels.tolist() == [EMOTIONS.index("disgust")]
