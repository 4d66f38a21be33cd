"""What each writer of the project writes is identified as its kind (``hmr_flow.validation.file_kinds``), so the
output rules tell an earlier output of the same kind from a file of another kind; and the limits of
``hmr_flow.validation.memory`` against hand-made figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hmr_flow.cli import main
from hmr_flow.files import save_npz, write_text
from hmr_flow.validation import file_kinds as kinds
from hmr_flow.validation import identify
from hmr_flow.validation import memory


def test_priors_checkpoints_states_and_logs(tmp_path, flow_prior):
    from hmr_flow.models.checkpoint import save_checkpoint
    from hmr_flow.prior import load_prior
    from hmr_flow.training import MetricsLog, save_training_state

    flow_prior.save(tmp_path / "flow.pt")
    load_prior("gmm").save(tmp_path / "gmm.npz")
    save_checkpoint(tmp_path / "hmr.pt", {"config": {}, "model": {"w": torch.zeros(2)}})
    save_training_state({"model": {}, "epoch": 1, "best_val_nll": 3.0}, tmp_path / "prior.state.pt")
    MetricsLog(tmp_path / "prior.log.csv", resume=False).append({"epoch": 1, "val_nll": 2.5})
    found = {name: identify(tmp_path / name) for name in ("flow.pt", "gmm.npz", "hmr.pt", "prior.state.pt",
                                                          "prior.log.csv")}
    assert found == {"flow.pt": kinds.FLOW_PRIOR, "gmm.npz": kinds.GMM_PRIOR, "hmr.pt": kinds.HMR_CHECKPOINT,
                     "prior.state.pt": kinds.TRAINING_STATE, "prior.log.csv": kinds.TRAINING_LOG}


def test_every_shipped_prior_is_its_kind():
    from hmr_flow.prior import PRIOR_KINDS

    shipped = {kind: identify(entry.weights) for kind, entry in PRIOR_KINDS.items() if entry.weights is not None}
    assert shipped == {kind: kinds.PRIOR_FILES[kind] for kind in shipped} and kinds.CNF_PRIOR in shipped.values()


def test_command_outputs(tmp_path):
    """``prior sample``/``score``, ``fit`` and ``regress`` outputs, as the commands write them."""
    standing = [(320, 80), (310, 70), (330, 70), (300, 75), (340, 75), (280, 130), (360, 130), (260, 200), (380, 200),
                (250, 260), (390, 260), (295, 260), (345, 260), (290, 360), (350, 360), (290, 450), (350, 450)]
    coco = tmp_path / "people.json"
    coco.write_text(json.dumps({"images": [{"id": 1, "file_name": "pair.jpg", "width": 640, "height": 480}],
                                "annotations": [{"id": 0, "image_id": 1, "keypoints": [v for x, y in standing
                                                                                       for v in (x, y, 2)]}]}))
    assert main(["prior", "sample", "-n", "2", "--out", str(tmp_path / "s.npz")]) == 0
    assert main(["prior", "score", "--poses", str(tmp_path / "s.npz"), "--out", str(tmp_path / "s.csv")]) == 0
    assert main(["fit", "--keypoints", str(coco), "--out", str(tmp_path / "fit"), "--prior", "none", "-n", "1",
                 "--iterations", "4"]) == 0
    assert main(["regress", "--keypoints", str(coco), "-n", "2", "--out", str(tmp_path / "regress")]) == 0
    assert identify(tmp_path / "s.npz") is kinds.POSE_SAMPLES
    assert identify(tmp_path / "s.csv") is kinds.POSE_SCORES
    assert identify(tmp_path / "fit" / "pair_params.npz") is kinds.FIT_PARAMETERS
    assert identify(tmp_path / "fit" / "pair_0.ply") is kinds.MESH
    assert identify(tmp_path / "regress" / "pair_hypotheses.npz") is kinds.HYPOTHESES
    assert identify(coco) is kinds.KEYPOINTS


def test_pose_sets_body_models_and_other_files(tmp_path):
    from data_tools.mocap.convert import ConvertedClip
    from data_tools.mocap.dataset import pack_clips
    from hmr_flow.body import default_model_path

    frames = 2
    clip = ConvertedClip(np.zeros((frames, 3)), np.zeros((frames, 69)), np.zeros((frames, 3)), np.zeros((frames, 10)),
                         np.arange(frames), np.zeros((frames, 15)), "c", 1, "cmu_mb31", "c.bvh", 30.0, 120.0, 1.0)
    save_npz(pack_clips([clip]), tmp_path / "poses.npz")
    assert identify(tmp_path / "poses.npz") is kinds.MOCAP_POSES
    assert identify(default_model_path()) is kinds.BODY_MODEL
    np.save(tmp_path / "poses.npy", np.zeros((2, 69)))
    assert identify(tmp_path / "poses.npy") is kinds.POSES
    save_npz({"a": np.zeros(2)}, tmp_path / "other.npz")
    assert identify(tmp_path / "other.npz") == "a numpy .npz archive (arrays: a)"
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    assert identify(tmp_path / "list.pt") == "a torch file"
    write_text(tmp_path / "notes.txt", "hello")
    assert identify(tmp_path / "notes.txt") == "a text file"
    assert identify(tmp_path / "missing") is None and identify(tmp_path) is None


def test_memory_limit_names_both_figures(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 10_000_000_000)  # 10 GB
    memory.check_memory("-n 1000", "sampling", 7_900_000_000)  # under 80 %
    with pytest.raises(ValueError, match=r"-n 2000: sampling needs about 8.1 GB of memory, more than the 10 GB "
                                         r"available"):
        memory.check_memory("-n 2000", "sampling", 8_100_000_000)
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # unknown: no limit
    memory.check_memory("-n 1", "sampling", 1e30)
    assert [memory.format_bytes(n) for n in (512, 1.5e6, 2.9e13)] == ["512 B", "1.5 MB", "29 TB"]


def test_threads_are_capped_at_the_cores(monkeypatch):
    monkeypatch.setattr(memory, "cpu_cores", lambda: 4)
    assert memory.capped_threads(3) == (3, None)
    assert memory.capped_threads(999) == (4, "--threads 999: more than the 4 cores of this machine; using 4")
