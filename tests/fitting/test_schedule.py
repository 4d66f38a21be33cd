"""``scaled_config`` (quicker/longer fits) and ``keypoint_agreement`` (PCK of a written fit)."""

from __future__ import annotations

import numpy as np
import pytest

from hmr_flow.fitting import DEFAULT_STAGES, FitConfig, KeypointImage, keypoint_agreement, scaled_config


def test_scaled_config_spreads_steps_over_the_stages():
    config = scaled_config(150, FitConfig(learning_rate=0.05))
    assert [s.name for s in config.stages] == [s.name for s in DEFAULT_STAGES]
    assert [s.iterations for s in config.stages] == [30, 60, 60]  # default 60/120/120, halved
    assert config.learning_rate == 0.05 and config.stages[1].prior_scale == DEFAULT_STAGES[1].prior_scale
    assert [s.iterations for s in scaled_config(3).stages] == [1, 1, 1]
    with pytest.raises(ValueError, match="iterations"):
        scaled_config(2)


def test_keypoint_agreement_hand_computed(tmp_path):
    # one person, box of the confident keypoints 100 × 50 px → threshold 0.1 · 100 = 10 px
    observed = np.array([[[0, 0, 1], [100, 0, 1], [100, 50, 1], [50, 25, 0]]], dtype=np.float32)
    fitted = np.array([[[5, 5], [100, 11], [109, 50], [500, 500]]], dtype=np.float32)  # 7.1, 11, 9 px; last ignored
    np.savez(tmp_path / "p_params.npz", keypoints_2d=fitted)
    record = KeypointImage("p", observed, "coco17", [0])
    assert keypoint_agreement(record, tmp_path / "p_params.npz").tolist() == pytest.approx([2 / 3])
