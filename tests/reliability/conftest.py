"""Bad inputs of every kind, built small in a temporary folder (the ``bad`` fixture).

``bad`` maps a name to a path (or value) used in the argv templates of ``test_bad_inputs.py``: good
inputs (a pose file, keypoint files, a photo, the tiny synthetic set) and broken variants of each.
"""

from __future__ import annotations

import argparse
import builtins
import errno
import fnmatch
import io
import json
import os
import pickle
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fitting"))
from fitting_cases import frontal_pose, render_keypoints  # noqa: E402

ASSETS = Path(__file__).resolve().parents[2] / "hmr_flow" / "assets"
PHOTOS = Path(__file__).resolve().parents[2] / "demo" / "photos"
#: A file name in Latin-1 bytes (``é`` = 0xE9), not valid UTF-8: what Python passes on as ``'\udce9'``.
LATIN1 = os.fsdecode(b"caf\xe9")


class _Exploit:
    """A pickle that would run a command when unpickled without ``weights_only``."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _bvh(depth: int = 1, frames: int = 2, frame_time: str = "0.0333333") -> str:
    """A BVH text: a chain of ``depth`` joints with 3 rotation channels (root: 6 channels)."""
    lines = ["HIERARCHY", "ROOT hips", "{", "OFFSET 0 0 0", "CHANNELS 6 Xposition Yposition Zposition Zrotation "
             "Yrotation Xrotation"]
    for i in range(1, depth):
        lines += [f"JOINT j{i}", "{", "OFFSET 0 1 0", "CHANNELS 3 Zrotation Yrotation Xrotation"]
    lines += ["End Site", "{", "OFFSET 0 1 0", "}"] + ["}"] * depth
    channels = 6 + 3 * (depth - 1)
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {frame_time}"]
    lines += [" ".join(["0"] * channels)] * frames
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def coco_people(keypoint_body_session) -> np.ndarray:
    """``(17, 3)`` COCO-17 keypoints of a standing person 5 m in front of a 1000 px camera."""
    keypoints, _ = render_keypoints(keypoint_body_session, frontal_pose()[None], fmt="coco17")
    return keypoints[0].numpy()


@pytest.fixture(scope="session")
def keypoint_body_session():
    from hmr_flow.body import BodyModel
    from hmr_flow.body import KeypointBody

    return KeypointBody(BodyModel())


def _coco(path: Path, keypoints: np.ndarray, images: list[dict], scale: float = 1.0) -> Path:
    points = keypoints.copy()
    points[:, :2] *= scale
    points[:, 2] = 2
    annotations = [{"id": i, "image_id": image["id"], "keypoints": points.flatten().tolist(), "iscrowd": 0}
                   for i, image in enumerate(images)]
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return path


def _clips(root: Path, files: dict, coco_people: np.ndarray, photo: np.ndarray) -> None:
    """Clips of issue 33: an undecodable video, a video without frames, an image sequence that changes frame
    size, a clip of blank frames, and keypoint sequences with repeated image ids, two frame sizes, nobody."""
    (root / "junk.mp4").write_bytes(b"not a video" * 100)
    cv2.VideoWriter(str(root / "zero.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48)).release()
    (root / "resized").mkdir()
    for i, size in enumerate((320, 320, 400)):
        cv2.imwrite(str(root / "resized" / f"f_{i:03d}.png"), cv2.resize(photo, (size, size)))
    writer = cv2.VideoWriter(str(root / "blank.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (160, 120))
    for _ in range(3):
        writer.write(np.full((120, 160, 3), 200, np.uint8))
    writer.release()
    frames = [{"id": i, "file_name": f"f{i}.jpg", "width": 1000, "height": 1000} for i in range(3)]
    _coco(root / "clip_repeat.json", coco_people, frames + [dict(frames[1])])
    _coco(root / "clip_sizes.json", coco_people, frames[:2] + [{**frames[2], "width": 800}])
    (root / "clip_nobody.json").write_text(json.dumps({"images": frames, "annotations": []}))
    # folders holding an earlier run's track of clip_nobody, and a pose file under a track's name
    (root / "clip_done").mkdir()
    np.savez(root / "clip_done" / "clip_nobody_track1.npz", body_pose=np.zeros((3, 69), np.float32),
             keypoints_2d=np.zeros((3, 17, 2), np.float32), frame=np.arange(3), detected=np.ones(3, bool),
             track_id=np.int64(1))
    (root / "clip_other").mkdir()
    np.savez(root / "clip_other" / "clip_nobody_track1.npz", body_pose=np.zeros((3, 69), np.float32))
    files.update({"junk_mp4": root / "junk.mp4", "zero_avi": root / "zero.avi", "blank_mp4": root / "blank.mp4",
                  "resized_frames": root / "resized" / "f_%03d.png", "clip_repeat": root / "clip_repeat.json",
                  "clip_sizes": root / "clip_sizes.json", "clip_nobody": root / "clip_nobody.json",
                  "clip_done": root / "clip_done", "clip_other": root / "clip_other"})


@pytest.fixture()
def bad(tmp_path, coco_people, tiny_set) -> dict:
    """Every input of the table, written under ``tmp_path/inputs`` (their hashes must not change)."""
    root = tmp_path / "inputs"
    root.mkdir()
    files: dict = {"root": root, "tmp": tmp_path, "synth": tiny_set}
    generator = np.random.default_rng(0)
    poses = (0.2 * generator.standard_normal((96, 69))).astype(np.float32)
    subject = np.repeat(np.arange(1, 5), 24)
    np.savez(root / "poses.npz", body_pose=poses, subject=subject)
    np.save(root / "poses.npy", poses)
    shutil.copy(root / "poses.npy", root / "npy_renamed.npz")
    np.savez(root / "poses_huge.npz", body_pose=np.full((4, 69), 1e39))
    np.savez(root / "poses_complex.npz", body_pose=np.zeros((4, 69), np.complex64))
    np.savez(root / "poses_1d.npz", body_pose=np.zeros(69, np.float32))
    files.update({k: root / f"{k}.npz" for k in ("poses", "poses_huge", "poses_complex", "poses_1d")})
    files["poses_npy"], files["npy_renamed"] = root / "poses.npy", root / "npy_renamed.npz"

    photo = np.full((1000, 1000, 3), 90, np.uint8)
    photo[200:800, 300:700] = (30, 140, 200)
    cv2.imwrite(str(root / "person.jpg"), photo)
    cv2.imwrite(str(root / "person.png"), photo)
    data = (root / "person.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) * 2 // 3])
    data = (root / "person.png").read_bytes()
    (root / "truncated.png").write_bytes(data[: len(data) * 2 // 3])
    files.update({k: root / f"{k.replace('_', '.')}" for k in ("person_jpg", "person_png", "truncated_jpg",
                                                                "truncated_png")})

    (root / "empty.jpg").write_bytes(b"")
    (root / "photos_with_empty").mkdir()
    (root / "photos_with_empty" / "empty.jpg").write_bytes(b"")
    cv2.imwrite(str(root / "photos_with_empty" / "person.jpg"), photo)
    small = bytearray(cv2.imencode(".jpg", photo[:64, :64])[1].tobytes())
    frame = small.find(b"\xff\xc0")  # the start-of-frame claims 20000×20000 pixels; 64×64 of data follow
    small[frame + 5 : frame + 9] = (20000).to_bytes(2, "big") * 2
    (root / "huge_header.jpg").write_bytes(bytes(small))
    files.update({"empty_jpg": root / "empty.jpg", "photos_with_empty": root / "photos_with_empty",
                  "huge_header_jpg": root / "huge_header.jpg"})

    image = {"id": 1, "file_name": "person.jpg", "width": 1000, "height": 1000}
    files["coco"] = _coco(root / "coco.json", coco_people, [image])
    off = coco_people.copy()
    off[:, 0] += 5000.0  # thousands of pixels right of the 1000×1000 image
    files["coco_off"] = _coco(root / "coco_off.json", off, [image])
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    files["deep_json"] = root / "deep.json"
    files["coco_x1e6"] = _coco(root / "coco_x1e6.json", coco_people, [image], scale=1e6)
    files["coco_x1e30"] = _coco(root / "coco_x1e30.json", coco_people, [image], scale=1e30)
    same = coco_people.copy()
    same[:, :2] = (500.0, 400.0)
    files["coco_same"] = _coco(root / "coco_same.json", same, [image])
    coco = json.loads(files["coco"].read_text())
    coco["annotations"][0]["image_id"] = [1]
    (root / "coco_list_id.json").write_text(json.dumps(coco))
    coco = json.loads(files["coco"].read_text())
    coco["images"][0]["width"] = "abc"
    (root / "coco_width.json").write_text(json.dumps(coco))
    files["coco_list_id"], files["coco_width"] = root / "coco_list_id.json", root / "coco_width.json"
    body25 = np.zeros((25, 3), np.float32)
    body25[:17] = coco_people  # any 25 points with positive confidence
    (root / "person_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": body25.flatten().tolist()}]}))
    files["openpose"] = root / "person_keypoints.json"

    _clips(root, files, coco_people, photo)

    bvh = root / "bvh"
    bvh.mkdir()
    (bvh / "01_01.bvh").write_text(_bvh(3))
    (bvh / "deep.bvh").write_text(_bvh(5000))
    (bvh / "tiny_time.bvh").write_text(_bvh(3, frame_time="1e-300"))
    (bvh / "no_frames.bvh").write_text(_bvh(3, frames=0))
    huge_angle = _bvh(3).splitlines()
    huge_angle[-1] = " ".join(["0"] * 6 + ["1e308"] + ["0"] * 5)  # frame 1: j1's Zrotation
    (bvh / "huge_angle.bvh").write_text("\n".join(huge_angle) + "\n")
    files.update({"bvh_good": bvh / "01_01.bvh", "bvh_deep": bvh / "deep.bvh", "bvh_time": bvh / "tiny_time.bvh",
                  "bvh_empty": bvh / "no_frames.bvh", "bvh_huge_angle": bvh / "huge_angle.bvh"})

    flow = torch.load(ASSETS / "prior_flow.pt", weights_only=True)
    broken = {**flow, "state_dict": {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                                     for k, v in flow["state_dict"].items()}}
    torch.save(broken, root / "prior_nan.pt")
    torch.save({k: v for k, v in flow.items() if k != "config"}, root / "prior_nokey.pt")
    hmr = torch.load(ASSETS / "hmr_synth128.pt", weights_only=True)
    torch.save({**hmr, "model": {**hmr["model"], "extra": "not a tensor"}}, root / "hmr_nontensor.pt")
    with open(root / "exploit.pt", "wb") as handle:
        pickle.dump({"model": _Exploit()}, handle)
    buffer = io.BytesIO()
    torch.save({"format": "x", "model": {}}, buffer)
    (root / "truncated.pt").write_bytes(buffer.getvalue()[:100])
    (root / "garbage.pt").write_bytes(b"\x00garbage" * 50)
    torch.save([torch.zeros(3)], root / "plain_list.pt")  # tensor-only, but a list, not a checkpoint dict
    torch.save({**hmr, "config": []}, root / "hmr_config_list.pt")
    torch.save({"model": argparse.Namespace(layers=2)}, root / "unknown_class.pt")  # torch: "add_safe_globals"
    files.update({k: root / f"{k}.pt" for k in ("prior_nan", "prior_nokey", "hmr_nontensor", "exploit", "truncated",
                                                  "garbage", "plain_list", "hmr_config_list", "unknown_class")})

    os.symlink(ASSETS / "prior_flow.pt", root / "existing_prior.pt")  # an earlier run's output
    os.symlink(ASSETS / "hmr_synth128.pt", root / "existing_hmr.pt")
    (root / "a_file").write_text("not a folder")
    files.update({"existing_prior": root / "existing_prior.pt", "existing_hmr": root / "existing_hmr.pt",
                  "a_file": root / "a_file"})
    files["prior_flow"] = ASSETS / "prior_flow.pt"
    files["prior_cnf"] = ASSETS / "prior_cnf.pt"
    files["hmr_weights"] = ASSETS / "hmr_synth128.pt"
    _round_three(root, files, photo, coco_people, image)
    return files


def _patched_tiff(width: int, height: int) -> bytes:
    """A valid 64×64 deflate TIFF whose ImageWidth/ImageLength tags claim ``width`` × ``height``."""
    data = bytearray(cv2.imencode(".tiff", np.zeros((64, 64, 3), np.uint8), [cv2.IMWRITE_TIFF_COMPRESSION, 8])[1])
    ifd = int.from_bytes(data[4:8], "little")
    for i in range(int.from_bytes(data[ifd : ifd + 2], "little")):
        entry = ifd + 2 + 12 * i
        tag, kind = int.from_bytes(data[entry : entry + 2], "little"), int.from_bytes(data[entry + 2 : entry + 4], "little")
        if tag in (256, 257):
            data[entry + 8 : entry + 12] = (width if tag == 256 else height).to_bytes(2 if kind == 3 else 4, "little").ljust(4, b"\0")
    return bytes(data)


def _round_three(root: Path, files: dict, photo: np.ndarray, coco_people: np.ndarray, image: dict) -> None:
    """The inputs of issue 29's rows."""
    # non-UTF-8 file names (Latin-1 bytes)
    shutil.copy(root / "person.jpg", root / f"{LATIN1}.jpg")
    os.symlink(ASSETS / "prior_flow.pt", root / f"prior_{LATIN1}.pt")
    os.symlink(PHOTOS / "t_pose.jpg", root / f"t_pose_{LATIN1}.jpg")
    files.update({"latin1": LATIN1, "latin1_jpg": root / f"{LATIN1}.jpg", "latin1_prior": root / f"prior_{LATIN1}.pt",
                  "latin1_photo": root / f"t_pose_{LATIN1}.jpg"})
    # images whose header claims 20000 × 20000 pixels, in formats the JPEG/PNG/BMP/WebP guard did not read
    (root / "huge.tiff").write_bytes(_patched_tiff(20000, 20000))
    (root / "huge.pgm").write_bytes(b"P5\n# a comment\n20000 20000\n255\n" + bytes(64))
    gif = bytearray(cv2.imencode(".gif", photo[:8, :8])[1])
    gif[6:10] = (20000).to_bytes(2, "little") * 2  # logical screen
    (root / "huge.gif").write_bytes(bytes(gif))
    files.update({k: root / f"huge.{k[5:]}" for k in ("huge_tiff", "huge_pgm", "huge_gif")})
    # a real person for the detector
    files["t_pose"] = PHOTOS / "t_pose.jpg"
    # 300 people in one photo (each shifted, none identical)
    crowd = []
    for i in range(300):
        points = coco_people.copy()
        points[:, 0] += 5.0 * (i % 20) - 50.0
        points[:, 1] += 2.0 * (i // 20) - 15.0
        points[:, 2] = 2
        crowd.append({"id": i, "image_id": 1, "keypoints": points.flatten().tolist(), "iscrowd": 0})
    (root / "crowd.json").write_text(json.dumps({"images": [image], "annotations": crowd}))
    files["crowd"] = root / "crowd.json"
    # duplicate image ids, a duplicate annotation id, the same annotation twice
    coco = json.loads(files["coco"].read_text())
    other = {"id": 1, "file_name": "other.jpg", "width": 640, "height": 480}
    (root / "coco_dup_image.json").write_text(json.dumps({**coco, "images": coco["images"] + [other]}))
    twice = [dict(coco["annotations"][0]), dict(coco["annotations"][0])]
    twice[1]["keypoints"] = [v + 3.0 if i % 3 != 2 else v for i, v in enumerate(twice[1]["keypoints"])]
    (root / "coco_dup_ann.json").write_text(json.dumps({**coco, "annotations": twice}))
    same = [dict(coco["annotations"][0]), {**coco["annotations"][0], "id": 1}]
    (root / "coco_same_ann.json").write_text(json.dumps({**coco, "annotations": same}))
    files.update({k: root / f"{k}.json" for k in ("coco_dup_image", "coco_dup_ann", "coco_same_ann")})
    # (N, 23, 3, 3) arrays that are not rotation matrices
    generator = np.random.default_rng(5)
    np.savez(root / "not_rotations.npz", body_pose=generator.standard_normal((4, 23, 3, 3)).astype(np.float32))
    files["not_rotations"] = root / "not_rotations.npz"
    # many poses (prior score streams them with progress)
    np.save(root / "many_poses.npy", (0.2 * generator.standard_normal((10_000, 69))).astype(np.float32))
    files["many_poses"] = root / "many_poses.npy"
    # earlier outputs of other kinds and of the same kind
    shutil.copy(ASSETS / "prior_gmm.npz", root / "prior_gmm.npz")
    np.savez(root / "samples.npz", global_orient=np.zeros((2, 3), np.float32), body_pose=np.zeros((2, 69), np.float32),
             log_likelihood=np.zeros(2, np.float32), percentile=np.zeros(2, np.float32), temperature=np.float32(1))
    (root / "scores.csv").write_text("index,log_likelihood,percentile\n0,1.0,50.0\n")
    files.update({"gmm_npz": root / "prior_gmm.npz", "samples_npz": root / "samples.npz",
                  "scores_csv": root / "scores.csv"})


class _FullDisk:
    """A file object whose writes fail as on a full disk (``OSError`` ENOSPC), like the operating system's."""

    def __init__(self, handle) -> None:
        self._handle = handle

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def writelines(self, lines):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()

    def __iter__(self):
        return iter(self._handle)


@pytest.fixture()
def full_disk(monkeypatch):
    """``full_disk(folder, pattern="*")``: from now on, files opened for writing in ``folder`` whose name matches
    ``pattern`` fail on their first write with ENOSPC (the disk is full), as every writer of Python code sees it."""

    def arm(folder: Path, pattern: str = "*") -> None:
        folder = Path(folder).resolve()
        real = builtins.open

        def fake_open(file, mode="r", *args, **kwargs):
            handle = real(file, mode, *args, **kwargs)
            if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+"):
                path = Path(os.fsdecode(file)).resolve()
                if path.is_relative_to(folder) and fnmatch.fnmatch(path.name, pattern):
                    return _FullDisk(handle)
            return handle

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)

    return arm


@pytest.fixture(scope="session")
def blazepose_networks():
    """The cached BlazePose networks of ``detect``; skipped (with the reason) when they are not cached and
    cannot be fetched (``make setup`` fetches them)."""
    from hmr_flow.detection import blazepose_files
    from hmr_flow.wheels import WheelError

    try:
        return blazepose_files()
    except WheelError as err:
        pytest.skip(f"BlazePose networks unavailable (run 'make setup' once with network access): {err}")
