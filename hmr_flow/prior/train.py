"""Training the pose priors from a pose file, validated on held-out subjects.

Input: an ``.npz`` with ``body_pose`` (``(N, 69)`` axis-angle or ``(N, 23, 3, 3)``) and ``subject (N,)``
(the mocap pose file of ``python -m data_tools mocap build`` has both, and ``clip (N,)``). Frames of the
validation subjects are held out (never split by frame: neighbouring frames are near-duplicates); those
marked ``partial (N,)`` (rigs that leave joints undriven) are then left out of validation altogether.

**Balance.** The shared mocap is lopsided (the Salsa pair, subjects 60 and 61, is 56 % of the training
frames). ``balance="subject"`` (or ``"clip"``) draws training frames with probability proportional to
``1 / (frames of their subject (clip))^balance_power``: with power 1 every subject (clip) weighs the
same, with power 0 the frames are uniform. The GMM is fitted on a resample drawn with the same weights.

Flow: AdamW with the shared warm-up + cosine schedule (:mod:`hmr_flow.training`, as the conditional
model), Gaussian jitter on the training coordinates (regulariser against the near-duplicate frames)
annealed linearly from ``jitter`` to ``jitter_end``, gradient-norm clipping, an error on a non-finite
loss (checked every :data:`hmr_flow.training.LOG_EVERY` steps, losses summed on the device).
After every epoch the validation NLL is logged to the CSV log ``<out stem>.log.csv``; the best epoch's
prior (with its held-out percentile table) is written atomically to ``out``; the full training state
goes to ``<out stem>.state.pt`` for ``resume``. GMM: scikit-learn EM on the training frames, same outputs.

CNF (``kind="cnf"``, :mod:`hmr_flow.prior.cnf`): the flow's loop and outputs; the loss is the NLL solved
with the training solver plus the RNODE terms (``TrainConfig.cnf_training``), and the validation NLL is the
scored density's (dopri5, exact divergence).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hmr_flow.body.skeleton import mirror_pose
from hmr_flow.prior.cnf import DEFAULT_CNF, DEFAULT_TRAINING, CNFPrior
from hmr_flow.prior.flow import DEFAULT_FLOW, FlowPrior
from hmr_flow.prior.gmm import fit_gmm
from hmr_flow.prior.inputs import NUM_BODY_JOINTS, canonical_axis_angle, load_pose_file
from hmr_flow.prior.space import BODY_JOINT_NAMES, PoseSpace, articulated_joints, mean_rotations
from hmr_flow.training import (
    LossMeter,
    MetricsLog,
    load_training_state,
    restore_training_state,
    save_training_state,
    training_state,
    warmup_cosine,
)
from hmr_flow.validation import DivergedError, UserInputError, first_line, resolve_device

BALANCES = ("none", "subject", "clip")
#: Validation subjects of the shared mocap build (``data_tools.mocap.build.VALIDATION_SUBJECTS``).
DEFAULT_VAL_SUBJECTS = (3, 6, 16, 135, 1001)
CMU_LICENCE = ("CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu): free for research and for inclusion "
               "in products, not to be resold, even converted. The database was created with funding from NSF "
               "EIA-0196217.")
HDM05_LICENCE = ("HDM05 (M. Müller, T. Röder, M. Clausen, B. Eberhardt, B. Krüger, A. Weber: Documentation Mocap "
                 "Database HDM05, Universität Bonn, 2007), CC BY-SA 3.0: these weights learned from it and are "
                 "licensed CC BY-SA 3.0.")
#: Subject ids above this are HDM05's actors (1001–1005, ``data_tools.mocap.convert.HDM05_SUBJECTS``); CMU's are 1–144.
FIRST_HDM05_SUBJECT = 1001


def data_licence(train_subjects: list[int]) -> str:
    """The licence of weights trained on ``train_subjects``: CMU's terms, plus HDM05's share-alike licence
    when any subject is an HDM05 actor."""
    if any(subject >= FIRST_HDM05_SUBJECT for subject in train_subjects):
        return f"{CMU_LICENCE} {HDM05_LICENCE}"
    return CMU_LICENCE


@dataclass
class TrainConfig:
    """Settings of ``prior train`` (see its ``--help``)."""

    data: str
    out: str
    kind: str = "flow"
    coords: str = "axis_angle_mean"
    val_subjects: tuple[int, ...] = DEFAULT_VAL_SUBJECTS
    #: mocap sources (the file's ``source_names``, e.g. ``cmu_deepmimic``) whose frames are left out entirely
    exclude_sources: tuple[str, ...] = ()
    epochs: int = 4
    batch_size: int = 512
    #: peak of the shared warm-up + cosine schedule: at 6e-4 the shipped recipes reach the held-out NLL the
    #: prior's former schedule reached at 1e-3 (density −44.47 vs −44.50, regulariser −34.56 vs −34.59)
    lr: float = 6e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    jitter: float = 0.03
    jitter_end: float | None = None
    balance: str = "none"
    balance_power: float = 1.0
    floor: float = 0.0
    clip_grad: float = 5.0
    seed: int = 0
    device: str = "cpu"
    flow: dict = field(default_factory=lambda: dict(DEFAULT_FLOW))
    #: ``kind="cnf"``: model and solver settings (:data:`hmr_flow.prior.cnf.DEFAULT_CNF`) and training
    #: settings (:data:`hmr_flow.prior.cnf.DEFAULT_TRAINING`)
    cnf: dict = field(default_factory=lambda: dict(DEFAULT_CNF))
    cnf_training: dict = field(default_factory=lambda: dict(DEFAULT_TRAINING))
    gmm_components: int = 8
    #: also train on the left/right mirror image of every training frame (the validation frames stay as recorded)
    mirror: bool = False


@dataclass
class PoseSplit:
    """Training and validation frames: canonical axis-angle ``(N, 23, 3)`` float32 and subject ids."""

    train: torch.Tensor
    val: torch.Tensor
    train_subjects: list[int]
    val_subjects: list[int]
    #: per training frame: ``{"subject": (N_train,), "clip": (N_train,)}`` int64 (clip only if the file has one)
    train_groups: dict[str, torch.Tensor] = field(default_factory=dict)

    def train_weights(self, balance: str, power: float = 1.0) -> torch.Tensor:
        """Sampling weights ``(N_train,)`` summing to 1: uniform (``"none"``) or ``∝ 1 / group size^power``
        for ``balance`` in :data:`BALANCES` (``"subject"``, ``"clip"``)."""
        if balance not in BALANCES:
            raise ValueError(f"balance must be one of {BALANCES}, got {balance!r}")
        if balance == "none":
            return torch.full((len(self.train),), 1.0 / len(self.train), dtype=torch.float64)
        if balance not in self.train_groups:
            raise UserInputError(f"balance {balance!r}: the pose file has no {balance!r} array")
        _, inverse, counts = torch.unique(self.train_groups[balance], return_inverse=True, return_counts=True)
        weights = counts.double()[inverse].pow(-float(power))
        return weights / weights.sum()

    def with_mirrors(self) -> PoseSplit:
        """The split with the mirror image (:func:`hmr_flow.body.skeleton.mirror_pose`) of every training
        frame appended, in the frame's own subject and clip (validation unchanged)."""
        mirrored = canonical_axis_angle(mirror_pose(self.train).flatten(1)).reshape(self.train.shape)
        groups = {name: torch.cat([ids, ids]) for name, ids in self.train_groups.items()}
        return PoseSplit(torch.cat([self.train, mirrored]), self.val, self.train_subjects, self.val_subjects, groups)


def _kept_frames(path: Path, data: np.lib.npyio.NpzFile, count: int, exclude_sources: tuple[str, ...]) -> np.ndarray:
    """``(count,)`` bool: the frames whose ``source`` is not named in ``exclude_sources``."""
    if not exclude_sources:
        return np.ones(count, bool)
    if "source" not in data.files or "source_names" not in data.files:
        raise UserInputError(f"{path}: --exclude-sources needs 'source' and 'source_names' arrays (written by "
                             f"data_tools' mocap build)")
    names = [str(name) for name in data["source_names"]]
    unknown = sorted(set(exclude_sources) - set(names))
    if unknown:
        raise UserInputError(f"{path}: unknown sources {unknown} (the file holds {names})")
    sources = np.asarray(data["source"])
    if sources.shape != (count,):
        raise UserInputError(f"{path}: 'source' has shape {sources.shape}, expected ({count},)")
    return ~np.isin(sources, [names.index(name) for name in exclude_sources])


def load_split(path: str | Path, val_subjects: tuple[int, ...], exclude_sources: tuple[str, ...] = ()) -> PoseSplit:
    """Read ``body_pose`` and ``subject`` from ``path`` and hold out ``val_subjects``, leaving out the frames of
    ``exclude_sources`` (names in the file's ``source_names``); errors name the file."""
    path = Path(path)
    poses = load_pose_file(path)
    data = np.load(path, allow_pickle=False)
    if isinstance(data, np.ndarray):
        raise UserInputError(f"{path}: a .npy pose array has no 'subject' ids; training needs an .npz with body_pose and "
                         f"subject")
    with data:
        if "subject" not in data.files:
            raise UserInputError(f"{path}: no 'subject' array: training needs subject ids to hold out whole subjects")
        subjects = np.asarray(data["subject"])
        clips = np.asarray(data["clip"]) if "clip" in data.files else None
        partial = np.asarray(data["partial"], dtype=bool) if "partial" in data.files else np.zeros(len(poses), bool)
        kept = _kept_frames(path, data, len(poses), exclude_sources)
    for name, ids in (("subject", subjects), ("clip", clips)):
        if ids is not None and ids.dtype.kind not in "iu":
            raise UserInputError(f"{path}: '{name}' must hold integer ids, got dtype {ids.dtype}")
    if subjects.shape != (len(poses),):
        raise UserInputError(f"{path}: 'subject' has shape {subjects.shape}, expected ({len(poses)},)")
    if clips is not None and clips.shape != subjects.shape:
        raise UserInputError(f"{path}: 'clip' has shape {clips.shape}, expected ({len(poses)},)")
    if partial.shape != subjects.shape:
        raise UserInputError(f"{path}: 'partial' has shape {partial.shape}, expected ({len(poses)},)")
    poses, subjects, partial = poses[kept], subjects[kept].astype(np.int64), partial[kept]
    clips = clips[kept].astype(np.int64) if clips is not None else None
    held_out = np.isin(subjects, np.asarray(val_subjects))
    if held_out.all() or not (held_out & ~partial).any():
        raise UserInputError(f"{path}: validation subjects {list(val_subjects)} leave an empty training or validation "
                         f"set (subjects in the file: {sorted(set(subjects.tolist()))})")
    axis_angle = canonical_axis_angle(torch.from_numpy(poses)).reshape(-1, NUM_BODY_JOINTS, 3)
    mask = torch.from_numpy(held_out)
    groups = {"subject": torch.from_numpy(subjects[~held_out])}
    if clips is not None:
        groups["clip"] = torch.from_numpy(clips[~held_out])
    val = torch.from_numpy(held_out & ~partial)
    return PoseSplit(axis_angle[~mask], axis_angle[val], sorted(set(subjects[~held_out].tolist())),
                     sorted(set(subjects[held_out].tolist())), groups)


#: The settings a GMM fit uses (the rest of :class:`TrainConfig` configures the flow's training).
GMM_SETTINGS = ("kind", "val_subjects", "exclude_sources", "balance", "balance_power", "seed", "gmm_components", "mirror")


def _settings(config: TrainConfig) -> dict:
    """The settings of ``config`` that shaped the prior (GMM: :data:`GMM_SETTINGS`; flow and cnf: all but the
    GMM's and the other kind's model)."""
    settings = {k: v for k, v in asdict(config).items() if k not in ("data", "out", "device")}
    if config.kind == "gmm":
        return {k: settings[k] for k in GMM_SETTINGS}
    other = ("flow",) if config.kind == "cnf" else ("cnf", "cnf_training")
    return {k: v for k, v in settings.items() if k not in ("gmm_components", *other)}


def training_split(config: TrainConfig) -> PoseSplit:
    """The split of ``config.data`` by ``config.val_subjects``, with mirrored training frames if
    ``config.mirror``."""
    split = load_split(config.data, config.val_subjects, config.exclude_sources)
    return split.with_mirrors() if config.mirror else split


def _provenance(config: TrainConfig, split: PoseSplit, joints: list[int]) -> dict:
    """The ``info`` a trained prior records: its data, split, modelled joints, licence and settings."""
    return {
        "data": str(config.data), "train_frames": len(split.train), "val_frames": len(split.val),
        "train_subjects": split.train_subjects, "val_subjects": split.val_subjects,
        "modelled_joints": [BODY_JOINT_NAMES[j] for j in joints], "licence": data_licence(split.train_subjects),
        "settings": _settings(config),
    }


def _state_path(out: Path) -> Path:
    return out.with_name(out.stem + ".state.pt")


def _log_path(out: Path) -> Path:
    return out.with_name(out.stem + ".log.csv")


def output_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """The files a training run writes: the prior ``out``, its training state and its CSV log."""
    out = Path(out)
    return out, _state_path(out), _log_path(out)


def _resume_settings(config: dict) -> dict:
    """The settings a resumed run must share with the saved one: all but ``epochs`` and ``device``, with
    the ``data`` and ``out`` paths resolved (the same files given by relative and absolute paths, or from
    another working folder, are the same run)."""
    settings = {k: v for k, v in config.items() if k not in ("epochs", "device")}
    for key in ("data", "out"):
        if isinstance(settings.get(key), str):
            settings[key] = str(Path(settings[key]).resolve())
    for key in ("val_subjects", "exclude_sources"):
        if isinstance(settings.get(key), list):
            settings[key] = tuple(settings[key])
    return settings


def train_gmm(config: TrainConfig, resume: bool = False) -> dict:
    """Fit the GMM baseline on the training subjects; writes ``out`` (.npz). Returns a summary. It fits in
    one go: there is nothing to ``resume`` (refused)."""
    if resume:
        raise UserInputError("--resume: the GMM fits in one go; only the flow's training resumes")
    split = training_split(config)
    joints = articulated_joints(split.train)
    space = PoseSpace(joints, "axis_angle")
    train = split.train
    if config.balance != "none":
        weights = split.train_weights(config.balance, config.balance_power)
        generator = torch.Generator().manual_seed(config.seed)
        train = train[torch.multinomial(weights, len(train), replacement=True, generator=generator)]
    x_train, _ = space.encode(train)
    prior = fit_gmm(x_train.numpy(), joints, config.gmm_components, config.seed, _provenance(config, split, joints))
    with torch.no_grad():
        val_log_prob = prior.log_prob(split.val.flatten(1)).numpy()
    prior.set_percentiles(val_log_prob)
    prior.info["val_nll"] = float(-val_log_prob.mean())
    prior.save(config.out)
    return {"val_nll": prior.info["val_nll"], "out": str(config.out)}


class _Run:
    """One flow or CNF training run: data on the device, model, optimiser, schedule, generator, bookkeeping."""

    def __init__(self, config: TrainConfig, split: PoseSplit) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        joints = articulated_joints(split.train)
        means = mean_rotations(split.train[:, joints])
        info = _provenance(config, split, joints)
        if config.kind == "cnf":
            self.prior = CNFPrior(joints, config.coords, means, config.cnf, config.floor, info=info)
        else:
            self.prior = FlowPrior(joints, config.coords, means, config.flow, config.floor, info=info)
        self.prior.to(self.device)
        with torch.no_grad():
            self.x_train = self.prior.space.encode(split.train.to(self.device))[0]
            self.x_val, self.val_log_jacobian = self.prior.space.encode(split.val.to(self.device))
        self.generator = torch.Generator().manual_seed(config.seed)
        self.weights = split.train_weights(config.balance, config.balance_power)
        self.steps_per_epoch = max(1, len(self.x_train) // config.batch_size)
        total = self.steps_per_epoch * config.epochs
        self.optimizer = torch.optim.AdamW(self.prior.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.scheduler = warmup_cosine(self.optimizer, config.warmup_steps, total)
        self.total_steps = total
        self.meter = LossMeter(f"--lr {config.lr:g}: training diverged", "lower --lr or --jitter")
        self.epoch, self.best_val_nll, self.best_epoch = 0, math.inf, -1
        with torch.no_grad():  # ActNorm data-dependent initialisation on a large jittered batch
            init = self.x_train[torch.randperm(len(self.x_train), generator=self.generator)[:4096].to(self.device)]
            self.prior.flow.log_prob(init + config.jitter * torch.randn_like(init))

    def state(self) -> dict:
        return training_state(self.prior, self.optimizer, self.scheduler, config=asdict(self.config),
                              generator=self.generator.get_state(), epoch=self.epoch, best_val_nll=self.best_val_nll,
                              best_epoch=self.best_epoch)

    def restore(self, path: Path) -> bool:
        """Continue from a state written by :meth:`state` (bit-exact: the generators are restored too);
        ``False`` when there is none yet (the run starts afresh)."""
        state = load_training_state(path, "prior training state", self.device,
                                    ("config", "generator", "epoch", "best_val_nll", "best_epoch"))
        if state is None:
            return False
        if not isinstance(state["config"], dict):
            raise UserInputError(f"{path}: prior training state 'config' is a {type(state['config']).__name__}, "
                                 f"expected a dict")
        saved, wanted = _resume_settings(state["config"]), _resume_settings(asdict(self.config))
        if saved != wanted:
            changed = sorted(k for k in wanted if saved.get(k) != wanted[k])
            raise UserInputError(f"--resume: {path} was trained with different settings ({', '.join(changed)})")
        restore_training_state(state, path, self.prior, self.optimizer, self.scheduler)
        try:
            self.generator.set_state(state["generator"])
        except (RuntimeError, TypeError) as err:
            raise UserInputError(f"{path}: training state does not match this run ({first_line(err)})") from None
        self.epoch, self.best_val_nll, self.best_epoch = state["epoch"], state["best_val_nll"], state["best_epoch"]
        return True

    def train_epoch(self, bar: tqdm) -> float:
        self.prior.train()
        draws = self.steps_per_epoch * self.config.batch_size
        if self.config.balance == "none":
            order = torch.randperm(len(self.x_train), generator=self.generator)
        else:
            order = torch.multinomial(self.weights, draws, replacement=True, generator=self.generator)
        order = order.to(self.device)
        where = f"epoch {self.epoch + 1}"
        for step in range(self.steps_per_epoch):
            x = self.x_train[order[step * self.config.batch_size:(step + 1) * self.config.batch_size]]
            x = x + self.jitter(self.epoch * self.steps_per_epoch + step) * torch.randn_like(x)
            loss, terms = self.loss(x)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.prior.parameters(), self.config.clip_grad)
            self.optimizer.step()
            self.scheduler.step()
            bar.update()
            if (means := self.meter.add(terms, where)) is not None:
                bar.set_postfix(epoch=self.epoch + 1, best_val=f"{self.best_val_nll:.2f}",
                                **{name: f"{value:.2f}" for name, value in means.items()})
        self.epoch += 1
        return self.meter.epoch_sums(where)["nll"] / self.steps_per_epoch

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The training loss on a batch of model coordinates and its logged terms (``nll`` first): the flow's
        NLL, or the CNF's NLL plus its RNODE terms (:meth:`hmr_flow.prior.cnf.CNFPrior.training_loss`)."""
        if self.config.kind == "cnf":
            return self.prior.training_loss(x, self.config.cnf_training)
        loss = -self.prior.flow.log_prob(x).mean()
        return loss, {"nll": loss}

    def jitter(self, step: int) -> float:
        """Training-noise std at ``step``: linear from ``jitter`` to ``jitter_end`` (constant if unset)."""
        end = self.config.jitter if self.config.jitter_end is None else self.config.jitter_end
        progress = min(1.0, step / max(1, self.total_steps - 1))
        return self.config.jitter + (end - self.config.jitter) * progress

    @torch.no_grad()
    def validation_log_prob(self) -> np.ndarray:
        """log p of every validation frame in canonical axis-angle (nats), ``(N_val,)``."""
        self.prior.eval()
        parts = [self.prior._model_log_prob(x) for x in self.x_val.split(4096)]
        return (torch.cat(parts) + self.val_log_jacobian).cpu().numpy()


def train_flow(config: TrainConfig, resume: bool = False) -> dict:
    """Train the flow prior, or the CNF prior with ``config.kind == "cnf"`` (see the module docstring). Returns a
    summary (best epoch, its val NLL, paths)."""
    if config.epochs < 1:
        raise UserInputError(f"--epochs: expected at least 1, got {config.epochs}")
    out = Path(config.out)
    run = _Run(config, training_split(config))
    log_path, state_path = _log_path(out), _state_path(out)
    resumed = resume and run.restore(state_path)
    metrics = MetricsLog(log_path, resume=resumed, last_epoch=run.epoch)
    started = time.perf_counter()
    remaining = (config.epochs - run.epoch) * run.steps_per_epoch
    with tqdm(total=remaining, desc="prior train", unit="step") as bar:
        while run.epoch < config.epochs:
            train_nll = run.train_epoch(bar)
            val_log_prob = run.validation_log_prob()
            val_nll = float(-val_log_prob.mean())
            if not math.isfinite(val_nll):
                raise DivergedError(f"--lr {config.lr:g}: training diverged (non-finite validation NLL after epoch "
                                    f"{run.epoch}); lower --lr")
            if val_nll < run.best_val_nll:
                run.best_val_nll, run.best_epoch = val_nll, run.epoch
                run.prior.set_percentiles(val_log_prob)
                run.prior.info.update(best_epoch=run.epoch, val_nll=val_nll)
                run.prior.save(out)
            metrics.append({"epoch": run.epoch, "train_nll": round(train_nll, 4), "val_nll": round(val_nll, 4),
                            "lr": run.scheduler.get_last_lr()[0], "seconds": round(time.perf_counter() - started, 1)})
            save_training_state(run.state(), state_path)
    return {"best_epoch": run.best_epoch, "val_nll": run.best_val_nll, "out": str(out), "log": str(log_path),
            "state": str(state_path)}

