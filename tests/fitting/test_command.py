"""``hmr-flow fit`` end to end: files written and reloadable, clear errors for bad inputs."""

import json

import cv2
import numpy as np
import pytest
import torch
import trimesh
from fitting_cases import FOCAL, frontal_pose, render_keypoints

from hmr_flow.cli import main


def _run(argv):
    """``hmr-flow fit ARGV`` through the command line's shared runner (user errors → one line, exit 2)."""
    return main(["fit", *argv])


@pytest.fixture()
def openpose_input(tmp_path, keypoint_body):
    keypoints, _ = render_keypoints(keypoint_body, frontal_pose()[None], fmt="body25")
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": keypoints[0].flatten().tolist()}]}))
    cv2.imwrite(str(tmp_path / "person.png"), np.full((1000, 1000, 3), 90, np.uint8))
    return path


def test_fit_command_writes_reloadable_outputs(tmp_path, openpose_input, body):
    out = tmp_path / "out"
    code = _run(["--keypoints", str(openpose_input), "--images", str(tmp_path), "--out", str(out),
                 "--prior", "none", "--hypotheses", "1", "--focal", str(FOCAL), "--overlays", "--iterations", "300"])
    assert code == 0
    with np.load(out / "person_keypoints_params.npz") as params:
        assert params["body_pose"].shape == (1, 69) and params["joints"].shape == (1, 24, 3)
        assert params["keypoints_2d"].shape == (1, 25, 2) and params["hypothesis_losses"].shape == (1, 1)
        assert str(params["prior"]) == "none" and np.isnan(params["prior_log_prob"]).all()
        residual = np.linalg.norm(params["keypoints_2d"] - params["keypoints_observed"][..., :2], axis=-1).mean()
        assert residual < 3.0
    mesh = trimesh.load(out / "person_keypoints_0.ply", process=False)
    assert len(mesh.vertices) == body.num_vertices and len(mesh.faces) == len(body.faces)
    overlay = cv2.imread(str(out / "person_keypoints_overlay.png"))
    assert overlay.shape == (1000, 3000, 3)
    assert (overlay[:, 1000:2000] != 90).any(axis=-1).mean() > 0.02  # the mesh covers part of the photo


def test_images_across_a_batch_fit_as_they_do_alone(tmp_path, body, keypoint_body):
    """fit_records batches the people of several images (each with its own camera) into one problem;
    every image's result is the one it gets fitted alone, and no overlay is drawn unless asked."""
    from hmr_flow.fitting import FitConfig, FitOptions, KeypointImage, fit_records, scaled_config
    from hmr_flow.fitting.pipeline import fit_image
    from hmr_flow.prior import load_prior

    poses = frontal_pose()[None].repeat(3, 1)
    poses[1, 3 * 15 + 2] += 0.8  # bend an elbow
    keypoints, _ = render_keypoints(keypoint_body, poses, fmt="coco17")
    keypoints = keypoints.numpy()
    cv2.imwrite(str(tmp_path / "a.png"), np.full((800, 600, 3), 90, np.uint8))
    records = [
        KeypointImage("a", keypoints[:2], "coco17", [0, 1], image_path=tmp_path / "a.png"),
        KeypointImage("b", (keypoints[2:] * [[[0.5, 0.5, 1.0]]]).astype(np.float32), "coco17", [7], image_size=(500, 500)),
    ]
    # 2 hypotheses (facing / facing away): prior-sample hypotheses are drawn per chunk, not per image
    options = FitOptions(prior=load_prior("flow"), prior_name="flow",
                         config=scaled_config(30, FitConfig(num_hypotheses=2)), overlays=False)
    batched = fit_records(records, options, tmp_path / "batched")
    assert sorted(p.name for p in batched) == ["a_0.ply", "a_1.ply", "a_params.npz", "b_7.ply", "b_params.npz"]
    for record in records:
        fit_image(record, body, keypoint_body, options, tmp_path / "alone")
        with np.load(tmp_path / "batched" / f"{record.name}_params.npz") as got, \
                np.load(tmp_path / "alone" / f"{record.name}_params.npz") as want:
            assert got["body_pose"].shape == (len(record.person_ids), 69)
            assert np.allclose(got["focal"], want["focal"]) and np.allclose(got["principal_point"], want["principal_point"])
            for key in ("body_pose", "transl", "joints", "keypoints_2d"):
                assert np.allclose(got[key], want[key], atol=1e-3, rtol=1e-4), key
            # the density is sharp (trained down to 0.001 rad of jitter): poses equal to the tolerance
            # above (float32 rounding of another batch order) score within a few hundredths of a nat
            assert np.allclose(got["prior_log_prob"], want["prior_log_prob"], atol=0.05), "prior_log_prob"
    with np.load(tmp_path / "batched" / "a_params.npz") as a, np.load(tmp_path / "batched" / "b_params.npz") as b:
        assert a["principal_point"].tolist() == [[300.0, 400.0]] * 2 and b["principal_point"].tolist() == [[250.0, 250.0]]


def test_unreadable_image(tmp_path, openpose_input, capsys):
    (tmp_path / "person.png").write_bytes(b"not a png")
    code = _run(["--keypoints", str(openpose_input), "--image", str(tmp_path / "person.png"), "--out", str(tmp_path / "o"),
                 "--prior", "none"])
    assert code == 2 and "unreadable or corrupt image" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "keypoint file not found"), (json.dumps({"people": []}), "no person with at least 6 keypoints in any of the 1 images")],
)
def test_bad_keypoint_file(tmp_path, content, message, capsys):
    path = tmp_path / "k.json"
    if content is not None:
        path.write_text(content)
    assert _run(["--keypoints", str(path), "--out", str(tmp_path / "o"), "--prior", "none"]) == 2
    assert message in capsys.readouterr().err


def test_image_size_required_without_image(tmp_path, openpose_input, capsys):
    assert _run(["--keypoints", str(openpose_input), "--out", str(tmp_path / "o"), "--prior", "none"]) == 2
    assert "image size unknown" in capsys.readouterr().err


def test_fit_from_the_models_hypotheses(tmp_path, openpose_input):
    """``--init-from regression``: the shipped keypoint model's hypotheses (one per ``--init``)
    start the fit, and the fit still converges onto the keypoints."""
    out = tmp_path / "out"
    code = _run(["--keypoints", str(openpose_input), "--images", str(tmp_path), "--out", str(out), "--prior", "none",
                 "--hypotheses", "3", "--init-from", "regression", "--focal", str(FOCAL)])
    assert code == 0
    with np.load(out / "person_keypoints_params.npz") as params:
        assert params["hypothesis_losses"].shape == (1, 3)
        residual = np.linalg.norm(params["keypoints_2d"] - params["keypoints_observed"][..., :2], axis=-1).mean()
        assert residual < 5.0


def test_per_image_hypotheses_are_the_ones_fitted(tmp_path, openpose_input, body, keypoint_body):
    """``FitOptions.per_image``'s initialisation replaces the default hypotheses: its 2 poses are fitted,
    not ``num_hypotheses`` = 5 prior/facing ones."""
    import torch

    from hmr_flow.fitting import FitConfig, FitOptions, Initialisation, PerImage, read_keypoints
    from hmr_flow.fitting.pipeline import fit_image

    calls = []

    def initialise(record, image, focal, size):
        calls.append((record.name, image.shape, focal, size))
        return PerImage(Initialisation(torch.zeros(1, 2, 3), torch.zeros(1, 2, 69)))

    record = read_keypoints(openpose_input, tmp_path)[0]
    options = FitOptions(config=FitConfig(num_hypotheses=5), focal=FOCAL, per_image=initialise)
    fit_image(record, body, keypoint_body, options, tmp_path)
    assert calls == [("person_keypoints", (1000, 1000, 3), FOCAL, (1000, 1000))]
    with np.load(tmp_path / "person_keypoints_params.npz") as params:
        assert params["hypothesis_losses"].shape == (1, 2)


def test_side_view_fills_the_panel_along_its_binding_side():
    from hmr_flow.fitting.outputs import _framed_side_view
    from hmr_flow.geometry import project_points
    from hmr_flow.render import MeshSpec

    # two "people" 1.8 m tall, 6 m apart in depth: turned sideways the scene is 6 m wide and 1.8 m high
    box = np.array([[x, y, z] for x in (-0.2, 0.2) for y in (-0.9, 0.9) for z in (-0.1, 0.1)])
    meshes = [MeshSpec(box + [0, 0, 4.0], np.zeros((0, 3), int)), MeshSpec(box + [0, 0, 10.0], np.zeros((0, 3), int))]
    for size in [(640, 427), (300, 600)]:
        framed = np.concatenate([m.vertices for m in _framed_side_view(meshes, 500.0, size)])
        uv = project_points(torch.as_tensor(framed)[None], 500.0, (size[0] / 2, size[1] / 2))[0].numpy()
        span = uv.max(0) - uv.min(0)
        assert max(span[0] / size[0], span[1] / size[1]) == pytest.approx(0.8, abs=0.06)
        assert (uv >= 0).all() and (uv[:, 0] <= size[0]).all() and (uv[:, 1] <= size[1]).all()


def test_fit_options_reach_the_optimisation(tmp_path, openpose_input, monkeypatch):
    """``--optimizer``, ``--learning-rate``, ``--prior-weight``, ``--iterations`` and ``--body-model`` reach
    :class:`FitOptions`; LBFGS gets its own step size unless one is given."""
    from hmr_flow.commands import fit as fit_command
    from hmr_flow.fitting import pipeline
    from hmr_flow.fitting.schedule import LEARNING_RATES

    seen = {}
    real_fit_records, real_body_model = pipeline.fit_records, pipeline.BodyModel

    def spy_fit_records(records, options, out, device="cpu", **kwargs):
        seen["options"] = options
        return real_fit_records(records, options, out, device, **kwargs)

    def spy_body_model(path=None, *args, **kwargs):
        seen["body_model"] = path
        return real_body_model(path, *args, **kwargs)

    monkeypatch.setattr(fit_command, "fit_records", spy_fit_records)
    monkeypatch.setattr(pipeline, "BodyModel", spy_body_model)
    model_path = real_body_model().model_path
    base = ["--keypoints", str(openpose_input), "--images", str(tmp_path), "--prior", "flow", "-n", "1"]
    assert _run([*base, "--out", str(tmp_path / "a"), "--optimizer", "lbfgs", "--iterations", "10",
                 "--prior-weight", "0.5", "--body-model", str(model_path)]) == 0
    config = seen["options"].config
    assert config.optimizer == "lbfgs" and config.learning_rate == LEARNING_RATES["lbfgs"] == 1.0
    assert config.prior_weight == 0.5 and sum(stage.iterations for stage in config.stages) == 10
    assert seen["body_model"] == model_path
    assert _run([*base, "--out", str(tmp_path / "b"), "--iterations", "3", "--learning-rate", "0.01"]) == 0
    config = seen["options"].config
    assert config.optimizer == "adam" and config.learning_rate == 0.01 and config.prior_weight is None
    assert seen["body_model"] is None


def test_missing_body_model_file_is_named(tmp_path, openpose_input, capsys):
    code = _run(["--keypoints", str(openpose_input), "--out", str(tmp_path / "o"), "--body-model",
                 str(tmp_path / "SMPL_NEUTRAL.pkl")])
    assert code == 2 and "--body-model" in capsys.readouterr().err


def test_the_command_reports_agreement_without_reading_its_outputs_back(tmp_path, openpose_input, monkeypatch, capsys):
    """The agreement the command prints comes from the fit in memory (``fit_records(on_image=)``), equal to
    what the written ``_params.npz`` gives; no output file is opened again."""
    from hmr_flow.fitting import keypoint_agreement, keypoint_error_px, read_keypoints

    opened = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda path, *a, **k: opened.append(str(path)) or real_load(path, *a, **k))
    out = tmp_path / "out"
    assert _run(["--keypoints", str(openpose_input), "--images", str(tmp_path), "--out", str(out), "--prior", "none",
                 "--iterations", "6", "-n", "2"]) == 0
    assert not [path for path in opened if str(out) in path]
    printed = capsys.readouterr().out
    monkeypatch.undo()
    [record] = read_keypoints(openpose_input, tmp_path)
    with np.load(out / "person_keypoints_params.npz") as params:
        fitted = params["keypoints_2d"]
    coarse, fine = keypoint_agreement(record, fitted)[0], keypoint_agreement(record, fitted, alpha=0.05)[0]
    pixels = keypoint_error_px(record, fitted)[0]
    assert (f"fitted keypoints within 10 % / 5 % of the box, mean distance: {100 * coarse:.0f} % / {100 * fine:.0f} %, "
            f"{pixels:.1f} px") in printed


def test_a_fit_that_needs_no_pixels_reads_only_the_image_header(tmp_path, openpose_input, monkeypatch):
    """Without overlays and without a hook that reads pixels, the photo gives its size from its header: it is
    never decoded (with overlays it is)."""
    import hmr_flow.fitting.pipeline as pipeline

    decoded = []
    read_rgb = pipeline.read_rgb
    monkeypatch.setattr(pipeline, "read_rgb", lambda path: decoded.append(path) or read_rgb(path))
    quick = ["--prior", "none", "--hypotheses", "1", "--iterations", "3"]
    assert _run(["--keypoints", str(openpose_input), "--images", str(tmp_path), "--out", str(tmp_path / "a"), *quick]) == 0
    assert decoded == []
    with np.load(tmp_path / "a" / "person_keypoints_params.npz") as params:
        assert params["image_size"].tolist() == [1000, 1000] and params["principal_point"].tolist() == [[500.0, 500.0]]
    assert _run(["--keypoints", str(openpose_input), "--images", str(tmp_path), "--out", str(tmp_path / "b"), *quick,
                 "--overlays"]) == 0
    assert len(decoded) == 1  # the overlay's
