# hmr-flow — two commands on a fresh machine: `make demo` and `make test`.
# Everything installs into $(VENV). torch is installed first, pinned to the CPU build
# ($(TORCH_SPEC)); if the venv already has a torch (e.g. a CUDA build you installed), it is kept.

PYTHON     ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
DEVICE     ?= auto
STAMP      := $(VENV)/.hmr-flow-installed

.PHONY: setup test docs demo bench data synth train-prior train-cnf train-hmr train-hmr-rgb demo-assets clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[test,docs]"
	touch $@

setup: $(STAMP)
	@$(PY) -c "from hmr_flow.body import default_model_path as p; raise SystemExit(not p().is_file())" \
	  || $(VENV)/bin/hmr-flow body build
	$(PY) -c "from hmr_flow.detection.models import main; main()"

test: setup
	$(PY) -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: treating as a failure" >&2; exit 1; fi; \
	exit $$rc

# The documentation site into site/ (every warning is an error: broken links, missing pages, bad anchors).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

demo: setup
	$(PY) demo/run_demo.py --out demo_output --device $(DEVICE)

bench: setup
	$(PY) -m pip install -e ".[bench]"
	$(PY) bench/flows.py
	$(PY) bench/synth.py
	$(PY) bench/prior.py
	$(PY) bench/fit_eval.py --persons 96
	$(PY) bench/fit_command.py --persons 96 --iterations 300 120 60 30 --hypotheses 4
	$(PY) bench/mesh_write.py
	$(PY) bench/hmr_kp_eval.py
	$(PY) bench/hmr_eval.py --data data/synth/val --n 25 --limit 1000
	$(PY) bench/hmr_fit_eval.py --images 96
	$(PY) bench/train_speed.py --data data/synth/train --device $(DEVICE)
	test -d ../shared/data/images/coco && $(PY) bench/hmr_photos.py --photos ../shared/data/images/coco \
	  || echo "bench/hmr_photos.py skipped: ../shared/data/images/coco (annotated photos) not found"
	test -d ../shared/data/images/coco && $(PY) bench/detect.py --photos ../shared/data/images/coco \
	  || echo "bench/detect.py skipped: ../shared/data/images/coco (annotated photos) not found"

data: setup
	$(PY) -m data_tools mocap build

synth: setup
	$(PY) -m data_tools synth render --split train --n 20000 --size 128 --out data/synth/train --workers 2 --seed 0
	$(PY) -m data_tools synth render --split val --n 2000 --size 128 --out data/synth/val --workers 2 --seed 1
	$(PY) -m data_tools synth preview --data data/synth/train --out data/synth/preview.png

# The flow priors learn from CMU only: trained on HDM05 too (source asf_cmu31, HDM05's ASF rig) with this
# recipe, the density's held-out median NLL is 6-9 nats worse (docs/benchmarks.md#priors-and-more-data).
# The GMM learns from CMU and HDM05 without DeepMimic's clips, whose undriven joints only teach it that
# those joints never move; it is therefore CC BY-SA 3.0 (docs/data-licences.md).
CMU_ONLY = --exclude-sources asf_cmu31 --val-subjects 3,6,16,135
train-prior: setup
	$(VENV)/bin/hmr-flow prior train --data data/mocap/poses.npz --out build/prior/prior_density.pt --overwrite \
	  --coupling spline --jitter 0.01 --jitter-end 0.001 --epochs 8 --floor 0.001 --mirror $(CMU_ONLY) --device $(DEVICE)
	$(VENV)/bin/hmr-flow prior train --data data/mocap/poses.npz --out build/prior/prior_regulariser.pt --overwrite \
	  --mirror $(CMU_ONLY) --device $(DEVICE)
	$(VENV)/bin/hmr-flow prior combine --density build/prior/prior_density.pt \
	  --regulariser build/prior/prior_regulariser.pt --out build/prior/prior_flow.pt --overwrite
	$(VENV)/bin/hmr-flow prior train --kind gmm --data data/mocap/poses.npz --out build/prior/prior_gmm.npz --overwrite \
	  --mirror --exclude-sources cmu_deepmimic
	cp build/prior/prior_flow.pt build/prior/prior_gmm.npz hmr_flow/assets/

# The continuous-flow prior (`--prior cnf`): 8 epochs, ~45-60 min on one CPU thread.
train-cnf: setup
	OMP_NUM_THREADS=1 $(VENV)/bin/hmr-flow prior train --kind cnf --data data/mocap/poses.npz \
	  --out build/prior/prior_cnf.pt --overwrite --jitter 0.01 --jitter-end 0.001 --epochs 8 --lr 2e-3 \
	  --divergence exact --floor 0.001 --mirror $(CMU_ONLY) --device $(DEVICE)
	cp build/prior/prior_cnf.pt hmr_flow/assets/

# The keypoint-conditioned model (the default of `hmr-flow fit` / `regress`): pairs generated from the
# mocap of `make data` (CMU's 17 training subjects and HDM05's 4 actors; mirrored half the time, both arms
# from another frame a fifth of the time, the trunk bent sideways a fifth of the time), no images needed;
# 16,000 steps, ~75 min of one CPU thread (the weights learn from HDM05: CC BY-SA 3.0).
train-hmr: setup
	$(VENV)/bin/hmr-flow train hmr --input keypoints --data data/mocap/poses.npz --epochs 32 --steps-per-epoch 500 \
	  --batch-size 64 --image-size 48 --widths 32 64 128 --flow-hidden 384 --mirror 0.5 --recombine-arms 0.2 --bend-sideways 0.2 \
	  --loss-weight keypoints3d=0.2 --loss-weight params=0.01 --loss-weight nll=0.02 --loss-weight jitter=0.02 \
	  --loss-weight keypoints2d=0.02 --loss-weight sample_keypoints2d=0.1 \
	  --device $(DEVICE) --out build/hmr_keypoints/hmr.pt --overwrite --export hmr_flow/assets/hmr_keypoints.pt

# The RGB model (synthetic renders of `make synth`).
train-hmr-rgb: setup
	$(VENV)/bin/hmr-flow train hmr --data data/synth/train --val data/synth/val --val-limit 200 \
	  --epochs 14 --batch-size 32 --loss-weight keypoints3d=0.2 --loss-weight params=0.01 \
	  --device $(DEVICE) --out build/hmr/hmr.pt --overwrite --export hmr_flow/assets/hmr_synth128.pt

demo-assets: setup
	$(PY) -m data_tools.demo_assets --out hmr_flow/assets/demo_poses.npz

clean:
	rm -rf demo_output .pytest_cache site
