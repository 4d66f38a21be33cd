"""Checks at the edges: bad options, files and outputs become one clear :class:`UserInputError`.

The bottom layer of the package (it imports only numpy and torch), so every module and command can
use it:

- :class:`UserInputError` (a ``ValueError``): the user's input is wrong; the message names the file or
  option and the problem. The command runner (:func:`hmr_flow.cli.run_guarded`) prints it as one line
  ``<prog>: error: <message>`` and exits with status 2.
- argparse ``type=`` helpers for numbers with ranges: :func:`positive_int`, :func:`non_negative_int`,
  :func:`seed_int`, :func:`positive_float`, :func:`non_negative_float`,
  :func:`float_in` (any open/closed range).
- :func:`resolve_device`: one place that knows which ``--device`` strings this machine accepts (``auto`` too).
- Outputs: :func:`check_output_path` (never an input, parent folder writable *before* long work),
  :func:`check_output_dir`, :func:`check_overwrite` (an existing checkpoint needs ``--resume`` or
  ``--overwrite``), :func:`exclusive_run` (one run at a time per output: a second one is refused, naming
  the first's pid).
- :func:`first_line`: the first line of an error's message, for one-line reports.
- :func:`load_tensor_file`: ``torch.load(weights_only=True)`` whose refusal of a pickle or a corrupt
  file is one line (never torch's advice to load with ``weights_only=False``), and
  :func:`check_state_dict` (tensors only, finite).
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import torch


class UserInputError(ValueError):
    """Bad user input (an option, a file or an output path); the message names it and the problem."""


class DivergedError(UserInputError):
    """An optimisation (fit or training) went non-finite or impossible: usually the inputs or settings
    (focal length, keypoints, learning rate) are at fault; the message says which to check."""


# ---------------------------------------------------------------------------------------- numbers
def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {text}")
    return value


def seed_int(text: str) -> int:
    """argparse type: a random seed, an integer in [0, 2⁶³)."""
    value = _number(text, int)
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a seed in [0, 2^63), got {text}")
    return value


def float_in(low: float | None = None, high: float | None = None, low_open: bool = True, high_open: bool = False):
    """argparse type: a finite float in the range ``low``–``high`` (``None`` = unbounded; open ends by default
    at ``low``, closed at ``high``)."""
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    span = f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"

    def parse(text: str) -> float:
        value = _number(text, float)
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected a number in {span}, got {text}")
        return value

    parse.__name__ = f"float in {span}"
    return parse


positive_float = float_in(0.0)
positive_float.__doc__ = "argparse type: a finite float > 0."
non_negative_float = float_in(0.0, low_open=False)
non_negative_float.__doc__ = "argparse type: a finite float ≥ 0."


# ---------------------------------------------------------------------------------------- devices
def valid_devices() -> list[str]:
    """The ``--device`` strings this machine accepts: ``cpu``, and ``cuda``/``cuda:i``/``mps`` when present."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str | torch.device, option: str = "--device") -> torch.device:
    """``name`` as a :class:`torch.device` (``'auto'``: ``cuda`` when torch sees a GPU, else ``cpu``), or
    :class:`UserInputError` naming ``option`` and listing the devices this machine has (an unknown string,
    CUDA on a CPU-only torch, a GPU index out of range)."""
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    valid = valid_devices()
    if name not in valid:
        if str(name).startswith("cuda") and not torch.cuda.is_available():
            problem = "CUDA is not available on this machine (CPU-only torch or no GPU)"
        else:
            problem = "unknown or unavailable device"
        raise UserInputError(f"{option} {name}: {problem}; valid here: {', '.join(valid)}")
    return torch.device(name)


# ---------------------------------------------------------------------------------------- outputs
def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_writable_dir(folder: str | Path, option: str = "--out") -> Path:
    """Create ``folder`` if needed and prove it is writable (a temporary file); else :class:`UserInputError`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"{option} {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise UserInputError(f"{option} {folder}: folder is not writable ({err.strerror or err})") from None
    return folder


def check_output_path(out: str | Path, inputs: Iterable[str | Path | None] = (), option: str = "--out") -> Path:
    """Check an output file before any work: not one of ``inputs`` (same path or same file), not a
    folder, and its folder writable (created if missing). Returns ``Path(out)``."""
    out = Path(out)
    for source in inputs:
        if source is not None and _same_file(out, Path(source)):
            raise UserInputError(f"{option} {out}: is also an input; refusing to overwrite it (choose another name)")
    if out.is_dir():
        raise UserInputError(f"{option} {out}: is a folder, expected a file name")
    check_writable_dir(out.parent, option)
    return out


def check_output_dir(out: str | Path, inputs: Iterable[str | Path | None] = (), option: str = "--out") -> Path:
    """Check an output folder before any work: not an input file or folder, creatable and writable."""
    out = Path(out)
    for source in inputs:
        if source is not None and _same_file(out, Path(source)) and not Path(source).is_dir():
            raise UserInputError(f"{option} {out}: is an input file, expected an output folder")
    return check_writable_dir(out, option)


def check_overwrite(paths: Iterable[str | Path], resume: bool, overwrite: bool, option: str = "--out") -> None:
    """Refuse to start a fresh run over an existing checkpoint (or its state/log files) unless the user
    said ``--resume`` or ``--overwrite``."""
    if resume or overwrite:
        return
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing:
        raise UserInputError(f"{option}: {existing[0]} already exists; pass --resume to continue that run or "
                             f"--overwrite to replace it")


def first_line(err: BaseException) -> str:
    """The first non-empty line of ``str(err)``, stripped, with `` (…)`` when more lines follow; the
    exception's type name when it has no message. What every one-line report of an error shows."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} (…)"


def lock_path(out: str | Path) -> Path:
    """The lock file of the run writing ``out``: ``.<name>.lock`` beside it."""
    out = Path(out)
    return out.with_name(f".{out.name}.lock")


@contextmanager
def exclusive_run(out: str | Path, option: str = "--out") -> Iterator[Path]:
    """Hold an exclusive lock on ``out`` for the ``with`` block: a second run writing the same output (in
    another process) gets a :class:`UserInputError` naming the running one's pid, instead of interleaving
    its epochs with the first's and replacing its files.

    The lock is ``fcntl.flock`` (non-blocking) on :func:`lock_path` holding the pid of its owner; the
    operating system releases it when the owner exits, even when killed, so a stale file never blocks a
    later run. The file is removed at the end of the block. (Without ``fcntl``, i.e. on Windows, no lock
    is taken.)
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system
        yield Path(out)
        return
    path = lock_path(out)
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise UserInputError(f"{option} {out}: another run (pid {owner}) is writing it now; wait for it to end "
                                 f"or choose another {option}") from None
        # the previous owner may have removed the file between our open and our lock: lock the one on disk
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        path.unlink(missing_ok=True)
        handle.close()


# ---------------------------------------------------------------------------------------- checkpoints
def _refusal(err: BaseException) -> str:
    """torch's weights-only refusal reduced to what was refused: never its ``weights_only=False`` advice
    nor, for a class it does not know, its advice to allow-list it (``add_safe_globals``)."""
    text = str(err).split("WeightsUnpickler error:", 1)[-1]
    advice = ("weights_only", "Weights only", "Please file an issue", "Check the documentation")
    lines = [line.strip().rstrip(".") for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not any(a in line for a in advice)]
    return lines[0].split(". ")[0][:160] if lines else "unsupported content"




def load_tensor_file(path: str | Path, what: str, map_location: str | torch.device = "cpu") -> object:
    """``torch.load(path, weights_only=True)``; a missing file is a ``FileNotFoundError``, a corrupt or
    non-tensor (pickled objects) one a :class:`UserInputError`, each one line naming the file and ``what``
    was expected."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    try:
        with warnings.catch_warnings():  # e.g. torch's multi-line note on the pickle protocol of foreign files
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UserInputError(f"{path}: refused: not a tensor-only {what} ({_refusal(err)})") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, AttributeError, TypeError) as err:
        raise UserInputError(f"{path}: not a readable {what} (corrupt or truncated: {first_line(err).split('. ')[0][:160]})") from None


def check_state_dict(state: object, source: str | Path, key: str = "state dict") -> Mapping[str, torch.Tensor]:
    """``state`` must map names to finite tensors; else :class:`UserInputError` naming ``source`` and the entry."""
    if not isinstance(state, Mapping):
        raise UserInputError(f"{source}: {key} is a {type(state).__name__}, expected a dict of tensors")
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise UserInputError(f"{source}: {key} entry {name!r} is a {type(value).__name__}, expected a tensor")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise UserInputError(f"{source}: {key} entry {name!r} contains NaN or infinite weights")
    return state


def require_keys(data: object, keys: Iterable[str], source: str | Path, what: str) -> dict:
    """``data`` must be a dict with every one of ``keys``; else :class:`UserInputError` naming the missing ones."""
    if not isinstance(data, dict):
        raise UserInputError(f"{source}: not a {what} (a {type(data).__name__}, expected a dict)")
    missing = [k for k in keys if k not in data]
    if missing:
        raise UserInputError(f"{source}: not a complete {what} (missing {', '.join(map(repr, missing))})")
    return data
