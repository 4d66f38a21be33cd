"""The keypoints-only conditional model: inputs, hypotheses without an image, the conditional fitting
prior, training on generated pairs, and the ``regress`` / ``fit --prior conditional`` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hmr_flow.cli import main
from hmr_flow.fitting.initialisation import relaxed_pose
from hmr_flow.geometry import axis_angle_to_matrix
from hmr_flow.models import ConditionalPrior, HMRConfig, HMRFlow, TrainSettings, regress, save_checkpoint, train


def _keypoint_config(tiny_config, **changes) -> HMRConfig:
    return tiny_config(image_size=32, widths=(8, 16, 32), blocks=(1, 1, 1), rgb=False, keypoint_channels=True,
                       keypoint_vector=True, heatmap_sigma=1.0, **changes)


def _people() -> np.ndarray:
    """Two people's COCO-17 keypoints ``(2, 17, 3)`` in a 640 × 480 image (a few missing)."""
    rng = np.random.default_rng(0)
    first = np.column_stack([rng.uniform(100, 220, 17), rng.uniform(60, 400, 17), np.ones(17)])
    second = np.column_stack([rng.uniform(380, 520, 17), rng.uniform(100, 420, 17), rng.uniform(0.4, 1.0, 17)])
    second[[9, 15], 2] = 0.0
    return np.stack([first, second]).astype(np.float32)


@pytest.fixture(scope="module")
def keypoint_model(tiny_config, tmp_path_factory):
    torch.manual_seed(0)
    model = HMRFlow(_keypoint_config(tiny_config)).eval()
    with torch.no_grad():  # initialise ActNorm on data, then give the flow non-identity coupling nets
        model.flow.log_prob(0.3 * torch.randn(16, 144), torch.zeros(16, model.config.feature_dim))
        for parameter in model.flow.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    path = tmp_path_factory.mktemp("kp_weights") / "tiny_keypoints.pt"
    save_checkpoint(path, {"config": model.config.to_dict(), "model": model.state_dict()})
    return model, path


def test_config_inputs(tiny_config):
    assert HMRConfig.for_inputs("keypoints", image_size=64).inputs == "keypoints"
    assert HMRConfig.for_inputs("keypoints", image_size=64).heatmap_sigma == 1.5
    assert HMRConfig.for_inputs("rgb+keypoints").inputs == "rgb+keypoints"
    assert HMRConfig().inputs == "rgb"
    with pytest.raises(ValueError, match="expected one of"):
        HMRConfig.for_inputs("depth")
    with pytest.raises(ValueError, match="needs RGB input, keypoint channels or both"):
        HMRConfig(rgb=False)


def test_affine_flow_spreads_with_the_input(tiny_config):
    """An affine-coupling pose flow is invertible with the right density for any input, and its spread
    may differ between inputs (an additive one's volume is the same for every input); configs written
    before the option existed load as additive."""
    torch.manual_seed(0)
    model = HMRFlow(_keypoint_config(tiny_config, flow_coupling="affine")).eval()
    with torch.no_grad():  # initialise ActNorm on data, then give the coupling nets non-zero weights
        model.flow.log_prob(0.3 * torch.randn(16, 144), torch.zeros(16, model.config.feature_dim))
        for parameter in model.flow.parameters():
            parameter.add_(0.02 * torch.randn_like(parameter))
        keypoints = torch.rand(2, 17, 2) * 32
        features = model.encode(None, keypoints, torch.ones(2, 17))
        samples = model.decode(features, model.latent(2, 3, generator=torch.Generator().manual_seed(1)))
        again = model.flow_log_prob(samples.pose6d.reshape(6, 144), features.repeat_interleave(3, 0))
        torch.testing.assert_close(again, samples.log_prob.reshape(6), atol=1e-3, rtol=1e-4)
        _, logdet = model.flow.from_latent(torch.zeros(2, 144), features)
        assert (logdet[0] - logdet[1]).abs() > 1e-3  # the volume depends on the input
    legacy = {k: v for k, v in model.config.to_dict().items() if k != "flow_coupling"}
    assert HMRConfig.from_dict(legacy).flow_coupling == "additive"
    with pytest.raises(ValueError, match="flow_coupling must be one of additive, affine"):
        _keypoint_config(tiny_config, flow_coupling="spline")


def test_inputs_are_required(keypoint_model, tiny_config):
    model, _ = keypoint_model
    with pytest.raises(ValueError, match="takes 2D keypoints, none were given"):
        model.encode(None)
    with pytest.raises(ValueError, match="RGB"):
        HMRFlow(tiny_config()).encode(None)
    with pytest.raises(ValueError, match="an image is needed"):
        regress(HMRFlow(tiny_config()).eval(), None, keypoints=_people(), image_size=(640, 480))


def test_samples_carry_their_log_density(keypoint_model):
    model, _ = keypoint_model
    keypoints = torch.rand(3, 17, 2) * 32
    samples = model.sample(None, 5, keypoints=keypoints, generator=torch.Generator().manual_seed(1))
    features = model.encode(None, keypoints)
    for k in range(5):
        expected = model.flow_log_prob(samples.pose6d[:, k], features)
        torch.testing.assert_close(samples.log_prob[:, k], expected, atol=1e-3, rtol=1e-4)
    assert (samples.log_prob[:, :1] >= samples.log_prob[:, 1:] - 1e-3).all()  # additive coupling: z = 0 is the mode


def test_regress_from_keypoints_alone(keypoint_model):
    model, _ = keypoint_model
    hyps = regress(model, None, keypoints=_people(), n=4, image_size=(640, 480), seed=3)
    assert hyps.pose.shape == (2, 4, 72) and hyps.log_prob.shape == (2, 4) and hyps.betas.shape == (2, 4, 10)
    assert hyps.focal == pytest.approx(800.0)  # sqrt(640² + 480²)
    arrays = hyps.to_numpy()
    assert arrays["global_orient"].shape == (2, 4, 3) and arrays["body_pose"].shape == (2, 4, 69)
    assert arrays["transl"].shape == (2, 4, 3) and (arrays["transl"][..., 2] > 0).all()
    init = hyps.initialisation()
    assert init.betas is not None and init.betas.shape == (2, 4, 10)
    again = regress(model, None, keypoints=_people(), n=4, image_size=(640, 480), seed=3)
    torch.testing.assert_close(again.pose, hyps.pose)
    with pytest.raises(ValueError, match="image_size"):
        regress(model, None, keypoints=_people())


def test_conditional_prior_scores_each_persons_hypotheses(keypoint_model):
    model, _ = keypoint_model
    people = _people()
    prior = ConditionalPrior(model, people)
    hypotheses = 3
    generator = torch.Generator().manual_seed(4)
    body_pose = (relaxed_pose() + 0.2 * torch.randn(2 * hypotheses, 69, generator=generator)).requires_grad_(True)
    orient = axis_angle_to_matrix(0.5 * torch.randn(2 * hypotheses, 3, generator=generator))
    log_prob = prior.log_prob(body_pose, global_orient=orient)
    assert log_prob.shape == (6,) and torch.isfinite(log_prob).all()
    # person b // N's input conditions body b: the same as the model's own log_prob for that person
    hyps = regress(model, None, keypoints=people, n=1, image_size=(640, 480))
    for b in (0, 4):
        person = b // hypotheses
        crop_kp = (torch.from_numpy(people[person : person + 1, :, :2]) - hyps.crop_centres[person]) * 32 / hyps.crop_sizes[person] + 16
        pose = torch.cat([orient[b : b + 1, None], axis_angle_to_matrix(body_pose[b].detach().reshape(1, 23, 3))], 1)
        expected = model.log_prob(pose, None, crop_kp, torch.from_numpy(people[person : person + 1, :, 2]))
        torch.testing.assert_close(log_prob[b : b + 1].detach(), expected, atol=1e-3, rtol=1e-4)
    prior.loss(body_pose, global_orient=orient).sum().backward()
    assert torch.isfinite(body_pose.grad).all() and body_pose.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="multiple of 2 people"):
        prior.log_prob(body_pose[:5], global_orient=orient[:5])
    # one prior per person, joined, scores like the prior of both
    joined = ConditionalPrior.concatenate([ConditionalPrior(model, people[:1]), ConditionalPrior(model, people[1:])])
    torch.testing.assert_close(joined.log_prob(body_pose.detach(), global_orient=orient), log_prob.detach())
    # some of the bodies (what the fitter scores once it keeps fewer hypotheses): each against its own person
    rows = torch.tensor([1, 3, 5])
    some = prior.for_bodies(rows, 2 * hypotheses)
    torch.testing.assert_close(some.log_prob(body_pose.detach()[rows], global_orient=orient[rows]), log_prob.detach()[rows])


def test_training_on_generated_pairs_and_resume(tmp_path, tiny_config):
    generator = torch.Generator().manual_seed(5)
    poses = (relaxed_pose() + 0.3 * torch.randn(40, 69, generator=generator)).numpy()
    np.savez(tmp_path / "poses.npz", global_orient=np.zeros((40, 3), np.float32), body_pose=poses)
    np.savez(tmp_path / "split.npz", train=np.arange(30), val=np.arange(30, 40))
    settings = TrainSettings(data=tmp_path / "poses.npz", out=tmp_path / "kp.pt", epochs=1, batch_size=8,
                             steps_per_epoch=3, val_count=16, val_samples=5, progress=False)
    row = train(settings, _keypoint_config(tiny_config))
    assert row["epoch"] == 1 and row["step"] == 3 and np.isfinite(row["val_pa_mpjpe_mode"])
    settings.epochs, settings.resume = 2, True
    assert train(settings, _keypoint_config(tiny_config))["step"] == 6


def _coco_file(path, people: np.ndarray) -> None:
    path.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "street.jpg", "width": 640, "height": 480}],
        "annotations": [{"id": 10 + i, "image_id": 7, "category_id": 1, "iscrowd": 0,
                         "keypoints": [float(v) for v in p.flatten()]} for i, p in enumerate(people)],
    }))


def test_regress_command_needs_no_image(keypoint_model, tmp_path):
    _, weights = keypoint_model
    people = _people()
    people[..., 2] = np.where(people[..., 2] > 0, 2.0, 0.0)  # COCO visibility flags
    _coco_file(tmp_path / "kp.json", people)
    code = main(["regress", "--keypoints", str(tmp_path / "kp.json"), "-n", "3", "--out", str(tmp_path / "out"),
                 "--model-weights", str(weights)])
    assert code == 0
    with np.load(tmp_path / "out" / "street_hypotheses.npz") as data:
        assert data["global_orient"].shape == (2, 3, 3) and data["body_pose"].shape == (2, 3, 69)
        assert data["betas"].shape == (2, 3, 10) and data["transl"].shape == (2, 3, 3) and data["log_prob"].shape == (2, 3)
    assert not (tmp_path / "out" / "street_grid.png").exists()  # no image, no picture


def test_fit_command_with_the_conditional_prior(keypoint_model, tmp_path):
    _, weights = keypoint_model
    people = _people()[:1]
    people[..., 2] = np.where(people[..., 2] > 0, 2.0, 0.0)
    _coco_file(tmp_path / "kp.json", people)
    code = main(["fit", "--keypoints", str(tmp_path / "kp.json"), "--out", str(tmp_path / "out"), "--hypotheses", "2",
                 "--model-weights", str(weights)])
    assert code == 0
    with np.load(tmp_path / "out" / "street_params.npz") as params:
        assert str(params["prior"]) == "conditional" and np.isfinite(params["prior_log_prob"]).all()
        assert params["hypothesis_losses"].shape == (1, 2)


def test_conditional_fitting_encodes_each_image_once(keypoint_model, monkeypatch):
    """The default fit's hook gives each image's hypotheses and prior from one encoding, and the prior
    built from it is the one the keypoints give; given several images at once it encodes them together,
    and each image's hypotheses are those it gets alone."""
    from hmr_flow.fitting import KeypointImage
    from hmr_flow.models import ConditionalPrior, conditional_fitting

    model, _ = keypoint_model
    keypoints = _people()
    record = KeypointImage("x", keypoints, "coco17", [0, 1], image_size=(640, 480))
    calls = []
    encode = model.encode
    monkeypatch.setattr(model, "encode", lambda *a: calls.append(len(a[1])) or encode(*a))
    per_image = conditional_fitting(model, n=3, seed=0)
    own = per_image(record, None, 800.0, (640, 480))
    init, prior = own.init, own.prior
    assert init.num_hypotheses == 3 and calls == [2]
    torch.testing.assert_close(prior.features, ConditionalPrior(model, keypoints).features)
    assert not per_image.needs_image  # a keypoint model: the fit never decodes the photos for it
    other = KeypointImage("y", keypoints[1:], "coco17", [5], image_size=(1000, 500))
    both = per_image.for_images([(record, None, 800.0, (640, 480)), (other, None, 900.0, (1000, 500))])
    assert calls[-1] == 3  # the three people of both images in one encoding
    alone = per_image(other, None, 900.0, (1000, 500))
    for got, want in ((both[0], own), (both[1], alone)):
        for name in ("global_orient", "body_pose", "betas"):
            torch.testing.assert_close(getattr(got.init, name), getattr(want.init, name), atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(got.prior.features, want.prior.features, atol=1e-5, rtol=1e-5)
    # each image's own camera: the translations are those of regress of it alone
    from hmr_flow.models.regress import RegressInput, regress_images

    joint = regress_images(model, [RegressInput(None, None, 800.0, keypoints, (640, 480)),
                                   RegressInput(None, None, None, keypoints[1:], (1000, 500))], 3, seed=2)
    for got, (kp, focal, size) in zip(joint, ((keypoints, 800.0, (640, 480)), (keypoints[1:], None, (1000, 500)))):
        want = regress(model, None, None, 3, focal, kp, seed=2, image_size=size)
        torch.testing.assert_close(got.transl, want.transl, atol=1e-4, rtol=1e-4)
        assert got.focal == want.focal and torch.equal(got.principal_point, want.principal_point)


def test_conditional_samples_start_the_fit_of_init_from_prior(keypoint_model, monkeypatch):
    """``start="samples"`` (``fit --prior conditional --init-from prior``): the relaxed pose facing the
    camera and facing away, then the conditional model's own random samples at the given temperature
    (not the mode), and its prior, all from one encoding of the image's people."""
    from hmr_flow.fitting import KeypointImage, default_initialisation
    from hmr_flow.models import conditional_fitting

    model, _ = keypoint_model
    record = KeypointImage("x", _people(), "coco17", [0, 1], image_size=(640, 480))
    calls = []
    encode = model.encode
    monkeypatch.setattr(model, "encode", lambda *a: calls.append(1) or encode(*a))
    own = conditional_fitting(model, n=4, seed=3, temperature=0.5, start="samples")(record, None, 800.0, (640, 480))
    assert len(calls) == 1 and own.init.num_people == 2 and own.init.num_hypotheses == 4
    relaxed = default_initialisation(2, 2)
    torch.testing.assert_close(own.init.global_orient[:, :2], relaxed.global_orient)
    torch.testing.assert_close(own.init.body_pose[:, :2], relaxed.body_pose)
    drawn = regress(model, None, None, 3, 800.0, _people(), 0.5, 3, image_size=(640, 480))
    torch.testing.assert_close(own.init.global_orient[:, 2:], drawn.pose[:, 1:, :3])
    torch.testing.assert_close(own.init.body_pose[:, 2:], drawn.pose[:, 1:, 3:])
    assert not torch.allclose(own.init.body_pose[:, 2], drawn.pose[:, 0, 3:])  # samples, not the mode
    torch.testing.assert_close(own.prior.features, ConditionalPrior(model, _people()).features)
    with pytest.raises(ValueError, match="start"):
        conditional_fitting(model, start="mode")


def test_fit_command_init_from_prior_samples_the_conditional_prior(keypoint_model, tmp_path, monkeypatch):
    """``fit --prior conditional --init-from prior`` starts from the conditional model's samples at the fit's
    sampling temperature (it used to start from the relaxed pose plus noise) and fits with its prior."""
    import hmr_flow.models as models
    from hmr_flow.fitting import FitConfig

    _, weights = keypoint_model
    people = _people()[:1]
    people[..., 2] = np.where(people[..., 2] > 0, 2.0, 0.0)
    _coco_file(tmp_path / "kp.json", people)
    asked = []
    real = models.conditional_fitting
    monkeypatch.setattr(models, "conditional_fitting", lambda *a, **k: asked.append((a[1:], k)) or real(*a, **k))
    code = main(["fit", "--keypoints", str(tmp_path / "kp.json"), "--out", str(tmp_path / "out"), "--hypotheses", "3",
                 "--prior", "conditional", "--init-from", "prior", "--iterations", "6", "--model-weights", str(weights)])
    assert code == 0
    assert asked == [((3, 0, FitConfig().sample_temperature), {"start": "samples"})]
    with np.load(tmp_path / "out" / "street_params.npz") as params:
        assert str(params["prior"]) == "conditional" and np.isfinite(params["prior_log_prob"]).all()
        assert params["hypothesis_losses"].shape == (1, 3)


def test_regress_records_writes_the_images_with_people(keypoint_model, tmp_path):
    """The library's ``regress`` loop (beside ``fit_records``): one hypotheses file per image with people, in
    the order of the records, the empty ones skipped; the file holds what ``regress`` gives."""
    from hmr_flow.fitting import KeypointImage
    from hmr_flow.models import regress_records

    model, _ = keypoint_model
    records = [KeypointImage("a", _people(), "coco17", [0, 1], image_size=(640, 480)),
               KeypointImage.empty("b"),
               KeypointImage("c", _people()[1:], "coco17", [5], image_size=(640, 480))]
    regressed = regress_records(records, model, tmp_path, n=3, seed=2)
    assert [r.name for r in regressed] == ["a", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_hypotheses.npz", "c_hypotheses.npz"]
    want = regress(model, None, None, 3, None, _people()[1:], 1.0, 2, image_size=(640, 480)).to_numpy()
    with np.load(tmp_path / "c_hypotheses.npz") as got:
        for key in ("global_orient", "body_pose", "betas", "transl", "log_prob"):
            np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6)


def test_pose_set_licence_follows_the_training_subjects(tmp_path):
    """Exported keypoint models name their data's licence: HDM05's share-alike terms only when an HDM05 actor
    (id > 1000) is in the pose set's training split."""
    from hmr_flow.data.keypoint_pairs import pose_set_licence

    np.savez(tmp_path / "poses.npz", body_pose=np.zeros((4, 69), np.float32), subject=np.array([1, 2, 1001, 1002]))
    np.savez(tmp_path / "split.npz", train=np.array([0, 1]), val=np.array([2, 3]))
    assert "CMU" in pose_set_licence(tmp_path / "poses.npz") and "CC BY-SA" not in pose_set_licence(tmp_path / "poses.npz")
    np.savez(tmp_path / "split.npz", train=np.array([0, 2]), val=np.array([1, 3]))
    assert "CC BY-SA 3.0" in pose_set_licence(tmp_path / "poses.npz")
