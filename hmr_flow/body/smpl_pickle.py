"""Read official SMPL ``.pkl`` files without chumpy (which does not import on Python ≥ 3.11).

A restricted unpickler allows only numpy arrays/dtypes/scalars, scipy CSC/CSR sparse matrices and
chumpy arrays; chumpy ``Ch`` objects and sparse matrices are captured as plain state and turned
into numpy arrays. Any other global (arbitrary classes, functions such as ``os.system``) is refused
with :class:`SmplPickleError`, so loading an untrusted file cannot execute code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from hmr_flow.validation import UserInputError


class SmplPickleError(UserInputError):
    """The file is not a readable SMPL pickle (or contains something that is not allowed)."""


class _Captured:
    """Stand-in for a chumpy or scipy.sparse object: keeps the pickled state, converted afterwards."""

    kind = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _ChumpyArray(_Captured):
    kind = "chumpy"


class _SparseMatrix(_Captured):
    kind = "sparse"


_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # how protocol-2 pickles made by Python 3 store array bytes
    ("numpy._core.numeric", "_frombuffer"),
}
_CAPTURED = {
    ("chumpy.ch", "Ch"): _ChumpyArray,
    ("chumpy", "Ch"): _ChumpyArray,
    ("scipy.sparse.csc", "csc_matrix"): _SparseMatrix,
    ("scipy.sparse._csc", "csc_matrix"): _SparseMatrix,
    ("scipy.sparse.csr", "csr_matrix"): _SparseMatrix,
    ("scipy.sparse._csr", "csr_matrix"): _SparseMatrix,
}


def _reconstructor(cls: type, base: type, state: Any) -> Any:
    """Safe replacement of ``copyreg._reconstructor`` for the allowed classes only."""
    if base is not object:
        raise SmplPickleError(f"refusing copyreg reconstruction with base {base!r}")
    if cls in (_ChumpyArray, _SparseMatrix):
        return cls()
    raise SmplPickleError(f"refusing to reconstruct {cls!r}")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            return getattr(__import__(module, fromlist=[name]), name)
        if (module, name) in _CAPTURED:
            return _CAPTURED[(module, name)]
        if (module, name) in {("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")}:
            return _reconstructor
        if (module, name) in {("__builtin__", "object"), ("builtins", "object")}:
            return object
        raise SmplPickleError(f"refusing to load {module}.{name}: only numpy, scipy.sparse and chumpy arrays are allowed")


def _to_numpy(value: Any, key: str) -> Any:
    if isinstance(value, _ChumpyArray):
        state = value.state if isinstance(value.state, dict) else {}
        if "x" not in state:
            raise SmplPickleError(f"{key}: chumpy object without an 'x' array (only plain chumpy arrays are supported)")
        return np.asarray(state["x"])
    if isinstance(value, _SparseMatrix):
        state = value.state if isinstance(value.state, dict) else {}
        try:
            shape = tuple(state.get("_shape", state.get("shape")))
            import scipy.sparse  # only official pickles need it (~0.15 s to import)

            return scipy.sparse.csc_matrix((state["data"], state["indices"], state["indptr"]), shape=shape).toarray()
        except (KeyError, TypeError, ValueError) as err:
            raise SmplPickleError(f"{key}: unreadable sparse matrix ({err})") from err
    return value


def load_smpl_pickle(path: str | Path) -> dict[str, Any]:
    """Load an official SMPL ``.pkl`` into a dict of numpy arrays (and the plain values it holds).

    Raises:
        SmplPickleError: the file is missing, corrupt, not a dict, or holds a disallowed object.
    """
    path = Path(path)
    if not path.is_file():
        raise SmplPickleError(f"{path}: file not found")
    try:
        with path.open("rb") as handle:
            data = _RestrictedUnpickler(handle, encoding="latin1").load()
    except SmplPickleError as err:
        raise SmplPickleError(f"{path}: {err}") from None
    except Exception as err:  # any other unpickling failure means a corrupt/foreign file
        raise SmplPickleError(f"{path}: not a readable SMPL pickle ({type(err).__name__}: {err})") from None
    if not isinstance(data, dict):
        raise SmplPickleError(f"{path}: expected a dict of arrays, got {type(data).__name__}")
    try:
        return {str(k): _to_numpy(v, str(k)) for k, v in data.items()}
    except SmplPickleError as err:
        raise SmplPickleError(f"{path}: {err}") from None
