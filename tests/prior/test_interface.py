"""Prior files, input errors, the "none" prior and the change of variables of the mean-relative coordinates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hmr_flow.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hmr_flow.prior import FlowPrior, GMMPrior, load_pose_file, load_prior
from hmr_flow.prior.space import PoseSpace, log_haar_density


def _poses(n: int = 8, seed: int = 0) -> torch.Tensor:
    return 0.3 * torch.randn(n, 69, generator=torch.Generator().manual_seed(seed))


def test_shipped_priors_load_by_default(shipped):
    for kind, prior in shipped.items():
        assert prior.kind == kind and prior.percentiles.numel() == 1001
        assert "CMU" in prior.info["licence"]
        if kind == "gmm":  # CMU and HDM05 (share-alike) without DeepMimic; HDM05's actor bd held out
            assert "CC BY-SA 3.0" in prior.info["licence"] and prior.info["val_subjects"] == [3, 6, 16, 135, 1001]
            assert prior.info["settings"]["exclude_sources"] == ["cmu_deepmimic"]
        else:  # the flows learn from CMU only
            assert "CC BY-SA" not in prior.info["licence"] and prior.info["val_subjects"] == [3, 6, 16, 135]
    assert len({prior.space.joint_names for prior in shipped.values()}) == 1  # same density space


@pytest.mark.parametrize("kind", ["flow", "cnf", "gmm"])
def test_save_load_round_trip_gives_identical_scores(kind, tmp_path, shipped):
    prior = shipped[kind]
    path = prior.save(tmp_path / ("p.npz" if kind == "gmm" else "p.pt"))
    again = load_prior(kind, path)
    poses = _poses()
    for a, b in zip(prior.score(poses), again.score(poses)):
        assert torch.equal(a, b)
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (torch.zeros(2, 72), ValueError, r"\(B, 69\).*got shape \(2, 72\)"),
        (torch.zeros(2, 23, 3), ValueError, "got shape"),
        (torch.zeros(0, 69), ValueError, "empty batch"),
        (torch.full((2, 69), float("nan")), ValueError, "NaN"),
        (torch.full((2, 23, 3, 3), float("inf")), ValueError, "NaN or infinite"),
        ([0.0] * 69, TypeError, "torch.Tensor"),
    ],
)
@pytest.mark.parametrize("kind", ["flow", "cnf", "gmm", "none"])
def test_bad_inputs_give_clear_errors(kind, bad, error, match, shipped):
    prior = {**shipped, "none": load_prior("none")}[kind]
    with pytest.raises(error, match=match):
        prior.log_prob(bad)
    if "NaN" in match:  # loss() runs in optimisation loops: no check of the values (no wait for the device)
        loss = prior.loss(bad)
        assert loss.shape == (2,) and (kind == "none" or not torch.isfinite(loss).any())
        return
    with pytest.raises(error, match=match):
        prior.loss(bad)


def test_bad_files_and_kinds(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_prior("flow", tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt.pt"):
        load_prior("flow", corrupt)
    with pytest.raises(ValueError, match="corrupt.pt"):
        load_prior("gmm", corrupt)
    with pytest.raises(ValueError, match="corrupt.pt"):
        load_prior("cnf", corrupt)
    flow_file = load_prior("flow").save(tmp_path / "flow.pt")
    with pytest.raises(ValueError, match="not a CNF prior checkpoint"):
        load_prior("cnf", flow_file)
    with pytest.raises(ValueError, match="kind must be one of"):
        load_prior("vae")
    other = tmp_path / "other.npz"
    np.savez(other, means=np.zeros(3))
    with pytest.raises(ValueError, match="not a GMM prior file"):
        load_prior("gmm", other)
    with pytest.raises(ValueError, match="no 'body_pose' or 'poses'"):
        load_pose_file(other)
    nan = tmp_path / "nan.npz"
    np.savez(nan, body_pose=np.full((2, 69), np.nan))
    with pytest.raises(ValueError, match="nan.npz.*NaN"):
        load_pose_file(nan)


def test_pose_file_layouts(tmp_path):
    poses = _poses(4).numpy()
    np.savez(tmp_path / "amass.npz", poses=np.concatenate([np.ones((4, 3)), poses, np.zeros((4, 84))], axis=1))
    np.savez(tmp_path / "matrices.npz", body_pose=axis_angle_to_matrix(torch.from_numpy(poses).reshape(4, 23, 3)).numpy())
    assert np.allclose(load_pose_file(tmp_path / "amass.npz"), poses)
    assert np.allclose(load_pose_file(tmp_path / "matrices.npz"), poses, atol=1e-5)


def test_none_prior():
    prior = load_prior("none")
    assert torch.equal(prior.loss(_poses()), torch.zeros(8)) and torch.equal(prior.log_prob(_poses()), torch.zeros(8))
    with pytest.raises(ValueError, match="cannot be sampled"):
        prior.sample(4)
    with pytest.raises(ValueError, match="cannot score"):
        prior.score(_poses())
    with pytest.raises(ValueError, match="takes no file"):
        load_prior("none", "x.pt")


def test_sample_argument_errors(flow_prior):
    with pytest.raises(ValueError, match="≥ 1"):
        flow_prior.sample(0)
    with pytest.raises(ValueError, match="temperature"):
        flow_prior.sample(2, temperature=-1.0)


def test_mean_relative_log_jacobian_matches_autograd():
    """log p_aa = log p_rel + log_jac: check log_jac against log |det ∂ω'/∂ω| computed by autograd."""
    mean = axis_angle_to_matrix(torch.tensor([[0.4, -1.1, 0.3]], dtype=torch.float64))
    space = PoseSpace([5], "axis_angle_mean", mean.float()).double()
    omega = torch.tensor([0.9, 0.2, -0.5], dtype=torch.float64)
    relative = lambda w: matrix_to_axis_angle(mean[0].T @ axis_angle_to_matrix(w))  # noqa: E731
    log_det = torch.linalg.slogdet(torch.autograd.functional.jacobian(relative, omega))[1]
    pose = torch.zeros(1, 23, 3, dtype=torch.float64)
    pose[0, 5] = omega
    _, log_jac = space.encode(pose)
    assert log_jac.item() == pytest.approx(log_det.item(), abs=1e-6)
    assert log_haar_density(torch.tensor([0.0, 1e-4])).abs().max() < 1e-8


def test_gmm_rejects_inconsistent_arrays():
    with pytest.raises(ValueError, match="disagree"):
        GMMPrior(np.ones(2) / 2, np.zeros((2, 6)), np.stack([np.eye(3)] * 2), joints=[0, 1])
    with pytest.raises(ValueError, match="not positive definite"):
        GMMPrior(np.ones(1), np.zeros((1, 3)), -np.eye(3)[None], joints=[0])


def test_flow_checkpoint_rejects_unknown_settings():
    with pytest.raises(ValueError, match="unknown flow settings"):
        FlowPrior([0, 1], coords="axis_angle", flow={"depth": 3})


def _small_flow_prior(seed: int, coupling: str = "spline", floor: float = 1e-3) -> FlowPrior:
    torch.manual_seed(seed)
    prior = FlowPrior([0, 3, 6], coords="axis_angle", flow={"steps": 2, "hidden": 16, "coupling": coupling},
                      floor=floor)
    with torch.no_grad():
        prior.flow.log_prob(0.3 * torch.randn(64, 9))  # ActNorm initialisation
        for p in prior.flow.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return prior


def test_regulariser_drives_the_loss_and_survives_a_round_trip(tmp_path):
    density, smooth = _small_flow_prior(0), _small_flow_prior(1, coupling="affine")
    poses = _poses()
    before = density.log_prob(poses).detach()
    assert torch.allclose(density.loss(poses), -before)  # without a regulariser the loss is the NLL
    density.attach_regulariser(smooth)
    assert torch.allclose(density.log_prob(poses), before)  # scores keep the density
    assert torch.allclose(density.loss(poses), -smooth.log_prob(poses), atol=1e-5)  # fitting uses the regulariser
    # (both floors are 10⁻³ here; the regulariser is mixed with the density's floor)
    assert not torch.allclose(density.loss(poses), -before, atol=1e-3)
    density.save(tmp_path / "combined.pt")
    loaded = FlowPrior.load(tmp_path / "combined.pt")
    assert torch.allclose(loaded.loss(poses), density.loss(poses)) and torch.allclose(loaded.log_prob(poses), before)


def test_regulariser_must_model_the_same_space():
    other = FlowPrior([0, 3, 7], coords="axis_angle", flow={"steps": 2, "hidden": 16})
    with pytest.raises(ValueError, match="another space"):
        _small_flow_prior(0).attach_regulariser(other)


def test_loaded_priors_are_frozen_but_differentiable_in_the_pose():
    """A loaded prior is used, not trained: no parameter asks for a gradient (fitting's backward skips
    them, and the flow reuses its LU matrices), while the pose still gets its gradient."""
    from hmr_flow.prior import load_prior

    for kind in ("flow", "cnf", "gmm"):
        prior = load_prior(kind)
        assert not any(p.requires_grad for p in prior.parameters()), kind
        pose = (0.1 * torch.randn(4, 69, generator=torch.Generator().manual_seed(0))).requires_grad_()
        prior.loss(pose).sum().backward()
        assert pose.grad is not None and torch.isfinite(pose.grad).all() and pose.grad.abs().sum() > 0, kind


def test_a_large_pose_file_is_read_piece_by_piece(tmp_path):
    """``PoseFile.chunks`` holds one chunk at a time: 50,000 poses (13.8 MB) read with a peak of a few MB."""
    import tracemalloc

    from hmr_flow.prior.inputs import CHUNK, PoseFile

    poses = (0.2 * np.random.default_rng(0).standard_normal((50_000, 69))).astype(np.float32)
    np.savez_compressed(tmp_path / "many.npz", body_pose=poses)
    tracemalloc.start()
    try:
        count = 0
        for chunk in PoseFile(tmp_path / "many.npz").chunks():
            assert len(chunk) <= CHUNK
            np.testing.assert_array_equal(chunk, poses[count : count + len(chunk)])
            count += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]  # allocations since start: the poses above are not counted
    finally:
        tracemalloc.stop()
    assert count == 50_000 and peak < 6e6, peak


def test_matrices_that_are_not_rotations_are_refused(tmp_path):
    rotations = axis_angle_to_matrix(_poses(3).reshape(3, 23, 3)).numpy()
    mirrored = rotations.copy()
    mirrored[1, 4, :, 0] *= -1  # det −1: a reflection
    np.savez(tmp_path / "mirrored.npz", body_pose=mirrored)
    with pytest.raises(ValueError, match="mirrored.npz: pose 1 joint 5 is not a rotation matrix"):
        load_pose_file(tmp_path / "mirrored.npz")
