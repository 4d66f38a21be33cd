"""``scaled_config`` (quicker/longer fits), the fit's defaults shared by library and command, and
``keypoint_agreement`` (PCK of a fit)."""

from __future__ import annotations

import numpy as np
import pytest

from hmr_flow.fitting import DEFAULT_STAGES, FitConfig, KeypointImage, keypoint_agreement, keypoint_error_px, scaled_config


def test_scaled_config_spreads_steps_over_the_stages():
    config = scaled_config(150, FitConfig(learning_rate=0.05))
    assert [s.name for s in config.stages] == [s.name for s in DEFAULT_STAGES]
    assert [s.iterations for s in config.stages] == [30, 60, 60]  # default 60/120/120, halved
    assert config.learning_rate == 0.05 and config.stages[1].prior_scale == DEFAULT_STAGES[1].prior_scale
    assert [s.iterations for s in scaled_config(3).stages] == [1, 1, 1]
    with pytest.raises(ValueError, match="iterations"):
        scaled_config(2)


def test_keypoint_agreement_hand_computed():
    # one person, box of the confident keypoints 100 × 50 px → threshold 0.1 · 100 = 10 px
    observed = np.array([[[0, 0, 1], [100, 0, 1], [100, 50, 1], [50, 25, 0]]], dtype=np.float32)
    fitted = np.array([[[5, 5], [100, 11], [109, 50], [500, 500]]], dtype=np.float32)  # 7.1, 11, 9 px; last ignored
    record = KeypointImage("p", observed, "coco17", [0])
    assert keypoint_agreement(record, fitted).tolist() == pytest.approx([2 / 3])
    # threshold 0.05 · 100 = 5 px: none of 7.1, 11, 9 px; mean distance over the three confident ones
    assert keypoint_agreement(record, fitted, alpha=0.05).tolist() == pytest.approx([0.0])
    assert keypoint_error_px(record, fitted).tolist() == pytest.approx([(50**0.5 + 11 + 9) / 3], rel=1e-5)


def test_the_library_and_the_command_fit_with_the_same_defaults(tmp_path):
    """One place for the fit's defaults: ``hmr-flow fit`` without options fits with ``FitConfig()``, whose
    schedule is the SMPLify proportions in 60 steps, 4 hypotheses, samples at 0.5, each optimiser's step."""
    from hmr_flow.cli import COMMAND_MODULES, build_parser
    from hmr_flow.commands.fit import _config
    from hmr_flow.fitting import DEFAULT_ITERATIONS, SMPLIFY_STAGES, FitOptions

    parser = build_parser("hmr-flow", "test", [f"hmr_flow.commands.{name}" for name in COMMAND_MODULES])
    args = parser.parse_args(["fit", "--keypoints", str(tmp_path / "k.json"), "--out", str(tmp_path / "o")])
    assert _config(args) == FitConfig() == FitOptions().config
    assert args.hypotheses == FitConfig().num_hypotheses == 4 and args.iterations == DEFAULT_ITERATIONS == 60
    assert [s.iterations for s in DEFAULT_STAGES] == [12, 24, 24]
    assert [s.iterations for s in SMPLIFY_STAGES] == [60, 120, 120]
    assert FitConfig().sample_temperature == 0.5
    assert FitConfig().learning_rate == 0.02 and FitConfig(optimizer="lbfgs").learning_rate == 1.0
    lbfgs = parser.parse_args(["fit", "--keypoints", "k.json", "--out", "o", "--optimizer", "lbfgs", "-n", "2"])
    assert _config(lbfgs) == FitConfig(optimizer="lbfgs", num_hypotheses=2)
