"""Render synthetic training images with exact ground truth (pyrender offscreen, EGL).

:class:`SynthRenderer` owns one ``pyrender.OffscreenRenderer`` and one :class:`BodyModel`; every
worker process makes its own. For a batch of mocap poses it runs the body model once, then per
image: places the body in front of a random camera, dresses it (:mod:`.appearance`), lights it,
adds optional occluders, renders RGBA + depth, composites over a random background
(:mod:`.backgrounds`), adds sensor noise, and computes keypoints, visibility
(:mod:`.visibility`), silhouette and bounding box. Conventions: see :mod:`hmr_flow.data.synth_format`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import scipy.sparse
import torch
import trimesh

from data_tools.synth.appearance import BodyRegions, sample_vertex_colours
from data_tools.synth.backgrounds import random_background
from data_tools.synth.sampling import (
    Light,
    Occluder,
    PoseItem,
    SceneConfig,
    camera_rotation,
    place_body,
    sample_betas,
    sample_focal_and_fill,
    sample_lights,
    sample_occluders,
)
from data_tools.synth.visibility import keypoint_visibility
from hmr_flow.body import BodyModel
from hmr_flow.data.augment import mask_bbox
from hmr_flow.data.synth_format import encode_jpeg
from hmr_flow.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from hmr_flow.render import load_pyrender, offscreen_renderer

pyrender = load_pyrender()  # this module renders: PYOPENGL_PLATFORM defaults to egl here

#: OpenCV camera frame → OpenGL camera frame (pyrender looks down −z with y up).
_CV_TO_GL = np.array([1.0, -1.0, -1.0])


def _light_pose(direction_cv: np.ndarray) -> np.ndarray:
    """4×4 GL pose of a directional light shining along ``direction_cv`` (camera frame)."""
    forward = direction_cv * _CV_TO_GL
    z = -forward / np.linalg.norm(forward)
    helper = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    return pose


class SynthRenderer:
    """Renders images of ``size × size`` pixels for a given ``seed`` (see :meth:`render`).

    Args:
        size: crop side S in pixels (a multiple of 8).
        seed: base seed; image ``index`` uses ``np.random.default_rng([seed, index])``.
        config: random ranges; model_path: SMPL-format file (default: the open body model).
        supersample: render at ``supersample · S`` and area-average down (anti-aliasing).
    """

    def __init__(self, size: int, seed: int, config: SceneConfig = SceneConfig(), model_path: str | Path | None = None,
                 supersample: int = 2):
        if size <= 0 or size % 8:
            raise ValueError(f"size: expected a positive multiple of 8 pixels, got {size}")
        if supersample < 1:
            raise ValueError(f"supersample: expected ≥ 1, got {supersample}")
        self.size, self.seed, self.config, self.supersample = size, int(seed), config, supersample
        self.body = BodyModel(model_path)
        self.faces = np.asarray(self.body.faces, dtype=np.int64)
        weights = self.body.smpl.lbs_weights.detach().numpy()
        rest_vertices = self.body.rest_vertices().numpy()
        self.regions = BodyRegions.from_model(weights, rest_vertices, self.body.rest_joints().numpy())
        num_vertices = rest_vertices.shape[0]
        rows = self.faces.reshape(-1)
        cols = np.repeat(np.arange(len(self.faces)), 3)
        self._vertex_faces = scipy.sparse.csr_matrix((np.ones(rows.size), (rows, cols)),
                                                     shape=(num_vertices, len(self.faces)))

    @property
    def _gl(self) -> pyrender.OffscreenRenderer:
        side = self.size * self.supersample
        return offscreen_renderer(side, side)

    # ----------------------------------------------------------------------------------- geometry
    def _normals(self, positions: np.ndarray) -> np.ndarray:
        """Area-weighted vertex normals ``(V, 3)`` of ``positions (V, 3)``."""
        tri = positions[self.faces]
        face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        normals = self._vertex_faces @ face_normals
        return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)

    def body_mesh(self, vertices_cv: np.ndarray, colours: np.ndarray | None, roughness: float) -> pyrender.Mesh:
        """pyrender mesh of the body: ``vertices_cv (V, 3)`` camera frame, ``colours (V, 4)`` uint8 or ``None`` (white)."""
        positions = vertices_cv * _CV_TO_GL
        material = pyrender.MetallicRoughnessMaterial(metallicFactor=0.0, roughnessFactor=roughness,
                                                      baseColorFactor=(1.0, 1.0, 1.0, 1.0))
        primitive = pyrender.Primitive(positions=positions.astype(np.float32),
                                       normals=self._normals(positions).astype(np.float32),
                                       indices=self.faces, color_0=colours, material=material)
        return pyrender.Mesh([primitive])

    @staticmethod
    def _occluder_mesh(occluder: Occluder, centre_cv: np.ndarray) -> pyrender.Mesh:
        if occluder.kind == "box":
            tm = trimesh.creation.box(extents=occluder.size)
        else:
            tm = trimesh.creation.cylinder(radius=float(occluder.size[0]), height=float(occluder.size[1]), sections=24)
        tm.apply_transform(np.block([[occluder.rotation, centre_cv[:, None]], [np.zeros((1, 3)), np.ones((1, 1))]]))
        tm.apply_transform(np.diag([*_CV_TO_GL, 1.0]))
        material = pyrender.MetallicRoughnessMaterial(baseColorFactor=(*occluder.colour, 1.0), metallicFactor=0.0,
                                                      roughnessFactor=0.8)
        return pyrender.Mesh.from_trimesh(tm, material=material, smooth=False)

    def _camera_node(self, focal: float) -> pyrender.IntrinsicsCamera:
        s = self.supersample
        c = self.size * s / 2.0
        return pyrender.IntrinsicsCamera(fx=focal * s, fy=focal * s, cx=c, cy=c, znear=0.05, zfar=200.0)

    def _downsample(self, image: np.ndarray) -> np.ndarray:
        if self.supersample == 1:
            return image.astype(np.float32)
        return cv2.resize(image.astype(np.float32), (self.size, self.size), interpolation=cv2.INTER_AREA)

    def silhouette(self, vertices_cv: np.ndarray, focal: float) -> np.ndarray:
        """``(S, S)`` bool silhouette of a body mesh (camera frame) — pixels at least half covered."""
        scene = pyrender.Scene(bg_color=(0.0, 0.0, 0.0, 0.0))
        scene.add(self.body_mesh(vertices_cv, None, 1.0))
        scene.add(self._camera_node(focal), pose=np.eye(4))
        depth = self._gl.render(scene, flags=pyrender.RenderFlags.DEPTH_ONLY)
        return self._downsample((depth > 0).astype(np.float32)) >= 0.5

    # ------------------------------------------------------------------------------------ images
    def render(self, items: list[PoseItem]) -> list[dict]:
        """Render one image per item. Returns records with ``jpeg`` (bytes), ``silhouette`` and
        ``occluder`` ``(S, S)`` bool masks, and the ground-truth arrays of
        :data:`hmr_flow.data.synth_format.SAMPLE_ARRAYS` (other than the packed masks)."""
        if not items:
            return []
        rngs = [np.random.default_rng([self.seed, int(item.index)]) for item in items]
        rotations = np.stack([camera_rotation(rng, self.config) for rng in rngs])
        betas = np.stack([sample_betas(rng, self.config, self.body.num_betas) for rng in rngs])
        root = axis_angle_to_matrix(torch.as_tensor(np.stack([i.global_orient for i in items]), dtype=torch.float64))
        go_cam = matrix_to_axis_angle(torch.as_tensor(rotations) @ root).float()
        body_pose = torch.as_tensor(np.stack([i.body_pose for i in items]), dtype=torch.float32)
        with torch.no_grad():
            out = self.body(global_orient=go_cam, body_pose=body_pose, betas=torch.as_tensor(betas, dtype=torch.float32))
        records = []
        for b, (item, rng) in enumerate(zip(items, rngs)):
            records.append(self._render_one(item, rng, go_cam[b].numpy(), body_pose[b].numpy(), betas[b],
                                            out.vertices[b].double().numpy(), out.joints[b].double().numpy(),
                                            out.coco17[b].double().numpy()))
        return records

    def _render_one(self, item: PoseItem, rng: np.random.Generator, global_orient: np.ndarray, body_pose: np.ndarray,
                    betas: np.ndarray, vertices: np.ndarray, joints: np.ndarray, coco: np.ndarray) -> dict:
        size, s = self.size, self.supersample
        focal, fill, offset = sample_focal_and_fill(rng, self.config, size)
        transl = place_body(vertices, focal, size, fill, offset)
        vertices, joints, coco = vertices + transl, joints + transl, coco + transl
        colours = sample_vertex_colours(self.regions, rng)
        ambient, lights = sample_lights(rng)
        occluders = sample_occluders(rng, self.config, float(np.ptp(vertices[:, 1])))
        scene = pyrender.Scene(bg_color=(0.0, 0.0, 0.0, 0.0), ambient_light=ambient)
        body_node = scene.add(self.body_mesh(vertices, colours, float(rng.uniform(0.45, 1.0))))
        for occluder in occluders:
            target = vertices[rng.integers(len(vertices))]
            scene.add(self._occluder_mesh(occluder, target * occluder.target))
        scene.add(self._camera_node(focal), pose=np.eye(4))
        for light in lights:
            self._add_light(scene, light)
        rgba, depth = self._gl.render(scene, flags=pyrender.RenderFlags.RGBA)
        if occluders:
            for node in list(scene.mesh_nodes):
                if node is not body_node:
                    scene.remove_node(node)
            body_depth = self._gl.render(scene, flags=pyrender.RenderFlags.DEPTH_ONLY)
            occluded_hi = (body_depth > 0) & (depth > 0) & (depth < body_depth - 1e-3)
        else:
            body_depth, occluded_hi = depth, np.zeros(depth.shape, dtype=bool)
        background, _ = random_background(rng, size)
        rgba = self._downsample(rgba)
        alpha = rgba[..., 3:4] / 255.0
        image = rgba[..., :3] * alpha + background.astype(np.float32) * (1.0 - alpha)
        image += rng.normal(0.0, rng.uniform(0.0, self.config.noise_std_max), image.shape)
        image = np.clip(image, 0, 255).round().astype(np.uint8)
        silhouette = self._downsample((body_depth > 0).astype(np.float32)) >= 0.5
        occluder_mask = silhouette & (self._downsample(occluded_hi.astype(np.float32)) >= 0.5)
        keypoints2d = coco[:, :2] / coco[:, 2:3] * focal + size / 2.0
        visibility = keypoint_visibility(coco, keypoints2d * s, vertices, self.regions.part,
                                         body_depth, occluded_hi, focal * s)
        return {
            "jpeg": encode_jpeg(image),
            "silhouette": silhouette,
            "occluder": occluder_mask,
            "global_orient": global_orient.astype(np.float32),
            "body_pose": body_pose.astype(np.float32),
            "betas": betas.astype(np.float32),
            "transl": transl.astype(np.float32),
            "focal": np.float32(focal),
            "joints3d": joints.astype(np.float32),
            "keypoints2d": keypoints2d.astype(np.float32),
            "visibility": visibility,
            "bbox": mask_bbox(silhouette),
            "subject": np.int32(item.subject),
            "clip": np.int32(item.clip),
            "frame": np.int32(item.frame),
            "index": np.int64(item.index),
        }

    @staticmethod
    def _add_light(scene: pyrender.Scene, light: Light) -> None:
        node = pyrender.DirectionalLight(color=light.colour, intensity=light.intensity)
        scene.add(node, pose=_light_pose(light.direction))
