"""Pose files the commands write (issue 14): smplx keys and the body model their betas belong to in ``fit``,
``regress`` and ``prior sample`` output, ``prior score`` reading all of them, and meshes (binary PLY written by the library, OBJ and GLB by trimesh)
according to the suffix."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
import trimesh

from hmr_flow.body import MODEL_FORMAT_VERSION, BodyModel, default_model_path, open_model_name
from hmr_flow.cli import main
from hmr_flow.fitting.outputs import ply_bytes, save_mesh
from hmr_flow.prior import load_prior

#: A standing person's COCO-17 keypoints (x, y) about 370 px tall in a 640 × 480 image.
STANDING = [(320, 80), (310, 70), (330, 70), (300, 75), (340, 75), (280, 130), (360, 130), (260, 200), (380, 200),
            (250, 260), (390, 260), (295, 260), (345, 260), (290, 360), (350, 360), (290, 450), (350, 450)]


@pytest.fixture()
def coco_file(tmp_path):
    """Two people in one 640 × 480 image, no image file."""
    people = [[v for x, y in STANDING for v in (x + dx, y, 2)] for dx in (-150, 150)]
    data = {"images": [{"id": 1, "file_name": "pair.jpg", "width": 640, "height": 480}],
            "annotations": [{"id": i, "image_id": 1, "keypoints": p} for i, p in enumerate(people)]}
    path = tmp_path / "people.json"
    path.write_text(json.dumps(data))
    return path


def _run(argv: list, capsys) -> None:
    code = main([str(a) for a in argv])
    assert code == 0, capsys.readouterr().err


def _scores(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_open_model_name_comes_from_the_format_version():
    assert open_model_name() == f"open-v{MODEL_FORMAT_VERSION}"


def test_fit_writes_smplx_keys_body_model_and_meshes_by_suffix_then_prior_score_reads_it(tmp_path, coco_file, capsys):
    out = tmp_path / "fit"
    _run(["fit", "--keypoints", coco_file, "--out", out, "--prior", "none", "--iterations", 20, "--mesh-format", "obj"],
         capsys)
    with np.load(out / "pair_params.npz") as params:
        shapes = {k: params[k].shape for k in ("global_orient", "body_pose", "betas", "transl")}
        assert shapes == {"global_orient": (2, 3), "body_pose": (2, 69), "betas": (2, 10), "transl": (2, 3)}
        assert str(params["body_model"]) == open_model_name()
        body_pose = params["body_pose"]
    mesh = trimesh.load(out / "pair_0.obj", process=False)
    assert mesh.vertices.shape == (13380, 3) and not list(out.glob("*.ply")) and not list(out.glob(".*"))
    _run(["prior", "score", "--poses", out / "pair_params.npz", "--out", tmp_path / "scores.csv"], capsys)
    rows = _scores(tmp_path / "scores.csv")
    want, _ = load_prior("flow").score(torch.from_numpy(body_pose))
    assert [r["index"] for r in rows] == ["0", "1"]
    np.testing.assert_allclose([float(r["log_likelihood"]) for r in rows], want.numpy(), atol=1e-3)


def test_regress_output_is_scored_per_person_and_hypothesis(tmp_path, coco_file, capsys):
    """Issue 14: ``prior score`` could not read what ``regress`` writes."""
    _run(["regress", "--keypoints", coco_file, "-n", 3, "--out", tmp_path / "hyps"], capsys)
    with np.load(tmp_path / "hyps" / "pair_hypotheses.npz") as data:
        assert data["global_orient"].shape == (2, 3, 3) and data["body_pose"].shape == (2, 3, 69)
        assert data["betas"].shape == (2, 3, 10) and data["transl"].shape == (2, 3, 3)
        assert str(data["body_model"]) == open_model_name()
        body_pose = data["body_pose"]
    _run(["prior", "score", "--poses", tmp_path / "hyps" / "pair_hypotheses.npz", "--out", tmp_path / "s.csv"], capsys)
    rows = _scores(tmp_path / "s.csv")
    assert [(r["person"], r["hypothesis"]) for r in rows] == [(str(p), str(h)) for p in range(2) for h in range(3)]
    want, _ = load_prior("flow").score(torch.from_numpy(body_pose[1, 2][None]))
    assert float(rows[5]["log_likelihood"]) == pytest.approx(float(want[0]), abs=1e-3)


def test_prior_sample_writes_smplx_keys_that_score_reads(tmp_path, capsys):
    _run(["prior", "sample", "-n", 4, "--seed", 0, "--out", tmp_path / "s.npz"], capsys)
    with np.load(tmp_path / "s.npz") as data:
        assert data["body_pose"].shape == (4, 69) and data["global_orient"].tolist() == [[0.0] * 3] * 4
    _run(["prior", "score", "--poses", tmp_path / "s.npz", "--out", tmp_path / "s.csv"], capsys)
    assert len(_scores(tmp_path / "s.csv")) == 4


def test_fit_records_an_official_model_file_by_its_name(tmp_path, coco_file, capsys):
    """A model file without the open model's build record (as official SMPL files are) is named by its file."""
    with np.load(default_model_path()) as data:
        np.savez(tmp_path / "SMPL_TEST.npz", **{k: data[k] for k in data.files if k != "meta_json"})
    assert BodyModel(tmp_path / "SMPL_TEST.npz").name == "SMPL_TEST.npz" and BodyModel().name == open_model_name()
    _run(["fit", "--keypoints", coco_file, "--out", tmp_path / "fit", "--prior", "none", "--iterations", 10,
          "--body-model", tmp_path / "SMPL_TEST.npz"], capsys)
    with np.load(tmp_path / "fit" / "pair_params.npz") as params:
        assert str(params["body_model"]) == "SMPL_TEST.npz"


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".glb"])
def test_save_mesh_writes_the_format_of_the_suffix(tmp_path, suffix):
    vertices = np.array([[0.0, 0.0, 1.0], [0.1, 0.0, 1.0], [0.0, 0.2, 1.5], [0.1, 0.2, 1.25]])
    faces = np.array([[0, 1, 2], [1, 3, 2]])
    path = save_mesh(tmp_path / f"m{suffix}", vertices, faces)
    loaded = trimesh.load(path, force="mesh", process=False)
    np.testing.assert_allclose(loaded.vertices, vertices, atol=1e-6)
    np.testing.assert_array_equal(loaded.faces, faces)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"m{suffix}"]  # the temporary file is gone
    with pytest.raises(ValueError, match="mesh format must be one of obj, ply, glb"):
        save_mesh(tmp_path / "m.stl", vertices, faces)


def test_save_mesh_never_leaves_a_half_written_file(tmp_path, monkeypatch):
    def broken(self, file_obj, **kwargs):
        file_obj.write(b"v 0 0")  # an open file: every writer opens its own (any file name works)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(trimesh.Trimesh, "export", broken)
    with pytest.raises(OSError, match="m.obj: cannot write"):
        save_mesh(tmp_path / "m.obj", np.zeros((3, 3)), np.array([[0, 1, 2]]))
    assert list(tmp_path.iterdir()) == []
    def broken_bytes(data):  # the library's own PLY (hmr_flow.files.bytes_writer): half written, then the disk is full
        def write(tmp):
            with open(tmp, "wb") as handle:
                broken(None, handle)
        return write

    monkeypatch.setattr("hmr_flow.fitting.outputs.bytes_writer", broken_bytes)
    with pytest.raises(OSError, match="m.ply: cannot write"):
        save_mesh(tmp_path / "m.ply", np.zeros((3, 3)), np.array([[0, 1, 2]]))
    assert list(tmp_path.iterdir()) == []


def test_ply_is_laid_out_as_trimesh_writes_it():
    """The library's binary PLY has trimesh's layout byte for byte (only the comment line differs)."""
    rng = np.random.default_rng(0)
    vertices, faces = rng.normal(size=(50, 3)), rng.integers(0, 50, size=(70, 3))
    ours = ply_bytes(vertices, faces).split(b"\n")
    theirs = trimesh.Trimesh(vertices, faces, process=False).export(file_type="ply").split(b"\n")
    assert [line for line in ours if not line.startswith(b"comment")] == \
        [line for line in theirs if not line.startswith(b"comment")]
