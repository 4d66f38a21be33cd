"""``demo/fit_images.py`` on real COCO photos with their annotated keypoints (needs ../shared/data)."""

from __future__ import annotations

import cv2
import numpy as np
import trimesh


#: Mean over people of PCK@0.1 measured at 150 iterations × 2 hypotheses: 0.918 (16 people, 5 photos, seed 0).
PCK_BOUND = 0.80


def test_fit_coco_photos(fit_images, shared_data, tmp_path):
    coco = shared_data / "images" / "coco"
    results = fit_images.fit_images(coco / "person_keypoints.json", coco, tmp_path, hypotheses=2, iterations=150)
    assert len(results) == 5
    agreement = []
    for record, pck in results:
        people = len(record.person_ids)
        with np.load(tmp_path / f"{record.name}_params.npz") as params:
            assert params["body_pose"].shape == (people, 69) and params["transl"].shape == (people, 3)
            assert np.isfinite(params["joints"]).all() and (params["transl"][:, 2] > 0).all()  # in front of the camera
        photo = cv2.imread(str(record.image_path))
        overlay = cv2.imread(str(tmp_path / f"{record.name}_overlay.png"))
        assert overlay.shape == (photo.shape[0], 3 * photo.shape[1], 3)
        for person in record.person_ids:
            mesh = trimesh.load(tmp_path / f"{record.name}_{person}.obj", process=False)
            assert len(mesh.faces) > 20_000
        agreement.extend(pck.tolist())
    assert len(agreement) == 16
    assert np.mean(agreement) >= PCK_BOUND
