"""Running a ``.tflite`` network on the CPU through LiteRT (``ai-edge-litert``, Google's maintained
TensorFlow Lite runtime, with its XNNPACK kernels)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from hmr_flow.validation import UserInputError

log = logging.getLogger(__name__)


class TFLiteNetwork:
    """One network with a single float32 input; ``network(x)`` returns its outputs ordered by name
    (``Identity``, ``Identity_1``, ...: the order of the model's signature).

    Args:
        path: the ``.tflite`` file.
        threads: CPU threads of the interpreter.
    """

    def __init__(self, path: str | Path, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        try:
            self._interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise UserInputError(f"{self.path}: not a loadable TFLite network ({err})") from None
        [self._input] = self._interpreter.get_input_details()
        self._outputs = sorted(self._interpreter.get_output_details(), key=lambda d: (len(d["name"]), d["name"]))
        self.input_shape = tuple(int(n) for n in self._input["shape"])

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        """Run on ``x`` of :attr:`input_shape` (float32); the outputs as new arrays."""
        self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(x, dtype=np.float32))
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(d["index"]).copy() for d in self._outputs]
