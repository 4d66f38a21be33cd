"""The kinds of file this project reads and writes, told apart by content (not by name): :func:`identify`.

Two uses: an output is never written over a file of another kind (:func:`hmr_flow.validation.check_output_file`:
``prior sample --out prior_flow.pt`` must not replace a trained prior), and a file given to the wrong option
is named for what it is and where it belongs ("prior_gmm.npz: a GMM prior (give it with --prior gmm
--prior-weights), not a flow prior checkpoint") instead of "corrupt or truncated".

Only the first bytes are read (and, for a zip archive — ``.npz`` or a torch checkpoint — its list of members
and the small pickle of a torch file), never the arrays. Each :class:`FileKind` says how it is recognised:
the members of an ``.npz`` (and the ``format`` array of the GMM prior), the format string a torch
checkpoint stores, the header of a CSV table, the first bytes of anything else. The formats are written by
:meth:`hmr_flow.prior.FlowPrior.save` (``hmr_flow.prior.flow/1``), :meth:`hmr_flow.prior.GMMPrior.save`
(``hmr_flow.prior.gmm/1``), the HMRFlow checkpoints (``hmr-flow-hmr``), the trainings' states and logs,
the CNF prior (``hmr_flow.prior.cnf/1``), ``prior sample``/``score``, ``fit`` (per image and per clip), ``regress``, ``detect``, ``mocap convert`` and ``body build``;
``tests/test_file_kinds.py`` checks that what each writes is identified as its kind.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class FileKind:
    """One kind of file.

    Attributes:
        name: what it is, with its article ("a GMM prior").
        suffixes: the suffixes its files take (the first is the one written).
        takes: the option that reads it ("--prior gmm --prior-weights"); empty when none does.
        members: an ``.npz`` whose arrays include all of these (empty: not an ``.npz`` kind).
        marker: bytes a torch checkpoint's pickle holds (its format string), or a text file begins with.
    """

    name: str
    suffixes: tuple[str, ...]
    takes: str = ""
    members: frozenset[str] = frozenset()
    marker: bytes = b""

    @property
    def suffix(self) -> str:
        return self.suffixes[0]

    def __str__(self) -> str:
        return self.name + (f" (given with {self.takes})" if self.takes else "")


GMM_PRIOR = FileKind("a GMM prior", (".npz",), "--prior gmm --prior-weights",
                     frozenset({"format", "weights", "means", "covariances"}), b"hmr_flow.prior.gmm/1")
BODY_MODEL = FileKind("a body model", (".npz",), "--body-model",
                      frozenset({"v_template", "f", "J_regressor", "weights", "shapedirs"}))
TRACK_PARAMETERS = FileKind("a clip's track parameters", (".npz",), "", frozenset({"body_pose", "keypoints_2d", "track_id",
                                                                                  "frame", "detected"}))
FIT_PARAMETERS = FileKind("fit parameters", (".npz",), "", frozenset({"body_pose", "joints", "keypoints_2d",
                                                                      "person_ids"}))
HYPOTHESES = FileKind("regression hypotheses", (".npz",), "--poses", frozenset({"body_pose", "log_prob", "betas",
                                                                               "transl"}))
POSE_SAMPLES = FileKind("pose samples", (".npz",), "--poses", frozenset({"body_pose", "log_likelihood",
                                                                        "percentile"}))
MOCAP_POSES = FileKind("a mocap pose set", (".npz",), "--data/--poses", frozenset({"body_pose", "subject", "clip"}))
POSES = FileKind("a pose file", (".npz", ".npy"), "--poses", frozenset({"body_pose"}))
FLOW_PRIOR = FileKind("a flow prior", (".pt",), "--prior flow --prior-weights", marker=b"hmr_flow.prior.flow/1")
CNF_PRIOR = FileKind("a CNF prior", (".pt",), "--prior cnf --prior-weights", marker=b"hmr_flow.prior.cnf/1")
HMR_CHECKPOINT = FileKind("an HMRFlow model checkpoint", (".pt",), "--model-weights", marker=b"hmr-flow-hmr")
TRAINING_STATE = FileKind("a prior training state", (".pt",), "prior train --resume", marker=b"best_val_nll")
POSE_SCORES = FileKind("a pose score table", (".csv",), marker=b"index,")
TRAINING_LOG = FileKind("a training log", (".csv",), marker=b"epoch,")
KEYPOINTS = FileKind("a keypoint file", (".json",), "--keypoints")
JSON = FileKind("a JSON file", (".json",))
PNG_IMAGE = FileKind("a PNG image", (".png",), marker=b"\x89PNG\r\n\x1a\n")
IMAGE = FileKind("an image", (".jpg", ".jpeg", ".png"), "--image")
MESH = FileKind("a mesh", (".ply", ".obj", ".glb"))
VIDEO = FileKind("an MP4 video", (".mp4",), "--video", marker=b"ftyp")

#: The file of each prior kind that has one (``prior train --kind``).
PRIOR_FILES = {"flow": FLOW_PRIOR, "cnf": CNF_PRIOR, "gmm": GMM_PRIOR}
#: ``.npz`` kinds, most specific first (a fit's parameters hold ``body_pose`` too, a track's ``person_ids`` too).
_NPZ_KINDS = (GMM_PRIOR, BODY_MODEL, TRACK_PARAMETERS, FIT_PARAMETERS, HYPOTHESES, POSE_SAMPLES, MOCAP_POSES, POSES)
#: Torch checkpoint kinds, by the format string in their pickle.
_TORCH_KINDS = (FLOW_PRIOR, CNF_PRIOR, HMR_CHECKPOINT, TRAINING_STATE)
#: Text kinds by their first bytes.
_TEXT_KINDS = (POSE_SCORES, TRAINING_LOG)


def _format_of(archive: zipfile.ZipFile) -> str:
    """The ``format`` string array of an ``.npz`` (``""`` when it is not one)."""
    try:
        value = np.load(io.BytesIO(archive.read("format.npy")), allow_pickle=False)
    except (KeyError, ValueError, OSError, EOFError):
        return ""
    return str(value) if value.dtype.kind == "U" and value.ndim == 0 else ""


def _zip_kind(path: Path) -> FileKind | str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
            if pickles:
                with archive.open(pickles[0]) as handle:
                    pickled = handle.read(1 << 20)
                return next((kind for kind in _TORCH_KINDS if kind.marker in pickled), "a torch file")
            arrays = {name.removesuffix(".npy") for name in names}
            for kind in _NPZ_KINDS:
                if kind.members <= arrays and (not kind.marker or _format_of(archive) == kind.marker.decode()):
                    return kind
            return f"a numpy .npz archive (arrays: {', '.join(sorted(arrays)[:6])})" if names else "an empty zip archive"
    except (zipfile.BadZipFile, OSError, KeyError, EOFError, ValueError):
        return None


def identify(path: str | Path) -> FileKind | str | None:
    """The :class:`FileKind` of the file at ``path``, or a few words on what else it is ("a numpy .npz archive
    (arrays: a, b)", "a torch file", "a text file", "a binary file of an unknown kind"); ``None`` when there is
    no regular file to read."""
    path = Path(path)
    try:
        if not path.is_file():
            return None
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path) or "a damaged zip archive"
    if head.startswith(b"\x93NUMPY"):
        return POSES
    if head.startswith(PNG_IMAGE.marker):
        return PNG_IMAGE
    if head.startswith(b"\xff\xd8"):
        return IMAGE
    if head[4:8] == VIDEO.marker:  # an ISO media file (MP4/MOV): size, then "ftyp"
        return VIDEO
    if head.startswith((b"ply\n", b"ply\r\n", b"glTF")):
        return MESH
    for kind in _TEXT_KINDS:
        if head.startswith(kind.marker):
            return kind
    text = head.lstrip()
    if text.startswith((b"{", b"[")):
        markers = (b'"annotations"', b'"images"', b'"people"', b'"keypoints"', b'"image_id"')
        return KEYPOINTS if any(key in head for key in markers) else JSON
    if not head:
        return "an empty file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "a binary file of an unknown kind"
    return "a text file"


def wrong_kind(path: str | Path, expected: FileKind, what: str) -> str | None:
    """The message for a file of a known kind other than ``expected`` (``what`` names the expected one, e.g.
    ``"flow prior checkpoint"``): ``"<path>: a GMM prior (given with --prior gmm --prior-weights), not a flow
    prior checkpoint"``; ``None`` when it is of the expected kind or none known (the caller's own message then
    says what is wrong)."""
    found = identify(path)
    if not isinstance(found, FileKind) or found is expected:
        return None
    return f"{path}: {found}, not {'an' if what[:1] in 'aeiouAEIOUH' else 'a'} {what}"
