"""Issue 29's runs that need more than one command or an interruption: a result set (params + meshes) is
replaced whole or not at all, SIGTERM cleans up like Ctrl-C, a resumed training logs each epoch once, and
what ``detect`` writes is read the same way by ``fit`` and ``regress``."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hmr_flow.cli import main as hmr_flow_main

PHOTOS = Path(__file__).resolve().parents[2] / "demo" / "photos"
FIT_QUICK = ["--prior", "none", "--hypotheses", "1", "--iterations", "8"]


def _coco(path: Path, people: list[np.ndarray]) -> Path:
    images = [{"id": 1, "file_name": "person.jpg", "width": 1000, "height": 1000}]
    annotations = []
    for i, points in enumerate(people):
        points = points.copy()
        points[:, 2] = 2
        annotations.append({"id": i, "image_id": 1, "keypoints": points.flatten().tolist()})
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return path


def _folder_state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture()
def two_people(tmp_path, coco_people) -> Path:
    shifted = coco_people.copy()
    shifted[:, 0] += 120.0
    return _coco(tmp_path / "two.json", [coco_people, shifted])


def _fit(keypoints: Path, out: Path, *extra: str) -> int:
    return hmr_flow_main(["fit", "--keypoints", str(keypoints), "--out", str(out),
                          *FIT_QUICK, *extra])


def test_a_full_disk_during_a_refit_keeps_the_previous_set(tmp_path, two_people, full_disk, capfd):
    out = tmp_path / "fit"
    assert _fit(two_people, out) == 0
    before = _folder_state(out)
    assert sorted(before) == ["person_0.ply", "person_1.ply", "person_params.npz"]
    capfd.readouterr()
    full_disk(out, ".person_1.ply.*")  # the params and the first mesh are written, the second mesh fails
    assert _fit(two_people, out, "--overwrite", "--seed", "3") == 2
    errors = [line for line in capfd.readouterr().err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and "person_1.ply: cannot write (No space left on device)" in errors[0], errors
    assert _folder_state(out) == before  # the old set, whole: not new params beside old meshes
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_a_refit_replaces_the_whole_set(tmp_path, two_people, coco_people):
    out = tmp_path / "fit"
    assert _fit(two_people, out) == 0
    one = _coco(tmp_path / "one.json", [coco_people])
    assert _fit(one, out, "--overwrite") == 0
    assert sorted(p.name for p in out.iterdir()) == ["person_0.ply", "person_params.npz"]  # no stale person_1.ply


_SIGTERM_DURING_MESH_WRITE = """
import os, signal, sys
import hmr_flow.fitting.outputs as outputs
from hmr_flow.cli import main

bytes_writer = outputs.bytes_writer  # the .ply meshes' writer

def writer_then_terminated(data):
    write = bytes_writer(data)

    def write_then_terminated(tmp):
        write(tmp)
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` while the mesh's temporary file exists

    return write_then_terminated

outputs.bytes_writer = writer_then_terminated
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_during_fit_leaves_no_temporary_files(tmp_path, two_people):
    out = tmp_path / "fit"
    command = [sys.executable, "-c", _SIGTERM_DURING_MESH_WRITE, "fit", "--keypoints", str(two_people), "--out",
               str(out), *FIT_QUICK]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 128 + signal.SIGTERM, (done.returncode, done.stderr)
    assert "hmr-flow: terminated" in done.stderr and "Traceback" not in done.stderr, done.stderr
    left = sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and p.name != "two.json")
    assert left == [], f"left behind: {left}"  # no temporary file, no lock, no half set


def test_a_resumed_prior_training_logs_each_epoch_once(tmp_path):
    generator = np.random.default_rng(1)
    data = tmp_path / "poses.npz"
    np.savez(data, body_pose=(0.2 * generator.standard_normal((128, 69))).astype(np.float32),
             subject=np.repeat(np.arange(1, 5), 32))
    out = tmp_path / "prior.pt"
    tiny = ["--data", str(data), "--out", str(out), "--steps", "1", "--hidden", "8", "--val-subjects", "4",
            "--batch-size", "32"]
    assert hmr_flow_main(["prior", "train", *tiny, "--epochs", "1"]) == 0
    log = tmp_path / "prior.log.csv"
    rows = log.read_text().splitlines()
    # killed after the log row of epoch 2 was written, before its state was saved
    log.write_text("\n".join([*rows, rows[-1].replace("1,", "2,", 1)]) + "\n")
    assert hmr_flow_main(["prior", "train", *tiny, "--epochs", "2", "--resume"]) == 0
    with open(log, newline="") as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    assert epochs == [1, 2]


@pytest.fixture()
def photo_folder(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(PHOTOS / "t_pose.jpg", folder / "t_pose.jpg")
    return folder


def test_detect_then_fit_and_regress_on_a_folder(tmp_path, photo_folder, blazepose_networks, monkeypatch, capfd):
    """The documented workflow: ``detect --images DIR --out k.json``, then ``fit``/``regress --keypoints k.json``
    with ``--images DIR`` or without it, from the folder of the run or another one."""
    keypoints = tmp_path / "keypoints" / "k.json"
    assert hmr_flow_main(["detect", "--images", str(photo_folder), "--out", str(keypoints)]) == 0
    assert hmr_flow_main(["fit", "--keypoints", str(keypoints), "--images", str(photo_folder), "--out",
                          str(tmp_path / "fit"), *FIT_QUICK]) == 0, capfd.readouterr().err
    assert (tmp_path / "fit" / "t_pose_params.npz").is_file()
    assert hmr_flow_main(["regress", "--keypoints", str(keypoints), "--out", str(tmp_path / "regress"), "-n", "2"]) == 0
    assert (tmp_path / "regress" / "t_pose_grid.png").is_file()  # found the photo without --images
    monkeypatch.chdir(tmp_path)  # relative paths, as typed in a shell
    assert hmr_flow_main(["detect", "--images", "photos", "--out", "k2.json"]) == 0
    assert hmr_flow_main(["fit", "--keypoints", "k2.json", "--images", "photos", "--out", "fit2", *FIT_QUICK]) == 0, \
        capfd.readouterr().err
    assert (tmp_path / "fit2" / "t_pose_params.npz").is_file()
    monkeypatch.chdir(photo_folder)
    assert hmr_flow_main(["fit", "--keypoints", "../keypoints/k.json", "--images", ".", "--out", "../fit3",
                          *FIT_QUICK]) == 0, capfd.readouterr().err
    assert (tmp_path / "fit3" / "t_pose_params.npz").is_file()
