"""Camera degradations (evaluation.degrade), the augmentation built on them, the robustness table of
`moodcast eval emotion --degrade`, and the Keras model rebuilt from the shipped .tflite."""

import json

import numpy as np
import pytest

from moodcast.edge.errors import ConfigError
from moodcast.evaluation.degrade import KINDS, TABLE, Degradation
from moodcast.training.augment import AugmentConfig, augment, camera

ZIP = ("fer2013", "archive.zip")


@pytest.fixture(scope="module")
def crops(data):
    from moodcast.training import data as fer

    return fer.load(data.joinpath(*ZIP), "test", 48).images[:64]


def test_each_degradation_changes_crops_by_its_level_and_repeats_with_its_seed(crops):
    for kind in KINDS:
        mild, strong = (Degradation(kind, KINDS[kind].default * f) for f in (0.5, 1.0))
        if kind in ("jpeg", "lowres"):  # a lower quality or a smaller face is the stronger one
            mild, strong = strong, mild
        out = strong(crops)
        assert out.shape == crops.shape and out.dtype == np.float32 and out.min() >= 0 and out.max() <= 255, kind
        assert np.array_equal(out, strong(crops)), kind
        error = [np.abs(d(crops) - crops).mean() for d in (mild, strong)]
        assert 0.5 < error[0] < error[1], (kind, error)
    measured = (Degradation("noise", 10)(np.full((8, 48, 48), 128.0)) - 128).std()
    assert 9.5 < measured < 10.5
    assert not np.array_equal(Degradation("noise", 5)(crops, seed=1), Degradation("noise", 5)(crops))


def test_every_degradation_stays_inside_the_grey_range_on_saturated_crops():
    """Filters and warps overshoot white by rounding (OpenCV 5.1's motion blur gave 255.00002)."""
    board = np.indices((48, 48)).sum(axis=0) % 2 * 255.0
    extremes = np.stack([np.zeros((48, 48)), np.full((48, 48), 255.0), board, 255 - board])
    for kind in KINDS:
        for factor in (0.5, 1.0, 2.0):
            out = Degradation(kind, KINDS[kind].default * factor)(extremes)
            assert out.min() >= 0 and out.max() <= 255, (kind, factor, out.min(), out.max())


def test_a_bad_degradation_is_named():
    assert Degradation.parse("jpeg") == Degradation("jpeg", 30.0)
    assert str(Degradation.parse("blur:0.8")) == "blur:0.8"
    with pytest.raises(ConfigError, match="unknown kind 'fog'"):
        Degradation.parse("fog:3")
    with pytest.raises(ConfigError, match="must be a number"):
        Degradation.parse("noise:high")
    assert all(Degradation.parse(t) for t in TABLE)


def test_camera_augmentation_is_off_by_default_and_seeded_when_on(crops):
    plain = AugmentConfig()
    x = crops.astype(np.float32)
    assert np.array_equal(camera(x.copy(), np.random.default_rng(0), plain), x)
    noisy = AugmentConfig(noise=1.0, jpeg=1.0, low_light=1.0, blur=1.0, low_resolution=1.0)
    out = camera(x.copy(), np.random.default_rng(0), noisy)
    assert np.array_equal(out, camera(x.copy(), np.random.default_rng(0), noisy))
    assert np.abs(out - x).mean() > 10 and out.min() >= 0 and out.max() <= 255
    # Each crop draws its own levels: the changes differ from crop to crop.
    per_crop = np.abs(out - x).mean(axis=(1, 2))
    assert per_crop.std() > 1
    some = AugmentConfig(noise=0.5)
    changed = (np.abs(camera(x.copy(), np.random.default_rng(1), some) - x).max(axis=(1, 2)) > 0).mean()
    assert 0.3 < changed < 0.7
    full = augment(crops, np.random.default_rng(0), AugmentConfig(noise=1.0, noise_sigma=30))
    assert full.shape == crops.shape


@pytest.mark.slow
def test_eval_emotion_prints_the_robustness_table(data):
    from helpers import run_cli

    code, out, err = run_cli(
        "eval", "emotion", "--data", str(data.joinpath(*ZIP)), "--degrade", "noise:10", "--degrade", "rotate", "--json"
    )
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert list(result["degraded"]) == ["noise:10", "rotate:20"]
    clean, noisy = result["accuracy"], result["degraded"]["noise:10"]["accuracy"]
    assert 0.3 < noisy < clean - 0.005  # noise costs even the robust model something, on the same crops
    assert "| noise:10 |" in out and "| rotate:20 |" in out
    code, _, err = run_cli("eval", "emotion", "--data", str(data.joinpath(*ZIP)), "--degrade", "fog")
    assert code == 2 and "unknown kind 'fog'" in err


@pytest.mark.slow
def test_the_keras_model_rebuilt_from_the_tflite_file_computes_what_the_file_computes(data, tmp_path):
    import keras

    from moodcast.convert.unfold import keras_from_tflite
    from moodcast.edge.paths import MODELS_DIR
    from moodcast.edge.vision.emotion import predict_probabilities
    from moodcast.edge.vision.runtime import TFLiteModel
    from moodcast.training import data as fer

    train, val = fer.load_splits(data.joinpath(*ZIP), 48)
    model = keras_from_tflite(keras, MODELS_DIR / "emotion.tflite", train.images[:1000])
    x = val.images[:600]
    floats = model.predict(x[..., None].astype(np.float32), verbose=0)
    file = predict_probabilities(TFLiteModel(MODELS_DIR / "emotion.tflite"), x, flip_average=False)
    assert (floats.argmax(1) == file.argmax(1)).mean() >= 0.98
    assert np.abs(floats - file).mean() < 0.01
    # Its batch norms carry the statistics of their inputs: training mode (batch statistics) changes
    # little, so a fine-tune starts where the file is.
    bn = model.get_layer("s2_bn0")
    gamma, _, mean, var = bn.get_weights()
    assert np.allclose(gamma, np.sqrt(var + bn.epsilon)) and np.abs(mean).max() > 0
    model.get_layer("drop0").rate = model.get_layer("drop1").rate = 0.0
    trained_mode = model(x[:256, ..., None].astype(np.float32), training=True).numpy()
    assert (trained_mode.argmax(1) == floats[:256].argmax(1)).mean() >= 0.9
    # The committed float weights are this model's.
    shipped = keras.saving.load_model(MODELS_DIR / "emotion.keras")
    assert (shipped.predict(x[..., None].astype(np.float32), verbose=0).argmax(1) == file.argmax(1)).mean() >= 0.98
