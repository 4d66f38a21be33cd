"""Every bad input of issues 15, 24, 29 and 33 gets one clear line and exit status 2, and no run changes an
input file.

Each case runs a command in-process (``hmr-flow`` through :func:`hmr_flow.cli.main`, ``python -m
data_tools`` through its ``main``, or a demo script's ``main``) on small inputs from the ``bad`` fixture,
and checks: the exit status; exactly one ``error:`` line on stderr, containing the expected fragment
(which names the file or option); no traceback and never torch's ``weights_only=False`` or
``add_safe_globals`` advice; nothing written to the output; and the same bytes in every input file
afterwards. Entry ``detect`` is ``hmr-flow`` on a command that runs the person detector first (skipped
when its networks are not cached); entry ``proc`` runs ``python -m hmr_flow.cli`` in a child process (the
cases that once crashed the interpreter). A case that succeeds (status 0) must print each fragment (on
stdout or stderr) and create the files of its ``creates`` option.

Options of a case (an optional sixth element): ``disk_full`` — a file-name pattern whose writes in the
output folder fail as on a full disk; ``creates`` — paths (templates) that must exist afterwards. Templates
naming ``{held_pt}``, ``{held_npz}`` or ``{held_dir}`` run while the test holds the output lock
(:func:`hmr_flow.validation.exclusive_run`) of that path, as a run still writing it would.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from contextlib import ExitStack
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
     "clip_repeat.json: && and images[3] have the same id 1"),
    ("fit-sequence-frame-sizes", "hmr", "fit --keypoints {clip_sizes} --sequence --out {tmp}/f", 2,
     "clip_sizes.json: the frames have different sizes"),
    ("fit-sequence-nobody", "hmr", "fit --keypoints {clip_nobody} --sequence --out {tmp}/f", 2,
     "clip_nobody.json: no person with at least 6 keypoints in any of the 3 frames"),
    ("fit-sequence-every-0", "hmr", "fit --keypoints {clip_nobody} --sequence --every 0 --out {tmp}/f", 2, "--every"),
    # clips follow fit's output rules (issue 29): an earlier run's tracks replaced only with --overwrite, a file of
    # another kind under a track's name never, one run at a time per folder
    ("fit-sequence-tracks-exist", "hmr", "fit --keypoints {clip_nobody} --sequence --out {clip_done}", 2,
     "clip_done: already holds clip_nobody_track1.npz && --overwrite"),
    ("fit-sequence-track-other-kind", "hmr", "fit --keypoints {clip_nobody} --sequence --overwrite --out {clip_other}", 2,
     "clip_nobody_track1.npz exists and is a pose file && refusing to replace it"),
    ("fit-sequence-locked", "hmr", "fit --keypoints {clip_nobody} --sequence --out {held_dir}", 2, "another run (pid"),
    # ---- hang: --tiles 99 ran for hours; the option is gone (--recall high bounds the search): refused, unread
    ("detect-tiles-99", "hmr", "detect --image {root}/missing.jpg --tiles 99 --out {tmp}/d.json", 2, "--tiles"),
    # ==== issue 29
    # ---- crashes: a non-UTF-8 (Latin-1) file name segfaulted in cv2.imwrite
    ("nonutf8-regress-grid", "proc", "regress --image {latin1_jpg} --bbox 300 200 700 800 --model-weights {hmr_weights} "
     "--out {tmp}/r", 0, "wrote hypotheses for 1 images", {"creates": ["{tmp}/r/{latin1}_grid.png"]}),
    ("nonutf8-sample-render", "proc", "prior sample -n 2 --max-render 2 --render {tmp}/grid_{latin1}.png --out "
     "{tmp}/s_{latin1}.npz", 0, "wrote", {"creates": ["{tmp}/grid_{latin1}.png", "{tmp}/s_{latin1}.npz"]}),
    ("nonutf8-fit-overlays", "proc", "fit --keypoints {openpose} --image {latin1_jpg} --overlays --out {tmp}/f_{latin1} "
     "--iterations 8 " + " ".join(FIT_QUICK), 0, "fitted 1 people", {"creates": ["{tmp}/f_{latin1}/person_keypoints_overlay.png"]}),
    ("nonutf8-prior-weights", "hmr", "prior score --poses {poses} --prior-weights {latin1_prior} --out {tmp}/s.csv", 0,
     "wrote"),
    ("nonutf8-detect", "detect", "detect --image {latin1_photo} --out {tmp}/{latin1}.json", 0, "found 1 people",
     {"creates": ["{tmp}/{latin1}.json"]}),
    # ---- runaway resources: limits that hold for every path
    ("mocap-fps-1e9", "data", "mocap convert {bvh_good} --subject 1 --out {tmp}/m.npz --workers 1 --fps 1e9", 2,
     "--fps 1e+09 && memory"),
    ("detect-huge-tiff", "detect", "detect --image {huge_tiff} --out {tmp}/d.json", 2,
     "huge.tiff: && 20000×20000 pixels, over the limit"),
    ("regress-huge-tiff", "hmr", "regress --image {huge_tiff} --bbox 0 0 60 60 --out {tmp}/r", 2,
     "huge.tiff: && 20000×20000 pixels, over the limit"),
    ("fit-huge-pgm", "hmr", "fit --keypoints {openpose} --image {huge_pgm} --out {tmp}/f " + " ".join(FIT_QUICK), 2,
     "huge.pgm: && 20000×20000 pixels, over the limit"),
    ("regress-huge-gif", "hmr", "regress --image {huge_gif} --bbox 0 0 60 60 --out {tmp}/r", 2,
     "huge.gif: && 20000×20000 pixels, over the limit"),
    ("regress-bbox-keypoint-model", "hmr", "regress --image {person_jpg} --bbox 300 200 700 800 --out {tmp}/r", 2,
     "--bbox && keypoints input"),
    ("regress-crowd-grid", "hmr", "regress --keypoints {crowd} --images {root} -n 2 --out {tmp}/r", 0,
     "grid shows 8 of 300 people"),
    ("score-many-poses-progress", "hmr", "prior score --poses {many_poses} --out {tmp}/s.csv", 0,
     "wrote && 10000 poses && prior score"),
    ("sample-n-1e11", "hmr", "prior sample -n 100000000000 --out {tmp}/s.npz", 2, "-n 100000000000 && memory"),
    ("regress-n-1e9", "hmr", "regress --keypoints {coco} -n 1000000000 --out {tmp}/r", 2, "-n 1000000000 && memory"),
    ("fit-n-1e9", "hmr", "fit --keypoints {coco} --images {root} --prior none -n 1000000000 --out {tmp}/f", 2,
     "-n 1000000000 && memory"),
    ("fit-threads-999", "hmr", "fit --keypoints {coco} --images {root} --out {tmp}/f --iterations 8 --threads 999 "
     + " ".join(FIT_QUICK), 0, "--threads 999: more than the && fitted 1 people"),
    # ---- outputs destroyed: a file of another kind is never replaced, one of the command's own kind only with
    # --overwrite, the suffix is what the command writes
    ("sample-out-is-checkpoint", "hmr", "prior sample -n 2 --out {existing_prior}", 2, "--out && writes a .npz file"),
    ("sample-render-is-checkpoint", "hmr", "prior sample -n 2 --out {tmp}/s.npz --render {existing_prior}", 2,
     "--render && writes a .png file"),
    ("score-out-is-pose-set", "hmr", "prior score --poses {poses} --out {poses_huge}", 2, "--out && writes a .csv file"),
    ("sample-out-is-gmm-prior", "hmr", "prior sample -n 2 --out {gmm_npz}", 2, "prior_gmm.npz: && GMM prior && refusing "
     "to replace it"),
    ("sample-out-is-pose-set", "hmr", "prior sample -n 2 --out {poses}", 2, "poses.npz: && refusing to replace it"),
    ("sample-out-exists", "hmr", "prior sample -n 2 --out {samples_npz}", 2, "samples.npz && already exists && "
     "--overwrite"),
    ("sample-out-overwrite", "hmr", "prior sample -n 2 --out {tmp}/s.npz --overwrite", 0, "wrote"),
    ("score-out-exists", "hmr", "prior score --poses {poses} --out {scores_csv}", 2, "scores.csv && already exists && "
     "--overwrite"),
    ("detect-out-is-image", "hmr", "detect --image {person_jpg} --out {tmp}/d.png", 2, "--out && writes a .json file"),
    ("mocap-out-is-checkpoint", "data", "mocap convert {bvh_good} --subject 1 --out {existing_prior} --workers 1", 2,
     "--out && writes a .npz file"),
    ("combine-out-is-gmm", "hmr", "prior combine --density {prior_flow} --regulariser {prior_flow} --out {gmm_npz}", 2,
     "--out && writes a .pt file"),
    ("train-cnf-out-is-gmm", "hmr", "prior train --kind cnf --data {poses} --out {gmm_npz}", 2,
     "--out && writes a .pt file (a CNF prior)"),
    ("body-build-out-is-gmm", "hmr", "body build --out {gmm_npz}", 2, "prior_gmm.npz: && GMM prior && refusing"),
    # ---- outputs destroyed: one run at a time per output for every long-running writer
    ("train-hmr-locked", "hmr", "train hmr --data {synth} --out {held_pt} --epochs 1", 2, "another run (pid"),
    ("fit-locked", "hmr", "fit --keypoints {coco} --images {root} --out {held_dir} " + " ".join(FIT_QUICK), 2,
     "another run (pid"),
    ("regress-locked", "hmr", "regress --keypoints {coco} --out {held_dir}", 2, "another run (pid"),
    ("mocap-convert-locked", "data", "mocap convert {bvh_good} --subject 1 --out {held_npz} --workers 1", 2,
     "another run (pid"),
    ("synth-render-locked", "data", "synth render --split all --n 1 --workers 0 --out {held_dir}", 2, "another run (pid"),
    # ---- outputs destroyed: a full disk names the file
    ("score-disk-full", "hmr", "prior score --poses {poses} --out {tmp}/s.csv", 2,
     "s.csv: cannot write (No space left on device)", {"disk_full": "*"}),
    ("regress-disk-full", "hmr", "regress --keypoints {coco} --out {tmp}/r", 2,
     "person_hypotheses.npz: cannot write (No space left on device)", {"disk_full": "*"}),
    ("detect-disk-full", "detect", "detect --image {t_pose} --out {tmp}/d.json", 2,
     "d.json: cannot write (No space left on device)", {"disk_full": "*"}),
    ("train-hmr-disk-full", "hmr", "train hmr --data {synth} --out {tmp}/h.pt --epochs 1 --batch-size 4 --workers 0 "
     "--image-size 64 --widths 8 16 32 64 --feature-dim 32 --flow-steps 2 --flow-hidden 64 --device cpu", 2,
     "h.csv: cannot write (No space left on device)", {"disk_full": "*"}),
    # ---- malformed data accepted
    ("coco-duplicate-image-id", "hmr", "fit --keypoints {coco_dup_image} --images {root} --out {tmp}/f", 2,
     "coco_dup_image.json: && images[0] and images[1] && id 1"),
    ("coco-duplicate-annotation-id", "hmr", "fit --keypoints {coco_dup_ann} --images {root} --out {tmp}/f", 2,
     "coco_dup_ann.json: && annotations[0] and annotations[1] && id 0"),
    ("coco-same-annotation-twice", "hmr", "regress --keypoints {coco_same_ann} --out {tmp}/r", 2,
     "coco_same_ann.json: && annotations[0] and annotations[1] && identical"),
    ("score-not-rotation-matrices", "hmr", "prior score --poses {not_rotations} --out {tmp}/s.csv --prior gmm", 2,
     "not_rotations.npz: && not a rotation matrix"),
    ("fit-focal-1e30", "hmr", "fit --keypoints {coco} --images {root} --focal 1e30 --out {tmp}/f " + " ".join(FIT_QUICK),
     2, "--focal 1e+30 && 1000×1000"),
    ("regress-focal-1e30", "hmr", "regress --keypoints {coco} --focal 1e30 --out {tmp}/r", 2, "--focal 1e+30 && 1000×1000"),
    ("fit-image-size-with-image", "hmr", "fit --keypoints {openpose} --image {person_jpg} --image-size 640 480 --out "
     "{tmp}/f " + " ".join(FIT_QUICK), 2, "--image-size 640 480 && 1000×1000"),
    ("regress-image-size-with-image", "hmr", "regress --keypoints {coco} --images {root} --image-size 640 480 --out "
     "{tmp}/r", 2, "--image-size 640 480 && 1000×1000"),
    # ---- misleading messages
    ("fit-gmm-as-flow-prior", "hmr", "fit --keypoints {coco} --out {tmp}/f --prior flow --prior-weights {gmm_npz}", 2,
     "prior_gmm.npz: && GMM prior && --prior gmm"),
    ("regress-gmm-as-model", "hmr", "regress --keypoints {coco} --out {tmp}/r --model-weights {gmm_npz}", 2,
     "prior_gmm.npz: && GMM prior && not an HMRFlow checkpoint"),
    ("score-flow-as-gmm", "hmr", "prior score --poses {poses} --prior gmm --prior-weights {prior_flow} --out {tmp}/s.csv",
     2, "prior_flow.pt: && flow prior && --prior flow"),
    ("score-cnf-as-flow", "hmr", "prior score --poses {poses} --prior flow --prior-weights {prior_cnf} --out "
     "{tmp}/s.csv", 2, "prior_cnf.pt: && CNF prior && --prior cnf"),
    ("score-model-as-prior", "hmr", "prior score --poses {poses} --prior-weights {hmr_weights} --out {tmp}/s.csv", 2,
     "hmr_synth128.pt: && HMRFlow && --model-weights"),
    ("fit-keypoints-dev-zero", "hmr", "fit --keypoints /dev/zero --image-size 100 100 --out {tmp}/f", 2,
     "/dev/zero: not a regular file"),
    ("score-poses-dev-zero", "hmr", "prior score --poses /dev/zero --out {tmp}/s.csv", 2, "/dev/zero: not a regular file"),
    ("regress-image-dev-zero", "hmr", "regress --image /dev/zero --bbox 0 0 10 10 --out {tmp}/r", 2,
     "/dev/zero: not a regular file"),
    ("score-weights-dev-zero", "hmr", "prior score --poses {poses} --prior-weights /dev/zero --out {tmp}/s.csv", 2,
     "/dev/zero: not a regular file"),
]


def _hashes(paths) -> dict[str, str]:
    files = [f for p in paths for f in ([p] if Path(p).is_file() else sorted(Path(p).rglob("*"))) if f.is_file()]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def _entry(kind: str, demo_script, request):
    if kind == "detect":
        request.getfixturevalue("blazepose_networks")  # skipped when the networks are not cached
    if kind in ("hmr", "detect"):
        return hmr_flow_main
    if kind == "data":
        from data_tools.__main__ import main

        return main
    return demo_script(kind.split(":", 1)[1]).main


def run_case(entry, argv: list[str], capfd) -> tuple[int, str, str]:
    """Run ``entry(argv)`` in-process (``entry`` ``"proc"``: ``python -m hmr_flow.cli`` in a child process);
    argparse's own exits count as the exit status."""
    if entry == "proc":
        # a strict stdout, as in a UTF-8 desktop locale: a non-UTF-8 name printed must not end the command
        environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8:strict"}
        done = subprocess.run([sys.executable, "-m", "hmr_flow.cli", *argv], capture_output=True, env=environment,
                              timeout=600)
        return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    try:
        code = entry(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    out, err = capfd.readouterr()
    return code, out, err


#: Outputs whose lock the test holds while a case naming them runs.
HELD = ("held_pt", "held_npz", "held_dir")


@pytest.mark.parametrize(("entry", "template", "code", "fragment", "options"),
                         [(*c[1:5], c[5] if len(c) > 5 else {}) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(entry, template, code, fragment, options, bad, demo_script, capfd, full_disk, request):
    from hmr_flow.validation import exclusive_run

    blocked = bad["tmp"] / "blocked"
    (blocked / "person_grid.png").mkdir(parents=True)
    (bad["root"] / "truncated_prior.state.pt").write_bytes((bad["root"] / "truncated.pt").read_bytes())
    held = bad["tmp"] / "held"
    held.mkdir()
    paths = {**{k: str(v) for k, v in bad.items()}, "tmp": str(bad["tmp"] / "out"), "grid_blocked": str(blocked),
             "truncated_prior": str(bad["root"] / "truncated_prior.pt"), "held_pt": str(held / "h.pt"),
             "held_npz": str(held / "m.npz"), "held_dir": str(held / "out")}
    argv = [part.format(**paths) for part in template.split()]
    inputs = [bad["root"], bad["synth"], bad["prior_flow"], bad["hmr_weights"], bad["t_pose"]]
    before = _hashes(inputs)
    if "disk_full" in options:
        full_disk(Path(paths["tmp"]), options["disk_full"])
    with ExitStack() as locks:
        for name in HELD:
            if "{" + name + "}" in template:
                locks.enter_context(exclusive_run(paths[name]))
        status, out, err = run_case(entry if entry == "proc" else _entry(entry, demo_script, request), argv, capfd)
    assert "Traceback" not in err and "weights_only" not in err + out and "safe_globals" not in err + out, err
    if code == 0:
        assert status == 0 and all(part in out + err for part in fragment.split(" && ")), (status, out, err)
        for created in options.get("creates", ()):
            assert Path(created.format(**paths)).is_file(), f"{created} not written"
        assert not [p for p in Path(paths["tmp"]).rglob(".*tmp*")], "temporary files left"
    else:
        errors = [line for line in err.splitlines() if ": error: " in line]
        assert status == code and len(errors) == 1, (status, err)
        assert all(part in errors[0] for part in fragment.split(" && ")), errors[0]
        assert "wrote" not in out, out
        written = [p for p in Path(paths["tmp"]).rglob("*") if p.is_file()] if Path(paths["tmp"]).is_dir() else []
        assert not written, f"half-written output: {written}"
    assert _hashes(inputs) == before, "an input file changed"
