"""``hmr-flow fit`` on real COCO photos with their annotated keypoints (needs ../shared/data)."""

from __future__ import annotations

import re

import cv2
import numpy as np
import trimesh

from hmr_flow.cli import main
from hmr_flow.fitting import read_keypoints

#: Mean over people of PCK@0.1 measured at 150 iterations × 2 hypotheses with the flow prior: 0.918
#: (16 people, 5 photos, seed 0).
PCK_BOUND = 0.80


def test_fit_coco_photos(shared_data, tmp_path, capsys):
    coco = shared_data / "images" / "coco"
    argv = ["fit", "--keypoints", str(coco / "person_keypoints.json"), "--images", str(coco), "--out", str(tmp_path),
            "--prior", "flow", "-n", "2", "--iterations", "150", "--overlays", "--threads", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    records = [r for r in read_keypoints(coco / "person_keypoints.json", coco, 6) if r.person_ids]
    assert len(records) == 5 and "fitted 16 people in 5 images" in printed
    for record in records:
        people = len(record.person_ids)
        with np.load(tmp_path / f"{record.name}_params.npz") as params:
            assert params["body_pose"].shape == (people, 69) and params["transl"].shape == (people, 3)
            assert np.isfinite(params["joints"]).all() and (params["transl"][:, 2] > 0).all()  # in front of the camera
        photo = cv2.imread(str(record.image_path))
        overlay = cv2.imread(str(tmp_path / f"{record.name}_overlay.png"))
        assert overlay.shape == (photo.shape[0], 3 * photo.shape[1], 3)
        for person in record.person_ids:
            mesh = trimesh.load(tmp_path / f"{record.name}_{person}.ply", process=False)
            assert len(mesh.faces) > 20_000
    # per person "<PCK@0.1> % / <PCK@0.05> %, <distance> px": the first figure is PCK@0.1
    agreement = [float(value) / 100 for line in printed.splitlines() if "mean distance:" in line
                 for value in re.findall(r"(\d+) % / \d+ %", line.split("mean distance:")[1])]
    assert len(agreement) == 16
    assert np.mean(agreement) >= PCK_BOUND
