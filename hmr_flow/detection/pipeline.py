"""Photo → people's COCO-17 keypoints with BlazePose: person proposals from several searches, 33
landmarks per proposal, then non-maximum suppression.

Steps for an ``(H, W, 3)`` uint8 RGB image:

1. Person proposals (landmark ROIs), by the searches a :class:`Search` turns on, in this order:

   - ``whole``: the person detector on the whole image (it keys on a face and upper body at 224 px of
     the image, so it finds people about 1/8 of the image tall and more);
   - ``faces``: BlazeFace's full-range face detector on the whole image and on tiles of levels
     ``1..face_levels`` overlapping by a quarter (faces merged across tiles by NMS); each face proposes
     an upright ROI below it (:func:`~hmr_flow.detection.faces.person_roi`);
   - ``tiles``: the detector on square tiles of side ``max(W, H) / 2^l`` for ``l = 1..tile_levels``
     (2×, 4× the whole image's resolution), overlapping by half; the tile grid reaches half a tile past
     every border (padded black), so people cut off by the border are centred in some tile.

   Proposals are tried best score first, and one whose detector or face box centre lies inside someone
   already found is skipped (the landmark network, the costly step, runs once per new person).

   When ``boxes`` are given instead, the detector runs on the region around each box; a box with no
   detection gets an upright ROI around it.
2. Landmarks: the 256×256 network on each proposal's ROI (resampled from the photo at whatever scale, so
   a 40 px person is seen upscaled; outside the image the crop is black). When it sees no one, once more
   on the ROI turned upright (the detector's rotation is sometimes far off); with ``refine``, once more on
   the ROI re-centred on the person's own hip centre and body size (landmarks 33/34, as MediaPipe does
   between video frames), which centres people found from a partial view; the re-centred landmarks are
   kept unless the network is less sure there that someone is there (on small people a re-centred ROI
   sometimes drifts to a neighbour).
3. Proposals whose pose-presence score is below ``min_presence`` are dropped; the same person found
   by several proposals is kept once, by NMS on the boxes of their 33 landmarks, best score (presence ×
   proposal score) first. Given boxes are known people: each gives one person, kept whatever its score.

Each person keeps all 17 keypoints with their confidences (low ones included; landmarks outside the
image, of people cut off by the border, keep the network's confidence, which is low there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hmr_flow.detection.base import DetectedPerson
from hmr_flow.detection.detector import PersonDetector
from hmr_flow.detection.faces import FaceDetector
from hmr_flow.detection.landmarks import LandmarkNetwork, Landmarks
from hmr_flow.detection.models import blazepose_files
from hmr_flow.detection.nms import nms
from hmr_flow.detection.roi import ROI, roi_from_alignment, roi_from_box
from hmr_flow.detection.runtime import TFLiteNetwork

#: MediaPipe's presence threshold, a plain NMS overlap, the NMS overlap of faces across tiles, and the
#: overlap of neighbouring face tiles (a quarter of a tile: faces are far smaller than their tiles; the
#: person detector's tiles overlap by half).
MIN_PRESENCE = 0.5
PERSON_NMS_IOU = 0.5
FACE_NMS_IOU = 0.3
FACE_TILE_OVERLAP = 0.25


@dataclass(frozen=True)
class Search:
    """Which person proposals are searched (see the module docstring): ``tile_levels`` levels of detector
    tiles (0: none), ``face_levels`` levels of face-detector tiles besides the whole image (``None``: no
    face search)."""

    tile_levels: int = 0
    face_levels: int | None = None


#: The ``--recall`` settings, chosen on the bench photos (``docs/detection.md``). ``fast`` (the default,
#: :data:`DEFAULT_RECALL`):
#: the whole image and faces down to tiles of 1/4 of the image (7 of 16 people found instead of 5, no
#: false positive, ~0.3 s per photo on 2 shared cores); ``high`` adds detector tiles at 2× and 4× and
#: faces down to 1/8 tiles (9 of 16, but 4 false positives and ~2.3 s per photo).
RECALL = {"fast": Search(face_levels=2), "high": Search(tile_levels=2, face_levels=3)}
DEFAULT_RECALL = "fast"


def tile_regions(width: int, height: int, levels: int, pad: float = 0.0,
                 overlap: float = 0.5) -> list[tuple[int, int, int, int]]:
    """Per level ``l = 1..levels``, square tiles of side ``s = max(W, H) / 2^l`` (at most the padded
    image) overlapping their neighbours by at least ``overlap · s`` and covering the image grown by
    ``pad · s`` on every side: ``(x0, y0, x1, y1)`` px (negative or past ``W``, ``H`` where padded)."""
    regions = []
    for level in range(1, levels + 1):
        side = max(1, int(round(max(width, height) / 2**level)))
        margin = int(round(pad * side))
        x_lo, y_lo, x_hi, y_hi = -margin, -margin, width + margin, height + margin
        tw, th = min(side, x_hi - x_lo), min(side, y_hi - y_lo)
        step = (1.0 - overlap) * side
        xs = np.linspace(x_lo, x_hi - tw, int(np.ceil((x_hi - x_lo - tw) / step - 1e-9)) + 1)
        ys = np.linspace(y_lo, y_hi - th, int(np.ceil((y_hi - y_lo - th) / step - 1e-9)) + 1)
        xs, ys = np.unique(xs.round().astype(int)), np.unique(ys.round().astype(int))
        regions += [(int(x), int(y), int(x) + tw, int(y) + th) for y in ys for x in xs]
    return regions


def _inside(point: np.ndarray, boxes: list[np.ndarray]) -> bool:
    """Whether ``point (2,)`` px lies in one of ``boxes`` ``(x0, y0, x1, y1)``."""
    return any(b[0] <= point[0] <= b[2] and b[1] <= point[1] <= b[3] for b in boxes)


def make_detector(recall: str = DEFAULT_RECALL, threads: int = 1) -> BlazePose:
    """The BlazePose detector searching as ``--recall`` says (a key of :data:`RECALL`), its networks on
    ``threads`` CPU threads."""
    if recall not in RECALL:
        raise ValueError(f"recall: expected one of {', '.join(RECALL)}, got {recall!r}")
    return BlazePose(threads=threads, search=RECALL[recall])


class BlazePose:
    """``detector(image, boxes=None) -> list[DetectedPerson]`` (best first): a
    :class:`~hmr_flow.detection.base.Detector`.

    Args:
        detector_path, landmark_path, face_path: the ``.tflite`` files (default: :func:`blazepose_files`).
        threads: CPU threads of each network.
        search: the proposals searched (default: ``RECALL[DEFAULT_RECALL]``).
        refine, min_presence, nms_iou: see the module docstring.
    """

    def __init__(self, detector_path: str | Path | None = None, landmark_path: str | Path | None = None,
                 face_path: str | Path | None = None, threads: int = 1, search: Search | None = None,
                 refine: bool = True, min_presence: float = MIN_PRESENCE, nms_iou: float = PERSON_NMS_IOU):
        if detector_path is None or landmark_path is None or face_path is None:
            files = blazepose_files()
            detector_path = detector_path or files.detector
            landmark_path = landmark_path or files.landmarks
            face_path = face_path or files.faces
        self.search = search or RECALL[DEFAULT_RECALL]
        self.detector = PersonDetector(TFLiteNetwork(detector_path, threads))
        self.landmarks = LandmarkNetwork(TFLiteNetwork(landmark_path, threads))
        self.faces = FaceDetector(TFLiteNetwork(face_path, threads)) if self.search.face_levels is not None else None
        self.refine = refine
        self.min_presence = min_presence
        self.nms_iou = nms_iou

    def _person(self, image: np.ndarray, roi: ROI, known: bool) -> tuple[Landmarks, np.ndarray]:
        """Landmarks in ``roi`` (refined when someone is there, or ``known`` to be) and their box."""
        marks = self.landmarks(image, roi)
        if marks.presence < self.min_presence and roi.angle != 0.0:
            upright = self.landmarks(image, ROI(roi.centre, roi.size, 0.0))
            marks = upright if upright.presence > marks.presence else marks
        if self.refine and (known or marks.presence >= self.min_presence):
            again = self.landmarks(image, roi_from_alignment(marks.auxiliary[0], marks.auxiliary[1]))
            marks = again if again.presence >= marks.presence else marks
        height, width = image.shape[:2]
        lo = np.clip(marks.points.min(0), 0, (width, height))
        hi = np.clip(marks.points.max(0), 0, (width, height))
        return marks, np.concatenate([lo, hi])

    def _accept(self, image: np.ndarray, proposals: list[tuple[ROI, float, np.ndarray]], source: str,
                found: list[DetectedPerson]) -> list[DetectedPerson]:
        """The proposals ``(roi, score, key (2,) px)``, best score first, in which the landmark network
        sees someone; a proposal whose key point (the centre of its detector or face box) lies inside
        someone already found (in ``found`` or from a better proposal) is skipped unseen."""
        people: list[DetectedPerson] = []
        for roi, proposal_score, key in sorted(proposals, key=lambda p: -p[1]):
            if _inside(key, [p.box for p in found + people]):
                continue
            marks, box = self._person(image, roi, False)
            if marks.presence >= self.min_presence:
                people.append(DetectedPerson(marks.coco17(), box.astype(np.float32), marks.presence * proposal_score, source))
        return people

    def _detector_proposals(self, image: np.ndarray, regions: list) -> list[tuple[ROI, float, np.ndarray]]:
        """The person detector's ROIs in each of ``regions`` (``None``: the whole image)."""
        return [(d.roi, d.score, (d.box[:2] + d.box[2:]) / 2.0) for region in regions for d in self.detector(image, region)]

    def _face_proposals(self, image: np.ndarray) -> list[tuple[ROI, float, np.ndarray]]:
        """Person ROIs below the faces found on the whole image and the face tiles (merged across tiles)."""
        height, width = image.shape[:2]
        regions = [None, *tile_regions(width, height, self.search.face_levels, overlap=FACE_TILE_OVERLAP)]
        faces = [face for region in regions for face in self.faces(image, region)]
        if not faces:
            return []
        kept = nms(np.stack([f.box for f in faces]), np.array([f.score for f in faces]), FACE_NMS_IOU)
        return [(faces[i].roi, faces[i].score, (faces[i].box[:2] + faces[i].box[2:]) / 2.0) for i in kept]

    def _given(self, image: np.ndarray, boxes: np.ndarray) -> list[DetectedPerson]:
        """One person per known box ``(N, 4)``, in their order."""
        height, width = image.shape[:2]
        people = []
        for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
            around = roi_from_box(box)
            x0, y0 = np.floor(np.maximum(around.centre - around.size / 2, 0)).astype(int)
            x1, y1 = np.ceil(np.minimum(around.centre + around.size / 2, (width, height))).astype(int)
            found = self.detector(image, (x0, y0, x1, y1)) if x1 > x0 and y1 > y0 else []
            roi, proposal_score = (found[0].roi, found[0].score) if found else (around, 1.0)
            marks, landmark_box = self._person(image, roi, True)
            people.append(DetectedPerson(marks.coco17(), landmark_box.astype(np.float32), marks.presence * proposal_score, "box"))
        return people

    def __call__(self, image: np.ndarray, boxes: np.ndarray | None = None) -> list[DetectedPerson]:
        """People in ``image (H, W, 3)`` uint8 RGB. With ``boxes (N, 4)`` ``(x0, y0, x1, y1)`` px of known
        people, exactly one person per box, in their order (no presence filter, no NMS; a low ``score``
        and low confidences tell where the network saw little)."""
        if boxes is not None:
            return self._given(image, boxes)
        height, width = image.shape[:2]
        people = self._accept(image, self._detector_proposals(image, [None]), "whole", [])
        if self.faces is not None:
            people += self._accept(image, self._face_proposals(image), "faces", people)
        tiles = tile_regions(width, height, self.search.tile_levels, pad=0.5)
        people += self._accept(image, self._detector_proposals(image, tiles), "tiles", people)
        if not people:
            return people
        kept = nms(np.stack([p.box for p in people]), np.array([p.score for p in people]), self.nms_iou)
        return [people[i] for i in kept]
