"""Open a TFLite model on whichever runtime is installed: ai-edge-litert, tflite-runtime, TensorFlow.

The only place that knows about runtimes. Everything else gets a :class:`TFLiteModel` with
typed tensor specs and a ``run`` that takes and returns numpy arrays.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodcast.edge.errors import ModelError
from moodcast.edge.install import add_extra_command

__all__ = ["RUNTIMES", "ModelError", "TFLiteModel", "TensorSpec", "dequantize", "quantize"]

# Tried in this order. TensorFlow is the workstation's last resort, imported only when chosen here.
RUNTIMES = ("ai_edge_litert", "tflite_runtime", "tensorflow")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    index: int
    shape: tuple[int, ...]
    dtype: type
    scale: float  # 0.0 when not quantized
    zero_point: int

    @property
    def quantized(self) -> bool:
        return self.scale != 0.0


def interpreter_class(prefer: str | None = None) -> tuple[str, Any]:
    """The ``Interpreter`` class of the first installed runtime (or of ``prefer``)."""
    order = (prefer,) if prefer else RUNTIMES
    for name in order:
        try:
            if name == "ai_edge_litert":
                return name, importlib.import_module("ai_edge_litert.interpreter").Interpreter
            if name == "tflite_runtime":
                return name, importlib.import_module("tflite_runtime.interpreter").Interpreter
            if name == "tensorflow":
                return name, importlib.import_module("tensorflow").lite.Interpreter
            raise ModelError(f"unknown runtime {name!r}; choose from {', '.join(RUNTIMES)}")
        except ImportError:
            continue
    raise ModelError(
        f"no TFLite runtime is installed: {add_extra_command('litert')} "
        "(or the [tflite] extra, tflite-runtime 2.14, on Python <= 3.11 with numpy<2)"
    )


def _spec(detail: dict) -> TensorSpec:
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return TensorSpec(
        detail["name"],
        detail["index"],
        tuple(int(d) for d in detail["shape"]),
        detail["dtype"],
        float(scale),
        int(zero_point),
    )


class TFLiteModel:
    """One loaded ``.tflite`` file: its tensor specs and a ``run`` over numpy arrays."""

    def __init__(self, path: str | Path, num_threads: int = 1, runtime: str | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file not found")
        content = self.path.read_bytes()
        # A flatbuffer file carries its identifier at bytes 4-8; TFLite's is "TFL3".
        if len(content) < 8 or content[4:8] != b"TFL3":
            raise ModelError(
                f"{self.path}: not a TFLite model (no TFL3 identifier); is the file truncated or another format?"
            )
        self.runtime, cls = interpreter_class(runtime)
        try:
            with _without_delegate_notice():
                self._interpreter = cls(model_content=content, num_threads=num_threads)
                details = self._interpreter.get_input_details()
                # Inputs of free height/width (MTCNN's P-Net) are sized on the first run instead.
                dynamic = any(-1 in d.get("shape_signature", d["shape"])[1:] for d in details)
                if not dynamic:
                    self._interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"{self.path}: the {self.runtime} runtime cannot load it: {exc}") from None
        self.inputs = [_spec(d) for d in details]
        self.outputs = [_spec(d) for d in self._interpreter.get_output_details()]
        self._shapes: list[tuple[int, ...]] | None = None if dynamic else [s.shape for s in self.inputs]

    def expect(self, inputs: list[tuple[int, ...]], outputs: list[tuple[int, ...]]) -> None:
        """Check tensor shapes (batch dimension ignored) or raise naming the file."""
        got_in = [s.shape[1:] for s in self.inputs]
        got_out = sorted(s.shape[1:] for s in self.outputs)
        if got_in != [tuple(s) for s in inputs] or got_out != sorted(tuple(s) for s in outputs):
            raise ModelError(
                f"{self.path}: unexpected tensors: inputs {got_in}, outputs {got_out}; "
                f"expected inputs {inputs}, outputs {outputs}. Is this the right model for this stage?"
            )

    def run(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Invoke on one array per input (batch dimension included); outputs in file order.

        A new input shape (batch size, or image size for a free-size input) re-plans the
        interpreter once; the same shape again costs nothing extra.
        """
        shapes = [a.shape for a in arrays]
        if shapes != self._shapes:
            for spec, shape in zip(self.inputs, shapes):
                self._interpreter.resize_tensor_input(spec.index, shape)
            if self._shapes is None:  # a free-size input meets XNNPACK on its first plan, not when loaded
                with _without_delegate_notice():
                    self._interpreter.allocate_tensors()
            else:  # the notice comes once per process: later re-plans (P-Net's pyramid, every frame) print none
                self._interpreter.allocate_tensors()
            self._shapes = shapes
        for spec, array in zip(self.inputs, arrays):
            self._interpreter.set_tensor(spec.index, array)
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(s.index) for s in self.outputs]


# What LiteRT's C++ side prints on stderr once per process when XNNPACK takes over the graph: a
# notice, not a problem, that every command would otherwise start with.
DELEGATE_NOTICE = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."


@contextmanager
def _without_delegate_notice() -> Iterator[None]:
    """Runs the block with file descriptor 2 captured, then writes back all it printed but the
    delegate notice (the runtime writes from C++, past Python's sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines() if line != DELEGATE_NOTICE]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)


def quantize(values: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """Float values to the integer type of a quantized tensor (identity for float tensors)."""
    if not spec.quantized:
        return values.astype(spec.dtype, copy=False)
    info = np.iinfo(spec.dtype)
    return np.clip(np.rint(values / spec.scale) + spec.zero_point, info.min, info.max).astype(spec.dtype)


def dequantize(values: np.ndarray, spec: TensorSpec) -> np.ndarray:
    if not spec.quantized:
        return values.astype(np.float32, copy=False)
    return (values.astype(np.float32) - spec.zero_point) * spec.scale
