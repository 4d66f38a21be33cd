"""Offline person + keypoint detection (BlazePose on LiteRT) on annotated photos, per proposal search, and
fits from its keypoints.

    python bench/detect.py --photos ../shared/data/images/coco [--threads 1] [--repeats 5] [--skip-fit]

For the people of ``--photos/person_keypoints.json`` with ≥ 6 labelled keypoints and each detector
setting (the whole image; + faces; + detector tiles; ``--recall high``; the shipped default; the
annotated people's boxes given, one person per box):

- people found: a detection matched one-to-one to an annotated person by IoU ≥ ``--min-iou`` of their
  keypoint boxes;
- PCK@0.1 of the found people's 17 detected keypoints at the labelled ones (threshold 0.1 × the longer
  side of the annotated keypoint box), mean over the found people and over all annotated people (a
  missed person scores 0);
- false positives: detections matched to nobody and not overlapping, by half the smaller box, the box of
  an annotation that is not scored (a crowd region, or a person with < 6 labelled keypoints: real people
  COCO did not key); people COCO did not annotate at all count as false positives;
- which search proposed each person found (``whole``, ``faces``, ``tiles``, ``box``);
- ms per image and per detection: all settings are timed image by image, round-robin, for
  ``--repeats`` passes (machine load hits them alike); median over the passes [min–max].

Then the people the default and ``--recall high`` miss, with their size and why (cut off by the border,
small, crowded; the best overlap of any detection; what the landmarks reach from the annotated box, the
ceiling of any proposal), and the end-to-end fit (flow prior, ``--iterations`` steps ×
``--hypotheses`` starts, as ``hmr-flow fit``) from the default's keypoints next to the fit from the
annotated keypoints: PCK@0.1 of the fitted keypoints against the annotations, mean over the people found.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hmr_flow.detection import BlazePose, ImageDetections
from hmr_flow.detection.nms import box_iou, match_boxes
from hmr_flow.detection.pipeline import DEFAULT_RECALL, RECALL, Search
from hmr_flow.fitting import FitConfig, FitOptions, KeypointImage, fit_records, read_keypoints, scaled_config
from hmr_flow.fitting.keypoint_io import write_coco
from hmr_flow.images import read_rgb
from hmr_flow.metrics import pck

#: Detector settings: (search, annotated boxes given). The shipped default is added by ``main``.
SETTINGS = {
    "whole image (person detector)": (Search(), False),
    "+ faces, whole image + 1/2 tiles": (Search(face_levels=1), False),
    "+ faces down to 1/4 tiles": (Search(face_levels=2), False),
    "+ faces down to 1/8 tiles": (Search(face_levels=3), False),
    "+ detector tiles 2×, 4×, padded": (Search(tile_levels=2), False),
    "--recall high (all)": (RECALL["high"], False),
    "annotated boxes given": (Search(), True),
}
#: A person whose annotated box comes this close (px) to the image border counts as cut off by it.
BORDER_PX = 2.0


def keypoint_boxes(keypoints: np.ndarray) -> np.ndarray:
    """``(P, 4)`` boxes of the keypoints with confidence > 0 of ``(P, 17, 3)``."""
    boxes = []
    for person in keypoints:
        points = person[person[:, 2] > 0, :2]
        boxes.append([*points.min(0), *points.max(0)])
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def annotation_boxes(path: Path) -> dict[int, tuple[str, np.ndarray]]:
    """Every annotation of the COCO file ``path``: id → (image file stem, ``(4,)`` ``(x0, y0, x1, y1)`` box px)."""
    data = json.loads(path.read_text())
    names = {image["id"]: Path(image["file_name"]).stem for image in data["images"]}
    return {a["id"]: (names[a["image_id"]], np.array(a["bbox"][:2] + [a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]],
                                                      dtype=np.float64)) for a in data["annotations"]}


def unscored_boxes(boxes: dict[int, tuple[str, np.ndarray]], records: list[KeypointImage]) -> dict[str, np.ndarray]:
    """Per image, ``(M, 4)`` boxes of the annotations not scored (crowd regions, people with too few
    labelled keypoints)."""
    scored = {pid for r in records for pid in r.person_ids}
    out = {r.name: [box for pid, (name, box) in boxes.items() if name == r.name and pid not in scored] for r in records}
    return {name: np.asarray(found, dtype=np.float64).reshape(-1, 4) for name, found in out.items()}


def covered(box: np.ndarray, regions: np.ndarray) -> bool:
    """Whether ``box (4,)`` and one of ``regions (M, 4)`` overlap by at least half the smaller of the two
    (a detection of a person partly hidden behind something reaches past the annotated visible part)."""
    if not len(regions):
        return False
    area = lambda b: np.prod(np.clip(b[..., 2:] - b[..., :2], 0, None), axis=-1)  # noqa: E731
    lo, hi = np.maximum(regions[:, :2], box[:2]), np.minimum(regions[:, 2:], box[2:])
    overlap = np.prod(np.clip(hi - lo, 0, None), axis=1)
    return bool((overlap >= 0.5 * np.maximum(np.minimum(area(regions), area(box)), 1e-9)).any())


def pck_against(predicted: np.ndarray, record: KeypointImage, index: int) -> float:
    """PCK@0.1 of ``predicted (17, 2)`` against annotated person ``index`` of ``record`` (labelled keypoints)."""
    target = torch.from_numpy(record.keypoints[index : index + 1]).float()
    return float(pck(torch.from_numpy(np.asarray(predicted)[None, :, :2]).float(), target[..., :2], target[..., 2] > 0)[0])


def score(records: list[KeypointImage], detections: dict, unscored: dict, min_iou: float):
    """``(pck per found person, false positives, matches per image)``."""
    scores, false_positives, matches = [], 0, {}
    for record in records:
        people = detections[record.name]
        boxes = keypoint_boxes(np.stack([p.keypoints for p in people])) if people else np.zeros((0, 4))
        pairs = match_boxes(keypoint_boxes(record.keypoints), boxes, min_iou)
        matches[record.name] = pairs
        scores += [pck_against(people[d].keypoints, record, g) for g, d in pairs]
        matched = {d for _, d in pairs}
        false_positives += sum(not covered(p.box, unscored[record.name]) for d, p in enumerate(people) if d not in matched)
    return scores, false_positives, matches


def why_missed(record: KeypointImage, index: int, size: tuple[int, int], outline: np.ndarray, people: list,
               given: float | None) -> str:
    """One line on annotated person ``index`` of ``record`` (annotated ``outline`` box) that no detection
    matched; ``given``: the PCK@0.1 of the landmarks when its box is given (``None``: not found even then)."""
    person = record.keypoints[index]
    box = keypoint_boxes(person[None])[0]
    width, height = size
    reasons = []
    sides = [name for name, gap in (("top", outline[1]), ("bottom", height - outline[3]), ("left", outline[0]),
                                    ("right", width - outline[2])) if gap <= BORDER_PX]
    face = int((person[:5, 2] > 0).sum())
    if sides:
        reasons.append(f"cut off at the {'/'.join(sides)} border" + (" (face outside the frame)" if face == 0 else ""))
    elif face == 0:
        reasons.append("face not visible")
    if box[3] - box[1] < 120:
        reasons.append("small (< 120 px tall)")
    others = np.delete(keypoint_boxes(record.keypoints), index, axis=0)
    if len(others) and box_iou(box[None], others).max() > 0.1:
        reasons.append("overlaps another annotated person")
    found = keypoint_boxes(np.stack([p.keypoints for p in people])) if people else np.zeros((0, 4))
    best = float(box_iou(box[None], found).max()) if len(found) else 0.0
    return (f"{record.name} person {record.person_ids[index]}: {box[2] - box[0]:.0f}×{box[3] - box[1]:.0f} px, "
            f"{int((person[:, 2] > 0).sum())} keypoints, face points {face}/5; {', '.join(reasons) or 'none of these'}; "
            f"best detection IoU {best:.2f}; box given: "
            f"{'not found' if given is None else f'PCK@0.1 {given:.2f}'}")


def fit_pck(records: list[KeypointImage], fit_inputs: list[KeypointImage], pairs: dict, options: FitOptions) -> list[float]:
    """Fit ``fit_inputs`` and score the fitted keypoints of matched people against ``records``' annotations."""
    scores = []
    with tempfile.TemporaryDirectory() as out:
        fit_records(fit_inputs, options, out)
        for record in records:
            if not pairs.get(record.name):
                continue
            with np.load(Path(out) / f"{record.name}_params.npz") as params:
                fitted = params["keypoints_2d"]
            scores += [pck_against(fitted[d], record, g) for g, d in pairs[record.name]]
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, required=True, help="folder with photos and person_keypoints.json")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of each network (default 1, as the commands)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per setting (round-robin, default 5)")
    parser.add_argument("--min-iou", type=float, default=0.3, help="IoU of keypoint boxes to count a person found")
    parser.add_argument("--iterations", type=int, default=300, help="fitting steps in all (default 300, as hmr-flow fit)")
    parser.add_argument("--hypotheses", type=int, default=4, help="fitting starts per person (default 4)")
    parser.add_argument("--skip-fit", action="store_true", help="detection figures only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from hmr_flow.prior import load_prior

    annotations = args.photos / "person_keypoints.json"
    records = [r for r in read_keypoints(annotations, args.photos) if r.person_ids]
    annotated = sum(len(r.person_ids) for r in records)
    images = {r.name: read_rgb(r.image_path) for r in records}
    outlines = annotation_boxes(annotations)
    unscored = unscored_boxes(outlines, records)
    default_name = f"shipped default (--recall {DEFAULT_RECALL})"
    settings = {**SETTINGS, default_name: (RECALL[DEFAULT_RECALL], False)}
    detectors = {name: BlazePose(threads=args.threads, search=search) for name, (search, _) in settings.items()}
    times = {name: np.zeros(args.repeats) for name in settings}
    results = {name: {} for name in settings}
    for repeat in range(args.repeats):
        for record in records:
            for name, (_, given) in settings.items():
                boxes = keypoint_boxes(record.keypoints) if given else None
                start = time.perf_counter()
                results[name][record.name] = detectors[name](images[record.name], boxes)
                times[name][repeat] += time.perf_counter() - start
    rows = []
    for name in settings:
        scores, false_positives, matches = score(records, results[name], unscored, args.min_iou)
        detected = sum(len(p) for p in results[name].values())
        rows.append({"setting": name, "found": len(scores), "annotated": annotated, "detected": detected,
                     "false_positives": false_positives, "pck_found": float(np.mean(scores)) if scores else 0.0,
                     "pck_all": float(np.sum(scores)) / annotated, "ms_per_image": 1000 * times[name] / len(records),
                     "ms_per_detection": 1000 * times[name] / max(detected, 1), "matches": matches})
    print(f"\n{annotated} annotated people (≥ 6 labelled keypoints) in {len(records)} photos of {args.photos}; "
          f"{args.threads} threads per network; median of {args.repeats} round-robin passes [min–max]")
    print("| setting | found | PCK@0.1 found | PCK@0.1 all | false pos. | detections | ms / image | ms / detection |\n"
          "|---|---|---|---|---|---|---|---|")
    for r in rows:
        per_image, per_person = r["ms_per_image"], r["ms_per_detection"]
        print(f"| {r['setting']} | {r['found']}/{r['annotated']} | {r['pck_found']:.3f} | {r['pck_all']:.3f} | "
              f"{r['false_positives']} | {r['detected']} | {np.median(per_image):.0f} [{per_image.min():.0f}–"
              f"{per_image.max():.0f}] | {np.median(per_person):.0f} [{per_person.min():.0f}–{per_person.max():.0f}] |")
    for r in rows:
        sources = [results[r["setting"]][name][d].source for name, pairs in r["matches"].items() for _, d in pairs]
        r["found_by"] = {source: sources.count(source) for source in sorted(set(sources))}
    print("people found, by the search that proposed them: " + "; ".join(
        f"{r['setting']}: " + ", ".join(f"{k} {v}" for k, v in r["found_by"].items()) for r in rows))
    by_name = {r["setting"]: r for r in rows}
    default, given = by_name[default_name], by_name["annotated boxes given"]
    for row in (default, by_name["--recall high (all)"]):
        print(f"\nmissed by {row['setting']} (box given: the landmarks from the annotated box, as in the last row):")
        for record in records:
            matched = {g for g, _ in row["matches"][record.name]}
            given_pairs = dict(given["matches"][record.name])
            size = images[record.name].shape[1::-1]
            for g in range(len(record.person_ids)):
                if g not in matched:
                    with_box = given_pairs.get(g)
                    with_box = None if with_box is None else pck_against(results[given["setting"]][record.name][with_box].keypoints, record, g)
                    print("  " + why_missed(record, g, size, outlines[record.person_ids[g]][1],
                                            results[row["setting"]][record.name], with_box))
    summary = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items() if k != "matches"} for r in rows]
    if args.skip_fit:
        if args.json:
            args.json.write_text(json.dumps({"detection": summary}, indent=1))
        return 0
    prior = load_prior("flow")
    options = FitOptions(prior=prior, prior_name="flow", seed=0,
                         config=scaled_config(args.iterations, FitConfig(num_hypotheses=args.hypotheses)))
    with tempfile.TemporaryDirectory() as tmp:
        detected_images = [ImageDetections(r.image_path, images[r.name].shape[1::-1], results[default["setting"]][r.name])
                           for r in records if results[default["setting"]][r.name]]
        detected_records = read_keypoints(write_coco(Path(tmp) / "detected.json", detected_images), min_keypoints=0)
        fit_detected = fit_pck(records, detected_records, default["matches"], options)
    identity = {r.name: [(g, g) for g, _ in default["matches"][r.name]] for r in records}
    fit_annotated = fit_pck(records, records, identity, options)
    print(f"\nfit ({args.iterations} steps × {args.hypotheses} starts, flow prior), PCK@0.1 against the annotations, "
          f"mean over the {len(fit_detected)} people found by the default setting:")
    print(f"| fit from | PCK@0.1 (worst) |\n|---|---|\n| detected keypoints | {np.mean(fit_detected):.3f} "
          f"({np.min(fit_detected):.2f}) |\n| annotated keypoints | {np.mean(fit_annotated):.3f} ({np.min(fit_annotated):.2f}) |")
    if args.json:
        args.json.write_text(json.dumps({"detection": summary, "fit_detected": fit_detected,
                                         "fit_annotated": fit_annotated}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
