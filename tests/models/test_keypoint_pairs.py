"""Generated keypoint → pose pairs: consistent ground truth, the corruption asked for, reproducible streams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hmr_flow.body import BodyModel
from hmr_flow.data.keypoint_pairs import BENCHMARK_CORRUPTION, Corruption, KeypointPairs, PairSet, PairStream, load_split_poses
from hmr_flow.body.keypoint_body import KeypointBody
from hmr_flow.fitting.initialisation import relaxed_pose
from hmr_flow.geometry import axis_angle_to_matrix, project_points

CLEAN = Corruption(noise=0.0, heavy_tail=0.0, missing=0.0, limb=0.0, swap=0.0, swap_back=0.0, outlier=0.0, binary_confidence=1.0)


@pytest.fixture(scope="module")
def keypoint_body() -> KeypointBody:
    return KeypointBody(BodyModel())


@pytest.fixture(scope="module")
def bank() -> tuple[torch.Tensor, torch.Tensor]:
    """A small bank of upright poses with some variety (world frame, Y up)."""
    generator = torch.Generator().manual_seed(0)
    body_pose = relaxed_pose() + 0.3 * torch.randn(64, 69, generator=generator)
    return torch.zeros(64, 3), body_pose


def test_ground_truth_is_consistent(keypoint_body, bank):
    """Posing the stored parameters reproduces the stored joints, and the crop camera projects them
    onto the stored 2D keypoints, which sit (without corruption) on the model's input keypoints."""
    pairs = KeypointPairs(keypoint_body, *bank, size=48, corruption=CLEAN)
    batch = pairs.batch(32, torch.Generator().manual_seed(1))
    rotmats = torch.cat([axis_angle_to_matrix(batch["global_orient"])[:, None],
                         axis_angle_to_matrix(batch["body_pose"].reshape(-1, 23, 3))], 1)
    points = keypoint_body(rotmats, batch["betas"], batch["transl"])
    torch.testing.assert_close(points[:, :24], batch["joints3d"], atol=1e-4, rtol=1e-4)
    coco = torch.einsum("ks,bsc->bkc", keypoint_body.coco17_matrix, points)
    torch.testing.assert_close(project_points(coco, batch["focal"], (24.0, 24.0)), batch["keypoints2d"], atol=1e-3, rtol=1e-4)
    inside = batch["visibility"] == 2
    offset = (batch["input_keypoints"] - batch["keypoints2d"]).norm(dim=-1)[inside]
    assert offset.mean() < 1.0 and offset.max() < 6.0  # perspective of off-centre people (wide lenses) only
    assert (batch["input_confidence"][inside] == 1).all() and (batch["input_confidence"][~inside] == 0).all()
    # the people fill the keypoint crop as the framing says: inside [0, 48], box ≈ 48 / (1.3 · 1.15)
    visible = batch["input_keypoints"][inside]
    assert visible.min() >= 0 and visible.max() <= 48
    assert (batch["image_keypoints"][..., 2] == batch["input_confidence"]).all()


def test_benchmark_corruption(keypoint_body, bank):
    """σ = 5 px in the image and exactly 30 % (5 of 17) of the in-image keypoints hidden per person."""
    pairs = KeypointPairs(keypoint_body, *bank, size=48, corruption=BENCHMARK_CORRUPTION)
    clean = KeypointPairs(keypoint_body, *bank, size=48, corruption=CLEAN)
    noisy = pairs.batch(200, torch.Generator().manual_seed(2))
    truth = clean.batch(200, torch.Generator().manual_seed(2))  # same draws before the corruption
    hidden = (noisy["input_confidence"] == 0) & (truth["visibility"] == 2)
    full = (truth["visibility"] == 2).all(1)
    assert (hidden[full].sum(1) == 5).all()
    kept = noisy["input_confidence"] > 0
    error = (noisy["image_keypoints"][..., :2] - truth["image_keypoints"][..., :2])[kept]
    assert 4.5 < error.std().item() < 5.5


def test_default_corruption_spoils_like_a_detector(keypoint_body, bank):
    batch = KeypointPairs(keypoint_body, *bank, size=48).batch(2000, torch.Generator().manual_seed(3))
    confidence = batch["input_confidence"]
    missing = (confidence == 0).float().mean(1)
    assert 0.1 < missing.mean() < 0.45 and missing.max() <= 1 - 4 / 17  # at least four keypoints kept
    low = (confidence > 0) & (confidence <= 0.3)  # outliers
    assert 0.003 < low.float().mean() < 0.05
    assert ((confidence > 0.3) & (confidence < 1)).any() and (confidence == 1).any()


def test_streams_are_reproducible_per_epoch(keypoint_body, bank):
    pairs = KeypointPairs(keypoint_body, *bank, size=48)
    stream = PairStream(pairs, batch_size=4, steps=2, seed=5)
    first = [b["input_keypoints"] for b in stream]
    again = [b["input_keypoints"] for b in stream]
    stream.set_epoch(1)
    other = [b["input_keypoints"] for b in stream]
    assert len(first) == len(stream) == 2
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])
    fixed = PairSet(pairs, 10, seed=7, chunk=4)
    assert len(fixed) == 10 and torch.equal(fixed[3]["body_pose"], PairSet(pairs, 10, seed=7)[3]["body_pose"])


def test_split_loading_names_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="poses.npz: not found"):
        load_split_poses(tmp_path / "poses.npz", "train")
    np.savez(tmp_path / "poses.npz", global_orient=np.zeros((5, 3), np.float32), body_pose=np.ones((5, 69), np.float32),
             clip=np.array([0, 0, 0, 0, 1]))
    np.savez(tmp_path / "split.npz", train=np.array([0, 2, 4]), val=np.array([], dtype=np.int64))
    orient, pose, weights = load_split_poses(tmp_path / "poses.npz", "train")
    assert orient.shape == (3, 3) and pose.shape == (3, 69) and weights is None
    _, _, weights = load_split_poses(tmp_path / "poses.npz", "train", balance=True)
    torch.testing.assert_close(weights, torch.tensor([0.5, 0.5, 1.0]))  # clip 0 has two frames, clip 1 one
    with pytest.raises(ValueError, match="'val' split is empty"):
        load_split_poses(tmp_path / "poses.npz", "val")


def test_pose_augment_mirror_and_arm_recombination(keypoint_body, bank):
    """``mirror = 1`` trains on the mirror image of the drawn frame; ``recombine_arms = 1`` keeps the
    frame's legs, trunk and head and takes both arms whole from another frame of the bank; with the
    augmentation off the pairs are those of before (nothing extra drawn)."""
    from hmr_flow.body.skeleton import mirror_pose
    from hmr_flow.data.keypoint_pairs import ARM_JOINTS, PoseAugment

    orient, body_pose = bank
    plain = KeypointPairs(keypoint_body, orient, body_pose, size=48, corruption=CLEAN)
    rows = plain._rows(16, torch.Generator().manual_seed(3))
    _, same = plain._augmented(rows, torch.Generator())
    torch.testing.assert_close(same, body_pose[rows], rtol=0, atol=0)

    mirrored = KeypointPairs(keypoint_body, orient, body_pose, size=48, corruption=CLEAN, augment=PoseAugment(mirror=1.0))
    world, flipped = mirrored._augmented(rows, torch.Generator().manual_seed(4))
    torch.testing.assert_close(flipped, mirror_pose(body_pose[rows].reshape(16, 23, 3)).reshape(16, 69))
    torch.testing.assert_close(world, torch.eye(3).expand(16, 3, 3))  # zero orientation mirrors to itself

    mixed = KeypointPairs(keypoint_body, orient, body_pose, size=48, corruption=CLEAN,
                          augment=PoseAugment(recombine_arms=1.0))
    _, recombined = mixed._augmented(rows, torch.Generator().manual_seed(5))
    recombined, original = recombined.reshape(16, 23, 3), body_pose[rows].reshape(16, 23, 3)
    others = [j for j in range(23) if j not in ARM_JOINTS]
    torch.testing.assert_close(recombined[:, others], original[:, others], rtol=0, atol=0)
    arms = recombined[:, list(ARM_JOINTS)].reshape(16, -1)
    bank_arms = body_pose.reshape(-1, 23, 3)[:, list(ARM_JOINTS)].reshape(len(body_pose), -1)
    assert all((bank_arms == arm).all(1).any() for arm in arms)  # each arm set is one frame's, whole
    assert not torch.equal(recombined[:, list(ARM_JOINTS)], original[:, list(ARM_JOINTS)])
    with pytest.raises(ValueError, match="mirror: a probability"):
        PoseAugment(mirror=1.5)


def test_pose_augment_bends_the_trunk_sideways(keypoint_body):
    """``bend_sideways = 1`` on rest poses: each trunk joint turns by the same θ/3 about the forward axis z
    (|θ| ≤ ``bend_degrees``, both directions drawn), nothing else moves, and the neck leans sideways from
    the pelvis the same way by about 0.7 θ (the pelvis → spine1 segment stays upright)."""
    from hmr_flow.body.skeleton import JOINT_NAMES
    from hmr_flow.data.keypoint_pairs import TRUNK_JOINTS, PoseAugment

    count = 64
    rest = torch.zeros(count, 69)
    bending = KeypointPairs(keypoint_body, torch.zeros(count, 3), rest, size=48, corruption=CLEAN,
                            augment=PoseAugment(bend_sideways=1.0, bend_degrees=40.0))
    world, bent = bending._augmented(torch.arange(count), torch.Generator().manual_seed(6))
    bent = bent.reshape(count, 23, 3)
    trunk = bent[:, list(TRUNK_JOINTS)]
    torch.testing.assert_close(trunk[..., :2], torch.zeros(count, 3, 2), rtol=0, atol=1e-6)
    torch.testing.assert_close(trunk[..., 2], trunk[:, :1, 2].expand(-1, 3))  # θ/3 each
    theta = torch.rad2deg(3 * trunk[:, 0, 2])
    assert theta.abs().max() <= 40.0 + 1e-4 and theta.min() < -20 and theta.max() > 20
    others = [j for j in range(23) if j not in TRUNK_JOINTS]
    assert torch.equal(bent[:, others], torch.zeros(count, len(others), 3))
    rotmats = torch.cat([world[:, None], axis_angle_to_matrix(bent)], 1)
    joints = keypoint_body(rotmats, torch.zeros(count, 10), torch.zeros(count, 3))
    trunk_vector = joints[:, JOINT_NAMES.index("neck")] - joints[:, 0]
    lean = torch.rad2deg(torch.atan2(-trunk_vector[:, 0], trunk_vector[:, 1]))
    ratio = lean[theta.abs() > 5] / theta[theta.abs() > 5]
    assert ratio.min() > 0.6 and ratio.max() < 0.85
    with pytest.raises(ValueError, match="bend_degrees"):
        PoseAugment(bend_sideways=0.5, bend_degrees=120.0)
