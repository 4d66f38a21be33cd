"""Offline person + keypoint detection (BlazePose on LiteRT) on annotated photos, and fits from its keypoints.

    python bench/detect.py --photos ../shared/data/images/coco [--threads 2] [--repeats 3]

For the people of ``--photos/person_keypoints.json`` (those with ≥ 6 labelled keypoints) and each
detector setting (whole image, the default; whole image + tiles of half size; the annotated people's
boxes given, one person per box): people found (a detection matched one-to-one to an annotated person by IoU ≥ ``--min-iou`` of
their keypoint boxes), PCK@0.1 of the found people's 17 detected keypoints at the labelled ones
(threshold: 0.1 × the longer side of the annotated keypoint box), and detection time per image and per
detected person (median over ``--repeats`` runs, settings timed round-robin so that machine load hits
all alike; min–max in brackets). Then the end-to-end fit (flow prior, ``--iterations`` steps ×
``--hypotheses`` starts, as ``hmr-flow fit``) from the detected keypoints of the default setting, next to
the fit from the annotated keypoints: PCK@0.1 of the fitted keypoints against the annotations, mean
over the people found.
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

from hmr_flow.detection import BlazePose, ImageDetections, write_coco
from hmr_flow.detection.nms import match_boxes
from hmr_flow.fitting import FitOptions, KeypointImage, fit_records, read_keypoints, scaled_config
from hmr_flow.images import read_rgb
from hmr_flow.metrics import pck


def keypoint_boxes(keypoints: np.ndarray) -> np.ndarray:
    """``(P, 4)`` boxes of the keypoints with confidence > 0 of ``(P, 17, 3)``."""
    boxes = []
    for person in keypoints:
        points = person[person[:, 2] > 0, :2]
        boxes.append([*points.min(0), *points.max(0)])
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def pck_against(predicted: np.ndarray, record: KeypointImage, index: int) -> float:
    """PCK@0.1 of ``predicted (17, 2)`` against annotated person ``index`` of ``record`` (labelled keypoints)."""
    target = torch.from_numpy(record.keypoints[index : index + 1]).float()
    return float(pck(torch.from_numpy(np.asarray(predicted)[None, :, :2]).float(), target[..., :2], target[..., 2] > 0)[0])


def run_setting(detector: BlazePose, images: dict[str, np.ndarray], records: list[KeypointImage], given_boxes: bool):
    """One pass: detections per image and seconds per image."""
    out, seconds = {}, {}
    for record in records:
        boxes = keypoint_boxes(record.keypoints) if given_boxes else None
        start = time.perf_counter()
        out[record.name] = detector(images[record.name], boxes)
        seconds[record.name] = time.perf_counter() - start
    return out, seconds


def score(records: list[KeypointImage], detections: dict, min_iou: float):
    """``(found, pck per found person, matches per image)``."""
    found, scores, matches = 0, [], {}
    for record in records:
        people = detections[record.name]
        boxes = keypoint_boxes(np.stack([p.keypoints for p in people])) if people else np.zeros((0, 4))
        pairs = match_boxes(keypoint_boxes(record.keypoints), boxes, min_iou)
        matches[record.name] = pairs
        found += len(pairs)
        scores += [pck_against(people[d].keypoints, record, g) for g, d in pairs]
    return found, scores, matches


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
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of each network (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per setting (round-robin)")
    parser.add_argument("--min-iou", type=float, default=0.3, help="IoU of keypoint boxes to count a person found")
    parser.add_argument("--iterations", type=int, default=300, help="fitting steps in all (default 300, as hmr-flow fit)")
    parser.add_argument("--hypotheses", type=int, default=4, help="fitting starts per person (default 4)")
    parser.add_argument("--skip-fit", action="store_true", help="detection figures only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from hmr_flow.prior import load_prior

    records = [r for r in read_keypoints(args.photos / "person_keypoints.json", args.photos) if r.person_ids]
    annotated = sum(len(r.person_ids) for r in records)
    images = {r.name: read_rgb(r.image_path) for r in records}
    settings = {
        "whole image (default)": (BlazePose(threads=args.threads, tile_levels=0), False),
        "whole image + half-size tiles": (BlazePose(threads=args.threads, tile_levels=1), False),
        "annotated boxes given": (BlazePose(threads=args.threads), True),
    }
    times = {name: [] for name in settings}
    results = {}
    for _ in range(args.repeats):
        for name, (detector, given) in settings.items():
            detections, seconds = run_setting(detector, images, records, given)
            times[name].append(sum(seconds.values()))
            results[name] = detections
    rows = []
    for name in settings:
        found, scores, matches = score(records, results[name], args.min_iou)
        detected = sum(len(p) for p in results[name].values())
        total = np.array(times[name])
        rows.append({"setting": name, "found": found, "annotated": annotated, "detected": detected,
                     "pck": float(np.mean(scores)) if scores else float("nan"),
                     "ms_per_image": 1000 * total / len(records), "ms_per_person": 1000 * total / max(detected, 1),
                     "matches": matches})  # fmt: skip
    print(f"\n{annotated} annotated people in {len(records)} photos of {args.photos}; {args.threads} threads per network, "
          f"median of {args.repeats} round-robin runs [min–max]")  # fmt: skip
    print("| setting | people found | PCK@0.1 of found | detections | ms / image | ms / detected person |\n|---|---|---|---|---|---|")
    for r in rows:
        per_image, per_person = r["ms_per_image"], r["ms_per_person"]
        print(f"| {r['setting']} | {r['found']}/{r['annotated']} | {r['pck']:.3f} | {r['detected']} | "
              f"{np.median(per_image):.0f} [{per_image.min():.0f}–{per_image.max():.0f}] | "
              f"{np.median(per_person):.0f} [{per_person.min():.0f}–{per_person.max():.0f}] |")  # fmt: skip
    print("missed by the default setting (annotated keypoint box, labelled keypoints, labelled face points of 5):")
    for record in records:
        matched = {g for g, _ in rows[0]["matches"][record.name]}
        for g, (pid, person) in enumerate(zip(record.person_ids, record.keypoints)):
            if g not in matched:
                x0, y0, x1, y1 = keypoint_boxes(person[None])[0]
                print(f"  {record.name} person {pid}: {x1 - x0:.0f}×{y1 - y0:.0f} px, {int((person[:, 2] > 0).sum())} "
                      f"keypoints, face {int((person[:5, 2] > 0).sum())}")  # fmt: skip
    if args.skip_fit:
        return 0
    default = rows[0]
    prior = load_prior("flow")
    options = FitOptions(prior=prior, prior_name="flow", num_hypotheses=args.hypotheses,
                         config=scaled_config(args.iterations), seed=0)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        detected_images = [ImageDetections(r.image_path, images[r.name].shape[1::-1], results[default["setting"]][r.name])
                           for r in records if results[default["setting"]][r.name]]  # fmt: skip
        detected_records = read_keypoints(write_coco(Path(tmp) / "detected.json", detected_images), min_keypoints=0)
        fit_detected = fit_pck(records, detected_records, default["matches"], options)
    identity = {r.name: [(g, g) for g, _ in default["matches"][r.name]] for r in records}
    fit_annotated = fit_pck(records, records, identity, options)
    print(f"\nfit ({args.iterations} steps × {args.hypotheses} starts, flow prior), PCK@0.1 against the annotations, "
          f"mean over the {len(fit_detected)} people found by the default setting:")  # fmt: skip
    print(f"| fit from | PCK@0.1 (worst) |\n|---|---|\n| detected keypoints | {np.mean(fit_detected):.3f} "
          f"({np.min(fit_detected):.2f}) |\n| annotated keypoints | {np.mean(fit_annotated):.3f} ({np.min(fit_annotated):.2f}) |")  # fmt: skip
    if args.json:
        summary = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items() if k != "matches"} for r in rows]
        args.json.write_text(json.dumps({"detection": summary, "fit_detected": fit_detected,
                                         "fit_annotated": fit_annotated}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
