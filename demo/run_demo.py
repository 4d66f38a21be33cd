"""hmr-flow demo: fit a body to a rendered example image and to a real photo, sample poses, score pose plausibility.

    python demo/run_demo.py --out demo_output --device cpu

Runs on what the package ships only (no ``data/`` folder, no ``../shared``): the open body model, the
pose priors and held-out real poses in ``hmr_flow/assets/``. Writes into ``--out``:

- ``example.png`` + ``example_keypoints.json``: a synthetic photo of a held-out real (CMU) pose from
  ``demo_poses.npz`` (clothing, background, known camera) and its exact COCO-17 keypoints as a COCO file;
- ``example_overlay.png`` (keypoints | fitted mesh over the image | side view), ``example_fit.obj``
  (metres, camera frame) and ``example_params.npz`` (fitted and true parameters, metrics) from fitting
  the body to those keypoints with the flow prior; the fit's MPJPE / PA-MPJPE against the truth and its
  2D PCK are printed;
- ``side_bend_overlay.png``, ``side_bend_1.obj``, ``side_bend_params.npz`` + ``detected_keypoints.json``: a
  real photo (``demo/photos/side_bend.jpg``, CC0) end to end with no keypoint file: people and keypoints
  detected (BlazePose), the conditional model's hypotheses, the fit, as ``hmr-flow fit --image``;
- ``example_hypotheses.png``: when the conditional image → pose model is shipped
  (``hmr_flow/assets/hmr_*.pt``), its hypotheses for the image, which also initialise the fit;
  otherwise the fit starts from prior samples and the summary says so;
- ``example_hypotheses_hidden_arm.png``: the same with the right elbow and wrist hidden (confidence 0),
  as when an arm is occluded: the samples should agree on what is seen and differ on the hidden arm;
- ``clip.mp4`` + ``clip.json``: two seconds of held-out mocap (``demo_clip.npz``) rendered with the open body
  model, and their keypoints as a detector gives them (noise, dropped keypoints, a hidden limb, missed
  frames); ``clip_overlay.mp4`` + ``clip_track1.npz``: the clip fitted as a sequence (``hmr-flow fit
  --keypoints clip.json --sequence --video clip.mp4 --render``); ``clip_per_frame/``: every frame fitted
  alone; ``clip_side_by_side.gif``: both side by side (needs the shipped keypoint model);
- ``prior_samples.png``: poses sampled from the unconditional flow prior (labels: held-out percentile);
- ``scores.csv``: log-likelihood and percentile of real held-out poses, the same with broken joint
  limits, and uniformly random rotations.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.spatial.transform import Rotation

#: The repository root: the demo renders its example photo with the repository's ``data_tools`` (the
#: offline preparation tools, which ``pip install`` does not install).
REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from data_tools.synth.renderer import SynthRenderer  # noqa: E402 - after the repository is on the path
from data_tools.synth.sampling import PoseItem, SceneConfig  # noqa: E402
from hmr_flow.body import COCO17_NAMES, JOINT_NAMES, KeypointBody  # noqa: E402
from hmr_flow.cli import ArgumentParser, run_guarded
from hmr_flow.commands.options import add_device, add_hypotheses
from hmr_flow.fitting import FitConfig, Initialisation, fit_people, read_keypoints
from hmr_flow.files import atomic_path, save_npz, write_csv, write_text
from hmr_flow.fitting.outputs import render_overlay, save_mesh
from hmr_flow.images import write_image
from hmr_flow.metrics import mpjpe, pa_mpjpe, pck
from hmr_flow.validation import UserInputError, check_output_dir, resolve_device

ASSETS = Path(__file__).resolve().parents[1] / "hmr_flow" / "assets"
DEMO_POSES = ASSETS / "demo_poses.npz"
#: Side of the square example image (pixels) and the demo's random seed.
IMAGE_SIZE = 320
SEED = 0
#: The example fitted by default: the first demo pose with this label (else the first pose).
DEFAULT_LABEL = "arms raised"
#: COCO-17 keypoints hidden in the second hypotheses example (an occluded arm).
HIDDEN_ARM = ("right_elbow", "right_wrist")
#: The video clip (held-out mocap, ``python -m data_tools.video_clips``), its frame size and camera yaw (radians).
DEMO_CLIP = ASSETS / "demo_clip.npz"
CLIP_SIZE = (320, 240)
CLIP_YAW = 0.6
#: Frames ``[start, stop)`` of the clip where the (simulated) detector misses the person.
CLIP_MISSED = (24, 28)
#: The real photo fitted end to end (CC0, see demo/photos/README.md).
PHOTO = Path(__file__).resolve().parent / "photos" / "side_bend.jpg"


# ------------------------------------------------------------------------------------ demo poses
@dataclass
class DemoPoses:
    """Held-out real poses: ``body_pose (N, 69)`` axis-angle, ``global_orient (N, 3)`` (mocap world, Y up),
    ``betas (N, 10)``, ``labels``/``clip_names`` ``N`` strings."""

    body_pose: np.ndarray
    global_orient: np.ndarray
    betas: np.ndarray
    labels: list[str]
    clip_names: list[str]


def read_asset(path: Path, keys: tuple[str, ...], maker: str) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the shipped ``.npz`` ``path`` (made by ``python -m <maker>``); errors name the file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: demo asset not found (make it with 'python -m {maker}')")
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in keys if k not in data.files]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing}")
        return {k: data[k] for k in keys}


def load_demo_poses(path: str | Path = DEMO_POSES) -> DemoPoses:
    """Read ``demo_poses.npz`` (made by ``python -m data_tools.demo_assets``); errors name the file."""
    path = Path(path)
    data = read_asset(path, ("body_pose", "global_orient", "betas", "labels", "clip_names"), "data_tools.demo_assets")
    poses = DemoPoses(data["body_pose"].astype(np.float32), data["global_orient"].astype(np.float32),
                      data["betas"].astype(np.float32), [str(s) for s in data["labels"]],
                      [str(s) for s in data["clip_names"]])
    n = len(poses.body_pose)
    if poses.body_pose.shape != (n, 69) or poses.global_orient.shape != (n, 3) or len(poses.labels) != n:
        raise ValueError(f"{path}: expected body_pose (N, 69), global_orient (N, 3) and N labels, "
                         f"got {poses.body_pose.shape}, {poses.global_orient.shape}, {len(poses.labels)}")
    if not (np.isfinite(poses.body_pose).all() and np.isfinite(poses.global_orient).all()):
        raise ValueError(f"{path}: poses contain NaN or infinite values")
    return poses


# ---------------------------------------------------------------------------------- example image
def render_example(poses: DemoPoses, index: int, size: int = IMAGE_SIZE, seed: int = SEED) -> dict:
    """A synthetic photo of held-out pose ``index`` (clothing, background, random view; no occluders, never
    truncated) with its exact ground truth: the synth renderer's record plus ``image (S, S, 3)`` uint8 RGB.
    The camera is a pinhole with ``focal`` pixels and principal point ``(S/2, S/2)``."""
    if not 0 <= index < len(poses.body_pose):
        raise ValueError(f"pose index {index}: the demo poses have {len(poses.body_pose)} entries")
    config = SceneConfig(occluder_prob=0.0, truncation_prob=0.0, fill_range=(0.7, 0.85), fov_range=(30.0, 50.0))
    item = PoseItem(index=index, global_orient=poses.global_orient[index], body_pose=poses.body_pose[index],
                    subject=0, clip=0, frame=index)
    [record] = SynthRenderer(size, seed, config).render([item])
    image = cv2.imdecode(np.frombuffer(record["jpeg"], np.uint8), cv2.IMREAD_COLOR)
    record["image"] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return record


def write_coco(path: Path, file_name: str, size: tuple[int, int], keypoints: np.ndarray, visibility: np.ndarray) -> Path:
    """A COCO person-keypoint file for one image and one person: ``keypoints (17, 2)`` pixels and
    ``visibility (17,)`` COCO flags (0 unlabelled, 1 labelled but hidden, 2 visible)."""
    flags = np.asarray(visibility, dtype=np.int64)
    points = np.where(flags[:, None] > 0, keypoints, 0.0)
    labelled = points[flags > 0]
    x0, y0 = labelled.min(0)
    x1, y1 = labelled.max(0)
    data = {
        "images": [{"id": 1, "file_name": file_name, "width": int(size[0]), "height": int(size[1])}],
        "annotations": [{
            "id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "num_keypoints": int((flags > 0).sum()),
            "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
            "keypoints": [v for (u, w), f in zip(points.tolist(), flags.tolist()) for v in (round(u, 2), round(w, 2), f)],
        }],
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO17_NAMES)}],
    }
    return write_text(path, json.dumps(data, indent=1))


# ------------------------------------------------------------------------------------------ fitting
def shipped_regressor() -> Path | None:
    """The shipped conditional model: the keypoint one (``hmr_flow/assets/hmr_keypoints.pt``), else any
    ``hmr_flow/assets/hmr_*.pt``, or ``None``."""
    found = sorted(ASSETS.glob("hmr_*.pt"), key=lambda p: (p.name != "hmr_keypoints.pt", p.name))
    return found[0] if found else None


@functools.lru_cache(maxsize=2)
def conditional_model(checkpoint: Path, device: str):
    """The conditional model of ``checkpoint`` on ``device``, loaded once for the whole demo."""
    from hmr_flow.models import load_model

    return load_model(checkpoint, device)


def conditional_start(checkpoint: Path, image: np.ndarray, keypoints: np.ndarray, focal: float,
                      count: int, out: Path, body, device: str):
    """Hypotheses of the conditional model for the people of ``keypoints (P, 17, 3)`` (mode first): writes
    their grid (drawn with ``body``, a CPU :class:`~hmr_flow.body.BodyModel`) to ``out/example_hypotheses.png``
    (and with :data:`HIDDEN_ARM` hidden to ``out/example_hypotheses_hidden_arm.png``) and returns the first ``count`` as a fitting :class:`~hmr_flow.fitting.Initialisation`, with the
    model's likelihood given those keypoints as the fitting prior (:class:`hmr_flow.models.ConditionalPrior`)."""
    from hmr_flow.models import ConditionalPrior, regress
    from hmr_flow.models.visualise import hypothesis_grid

    model = conditional_model(checkpoint, device)
    hypotheses = regress(model, image, n=max(count, 9), focal=focal, keypoints=keypoints, seed=SEED)
    write_image(out / "example_hypotheses.png", hypothesis_grid(image, hypotheses, body, tile=240, columns=5))
    hidden = keypoints.copy()
    hidden[:, [COCO17_NAMES.index(name) for name in HIDDEN_ARM], 2] = 0.0
    occluded = regress(model, image, n=max(count, 9), focal=focal, keypoints=hidden, seed=SEED)
    write_image(out / "example_hypotheses_hidden_arm.png", hypothesis_grid(image, occluded, body, tile=240, columns=5))
    init = hypotheses.initialisation()
    start = Initialisation(init.global_orient[:, :count].cpu(), init.body_pose[:, :count].cpu(), init.betas[:, :count].cpu())
    return start, ConditionalPrior(model, keypoints, image)


@dataclass
class FitSummary:
    """Metrics of the example fit: ``mpjpe_mm``, ``pa_mpjpe_mm`` (24 joints, mm), ``pck`` (2D PCK@0.1 of
    the labelled keypoints), ``initialisation`` (``'regression'`` or ``'prior samples'``), the ``prior``
    used (``'conditional'`` or ``'flow'``), ``seconds``."""

    mpjpe_mm: float
    pa_mpjpe_mm: float
    pck: float
    initialisation: str
    prior: str
    seconds: float


def fit_example(example: dict, out: Path, prior, device: str = "cpu", num_hypotheses: int = 4,
                config: FitConfig | None = None, checkpoint: Path | None = None) -> FitSummary:
    """Write the example image and its COCO keypoints, read them back, fit the body with ``prior``, and
    write ``example_overlay.png``, ``example_fit.obj`` and ``example_params.npz``.

    With a ``checkpoint`` of the conditional model the fit starts from its hypotheses and is regularised
    by its likelihood given the keypoints (as ``hmr-flow fit``); without one, ``prior`` regularises and the
    fit starts from the fitter's default (relaxed pose facing towards / away from the camera, then prior
    samples).
    """
    from hmr_flow.body import BodyModel

    out.mkdir(parents=True, exist_ok=True)
    image = example["image"]
    size = (image.shape[1], image.shape[0])
    focal = float(example["focal"])
    write_image(out / "example.png", image)
    write_coco(out / "example_keypoints.json", "example.png", size, example["keypoints2d"], example["visibility"])
    [record] = read_keypoints(out / "example_keypoints.json", images=out)
    start = time.perf_counter()
    body = BodyModel()
    init, prior_name = None, "flow"
    if checkpoint is not None:
        init, prior = conditional_start(checkpoint, image, record.keypoints, focal, num_hypotheses, out, body, device)
        prior_name = "conditional"
    body = body.to(device)
    result = fit_people(KeypointBody(body).to(device), torch.from_numpy(record.keypoints), record.keypoint_format,
                        focal, (size[0] / 2.0, size[1] / 2.0), prior=prior, init=init, num_hypotheses=num_hypotheses,
                        config=config, generator=torch.Generator().manual_seed(SEED))
    seconds = time.perf_counter() - start
    with torch.no_grad():
        vertices = body(global_orient=result.global_orient, body_pose=result.body_pose, betas=result.betas,
                        transl=result.transl).vertices.cpu().numpy()
    fitted_joints = result.joints.detach().cpu().float()
    true_joints = torch.as_tensor(example["joints3d"], dtype=torch.float32)[None]
    labelled = torch.as_tensor(example["visibility"] > 0)[None]
    fitted_2d = result.keypoints_2d.detach().cpu().float()
    summary = FitSummary(
        mpjpe_mm=1000.0 * float(mpjpe(fitted_joints, true_joints)[0]),
        pa_mpjpe_mm=1000.0 * float(pa_mpjpe(fitted_joints, true_joints)[0]),
        pck=float(pck(fitted_2d, torch.as_tensor(example["keypoints2d"])[None], labelled, alpha=0.1)[0]),
        initialisation="regression" if checkpoint is not None else "prior samples",
        prior=prior_name,
        seconds=seconds,
    )
    fit = {k: getattr(result, k).detach().cpu().numpy() for k in
           ("global_orient", "body_pose", "betas", "transl", "joints", "keypoints_2d", "hypothesis_losses")}
    truth = {f"true_{k}": np.asarray(example[k])[None] for k in
             ("global_orient", "body_pose", "betas", "transl", "joints3d", "keypoints2d", "visibility")}
    save_npz({
        **fit, **truth, "focal": np.float32(focal), "image_size": np.asarray(size),
        "mpjpe_mm": np.float32(summary.mpjpe_mm), "pa_mpjpe_mm": np.float32(summary.pa_mpjpe_mm),
        "pck": np.float32(summary.pck), "initialisation": np.asarray(summary.initialisation),
        "body_model": np.asarray(body.name),
    }, out / "example_params.npz")
    save_mesh(out / "example_fit.obj", vertices[0], body.faces)
    overlay = render_overlay(image, vertices, body.faces, focal, (size[0] / 2.0, size[1] / 2.0),
                             record.keypoints, result.keypoints_2d.detach().cpu().numpy())
    write_image(out / "example_overlay.png", overlay)
    return summary


@dataclass
class PhotoSummary:
    """The real-photo fit: ``name`` (output stem), ``people`` found, ``pck`` (PCK@0.1 of the fitted
    against the detected keypoints, mean over people), ``initialisation``, ``seconds`` (detect + fit)."""

    name: str
    people: int
    pck: float
    initialisation: str
    seconds: float


def fit_photo(photo: Path, out: Path, prior, device: str = "cpu", num_hypotheses: int = 4,
              checkpoint: Path | None = None, config: FitConfig | None = None) -> PhotoSummary:
    """A photo end to end with the library calls of ``hmr-flow fit --image PHOTO``: detect the people
    (``out/detected_keypoints.json``); with a ``checkpoint`` of the conditional model, start from its
    hypotheses and regularise with its likelihood given each person's keypoints (``--prior conditional``,
    the command's default), else start from prior samples and regularise with ``prior``; write overlay,
    .obj, .npz."""
    from hmr_flow.detection import detect_images
    from hmr_flow.fitting import FitOptions, detected_records, fit_records, keypoint_agreement
    from hmr_flow.fitting.keypoint_io import DETECTED_NAME

    start = time.perf_counter()
    [record] = detected_records(detect_images([photo]), out / DETECTED_NAME)
    options = FitOptions(prior=prior, prior_name="flow", config=replace(config or FitConfig(), num_hypotheses=num_hypotheses),
                         seed=SEED, mesh_format="obj")
    if checkpoint is not None:
        from hmr_flow.models import conditional_fitting

        per_image = conditional_fitting(conditional_model(checkpoint, device), num_hypotheses, SEED)
        options = replace(options, prior=None, prior_name="conditional", per_image=per_image)
    fitted = {}
    fit_records([record], options, out, device=device, on_image=lambda _, result: fitted.update(result=result))
    agreement = keypoint_agreement(record, fitted["result"].keypoints_2d)
    return PhotoSummary(record.name, len(record.person_ids), float(agreement.mean()),
                        "regression" if checkpoint is not None else "prior samples", time.perf_counter() - start)


# ------------------------------------------------------------------------------------ video clip
def load_demo_clip(path: str | Path = DEMO_CLIP) -> dict[str, np.ndarray]:
    """Read ``demo_clip.npz`` (made by ``python -m data_tools.video_clips``): ``global_orient (T, 3)`` (mocap
    world, Y up), ``body_pose (T, 69)``, ``transl (T, 3)``, ``betas (10,)``, ``fps``; errors name the file."""
    path = Path(path)
    keys = ("global_orient", "body_pose", "transl", "betas", "fps")
    clip = {k: v.astype(np.float32) for k, v in read_asset(path, keys, "data_tools.video_clips").items()}
    frames = len(clip["body_pose"])
    shapes = (clip["global_orient"].shape, clip["body_pose"].shape, clip["transl"].shape, clip["betas"].shape)
    if frames < 3 or shapes != ((frames, 3), (frames, 69), (frames, 3), (10,)):
        raise ValueError(f"{path}: expected global_orient (T, 3), body_pose (T, 69), transl (T, 3), betas (10,), "
                         f"T ≥ 3; got {shapes}")
    return clip


def _backdrop(size: tuple[int, int]) -> np.ndarray:
    """``(H, W, 3)`` uint8: a blue-grey wall over a darker floor (a plain stage for the rendered clip)."""
    width, height = size
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    wall = (170 + 40 * rows) * np.array([0.85, 0.9, 1.0])
    floor = (120 - 30 * (rows - 0.62)) * np.array([0.95, 0.9, 0.85])
    image = np.where(rows < 0.62, wall, floor)
    return np.broadcast_to(image, (height, width, 3)).round().astype(np.uint8)


def render_demo_clip(clip: dict[str, np.ndarray], out: Path, size: tuple[int, int] = CLIP_SIZE,
                     frames: int | None = None):
    """Render the clip seen by a camera turned :data:`CLIP_YAW` (``out/clip.mp4``) and write its keypoints as a
    detector would give them (``out/clip.json``, COCO, one image per frame: noise, dropped keypoints, a hidden
    limb, missed frames; :func:`data_tools.video_clips.detector_keypoints`, and the frames :data:`CLIP_MISSED`
    missed). Returns the placed clip (truth)."""
    from data_tools.video_clips import detector_keypoints, place_clip, write_sequence_coco
    from hmr_flow.body import BodyModel
    from hmr_flow.render import MeshSpec, render_meshes
    from hmr_flow.video import write_video

    count = frames or len(clip["body_pose"])
    body = BodyModel()
    placed = place_clip(KeypointBody(body), clip["global_orient"][:count], clip["body_pose"][:count],
                        clip["transl"][:count], clip["betas"], yaw=CLIP_YAW, size=size)
    with torch.no_grad():
        vertices = body(global_orient=torch.from_numpy(placed.global_orient), body_pose=torch.from_numpy(placed.body_pose),
                        betas=torch.from_numpy(placed.betas)[None].expand(count, -1),
                        transl=torch.from_numpy(placed.transl)).vertices.numpy()
    backdrop = _backdrop(size)
    with write_video(out / "clip.mp4", size, float(clip["fps"])) as writer:
        for verts in vertices:
            frame, _ = render_meshes([MeshSpec(verts, body.faces, (0.8, 0.55, 0.45))], placed.focal, size,
                                     background=backdrop)
            writer.write(frame)
    keypoints = detector_keypoints(placed.keypoints, np.random.default_rng(SEED))
    keypoints[CLIP_MISSED[0] : CLIP_MISSED[1], :, 2] = 0.0  # and the detector misses the person for a few frames
    write_sequence_coco(out / "clip.json", keypoints, size)
    return placed


@dataclass
class ClipSummary:
    """The clip fitted frame by frame and as a sequence: ``frames``, ``per_frame_bodies`` (frames the per-frame
    fit has a body for), PA-MPJPE (mm, on those frames) and acceleration error (mm/frame², root-relative, on
    their triplets) of each, and the seconds each fit took."""

    frames: int
    per_frame_bodies: int
    per_frame_pa_mpjpe_mm: float
    sequence_pa_mpjpe_mm: float
    per_frame_accel_mm: float
    sequence_accel_mm: float
    per_frame_seconds: float
    sequence_seconds: float


def fit_demo_clip(out: Path, truth: np.ndarray, checkpoint: Path, num_hypotheses: int = 4,
                  config: FitConfig | None = None) -> ClipSummary:
    """Fit ``out/clip.json`` frame by frame (into ``out/clip_per_frame/``, as ``hmr-flow fit --keypoints
    clip.json``) and as one clip (``out/clip_track1.npz`` and the overlay video ``out/clip_overlay.mp4``, as
    ``hmr-flow fit --keypoints clip.json --sequence --video clip.mp4 --render``), both with the conditional
    model, on the CPU (clips are fitted there); errors against the true joints ``truth (T, 24, 3)``."""
    from data_tools.video_clips import per_frame_joints, track_joints
    from hmr_flow.fitting import FitOptions, fit_records
    from hmr_flow.fitting.sequence import SEQUENCE_HYPOTHESES, SequenceConfig
    from hmr_flow.fitting.sequence_io import read_sequence
    from hmr_flow.fitting.sequence_pipeline import SequenceOptions, fit_sequence
    from hmr_flow.metrics import acceleration_error
    from hmr_flow.models import conditional_fitting
    from hmr_flow.models.sequence_start import conditional_track_start

    model = conditional_model(checkpoint, "cpu")
    start = time.perf_counter()
    records = [r for r in read_keypoints(out / "clip.json") if r.person_ids]
    options = FitOptions(prior_name="conditional", seed=SEED, per_image=conditional_fitting(model, num_hypotheses, SEED),
                         config=replace(config or FitConfig(), num_hypotheses=num_hypotheses))
    fit_records(records, options, out / "clip_per_frame")
    per_frame_seconds = time.perf_counter() - start
    start = time.perf_counter()
    clip_config = SequenceConfig() if config is None else SequenceConfig(replace(config, num_hypotheses=SEQUENCE_HYPOTHESES))
    sequence_options = SequenceOptions(prior_name="conditional", config=clip_config, render=True, video=out / "clip.mp4",
                                       start=conditional_track_start(model, SEQUENCE_HYPOTHESES, SEED), fps=30.0)
    fit_sequence(read_sequence(out / "clip.json"), sequence_options, out)
    sequence_seconds = time.perf_counter() - start
    target = torch.from_numpy(truth).float()
    per_frame, found = per_frame_joints(out / "clip_per_frame", "clip", len(truth))
    sequence, _, _ = track_joints(out, "clip", len(truth))
    seen = torch.from_numpy(found)
    triplets = seen[2:] & seen[1:-1] & seen[:-2]
    return ClipSummary(
        frames=len(truth), per_frame_bodies=int(found.sum()),
        per_frame_pa_mpjpe_mm=1000 * float(pa_mpjpe(per_frame[seen], target[seen]).mean()),
        sequence_pa_mpjpe_mm=1000 * float(pa_mpjpe(sequence[seen], target[seen]).mean()),
        per_frame_accel_mm=1000 * float(acceleration_error(per_frame, target)[triplets].mean()),
        sequence_accel_mm=1000 * float(acceleration_error(sequence, target)[triplets].mean()),
        per_frame_seconds=per_frame_seconds, sequence_seconds=sequence_seconds)


def side_by_side_gif(out: Path, scale: float = 0.6) -> Path:
    """``out/clip_side_by_side.gif``: per frame, the per-frame fit (top) over the sequence fit (bottom), each as
    mesh over the frame | the same from the side (the fixed side camera of ``clip_overlay.mp4``)."""
    from PIL import Image

    from hmr_flow.body import BodyModel
    from hmr_flow.fitting.sequence_outputs import SideView
    from hmr_flow.render import MeshSpec, render_meshes
    from hmr_flow.video import read_frames

    body = BodyModel()
    with np.load(out / "clip_track1.npz") as track:
        focal, size = float(track["focal"]), tuple(int(v) for v in track["image_size"])
        side = SideView.framing(track["joints"], focal, size)
    overlay = read_frames(out / "clip_overlay.mp4")
    pictures = []
    for index, image in read_frames(out / "clip.mp4"):
        meshes = []
        path = out / "clip_per_frame" / f"clip_{index:06d}_params.npz"
        if path.is_file():
            with np.load(path) as params, torch.no_grad():
                vertices = body(**{k: torch.from_numpy(params[k]) for k in ("global_orient", "body_pose", "betas",
                                                                           "transl")}).vertices[0].numpy()
            meshes.append(MeshSpec(vertices, body.faces))
        front, _ = render_meshes(meshes, focal, size, background=image)
        back, _ = render_meshes([MeshSpec(side(m.vertices), m.faces, m.color) for m in meshes], focal, size)
        rows = [np.concatenate([front, back], axis=1), next(overlay)[1]]
        for row, label in zip(rows, ("per frame" if meshes else "per frame: no body", "sequence")):
            cv2.putText(row, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
        grid = np.concatenate(rows, axis=0)
        small = cv2.resize(grid, (round(grid.shape[1] * scale), round(grid.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        pictures.append(Image.fromarray(small).quantize(colors=128, method=Image.Quantize.MEDIANCUT))
    path = out / "clip_side_by_side.gif"
    with atomic_path(path) as tmp:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=1000 // 30, loop=0)
    return path


# -------------------------------------------------------------------------------------- sampling
def sample_grid(prior, out: Path, count: int = 12, temperature: float = 1.0, columns: int = 6) -> Path:
    """``count`` poses from ``prior`` rendered as ``out/prior_samples.png`` (labels: held-out percentile)."""
    from hmr_flow.prior.grid import render_pose_grid

    torch.manual_seed(SEED)
    poses = prior.sample(count, temperature=temperature).cpu()
    _, percentile = prior.score(poses)
    path = out / "prior_samples.png"
    render_pose_grid(poses, path, columns=columns, labels=[f"{p:.0f} %" for p in percentile.tolist()])
    return path


# --------------------------------------------------------------------------------------- scoring
def _set_joint(body_pose: np.ndarray, joint: str, rotvec: np.ndarray) -> None:
    """Set ``joint``'s axis-angle in ``body_pose (N, 69)`` in place (``rotvec (3,)``, radians)."""
    i = JOINT_NAMES.index(joint) - 1
    body_pose[:, 3 * i : 3 * i + 3] = rotvec


def break_knees(body_pose: np.ndarray, degrees: float = 90.0) -> np.ndarray:
    """``body_pose (N, 69)`` with both knees bent **backwards** by ``degrees`` (knees flex about their
    +x axis in SMPL's rest frame; backwards is a negative rotation)."""
    broken = np.array(body_pose, dtype=np.float32, copy=True)
    for knee in ("left_knee", "right_knee"):
        _set_joint(broken, knee, np.array([-np.deg2rad(degrees), 0.0, 0.0]))
    return broken


def break_elbows(body_pose: np.ndarray, degrees: float = 90.0) -> np.ndarray:
    """``body_pose (N, 69)`` with both elbows hyper-extended by ``degrees``: the forearm turned backwards
    (towards −z, away from the chest), the way an elbow cannot bend."""
    broken = np.array(body_pose, dtype=np.float32, copy=True)
    angle = np.deg2rad(degrees)
    # left arm lies along +x in the rest pose: +y rotation takes +x towards −z; the right arm mirrors it
    _set_joint(broken, "left_elbow", np.array([0.0, angle, 0.0]))
    _set_joint(broken, "right_elbow", np.array([0.0, -angle, 0.0]))
    return broken


def random_poses(count: int, seed: int = SEED) -> np.ndarray:
    """``(count, 69)`` body poses with every joint an independent uniformly random rotation."""
    rotations = Rotation.random(count * 23, random_state=seed)
    return rotations.as_rotvec().reshape(count, 69).astype(np.float32)


def score_table(prior, poses: DemoPoses, out: Path) -> list[dict]:
    """Score real held-out poses, the same with knees / elbows broken, and random rotations; writes
    ``out/scores.csv`` (``kind, name, log_likelihood, percentile``) and returns its rows."""
    n = len(poses.body_pose)
    groups = [
        ("real", poses.body_pose, [f"{lab} ({clip})" for lab, clip in zip(poses.labels, poses.clip_names)]),
        ("knees backwards 90°", break_knees(poses.body_pose), poses.labels),
        ("elbows hyper-extended 90°", break_elbows(poses.body_pose), poses.labels),
        ("random rotations", random_poses(n), [f"random {i}" for i in range(n)]),
    ]
    rows = []
    for kind, body_pose, names in groups:
        log_prob, percentile = prior.score(torch.from_numpy(body_pose))
        rows += [{"kind": kind, "name": name, "log_likelihood": float(lp), "percentile": float(pc)}
                 for name, lp, pc in zip(names, log_prob.tolist(), percentile.tolist())]
    write_csv(out / "scores.csv", ["kind", "name", "log_likelihood", "percentile"],
              [(r["kind"], r["name"], f"{r['log_likelihood']:.2f}", f"{r['percentile']:.1f}") for r in rows])
    return rows


def format_scores(rows: list[dict]) -> str:
    """The score rows as a fixed-width text table."""
    lines = [f"  {'poses':27s} {'pose':38s} {'log-lik (nats)':>14s} {'percentile':>10s}"]
    lines += [f"  {r['kind']:27s} {r['name'][:38]:38s} {r['log_likelihood']:14.4g} {r['percentile']:9.1f}%" for r in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    add_device(parser)
    parser.add_argument("--pose", type=int, help=f"index of the demo pose to render and fit (default: the first "
                                                 f"'{DEFAULT_LABEL}' pose)")
    add_hypotheses(parser, 4, "fitting initialisations per person")
    args = parser.parse_args(argv)
    return run_guarded(parser.prog, lambda: _run(args), getattr(args, "debug", False))


def _run(args: argparse.Namespace) -> int:
    args.device = str(resolve_device(args.device))
    check_output_dir(args.out)
    if args.device == "cpu":
        torch.set_num_threads(1)  # small batched problems: one thread is fastest and avoids contention
    from hmr_flow.prior import load_prior

    started = time.perf_counter()
    poses = load_demo_poses()
    prior = load_prior("flow", device=args.device)
    index = args.pose if args.pose is not None else next(
        (i for i, label in enumerate(poses.labels) if label == DEFAULT_LABEL), 0)
    if not 0 <= index < len(poses.labels):
        raise UserInputError(f"--pose: expected 0..{len(poses.labels) - 1}, got {index}")
    checkpoint = shipped_regressor()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"1/5 fitting: rendering held-out pose {index} ({poses.labels[index]}, {poses.clip_names[index]})")
    example = render_example(poses, index)
    fit = fit_example(example, args.out, prior, args.device, args.hypotheses, checkpoint=checkpoint)
    print(f"2/5 a real photo, no keypoint file: detecting and fitting {PHOTO.name}")
    photo = fit_photo(PHOTO, args.out, prior, args.device, args.hypotheses, checkpoint)
    print("3/5 a video clip: rendering held-out mocap, fitting it frame by frame and as a sequence")
    clip = None
    if checkpoint is not None and checkpoint.name == "hmr_keypoints.pt":
        placed = render_demo_clip(load_demo_clip(), args.out)
        clip = fit_demo_clip(args.out, placed.joints, checkpoint, args.hypotheses)
        gif = side_by_side_gif(args.out)
    print("4/5 sampling the flow prior")
    grid = sample_grid(prior, args.out)
    print("5/5 scoring poses")
    rows = score_table(prior, poses, args.out)

    print(f"\nhmr-flow demo: wrote {args.out}/ in {time.perf_counter() - started:.0f} s")
    print("- example.png + example_keypoints.json: a render of a held-out CMU pose and its COCO-17 keypoints")
    if checkpoint is not None:
        print(f"- example_hypotheses.png: hypotheses of the conditional model {checkpoint.name} from the keypoints "
              f"(mode first); they initialise the fit; example_hypotheses_hidden_arm.png: the same with the right "
              f"elbow and wrist hidden")
    else:
        print("- conditional image → pose model not shipped (no hmr_flow/assets/hmr_*.pt): "
              "the fit starts from prior samples")
    print(f"- example_overlay.png, example_fit.obj, example_params.npz: fit with the {fit.prior} prior "
          f"({fit.initialisation} initialisation, {fit.seconds:.0f} s)")
    print(f"    vs ground truth: MPJPE {fit.mpjpe_mm:.0f} mm, PA-MPJPE {fit.pa_mpjpe_mm:.0f} mm; "
          f"2D PCK@0.1 {100 * fit.pck:.0f} %")
    print(f"- {photo.name}_overlay.png, {photo.name}_1.obj, {photo.name}_params.npz: the real photo {PHOTO.name} "
          f"({photo.people} person detected, detected_keypoints.json; {photo.initialisation} initialisation; "
          f"{photo.seconds:.0f} s)")
    print(f"    fitted keypoints within 10 % of the detected ones (PCK@0.1): {100 * photo.pck:.0f} %")
    if clip is not None:
        print(f"- clip.mp4 + clip.json: {clip.frames} frames of held-out mocap rendered, and their keypoints as a "
              f"detector gives them (noise, dropped keypoints, a hidden limb, missed frames)")
        print(f"- clip_overlay.mp4, clip_track1.npz: the clip fitted as a sequence ({clip.sequence_seconds:.0f} s); "
              f"clip_per_frame/: every frame alone ({clip.per_frame_seconds:.0f} s, {clip.per_frame_bodies} of "
              f"{clip.frames} frames with a body); {gif.name}: both side by side")
        print(f"    acceleration error {clip.per_frame_accel_mm:.0f} → {clip.sequence_accel_mm:.0f} mm/frame², PA-MPJPE "
              f"{clip.per_frame_pa_mpjpe_mm:.0f} → {clip.sequence_pa_mpjpe_mm:.0f} mm (per frame → sequence)")
    else:
        print("- video clip skipped: it needs the shipped keypoint model (hmr_flow/assets/hmr_keypoints.pt)")
    print(f"- {grid.name}: 12 poses sampled from the flow prior (labels: held-out percentile)")
    print("- scores.csv: plausibility under the flow prior (percentile = share of held-out real poses scoring lower)")
    print(format_scores(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
