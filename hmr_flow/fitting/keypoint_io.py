"""Reading and writing 2D keypoint files (the one module that does): OpenPose BODY_25 JSON, COCO-17
annotation JSON and COCO results lists are read; detected people are written as COCO annotation JSON
(:func:`write_coco`, what ``hmr-flow detect`` writes) that the reader reads back.

Every reader returns :class:`KeypointImage` records: one image, its people's keypoints as a
``(P, K, 3)`` float32 array of ``(u, v, confidence)`` in pixels (u right, v down, origin the
top-left corner of the image), and the keypoint format (a key of :data:`hmr_flow.body.KEYPOINT_NAMES`,
which gives K and the order: OpenPose files carry :data:`OPENPOSE_FORMAT`, COCO files :data:`COCO_FORMAT`).

- OpenPose: one JSON file per image, ``{"people": [{"pose_keypoints_2d": [x, y, c] * 25}, ...]}``;
  the confidence is the detector's score in [0, 1] (0 = not detected).
- COCO: one JSON file for many images, ``images[]`` (``id``, ``file_name``, ``width``, ``height``)
  and ``annotations[]`` (``image_id``, ``keypoints`` ``[x, y, v] * 17``, ``iscrowd``); the visibility
  flag becomes the confidence: v = 0 (unlabelled) → 0, v = 1 (labelled but occluded: the annotator's
  guess) → :data:`COCO_OCCLUDED_CONFIDENCE` (0.5), v = 2 (visible) → 1. Files whose
  ``info.keypoint_values`` is ``"confidence"`` (:func:`write_coco`) carry confidences in [0, 1] instead.
  Crowd annotations are ignored. Width and height give the camera, so no image file is needed.
- COCO results list (what mmpose, rtmlib and detectron2 write): ``[{image_id, category_id, keypoints:
  [x, y, score] * 17, score, keypoint_scores?}, ...]``. The per-keypoint confidence is
  ``keypoint_scores`` where given, else the third value, clipped to [0, 1] (detectron2's are heatmap
  logits). Entries of a category other than 1 (person) are ignored. A results list carries no image size:
  the image is looked up (``--image``, or ``<image_id>.jpg|.jpeg|.png`` — also COCO's zero-padded
  ``000000000785.jpg`` — in the images folder, by default the JSON file's folder), else the size must be
  given (``--image-size``).

An image without people (OpenPose ``people: []``, a COCO image without annotations) is a record with
``P = 0``; the commands skip it with one warning that counts such images
(:func:`hmr_flow.fitting.pipeline.warn_empty`). People with fewer than
``min_keypoints`` keypoints of positive confidence are dropped with a warning that names the file and
the person; :class:`KeypointFileError` is raised for unreadable or malformed files.

Written files (:func:`write_coco`): ``images[]`` (``id``, ``file_name`` relative to the images' folder, as
COCO files are, ``width``, ``height``), ``annotations[]`` (``id``, ``image_id``, ``category_id`` 1, ``iscrowd``
0, ``keypoints`` ``[u, v, confidence] × 17`` in COCO-17 order, ``num_keypoints`` (confidence ≥ 0.5),
``bbox`` ``[x, y, w, h]`` px, ``score``), ``categories`` (person with the keypoint names), and
``info.keypoint_values = "confidence"`` and ``info.images``: the images' folder, relative to the file's own
folder. Every reader resolves ``file_name`` the same way: against ``--images`` when given, else against
``info.images`` (else the file's own folder); so ``detect --images DIR --out k.json`` is read back by ``fit
--keypoints k.json`` with or without ``--images DIR``, from any working folder.

A file with two images of the same ``id``, two annotations of the same ``id``, or the same person twice in
one image (identical keypoints, some labelled) is refused, naming both entries.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hmr_flow.body.keypoints import COCO17_NAMES, num_keypoints
from hmr_flow.files import write_text
from hmr_flow.validation import UserInputError, check_input_file

if TYPE_CHECKING:  # the detection package (its networks' runtime) is not imported to read keypoint files
    from hmr_flow.detection.base import ImageDetections

log = logging.getLogger(__name__)

#: Confidence of a COCO keypoint with visibility flag v = 1 (labelled, occluded): half the weight of a
#: visible one (v = 2 → 1.0) in the fit, since its position is the annotator's guess; v = 0 → 0.
COCO_OCCLUDED_CONFIDENCE = 0.5
#: The keypoint formats of OpenPose files and of COCO files (annotations and results lists).
OPENPOSE_FORMAT = "body25"
COCO_FORMAT = "coco17"
#: ``info.keypoint_values`` of files whose third keypoint value is a confidence (what :func:`write_coco` writes).
CONFIDENCE_VALUES = "confidence"
#: File name of the keypoints that ``fit`` / ``regress`` detect themselves (in their output folder).
DETECTED_NAME = "detected_keypoints.json"


class KeypointFileError(UserInputError):
    """A keypoint file is missing, not valid JSON, or does not have the expected structure."""


@dataclass
class KeypointImage:
    """People's keypoints in one image.

    Attributes:
        name: stem of the output files: the JSON file stem for OpenPose, the image file stem for COCO (for
            a results list: the image found, else the ``image_id``); where images of one read share a
            stem, their relative paths (``/`` → ``_``), then ``_2``, ``_3``…
        keypoints: ``(P, K, 3)`` float32 ``(u, v, confidence)``, pixels; ``P = 0`` for an image without people.
        keypoint_format: a key of :data:`hmr_flow.body.KEYPOINT_NAMES` (``'coco17'``, ``'body25'``).
        person_ids: ``P`` labels (index in the file's people list, or the COCO annotation id).
        image_path: the image, when known (``None`` otherwise).
        image_size: ``(W, H)`` pixels when known from the file (COCO), else ``None``.
        skipped: messages about people dropped for too few keypoints.
        source: the keypoint file the record was read from (``None``: not from a file).
        image_id: the image's ``id`` (COCO file) or ``image_id`` (results list); ``None`` for OpenPose.
    """

    name: str
    keypoints: np.ndarray
    keypoint_format: str
    person_ids: list[int]
    image_path: Path | None = None
    image_size: tuple[int, int] | None = None
    skipped: list[str] = field(default_factory=list)
    source: Path | None = None
    image_id: int | str | None = None

    @classmethod
    def empty(cls, name: str, image_path: Path | None = None, keypoint_format: str = COCO_FORMAT) -> KeypointImage:
        """A record of an image without people (``P = 0``)."""
        return cls(name, np.zeros((0, num_keypoints(keypoint_format), 3), np.float32), keypoint_format, [], image_path)

    @property
    def where(self) -> str:
        """How errors name this image: ``<keypoint file>: <name>``, or the name alone without a file."""
        return f"{self.source}: {self.name}" if self.source is not None else self.name


def load_keypoint_json(path: Path):
    """The parsed JSON of the keypoint file ``path``; :class:`KeypointFileError` if it is missing or unreadable."""
    try:
        check_input_file(path, "keypoint file")
    except (FileNotFoundError, UserInputError) as err:
        raise KeypointFileError(str(err)) from None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise KeypointFileError(f"{path}: not valid JSON ({err})") from None
    except RecursionError:  # json's parser recurses once per nesting level
        raise KeypointFileError(f"{path}: JSON nested too deeply to be a keypoint file") from None
    except OSError as err:
        raise KeypointFileError(f"{path}: cannot read ({err})") from None


def _person_array(values, num_keypoints: int, path: Path, where: str, clip: bool = False) -> np.ndarray:
    """``[x, y, c] * K`` list → ``(K, 3)`` float32, with clear errors; ``clip``: confidences clipped to
    [0, 1] instead of refusing negative ones (detector scores)."""
    if not isinstance(values, list):
        raise KeypointFileError(f"{path}: {where} is not a list of numbers")
    if len(values) != 3 * num_keypoints:
        raise KeypointFileError(
            f"{path}: {where} has {len(values)} numbers, expected {3 * num_keypoints} "
            f"({num_keypoints} keypoints × [x, y, confidence])"
        )
    try:
        array = np.asarray(values, dtype=np.float32).reshape(num_keypoints, 3)
    except (TypeError, ValueError):
        raise KeypointFileError(f"{path}: {where} contains non-numeric values") from None
    if not np.isfinite(array).all():
        raise KeypointFileError(f"{path}: {where} contains NaN or infinite values")
    if clip:
        array[:, 2] = array[:, 2].clip(0.0, 1.0)
    elif (array[:, 2] < 0).any():
        raise KeypointFileError(f"{path}: {where} has negative confidences")
    return array


def _select_people(
    arrays: list[np.ndarray], ids: list[int], min_keypoints: int, path: Path, image: str, num_keypoints: int
) -> tuple[np.ndarray, list[int], list[str]]:
    kept, kept_ids, skipped = [], [], []
    for array, pid in zip(arrays, ids):
        visible = int((array[:, 2] > 0).sum())
        if visible < min_keypoints:
            message = f"{path}: {image} person {pid}: {visible} visible keypoints < {min_keypoints}, skipped"
            log.warning(message)
            skipped.append(message)
            continue
        kept.append(array)
        kept_ids.append(pid)
    stacked = np.stack(kept) if kept else np.zeros((0, num_keypoints, 3), np.float32)
    return stacked, kept_ids, skipped


def read_openpose(path: str | Path, min_keypoints: int = 6, image_path: str | Path | None = None,
                  data=None) -> KeypointImage:
    """Read one OpenPose BODY_25 JSON file (``people[].pose_keypoints_2d``).

    An empty ``people`` list (no person detected in the frame) gives a record with no people. ``data``: the
    file's parsed JSON when the caller has it already (:func:`read_keypoints`), so it is not read twice.

    Raises:
        KeypointFileError: missing/unreadable file, no ``people`` list, or a person with a keypoint
            count other than 25.
    """
    path = Path(path)
    data = load_keypoint_json(path) if data is None else data
    if not isinstance(data, dict) or not isinstance(data.get("people"), list):
        raise KeypointFileError(f"{path}: not an OpenPose file (no 'people' list)")
    arrays = []
    for i, person in enumerate(data["people"]):
        if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
            raise KeypointFileError(f"{path}: people[{i}] has no 'pose_keypoints_2d'")
        arrays.append(_person_array(person["pose_keypoints_2d"], num_keypoints(OPENPOSE_FORMAT), path,
                                    f"people[{i}].pose_keypoints_2d"))
    keypoints, ids, skipped = _select_people(arrays, list(range(len(arrays))), min_keypoints, path, path.stem,
                                             num_keypoints(OPENPOSE_FORMAT))
    return KeypointImage(path.stem, keypoints, OPENPOSE_FORMAT, ids,
                         image_path=Path(image_path) if image_path is not None else None, skipped=skipped)


def read_coco(path: str | Path, images_dir: str | Path | None = None, min_keypoints: int = 6,
              data=None) -> list[KeypointImage]:
    """Read a COCO person-keypoint annotation file: one record per image (in ``images[]`` order; an image
    without annotations is a record with no people).

    Args:
        images_dir: folder resolving ``images[].file_name``, or the image file of a single-image
            file (then only the annotated image is read); ``None`` = the JSON file's folder, where
            missing images are simply not used (the image size then comes from ``images[].width/height``).
        data: the file's parsed JSON when the caller has it already (not read again).

    Raises:
        KeypointFileError: missing/unreadable file, missing ``images``/``annotations``, an image id that
            repeats, an annotation of an unknown image, a keypoint list that is not 17 × ``[x, y, v]``, or one image file
            given for a file with several annotated images.
    """
    path = Path(path)
    data = load_keypoint_json(path) if data is None else data
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(data.get("annotations"), list):
        raise KeypointFileError(f"{path}: not a COCO keypoint file (needs 'images' and 'annotations' lists)")
    single = Path(images_dir) if images_dir is not None and Path(images_dir).is_file() else None
    info = data.get("info")
    folder = Path(images_dir) if images_dir is not None and single is None else _images_folder(path, info)
    confidences = isinstance(info, dict) and info.get("keypoint_values") == CONFIDENCE_VALUES
    images, where = {}, {}
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise KeypointFileError(f"{path}: images[{i}] needs 'id' and 'file_name'")
        _check_coco_image(image, path, f"images[{i}]")
        if image["id"] in images:
            raise KeypointFileError(f"{path}: images[{where[image['id']]}] and images[{i}] have the same id "
                                    f"{image['id']!r}; every image needs its own id (else the people of two photos "
                                    f"are fitted in one photo's camera)")
        images[image["id"]], where[image["id"]] = image, i
    people: dict[object, tuple[list[np.ndarray], list[int]]] = {}
    annotation_ids: dict[int, int] = {}
    same = _Duplicates(path, "annotations")
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or "image_id" not in ann or "keypoints" not in ann:
            raise KeypointFileError(f"{path}: annotations[{i}] needs 'image_id' and 'keypoints'")
        if ann.get("iscrowd", 0):
            continue
        if not _is_id(ann["image_id"]):
            raise KeypointFileError(f"{path}: annotations[{i}].image_id must be an integer or a string, got "
                                    f"{type(ann['image_id']).__name__}")
        if ann["image_id"] not in images:
            raise KeypointFileError(f"{path}: annotations[{i}] refers to unknown image_id {ann['image_id']!r}")
        array = _person_array(ann["keypoints"], num_keypoints(COCO_FORMAT), path, f"annotations[{i}].keypoints")
        if not confidences:
            array[:, 2] = visibility_confidence(array[:, 2])
        elif (array[:, 2] > 1).any():
            raise KeypointFileError(f"{path}: annotations[{i}].keypoints has confidences above 1")
        ann_id = ann.get("id", i)
        if not isinstance(ann_id, int) or isinstance(ann_id, bool):
            raise KeypointFileError(f"{path}: annotations[{i}].id must be an integer, got {type(ann_id).__name__}")
        if ann_id in annotation_ids:
            raise KeypointFileError(f"{path}: annotations[{annotation_ids[ann_id]}] and annotations[{i}] have the "
                                    f"same id {ann_id}; every person needs their own id (output files are named by it)")
        annotation_ids[ann_id] = i
        same.check(ann["image_id"], array, i, ann_id)
        arrays, ids = people.setdefault(ann["image_id"], ([], []))
        arrays.append(array)
        ids.append(ann_id)
    if single is not None:
        if len(people) > 1:
            raise KeypointFileError(f"{path}: {len(people)} images annotated, but one image file given ({single}); "
                                    f"give the folder")
        if not people:
            return [KeypointImage.empty(single.stem, single)]
    records = []
    for image_id in people if single is not None else images:
        image = images[image_id]
        file_name = str(image["file_name"])
        arrays, ids = people.get(image_id, ([], []))
        keypoints, kept_ids, skipped = _select_people(arrays, ids, min_keypoints, path, file_name, num_keypoints(COCO_FORMAT))
        size = (image["width"], image["height"]) if "width" in image and "height" in image else None
        image_path = single or folder / file_name
        if images_dir is None and not image_path.is_file():
            image_path = None
        records.append(KeypointImage(_output_name(file_name), keypoints, COCO_FORMAT, kept_ids, image_path=image_path,
                                     image_size=size, skipped=skipped, image_id=image_id))
    return records


class _Duplicates:
    """Refuses the same person twice in one image: two entries of ``path``'s ``list`` with identical keypoints,
    some of them labelled (people without any, as COCO's unannotated crowd members, all look alike)."""

    def __init__(self, path: Path, list_name: str) -> None:
        self.path, self.list_name, self.seen = path, list_name, {}

    def check(self, image_id, keypoints: np.ndarray, index: int, person_id: int) -> None:
        if not (keypoints[:, 2] > 0).any():
            return
        key = (image_id, keypoints.tobytes())
        if key in self.seen:
            first, first_id = self.seen[key]
            raise KeypointFileError(f"{self.path}: {self.list_name}[{first}] and {self.list_name}[{index}] (ids {first_id} "
                                    f"and {person_id}) of image {image_id!r} are identical: the same person twice")
        self.seen[key] = (index, person_id)


def _images_folder(path: Path, info) -> Path:
    """Where a keypoint file's ``file_name`` values point: its ``info.images`` (what :func:`write_coco` writes:
    the images' folder, relative to the file's own folder), else the file's own folder."""
    folder = info.get("images") if isinstance(info, dict) else None
    return path.parent / folder if isinstance(folder, str) and folder else path.parent


def visibility_confidence(flags: np.ndarray) -> np.ndarray:
    """COCO visibility flags → confidences: 0 → 0, 1 (occluded) → :data:`COCO_OCCLUDED_CONFIDENCE`, 2 → 1."""
    flags = np.asarray(flags)
    return np.where(flags >= 2, 1.0, np.where(flags > 0, COCO_OCCLUDED_CONFIDENCE, 0.0)).astype(np.float32)


def read_coco_results(path: str | Path, images: str | Path | None = None, min_keypoints: int = 6,
                      data=None) -> list[KeypointImage]:
    """Read a COCO results list (``[{image_id, category_id, keypoints, score, keypoint_scores?}, ...]``):
    one record per ``image_id``, in order of first appearance.

    Args:
        images: the image file (all entries must then share one ``image_id``), or the folder searched for
            ``<image_id>.jpg|.jpeg|.png`` (or COCO's 12-digit zero-padded id); ``None`` = the JSON file's
            folder. Images not found leave ``image_path`` and ``image_size`` ``None``: the caller then
            needs the size (``--image-size``).
        data: the file's parsed JSON when the caller has it already (not read again).

    Raises:
        KeypointFileError: an empty list, an entry without ``image_id``/``keypoints``, a keypoint list
            that is not 17 × ``[x, y, score]``, ``keypoint_scores`` that are not 17 numbers, or one image
            file given for results of several images.
    """
    path = Path(path)
    data = load_keypoint_json(path) if data is None else data
    if not isinstance(data, list) or not data:
        raise KeypointFileError(f"{path}: not a COCO results list (expected a non-empty list of detections)")
    people: dict[object, tuple[list[np.ndarray], list[int]]] = {}
    same = _Duplicates(path, "")
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "image_id" not in item or "keypoints" not in item:
            raise KeypointFileError(f"{path}: not a COCO results list: [{i}] needs 'image_id' and 'keypoints'")
        if not _is_id(item["image_id"]):
            raise KeypointFileError(f"{path}: [{i}].image_id must be an integer or a string, got "
                                    f"{type(item['image_id']).__name__}")
        if item.get("category_id", 1) != 1:
            continue
        array = _person_array(item["keypoints"], num_keypoints(COCO_FORMAT), path, f"[{i}].keypoints", clip=True)
        if "keypoint_scores" in item:
            array[:, 2] = _scores(item["keypoint_scores"], path, f"[{i}].keypoint_scores")
        same.check(item["image_id"], array, i, i)
        arrays, ids = people.setdefault(item["image_id"], ([], []))
        arrays.append(array)
        ids.append(i)
    single = Path(images) if images is not None and Path(images).is_file() else None
    if single is not None and len(people) > 1:
        raise KeypointFileError(f"{path}: results for {len(people)} images, but one image file given ({single}); "
                                f"give the folder")
    folder = Path(images) if images is not None and single is None else path.parent
    records = []
    for image_id, (arrays, ids) in people.items():
        image_path = single or _results_image(folder, image_id)
        name = image_path.stem if image_path is not None else str(image_id)
        keypoints, kept_ids, skipped = _select_people(arrays, ids, min_keypoints, path, name, num_keypoints(COCO_FORMAT))
        records.append(KeypointImage(name, keypoints, COCO_FORMAT, kept_ids, image_path=image_path, skipped=skipped,
                                     image_id=image_id))
    if not records:
        raise KeypointFileError(f"{path}: no person (category_id 1) in the results list")
    return records


def _scores(values, path: Path, where: str) -> np.ndarray:
    """COCO-17 per-keypoint detector scores → ``(17,)`` float32 clipped to [0, 1]."""
    try:
        scores = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise KeypointFileError(f"{path}: {where} contains non-numeric values") from None
    count = num_keypoints(COCO_FORMAT)
    if scores.shape != (count,) or not np.isfinite(scores).all():
        raise KeypointFileError(f"{path}: {where} must be a list of {count} finite numbers")
    return scores.clip(0.0, 1.0)


def _results_image(folder: Path, image_id) -> Path | None:
    """The image of a results list's ``image_id`` in ``folder``: a string id naming a file (``sub/x.jpg``),
    else ``<id>.jpg|.jpeg|.png`` (a string id without its extension), or for integers also COCO's 12-digit
    zero-padded name (``000000000785.jpg``)."""
    if isinstance(image_id, str):
        if Path(image_id).suffix and (folder / image_id).is_file():
            return folder / image_id
        return _find_image(folder, (image_id, str(Path(image_id).with_suffix(""))))
    return _find_image(folder, (str(image_id), f"{image_id:012d}"))


def _is_id(value) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _check_coco_image(image: dict, path: Path, where: str) -> None:
    """Field types of one COCO ``images[]`` entry (``id``, ``file_name``, optional ``width``/``height``)."""
    if not _is_id(image["id"]):
        raise KeypointFileError(f"{path}: {where}.id must be an integer or a string, got {type(image['id']).__name__}")
    name = image["file_name"]
    if not isinstance(name, str) or not name.strip():
        raise KeypointFileError(f"{path}: {where}.file_name must be a non-empty string, got {name!r}")
    for key in ("width", "height"):
        value = image.get(key)
        if key in image and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise KeypointFileError(f"{path}: {where}.{key} must be a positive integer, got {value!r}")


def _output_name(file_name: str) -> str:
    """Output stem of a COCO image: its relative path without extension (``sub/x.jpg`` → ``sub/x``), or the
    stem of an absolute path."""
    relative = Path(file_name)
    if relative.is_absolute():
        return relative.stem
    parts = [p for p in relative.with_suffix("").parts if p not in ("", ".", "..")]
    return "/".join(parts) or relative.stem


def _unique_names(records: list[KeypointImage]) -> list[KeypointImage]:
    """Output names that never collide: the file stem, or where two images share a stem (``x.jpg`` and
    ``sub/x.jpg``) their relative paths with ``/`` → ``_``, then an index."""
    stems = [record.name.rsplit("/", 1)[-1] for record in records]
    taken: set[str] = set()
    for record, stem in zip(records, stems):
        name = stem if stems.count(stem) == 1 else record.name.replace("/", "_")
        if name in taken:
            name = next(f"{name}_{k}" for k in range(2, len(records) + 2) if f"{name}_{k}" not in taken)
        record.name = name
        taken.add(name)
    return records


def read_keypoints(
    path: str | Path,
    images: str | Path | None = None,
    min_keypoints: int = 6,
    data=None,
) -> list[KeypointImage]:
    """Read a keypoint JSON file (OpenPose, COCO annotations or a COCO results list, told apart by
    content) or a folder of them.

    Args:
        path: a ``.json`` file or a folder of ``.json`` files (sorted by name).
        images: an image file (a single OpenPose JSON, or a COCO file / results list of one image), or
            the folder of images: COCO ``file_name``, results ``<image_id>.jpg|.png``, OpenPose
            ``<stem>.jpg|.jpeg|.png`` (OpenPose's ``<stem>_keypoints.json`` naming is understood).
        data: a file's parsed JSON when the caller has it already (not read again).
    """
    path = Path(path)
    if images is not None and not Path(images).exists():
        raise KeypointFileError(f"{images}: image or image folder not found")
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise KeypointFileError(f"{path}: folder contains no .json keypoint files")
        return _unique_names([record for file in files for record in read_keypoints(file, images, min_keypoints)])
    data = load_keypoint_json(path) if data is None else data
    if isinstance(data, dict) and "annotations" in data:
        records = _unique_names(read_coco(path, images, min_keypoints, data))
    elif isinstance(data, list):
        records = _unique_names(read_coco_results(path, images, min_keypoints, data))
    else:
        image_path = None
        if images is not None:
            images = Path(images)
            stems = (path.stem, path.stem.removesuffix("_keypoints"))
            image_path = images if images.is_file() else _find_image(images, stems)
        records = [read_openpose(path, min_keypoints, image_path, data)]
    return _from_file(records, path)


def _from_file(records: list[KeypointImage], path: Path) -> list[KeypointImage]:
    """``records`` marked as read from ``path`` (how their errors name them)."""
    for record in records:
        record.source = path
    return records


def _find_image(folder: Path, stems: tuple[str, ...]) -> Path | None:
    """The first ``<stem>.jpg|.jpeg|.png`` (also upper case) in ``folder`` over ``stems``."""
    for candidate in stems:
        for ext in (".jpg", ".jpeg", ".png", ".JPG", ".PNG"):
            if (folder / (candidate + ext)).is_file():
                return folder / (candidate + ext)
    return None


# ---------------------------------------------------------------------------------------- writing
def _relative(folder: Path, start: Path) -> str:
    """Folder ``folder`` relative to folder ``start``, both with their links resolved (the operating system
    resolves ``start/../x`` from ``start``'s real place), or absolute when there is no relative path."""
    try:
        return Path(os.path.relpath(os.path.realpath(folder), os.path.realpath(start))).as_posix()
    except ValueError:  # another drive (Windows)
        return os.path.realpath(folder)


def coco_document(detections: list[ImageDetections], folder: Path) -> dict:
    """The COCO dictionary for ``detections`` (module docstring) of a file to be written in ``folder``:
    ``file_name`` relative to the images' common folder, which ``info.images`` gives relative to ``folder``."""
    absolute = [Path(os.path.abspath(item.path)) for item in detections]  # links kept: the names as given
    root = Path(os.path.commonpath([p.parent for p in absolute])) if absolute else Path(os.path.abspath(folder))
    images, annotations = [], []
    for image_id, (item, image) in enumerate(zip(detections, absolute), start=1):
        images.append({"id": image_id, "file_name": image.relative_to(root).as_posix(),
                       "width": int(item.size[0]), "height": int(item.size[1])})
        for person in item.people:
            x0, y0, x1, y1 = (float(v) for v in person.box)
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                "keypoints": [round(float(v), 4) if i % 3 == 2 else round(float(v), 2)
                              for i, v in enumerate(np.asarray(person.keypoints).reshape(-1))],
                "num_keypoints": int((person.keypoints[:, 2] >= 0.5).sum()),
                "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
                "score": round(float(person.score), 4),
            })
    return {
        "info": {"description": "people detected by hmr-flow (BlazePose)", "keypoint_values": CONFIDENCE_VALUES,
                 "images": _relative(root, folder)},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO17_NAMES)}],
    }


def write_coco(path: str | Path, detections: list[ImageDetections]) -> Path:
    """Write ``detections`` to ``path`` (a temporary file renamed into place: never half-written)."""
    path = Path(path)
    return write_text(path, json.dumps(coco_document(detections, path.parent), indent=1))


def detected_records(detections: list[ImageDetections], path: str | Path, min_keypoints: int = 6) -> list[KeypointImage]:
    """Write ``detections`` to the COCO file ``path`` (:func:`write_coco`) and return the records
    :func:`read_keypoints` would read from it, made from the written document in memory (the values as
    written, rounded; the file is not read back)."""
    path = Path(path)
    document = coco_document(detections, path.parent)
    write_text(path, json.dumps(document, indent=1))
    return _from_file(_unique_names(read_coco(path, None, min_keypoints, document)), path)
