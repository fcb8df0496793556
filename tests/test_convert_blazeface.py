"""Rebuilding BlazeFace full range: input sizes, calibration photos, and the CLI's checks."""

import numpy as np
import pytest
from helpers import REPO, run_cli

from moodcast.convert.blazeface import calibration_images, parse_size


def test_input_sizes_are_width_by_height_in_multiples_of_32():
    assert parse_size("256x192") == (256, 192)
    assert parse_size("320X256") == (320, 256)
    for bad in ("256", "250x192", "0x192", "axb"):
        with pytest.raises(ValueError, match="256x192|multiples of 32"):
            parse_size(bad)


def test_calibration_images_are_letterboxed_real_photos(data):
    folders = [data / "photos", REPO / "samples"]
    batch = calibration_images(folders, 256, 192, 12, seed=0)
    assert batch.shape == (12, 192, 256, 3) and batch.dtype == np.float32
    assert batch.min() >= -1 and batch.max() <= 1
    assert all(image.std() > 0.1 for image in batch)  # photos, not padding
    np.testing.assert_array_equal(batch, calibration_images(folders, 256, 192, 12, seed=0))
    assert not np.array_equal(batch, calibration_images(folders, 256, 192, 12, seed=1))


def test_calibration_needs_photos(tmp_path):
    with pytest.raises(ValueError, match="no images found"):
        calibration_images([tmp_path], 256, 192, 4, seed=0)


def test_int8_conversion_asks_for_calibration_photos(tmp_path):
    out = tmp_path / "bf.tflite"
    code, _, err = run_cli(
        "convert", "detector", "--arch", "blazeface-full", "--out", str(out), "--input-size", "256x192"
    )
    assert code != 0 and "--calib" in err
    assert not out.exists()
