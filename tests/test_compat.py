"""Compatibility gate: every shipped model loads and gives the same outputs in ai-edge-litert
(this venv) and in tflite-runtime 2.14 (.venv-tflite, Python <= 3.11, numpy < 2), so an op
version the older runtime lacks can never reach a Pi."""

import subprocess
import sys

import numpy as np
import pytest

from edge.config import MODELS_DIR
from edge.runtime import TFLiteModel

REPO = MODELS_DIR.parent
PROBE = REPO / "tests" / "tflite_runtime_probe.py"
OLD_PYTHON = REPO / ".venv-tflite" / "bin" / "python"
SHIPPED = sorted(MODELS_DIR.glob("*.tflite"))


def test_there_are_shipped_models():
    assert {p.name for p in SHIPPED} >= {
        "emotion.tflite",
        "blazeface_short.tflite",
        "blazeface_full.tflite",
        "mtcnn_pnet.tflite",
        "mtcnn_rnet.tflite",
        "mtcnn_onet.tflite",
    }


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="tflite-runtime 2.14 has no wheels past Python 3.11")
def test_tflite_runtime_2_14_agrees_with_ai_edge_litert(tmp_path):
    if not OLD_PYTHON.exists():
        pytest.fail(".venv-tflite is missing: scripts/test.sh creates it (tflite-runtime==2.14.0, numpy<2)")
    rng = np.random.default_rng(0)
    inputs, expected = {}, {}
    for path in SHIPPED:
        model = TFLiteModel(path, runtime="ai_edge_litert")
        spec = model.inputs[0]
        shape = spec.shape if min(spec.shape[1:3]) > 1 else (1, 64, 48, 3)  # free-size input (P-Net)
        if np.issubdtype(spec.dtype, np.integer):
            info = np.iinfo(spec.dtype)
            x = rng.integers(info.min, info.max + 1, shape).astype(spec.dtype)
        else:
            x = rng.uniform(-1, 1, shape).astype(spec.dtype)
        key = str(path).replace("/", "|")
        inputs[key] = x
        for i, out in enumerate(model.run(x)):
            expected[f"{key}#{i}"] = out
    np.savez(tmp_path / "in.npz", **inputs)
    run = subprocess.run(
        [str(OLD_PYTHON), str(PROBE), str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"tflite-runtime 2.14 could not run a shipped model:\n{run.stderr[-2000:]}"
    got = np.load(tmp_path / "out.npz")
    assert set(got.files) == set(expected)
    for key, want in expected.items():
        have = got[key]
        assert have.dtype == want.dtype and have.shape == want.shape, key
        if np.issubdtype(want.dtype, np.integer):
            # int8 kernels round differently between runtime versions, and the differences add up
            # over layers: a few steps (1 step = 1/256 of probability) and the same top class.
            assert np.abs(have.astype(int) - want.astype(int)).max() <= 3, key
            assert have.argmax() == want.argmax(), key
        else:
            np.testing.assert_allclose(have, want, rtol=1e-3, atol=1e-3, err_msg=key)
