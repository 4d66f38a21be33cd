"""Fitting recovers known poses; the flow prior helps under occlusion; inputs are checked."""

from dataclasses import replace

import pytest
import torch
from fitting_cases import CENTRE, FOCAL, frontal_pose, render_keypoints

from hmr_flow.body import JOINT_NAMES
from hmr_flow.fitting import FitConfig, Initialisation, Stage, default_initialisation, fit_people, relaxed_pose
from hmr_flow.fitting.schedule import PARAMETERS
from hmr_flow.metrics import pa_mpjpe

FAST = FitConfig(
    stages=(
        Stage("camera", 40, ("transl", "global_orient"), torso_only=True, depth_weight=100.0),
        Stage("body", 100, PARAMETERS, prior_scale=4.0),
        Stage("refine", 100, PARAMETERS),
    )
)


def test_noise_free_frontal_pose_is_recovered(keypoint_body):
    keypoints, joints = render_keypoints(keypoint_body, frontal_pose()[None])
    result = fit_people(keypoint_body, keypoints, "coco17", FOCAL, CENTRE, num_hypotheses=2, config=FAST, progress=False)
    assert 1000 * pa_mpjpe(result.joints, joints).item() < 20.0
    assert (result.keypoints_2d - keypoints[..., :2]).norm(dim=-1).mean().item() < 2.0
    assert abs(result.transl[0, 2].item() - 5.0) < 0.3
    # Both hypotheses are reported; the facing-camera one (index 0) wins.
    assert result.hypothesis_losses.shape == (1, 2) and result.best_hypothesis.item() == 0
    assert result.hypothesis_losses[0, 0] < result.hypothesis_losses[0, 1]


def test_body25_and_custom_initialisation(keypoint_body):
    keypoints, joints = render_keypoints(keypoint_body, frontal_pose()[None].repeat(2, 1), fmt="body25")
    keypoints[1, :, :2] += torch.tensor([150.0, 0.0])  # second person elsewhere in the image
    init = Initialisation(default_initialisation(2, 1).global_orient, frontal_pose().expand(2, 1, 69).clone())
    result = fit_people(keypoint_body, keypoints, "body25", FOCAL, CENTRE, init=init, config=FAST, progress=False)
    assert result.joints.shape == (2, 24, 3) and result.keypoints_2d.shape == (2, 25, 2)
    assert 1000 * pa_mpjpe(result.joints, joints).max().item() < 20.0
    assert result.transl[1, 0] - result.transl[0, 0] > 0.3  # shifted right in the image → larger x


def _bent_pose() -> torch.Tensor:
    """Limbs bent towards the camera (depth-ambiguous in 2D)."""
    pose = relaxed_pose(1.2).view(23, 3).clone()
    joint = JOINT_NAMES.index
    pose[joint("left_elbow") - 1, 1] = 1.2
    pose[joint("right_elbow") - 1, 1] = -1.0
    pose[joint("left_hip") - 1, 0] = -0.7
    pose[joint("left_knee") - 1, 0] = 1.0
    pose[joint("right_knee") - 1, 0] = 0.3
    return pose.reshape(69)


def test_flow_prior_beats_no_prior_under_occlusion(keypoint_body):
    from hmr_flow.prior import DEFAULT_PATHS, load_prior

    if not DEFAULT_PATHS["flow"].is_file():
        pytest.skip(f"shipped flow prior not found at {DEFAULT_PATHS['flow']}")
    keypoints, joints = render_keypoints(keypoint_body, _bent_pose()[None], yaw=0.4)
    hidden = [9, 15]  # left wrist, left ankle
    keypoints[0, hidden, 2] = 0.0
    init = default_initialisation(1, 2)
    errors = {}
    for kind in ("flow", "none"):
        result = fit_people(keypoint_body, keypoints, "coco17", FOCAL, CENTRE, prior=load_prior(kind), init=init,
                            config=FAST, progress=False)
        errors[kind] = 1000 * pa_mpjpe(result.joints, joints).item()
    assert errors["flow"] < errors["none"], errors


@pytest.mark.parametrize(
    ("keypoints", "fmt", "message"),
    [
        (torch.zeros(1, 25, 3), "coco17", r"expected \(P, 17, 3\)"),
        (torch.full((1, 17, 3), float("nan")), "coco17", "NaN"),
        (torch.zeros(1, 17, 3), "coco17", "at least two keypoints"),
        (torch.ones(1, 17, 3), "mpii", "keypoint_format"),
    ],
)
def test_bad_keypoints(keypoint_body, keypoints, fmt, message):
    with pytest.raises(ValueError, match=message):
        fit_people(keypoint_body, keypoints, fmt, FOCAL, CENTRE, progress=False)


def test_initialisation_shapes_checked():
    with pytest.raises(ValueError, match="body_pose: expected"):
        Initialisation(torch.zeros(2, 3, 3), torch.zeros(2, 2, 69))


def test_seeded_fit_with_a_sampling_prior_is_reproducible(keypoint_body, flow_prior):
    keypoints, _ = render_keypoints(keypoint_body, _bent_pose()[None])
    quick = FitConfig(stages=(Stage("body", 3, PARAMETERS),))

    def fit(seed: int):
        torch.manual_seed(1000 + seed)  # the global RNG must not matter
        return fit_people(keypoint_body, keypoints, "coco17", FOCAL, CENTRE, prior=flow_prior, num_hypotheses=4,
                          config=quick, progress=False, generator=torch.Generator().manual_seed(seed % 2))

    first, again, other = fit(0), fit(2), fit(1)
    assert torch.equal(first.hypothesis_losses, again.hypothesis_losses)
    assert not torch.equal(first.hypothesis_losses, other.hypothesis_losses)


def test_a_stage_keep_stops_the_worse_hypotheses_and_the_others_go_on_unchanged(keypoint_body, flow_prior):
    """After a stage with ``keep``, only each person's best hypothesis takes more steps: it ends where a fit of
    that hypothesis alone ends (the bodies of a batch are independent), and the dropped ones keep the
    parameters they had at that stage's end."""
    keypoints, _ = render_keypoints(keypoint_body, torch.stack([_bent_pose(), frontal_pose()]), yaw=0.3)
    init = default_initialisation(2, 3, generator=torch.Generator().manual_seed(0))
    camera = Stage("camera", 4, ("transl", "global_orient"), torso_only=True, depth_weight=100.0)
    body = Stage("body", 4, PARAMETERS)

    def fit(stages, start=init):
        return fit_people(keypoint_body, keypoints, "coco17", FOCAL, CENTRE, prior=flow_prior, init=start,
                          config=FitConfig(stages=stages), progress=False)

    first, kept = fit((camera,)), fit((replace(camera, keep=1), body))
    ranked = first.hypothesis_losses.argmin(dim=1)  # each person's best after the camera stage
    assert torch.equal(kept.best_hypothesis, ranked)
    people = torch.arange(2)
    alone = fit((camera, body), Initialisation(init.global_orient[people, ranked, None], init.body_pose[people, ranked, None]))
    for name in ("global_orient", "body_pose", "betas", "transl", "joints", "loss"):
        torch.testing.assert_close(getattr(kept, name), getattr(alone, name), atol=1e-5, rtol=1e-5)
    dropped = torch.ones(2, 3, dtype=torch.bool)
    dropped[people, ranked] = False
    torch.testing.assert_close(kept.hypothesis_losses[dropped], first.hypothesis_losses[dropped])
    assert not torch.allclose(kept.hypothesis_losses[~dropped], first.hypothesis_losses[~dropped])  # these went on
    with pytest.raises(ValueError, match="keep"):
        Stage("camera", 1, ("transl",), keep=0)
