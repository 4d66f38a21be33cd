"""Checks at the edges: bad options, files and outputs become one clear :class:`UserInputError`.

The bottom layer of the package (it imports only numpy and torch), so every module and command can
use it; one module per job:

- :mod:`~hmr_flow.validation.errors`: :class:`UserInputError` (a ``ValueError``): the user's input is
  wrong; the message names the file or option and the problem. The command runner
  (:func:`hmr_flow.cli.run_guarded`) prints it as one line ``<prog>: error: <message>`` and exits with
  status 2. :func:`first_line`: the first line of an error's message, for one-line reports.
- :mod:`~hmr_flow.validation.numbers`: argparse ``type=`` helpers for numbers with ranges:
  :func:`positive_int`, :func:`non_negative_int`, :func:`seed_int`, :func:`positive_float`,
  :func:`non_negative_float`, :func:`float_in` (any open/closed range).
- :mod:`~hmr_flow.validation.devices`: :func:`resolve_device`, the one place that knows which
  ``--device`` strings this machine accepts (``auto`` too).
- :mod:`~hmr_flow.validation.outputs`: the output rules in one place: :func:`check_output_file` (never an
  input, parent folder writable *before* long work, the suffix the command writes, never over a file of
  another kind, over one of its own kind only with ``--overwrite``), :func:`check_result_sets` (the same for
  the result sets written into an output folder), :func:`check_output_path`, :func:`check_output_dir`,
  :func:`check_overwrite` (an existing checkpoint needs ``--resume`` or ``--overwrite``).
- :mod:`~hmr_flow.validation.file_kinds`: the kinds of file the project reads and writes, told apart by
  content (:func:`~hmr_flow.validation.file_kinds.identify`), and :func:`wrong_kind` (a file given to the
  wrong option is named for what it is and the option that takes it).
- :mod:`~hmr_flow.validation.inputs`: :func:`check_input_file` (a regular file: never ``/dev/zero``).
- :mod:`~hmr_flow.validation.memory`: :func:`check_memory` (a requested size against the available
  memory, refused with both figures) and :func:`capped_threads` (``--threads`` at most the cores).
- :mod:`~hmr_flow.validation.locks`: :func:`exclusive_run` (one run at a time per output: a second one
  is refused, naming the first's pid).
- :mod:`~hmr_flow.validation.tensor_files`: :func:`load_tensor_file`: ``torch.load(weights_only=True)``
  whose refusal of a pickle or a corrupt file is one line (never torch's advice to load with
  ``weights_only=False``), :func:`check_state_dict` (tensors only, finite) and :func:`require_keys`.

Everything is importable from :mod:`hmr_flow.validation` itself.
"""

from hmr_flow.validation.devices import resolve_device, valid_devices
from hmr_flow.validation.errors import DivergedError, UserInputError, first_line
from hmr_flow.validation.file_kinds import FileKind, identify, wrong_kind
from hmr_flow.validation.inputs import check_input_file
from hmr_flow.validation.locks import exclusive_run, lock_path
from hmr_flow.validation.memory import available_memory, capped_threads, check_memory, cpu_cores
from hmr_flow.validation.numbers import (
    float_in,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    seed_int,
)
from hmr_flow.validation.outputs import (
    check_output_dir,
    check_output_file,
    check_output_path,
    check_overwrite,
    check_result_sets,
    check_writable_dir,
)
from hmr_flow.validation.tensor_files import check_state_dict, load_tensor_file, require_keys

__all__ = [
    "DivergedError",
    "FileKind",
    "UserInputError",
    "available_memory",
    "capped_threads",
    "check_input_file",
    "check_memory",
    "check_output_dir",
    "check_output_file",
    "check_output_path",
    "check_overwrite",
    "check_result_sets",
    "check_state_dict",
    "check_writable_dir",
    "cpu_cores",
    "exclusive_run",
    "first_line",
    "identify",
    "float_in",
    "load_tensor_file",
    "lock_path",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "require_keys",
    "resolve_device",
    "seed_int",
    "valid_devices",
    "wrong_kind",
]
