"""Every bad input of issues 15, 24 and 33 gets one clear line and exit status 2, and no run changes an input
file.

Each case runs a command in-process (``hmr-flow`` through :func:`hmr_flow.cli.main`, ``python -m
data_tools`` through its ``main``, or a demo script's ``main``) on small inputs from the ``bad`` fixture,
and checks: the exit status; exactly one ``error:`` line on stderr, containing the expected fragment
(which names the file or option); no traceback and never torch's ``weights_only=False`` or
``add_safe_globals`` advice; nothing written to the output; and the same bytes in every input file
afterwards. Entry ``detect`` is ``hmr-flow`` on a command that runs the person detector first (skipped
when its networks are not cached).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hmr_flow.cli import main as hmr_flow_main

PRIOR_TINY = ["--epochs", "1", "--steps", "1", "--hidden", "8", "--val-subjects", "4"]
FIT_QUICK = ["--prior", "none", "--hypotheses", "1"]

# (id, entry, argv template, expected exit status, fragments of the error line joined by " && "); templates
# name paths of the ``bad`` fixture as ``{name}``; ``{tmp}`` is a fresh folder for outputs.
CASES = [
    # ---- data loss
    ("score-out-is-input", "hmr", "prior score --poses {poses} --out {poses}", 2, "is also an input"),
    ("train-out-is-data", "hmr", "prior train --data {poses} --out {poses}", 2, "is also an input"),
    ("prior-train-existing-out", "hmr", "prior train --data {poses} --out {existing_prior} " + " ".join(PRIOR_TINY),
     2, "already exists"),
    ("hmr-train-existing-out", "hmr", "train hmr --data {synth} --out {existing_hmr} --epochs 1", 2, "already exists"),
    # ---- tracebacks: devices
    *[(f"device-{dev}-{name}", "hmr", argv + f" --device {dev}", 2, f"--device {dev}")
      for dev in ("foo", "mps", "cuda")
      for name, argv in (("score", "prior score --poses {poses} --out {tmp}/s.csv"),
                         ("sample", "prior sample -n 2 --out {tmp}/s.npz"),
                         ("train", "prior train --data {poses} --out {tmp}/p.pt " + " ".join(PRIOR_TINY)),
                         ("fit", "fit --keypoints {coco} --images {root} --out {tmp}/fit " + " ".join(FIT_QUICK)),
                         ("regress", "regress --image {person_jpg} --bbox 300 200 700 800 --out {tmp}/r"),
                         ("train-hmr", "train hmr --data {synth} --out {tmp}/h.pt --epochs 1"))],
    *[(f"device-foo-demo-{name}", f"demo:{name}", argv + " --device foo", 2, "--device foo")
      for name, argv in (("run_demo", "--out {tmp}/demo"),)],
    # ---- tracebacks: files and numbers
    ("npy-pose-file", "hmr", "prior score --poses {poses_npy} --out {tmp}/s.csv", 0, "wrote"),
    ("npy-renamed-npz", "hmr", "prior score --poses {npy_renamed} --out {tmp}/s.csv", 0, "wrote"),
    ("pose-out-of-float32", "hmr", "prior score --poses {poses_huge} --out {tmp}/s.csv", 2, "poses_huge.npz"),
    ("pose-complex", "hmr", "prior score --poses {poses_complex} --out {tmp}/s.csv", 2, "poses_complex.npz"),
    ("pose-1d", "hmr", "prior score --poses {poses_1d} --out {tmp}/s.csv", 2, "poses_1d.npz"),
    ("coco-image-id-list", "hmr", "fit --keypoints {coco_list_id} --image-size 1000 1000 --out {tmp}/f", 2, "image_id"),
    ("regress-huge-bbox", "hmr", "regress --image {person_jpg} --bbox 0 0 1e12 1e12 --out {tmp}/r", 2, "--bbox"),
    ("checkpoint-non-tensor", "hmr", "regress --image {person_jpg} --bbox 300 200 700 800 --model-weights {hmr_nontensor} "
     "--out {tmp}/r", 2, "hmr_nontensor.pt"),
    ("bvh-deep", "data", "mocap convert {bvh_deep} --subject 1 --out {tmp}/m.npz --workers 1", 2, "deep.bvh: && nested"),
    ("prior-resume-truncated", "hmr", "prior train --data {poses} --out {truncated_prior} --resume " + " ".join(PRIOR_TINY),
     2, "truncated_prior.state.pt"),
    ("hmr-resume-garbage", "hmr", "train hmr --data {synth} --out {garbage} --resume --epochs 1", 2, "garbage.pt"),
    ("prior-lr-huge", "hmr", "prior train --data {poses} --out {tmp}/p.pt --lr 1e6 " + " ".join(PRIOR_TINY), 2, "--lr"),
    ("prior-batch-size-0", "hmr", "prior train --data {poses} --out {tmp}/p.pt --batch-size 0 " + " ".join(PRIOR_TINY),
     2, "--batch-size"),
    ("hmr-batch-size-0", "hmr", "train hmr --data {synth} --out {tmp}/h.pt --batch-size 0", 2, "--batch-size"),
    ("fit-unwritable-out", "hmr", "fit --keypoints {coco} --images {root} --out {a_file}/sub " + " ".join(FIT_QUICK),
     2, "--out"),
    ("prior-train-unwritable-out", "hmr", "prior train --data {poses} --out {a_file}/p.pt " + " ".join(PRIOR_TINY),
     2, "--out"),
    ("fit-threads-negative", "hmr", "fit --keypoints {coco} --images {root} --out {tmp}/f --threads -1", 2, "--threads"),
    ("fit-out-is-file", "hmr", "fit --keypoints {coco} --images {root} --out {a_file} " + " ".join(FIT_QUICK), 2, "--out"),
    ("seed-negative", "hmr", "prior sample -n 2 --seed -1 --out {tmp}/s.npz", 2, "--seed"),
    ("synth-zero-images", "data", "synth render --split train --n 0 --out {tmp}/synth", 2, "--n"),
    # ---- silent wrong results
    ("fit-missing-image", "hmr", "fit --keypoints {openpose} --image {root}/missing.jpg --image-size 1000 1000 "
     "--out {tmp}/f", 2, "missing.jpg"),
    ("fit-truncated-jpeg", "hmr", "fit --keypoints {openpose} --image {truncated_jpg} --out {tmp}/f " + " ".join(FIT_QUICK),
     2, "truncated.jpg"),
    ("regress-truncated-jpeg", "hmr", "regress --image {truncated_jpg} --bbox 300 200 700 800 --out {tmp}/r", 2,
     "truncated.jpg"),
    ("regress-truncated-png", "hmr", "regress --image {truncated_png} --bbox 300 200 700 800 --out {tmp}/r", 2,
     "truncated.png"),
    ("fit-keypoints-x1e6", "hmr", "fit --keypoints {coco_x1e6} --image-size 1000 1000 --out {tmp}/f " + " ".join(FIT_QUICK),
     2, "check focal/keypoints"),
    ("fit-focal-negative", "hmr", "fit --keypoints {coco} --images {root} --out {tmp}/f --focal -1000", 2, "--focal"),
    ("regress-grid-unwritable", "hmr", "regress --image {person_jpg} --bbox 300 200 700 800 --model-weights {hmr_weights} "
     "--out {grid_blocked}", 2,
     "person_grid.png"),
    ("bvh-frame-time-tiny", "data", "mocap convert {bvh_time} --subject 1 --out {tmp}/m.npz --workers 1", 2,
     "tiny_time.bvh: && Frame Time"),
    ("bvh-native-fps-0", "data", "mocap convert {bvh_good} --out {tmp}/m.npz --workers 1 --native-fps 0", 2,
     "--native-fps"),
    ("prior-epochs-0", "hmr", "prior train --data {poses} --out {tmp}/p.pt --epochs 0 --steps 1 --hidden 8", 2,
     "--epochs"),
    # ---- misleading messages
    ("fit-diverged-x1e30", "hmr", "fit --keypoints {coco_x1e30} --image-size 1000 1000 --out {tmp}/f " + " ".join(FIT_QUICK),
     2, "check focal/keypoints"),
    ("fit-focal-0", "hmr", "fit --keypoints {coco} --images {root} --out {tmp}/f --focal 0", 2, "--focal"),
    ("fit-focal-nan", "hmr", "fit --keypoints {coco} --images {root} --out {tmp}/f --focal nan", 2, "--focal"),
    ("fit-image-size-0", "hmr", "fit --keypoints {openpose} --image-size 0 0 --out {tmp}/f", 2, "--image-size"),
    ("prior-nan-weights", "hmr", "prior score --poses {poses} --prior-weights {prior_nan} --out {tmp}/s.csv", 2, "prior_nan.pt"),
    ("prior-missing-key", "hmr", "prior score --poses {poses} --prior-weights {prior_nokey} --out {tmp}/s.csv", 2,
     "prior_nokey.pt"),
    ("coco-width-text", "hmr", "fit --keypoints {coco_width} --images {root} --out {tmp}/f", 2, "coco_width.json"),
    ("bvh-zero-frames", "data", "mocap convert {bvh_empty} --subject 1 --out {tmp}/m.npz --workers 1", 2,
     "no_frames.bvh: && expected 1 to"),
    ("hmr-log-is-checkpoint", "hmr", "train hmr --data {synth} --out {tmp}/K.csv --epochs 1", 2, "K.csv"),
    ("regress-malicious-weights", "hmr", "regress --image {person_jpg} --bbox 300 200 700 800 --model-weights {exploit} "
     "--out {tmp}/r", 2, "exploit.pt"),
    ("prior-malicious-weights", "hmr", "prior score --poses {poses} --prior-weights {exploit} --out {tmp}/s.csv", 2,
     "exploit.pt"),
    ("regress-mismatched-weights", "hmr", "regress --image {person_jpg} --bbox 300 200 700 800 --model-weights {prior_flow} "
     "--out {tmp}/r", 2, "prior_flow.pt"),
    ("prior-mismatched-weights", "hmr", "prior score --poses {poses} --prior-weights {hmr_weights} --out {tmp}/s.csv", 2,
     "hmr_synth128.pt"),
    ("prior-truncated-weights", "hmr", "prior score --poses {poses} --prior-weights {truncated} --out {tmp}/s.csv", 2,
     "truncated.pt"),
    # ---- numerics
    ("fit-degenerate-keypoints", "hmr", "fit --keypoints {coco_same} --image-size 1000 1000 --out {tmp}/f "
     + " ".join(FIT_QUICK), 2, "degenerate"),
    # ==== issue 24
    # ---- tracebacks: OpenCV 5's imdecode asserts (!buf.empty()) on a zero-byte file
    ("detect-empty-jpeg", "detect", "detect --image {empty_jpg} --out {tmp}/d.json", 2, "empty.jpg: empty file"),
    ("detect-folder-empty-jpeg", "detect", "detect --images {photos_with_empty} --out {tmp}/d.json", 2,
     "empty.jpg: empty file"),
    ("fit-detect-empty-jpeg", "detect", "fit --image {empty_jpg} --out {tmp}/f " + " ".join(FIT_QUICK), 2,
     "empty.jpg: empty file"),
    ("regress-detect-empty-jpeg", "detect", "regress --image {empty_jpg} --out {tmp}/r", 2, "empty.jpg: empty file"),
    ("fit-keypoints-empty-jpeg", "hmr", "fit --keypoints {openpose} --image {empty_jpg} --out {tmp}/f "
     + " ".join(FIT_QUICK), 2, "empty.jpg: empty file"),
    ("regress-bbox-empty-jpeg", "hmr", "regress --image {empty_jpg} --bbox 300 200 700 800 --out {tmp}/r", 2,
     "empty.jpg: empty file"),
    # ---- tracebacks: checkpoints that are tensor-only but no checkpoint dict, deep JSON
    ("regress-weights-plain-list", "hmr", "regress --keypoints {coco} --out {tmp}/r --model-weights {plain_list}", 2,
     "plain_list.pt: not an HMRFlow checkpoint"),
    ("fit-prior-weights-plain-list", "hmr", "fit --keypoints {coco} --out {tmp}/f --prior flow --prior-weights "
     "{plain_list}", 2, "plain_list.pt: not a flow prior checkpoint"),
    ("fit-weights-config-list", "hmr", "fit --keypoints {coco} --out {tmp}/f --model-weights {hmr_config_list}", 2,
     "hmr_config_list.pt: && 'config' is a list"),
    ("regress-weights-config-list", "hmr", "regress --keypoints {coco} --out {tmp}/r --model-weights {hmr_config_list}",
     2, "hmr_config_list.pt: && 'config' is a list"),
    ("fit-keypoints-nested-100000", "hmr", "fit --keypoints {deep_json} --image-size 100 100 --out {tmp}/f", 2,
     "deep.json: && nested too deeply"),
    ("regress-keypoints-nested-100000", "hmr", "regress --keypoints {deep_json} --image-size 100 100 --out {tmp}/r", 2,
     "deep.json: && nested too deeply"),
    # ---- options silently ignored: refused, since whoever names a weights file believes it was used
    ("fit-prior-weights-under-conditional", "hmr", "fit --keypoints {coco} --out {tmp}/f --prior-weights {prior_flow}",
     2, "--prior-weights && not used with --prior conditional"),
    ("fit-model-weights-unused", "hmr", "fit --keypoints {coco} --out {tmp}/f --prior flow --init-from prior "
     "--model-weights {hmr_weights}", 2, "--model-weights && not used with --prior flow --init-from prior"),
    # ---- misleading messages
    ("detect-huge-header", "detect", "detect --image {huge_header_jpg} --out {tmp}/d.json", 2,
     "huge_header.jpg: && 20000×20000 pixels, over the limit"),
    ("regress-huge-header", "hmr", "regress --image {huge_header_jpg} --bbox 0 0 60 60 --out {tmp}/r", 2,
     "huge_header.jpg: && 20000×20000 pixels, over the limit"),
    ("regress-keypoints-off-image", "hmr", "regress --keypoints {coco_off} --out {tmp}/r", 2,
     "coco_off.json: && person 0: && outside the 1000×1000 image"),
    ("fit-keypoints-off-image", "hmr", "fit --keypoints {coco_off} --images {root} --out {tmp}/f", 2,
     "coco_off.json: && person 0: && outside the 1000×1000 image"),
    ("regress-image-size-too-small", "hmr", "regress --keypoints {openpose} --image-size 100 100 --out {tmp}/r", 2,
     "person_keypoints.json: && person 0: && outside the 100×100 image"),
    ("bvh-angle-1e308", "data", "mocap convert {bvh_huge_angle} --subject 1 --out {tmp}/m.npz --workers 1", 2,
     "huge_angle.bvh:25: frame 1: Zrotation && 1e+308 degrees"),
    ("body-build-unwritable-out", "hmr", "body build --out {a_file}/model.npz", 2, "--out"),
    ("regress-unknown-class-weights", "hmr", "regress --keypoints {coco} --out {tmp}/r --model-weights "
     "{unknown_class}", 2, "unknown_class.pt: refused"),
    ("fit-unknown-class-weights", "hmr", "fit --keypoints {coco} --out {tmp}/f --model-weights {unknown_class}", 2,
     "unknown_class.pt: refused"),
    ("hmr-resume-unknown-class", "hmr", "train hmr --data {synth} --out {unknown_class} --resume --epochs 1", 2,
     "unknown_class.pt: refused"),
    ("prior-unknown-class-weights", "hmr", "prior score --poses {poses} --prior-weights {unknown_class} --out "
     "{tmp}/s.csv", 2, "unknown_class.pt: refused"),
    # ==== issue 33: clips
    ("fit-video-undecodable", "hmr", "fit --video {junk_mp4} --out {tmp}/f", 2,
     "junk.mp4: not a video OpenCV can decode"),
    ("fit-video-zero-frames", "hmr", "fit --video {zero_avi} --out {tmp}/f", 2, "zero.avi: no frames"),
    ("fit-video-frame-size-change", "detect", "fit --video {resized_frames} --out {tmp}/f", 2,
     "f_%03d.png: frame 2 is 400×400 pixels, the first frame 320×320"),
    ("fit-video-nobody", "detect", "fit --video {blank_mp4} --out {tmp}/f", 2,
     "blank.mp4: no person found in any of its 3 frames"),
    ("fit-sequence-ids-repeat", "hmr", "fit --keypoints {clip_repeat} --sequence --out {tmp}/f", 2,
     "clip_repeat.json: images[3].id 1 repeats"),
    ("fit-sequence-frame-sizes", "hmr", "fit --keypoints {clip_sizes} --sequence --out {tmp}/f", 2,
     "clip_sizes.json: the frames have different sizes"),
    ("fit-sequence-nobody", "hmr", "fit --keypoints {clip_nobody} --sequence --out {tmp}/f", 2,
     "clip_nobody.json: no person with at least 6 keypoints in any of the 3 frames"),
    ("fit-sequence-every-0", "hmr", "fit --keypoints {clip_nobody} --sequence --every 0 --out {tmp}/f", 2, "--every"),
    # ---- hang: --tiles 99 ran for hours; the option is gone (--recall high bounds the search): refused, unread
    ("detect-tiles-99", "hmr", "detect --image {root}/missing.jpg --tiles 99 --out {tmp}/d.json", 2, "--tiles"),
]


def _hashes(paths) -> dict[str, str]:
    files = [f for p in paths for f in ([p] if Path(p).is_file() else sorted(Path(p).rglob("*"))) if f.is_file()]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def _entry(kind: str, demo_script):
    if kind == "detect":
        from hmr_flow.detection import blazepose_files
        from hmr_flow.wheels import WheelError

        try:
            blazepose_files()
        except WheelError as err:
            pytest.skip(f"BlazePose networks unavailable (run 'make setup' once with network access): {err}")
    if kind in ("hmr", "detect"):
        return hmr_flow_main
    if kind == "data":
        from data_tools.__main__ import main

        return main
    return demo_script(kind.split(":", 1)[1]).main


def run_case(entry, argv: list[str], capfd) -> tuple[int, str, str]:
    """Run ``entry(argv)`` in-process; argparse's own exits count as the exit status."""
    try:
        code = entry(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    out, err = capfd.readouterr()
    return code, out, err


@pytest.mark.parametrize(("entry", "template", "code", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(entry, template, code, fragment, bad, demo_script, capfd):
    blocked = bad["tmp"] / "blocked"
    (blocked / "person_grid.png").mkdir(parents=True)
    (bad["root"] / "truncated_prior.state.pt").write_bytes((bad["root"] / "truncated.pt").read_bytes())
    paths = {**{k: str(v) for k, v in bad.items()}, "tmp": str(bad["tmp"] / "out"), "grid_blocked": str(blocked),
             "truncated_prior": str(bad["root"] / "truncated_prior.pt")}
    argv = [part.format(**paths) for part in template.split()]
    inputs = [bad["root"], bad["synth"], bad["prior_flow"], bad["hmr_weights"]]
    before = _hashes(inputs)
    status, out, err = run_case(_entry(entry, demo_script), argv, capfd)
    assert "Traceback" not in err and "weights_only" not in err + out and "safe_globals" not in err + out, err
    if code == 0:
        assert status == 0 and fragment in out, (status, out, err)
    else:
        errors = [line for line in err.splitlines() if ": error: " in line]
        assert status == code and len(errors) == 1, (status, err)
        assert all(part in errors[0] for part in fragment.split(" && ")), errors[0]
        assert "wrote" not in out, out
        written = [p for p in Path(paths["tmp"]).rglob("*") if p.is_file()] if Path(paths["tmp"]).is_dir() else []
        assert not written, f"half-written output: {written}"
    assert _hashes(inputs) == before, "an input file changed"
