"""``hmr-flow prior {train,combine,score,sample}``.

- ``train --data poses.npz --out prior.pt [--kind flow|cnf|gmm] [--resume] [--device cuda] …``
- ``combine --density A.pt --regulariser B.pt --out C.pt``: A's density with B's flow as fitting regulariser.
- ``score --poses X.npz [--prior flow|cnf|gmm] [--prior-weights P] --out scores.csv``: per pose, log-likelihood (nats)
  and percentile among held-out real poses; reads what ``fit`` (``body_pose (P, 69)``), ``regress``
  (``(P, n, 69)``: the CSV then names person and hypothesis), ``prior sample``, mocap and AMASS files hold.
- ``sample -n/--samples N [--temperature T] --out samples.npz [--render grid.png]``: smplx's ``global_orient
  (N, 3)`` (zeros: the prior models body pose only) and ``body_pose (N, 69)`` plus their log-likelihoods,
  and optionally a grid of rendered meshes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hmr_flow.commands import SUMMARIES
from hmr_flow.commands.options import add_device, add_learning_rate, add_overwrite, add_prior_weights, add_seed
from hmr_flow.files import save_npz, write_csv
from hmr_flow.flows.continuous import ACTIVATIONS, ADAPTIVE_METHODS, DIVERGENCES, FIXED_METHODS
from hmr_flow.prior.cnf import DEFAULT_CNF, DEFAULT_TRAINING
from hmr_flow.prior.flow import DEFAULT_FLOW
from hmr_flow.prior.inputs import CHUNK, PoseFile
from hmr_flow.prior.loading import load_prior
from hmr_flow.prior.registry import DENSITY_KINDS, PRIOR_KINDS, TRAINABLE_KINDS
from hmr_flow.prior.space import COORDS
from hmr_flow.prior.train import BALANCES, DEFAULT_VAL_SUBJECTS, TrainConfig, output_paths
from hmr_flow.validation import (
    UserInputError,
    check_memory,
    check_output_file,
    check_output_path,
    check_overwrite,
    exclusive_run,
    float_in,
    non_negative_float,
    positive_float,
    positive_int,
    resolve_device,
)
from hmr_flow.validation import file_kinds as kinds

#: Bytes of memory per sampled pose: the written arrays (global_orient, body_pose, log-likelihood,
#: percentile: 74 float32), twice (the chunks, then the joined array).
SAMPLE_BYTES = 2 * 74 * 4
#: Poses sampled at a time (fewer are sampled in one go, as before).
SAMPLE_CHUNK = 65536


def _subjects(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated subject numbers, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated source names, got {text!r}")
    return names


def _run_train(args: argparse.Namespace) -> int:
    device = str(resolve_device(args.device))
    if args.resume and not PRIOR_KINDS[args.kind].resumable:
        resumable = ", ".join(kind for kind, entry in PRIOR_KINDS.items() if entry.resumable)
        raise UserInputError(f"--resume applies to {resumable} only (the {args.kind} prior fits in one go)")
    outputs = output_paths(args.out)
    for path, kind in zip(outputs, (kinds.PRIOR_FILES.get(args.kind), kinds.TRAINING_STATE, kinds.TRAINING_LOG)):
        # the kind and suffix (replacing is check_overwrite's); the state --resume continues from is checked by
        # the training, which says what is wrong with it; a prior kind without a file kind: the path rules only
        if kind is None or (args.resume and kind is kinds.TRAINING_STATE):
            check_output_path(path, [args.data])
        else:
            check_output_file(path, kind, [args.data], overwrite=True)
    with exclusive_run(args.out):  # a second run on this --out is refused, not interleaved with this one
        return _train_locked(args, device, outputs)


def _train_locked(args: argparse.Namespace, device: str, outputs: tuple[Path, ...]) -> int:
    check_overwrite(outputs, args.resume, args.overwrite)
    flow = {**DEFAULT_FLOW, "steps": args.steps, "hidden": args.hidden, "blocks": args.blocks,
            "coupling": args.coupling, "bins": args.bins, "tails": args.tails}
    config = TrainConfig(data=str(args.data), out=str(args.out), kind=args.kind, coords=args.coords,
                         val_subjects=args.val_subjects, exclude_sources=args.exclude_sources, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         jitter=args.jitter, jitter_end=args.jitter_end, balance=args.balance,
                         balance_power=args.balance_power, floor=args.floor, seed=args.seed, device=device,
                         flow=flow, mirror=args.mirror, cnf=_cnf_settings(args), cnf_training=_cnf_training(args))
    summary = PRIOR_KINDS[args.kind].train(config, args.resume)
    print(json.dumps(summary, indent=1))
    return 0


def _cnf_settings(args: argparse.Namespace) -> dict:
    """``--kind cnf``: the model and solver settings (:data:`hmr_flow.prior.cnf.DEFAULT_CNF`)."""
    return {**DEFAULT_CNF, "hidden": args.cnf_hidden, "activation": args.activation, "rtol": args.rtol,
            "atol": args.atol, "fit_steps": args.fit_steps}


def _cnf_training(args: argparse.Namespace) -> dict:
    """``--kind cnf``: the training settings (:data:`hmr_flow.prior.cnf.DEFAULT_TRAINING`)."""
    return {"method": args.solver, "steps": args.solver_steps, "adjoint": args.adjoint, "divergence": args.divergence,
            "kinetic": args.kinetic, "jacobian": args.jacobian_norm}


def _run_score(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    out = check_output_file(args.out, kinds.POSE_SCORES, [args.poses, args.prior_weights], args.overwrite)
    poses = PoseFile(args.poses)
    prior = load_prior(args.prior, args.prior_weights, device=device)
    log_probs, percentiles = [], []  # (N,) float32 each: the medians; the poses are read and scored piece by piece
    per_person = len(poses.batch) == 2  # regress output (people × hypotheses): person and hypothesis too

    def rows():
        first = 0
        with tqdm(total=poses.count, desc="prior score", unit="pose", disable=poses.count <= CHUNK) as bar:
            for chunk in poses.chunks():
                log_prob, percentile = (x.numpy() for x in prior.score(torch.from_numpy(chunk)))
                log_probs.append(log_prob)
                percentiles.append(percentile)
                for i, (lp, pc) in enumerate(zip(log_prob, percentile), start=first):
                    yield (i, *(divmod(i, poses.batch[1]) if per_person else ()), f"{lp:.4f}", f"{pc:.2f}")
                first += len(log_prob)
                bar.update(len(chunk))

    header = ["index", *(("person", "hypothesis") if per_person else ()), "log_likelihood", "percentile"]
    write_csv(out, header, rows())
    log_prob, percentile = np.concatenate(log_probs), np.concatenate(percentiles)
    print(f"wrote {out}: {poses.count} poses, median log-likelihood {np.median(log_prob):.2f} nats, "
          f"median percentile {np.median(percentile):.1f}")
    return 0


def _sample(prior, n: int, temperature: float) -> torch.Tensor:
    """``n`` poses ``(n, 69)`` on the CPU, sampled :data:`SAMPLE_CHUNK` at a time (one call for fewer)."""
    parts = [prior.sample(min(SAMPLE_CHUNK, n - start), temperature=temperature).cpu()
             for start in tqdm(range(0, n, SAMPLE_CHUNK), desc="prior sample", unit="chunk", disable=n <= SAMPLE_CHUNK)]
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def _run_sample(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    check_output_file(args.out, kinds.POSE_SAMPLES, [args.prior_weights], args.overwrite)
    if args.render:
        check_output_file(args.render, kinds.PNG_IMAGE, [args.prior_weights, args.out], args.overwrite,
                          option="--render")
    check_memory(f"-n {args.samples}", f"sampling {args.samples:,} poses", args.samples * SAMPLE_BYTES)
    if args.seed is not None:
        torch.manual_seed(args.seed)
    prior = load_prior(args.prior, args.prior_weights, device=device)
    body_pose = _sample(prior, args.samples, args.temperature)
    scored = [prior.score(chunk) for chunk in body_pose.split(SAMPLE_CHUNK)]
    log_prob, percentile = (torch.cat(part) for part in zip(*scored))
    # smplx keys; the prior models body pose only: the root rotation is the identity and there are no betas
    save_npz({"global_orient": np.zeros((len(body_pose), 3), np.float32), "body_pose": body_pose.cpu().numpy(),
              "log_likelihood": log_prob.numpy(),
              "percentile": percentile.numpy(), "temperature": np.float32(args.temperature)}, args.out)
    print(f"wrote {args.out}: {args.samples} poses at temperature {args.temperature:g}, median percentile "
          f"{percentile.median():.1f}")
    if args.render:
        from hmr_flow.prior.grid import render_pose_grid

        render_pose_grid(body_pose[: args.max_render].cpu(), args.render, columns=args.columns,
                         labels=[f"{p:.0f} %" for p in percentile[: args.max_render].tolist()])
        print(f"wrote {args.render}")
    return 0


def _run_combine(args: argparse.Namespace) -> int:
    from hmr_flow.prior.flow import FlowPrior

    check_output_file(args.out, kinds.FLOW_PRIOR, [args.regulariser], args.overwrite or args.out == args.density)
    density, regulariser = FlowPrior.load(args.density), FlowPrior.load(args.regulariser)
    density.attach_regulariser(regulariser)
    density.info["regulariser"] = {"source": str(args.regulariser), "settings": regulariser.info.get("settings"),
                                   "val_nll": regulariser.info.get("val_nll")}
    density.save(args.out)
    print(f"wrote {args.out}: density of {args.density}, fitting regulariser of {args.regulariser}")
    return 0


def _cnf_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--cnf-hidden", type=positive_int, default=DEFAULT_CNF["hidden"], help="vector-field MLP width")
    group.add_argument("--activation", choices=ACTIVATIONS, default=DEFAULT_CNF["activation"],
                       help="smooth activation of the vector field")
    group.add_argument("--rtol", type=positive_float, default=DEFAULT_CNF["rtol"], help="dopri5 relative tolerance "
                       "of scoring and sampling")
    group.add_argument("--atol", type=positive_float, default=DEFAULT_CNF["atol"], help="dopri5 absolute tolerance "
                       "of scoring and sampling")
    group.add_argument("--fit-steps", type=positive_int, default=DEFAULT_CNF["fit_steps"],
                       help="RK4 steps of the fitting loss")
    group.add_argument("--solver", choices=ADAPTIVE_METHODS + FIXED_METHODS, default=DEFAULT_TRAINING["method"],
                       help="ODE solver of training")
    group.add_argument("--solver-steps", type=positive_int, default=DEFAULT_TRAINING["steps"],
                       help="training steps of a fixed-step --solver")
    group.add_argument("--adjoint", action="store_true", help="train with the adjoint method (memory constant in "
                       "the solver steps; the backward pass solves the ODE again) instead of back-propagation "
                       "through the solver")
    group.add_argument("--divergence", choices=DIVERGENCES, default=DEFAULT_TRAINING["divergence"],
                       help="divergence estimator of training (scoring is always exact)")
    group.add_argument("--kinetic", type=non_negative_float, default=DEFAULT_TRAINING["kinetic"],
                       help="RNODE weight of the kinetic energy")
    group.add_argument("--jacobian-norm", type=non_negative_float, default=DEFAULT_TRAINING["jacobian"],
                       help="RNODE weight of the Jacobian Frobenius norm")


def _prior_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prior", choices=DENSITY_KINDS, default="flow", help="prior kind")
    add_prior_weights(parser, deprecated=("--path",))
    add_device(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prior`` command group with ``train``, ``score`` and ``sample``."""
    group = subparsers.add_parser("prior", help=SUMMARIES["prior"])
    commands = group.add_subparsers(dest="prior_command", required=True)

    train = commands.add_parser("train", help="train a pose prior on a pose file (validation by subject)")
    train.add_argument("--data", type=Path, required=True, help=".npz with body_pose (N, 69) and subject (N,)")
    train.add_argument("--out", type=Path, required=True, help="prior file to write (.pt flow and cnf, .npz gmm)")
    train.add_argument("--kind", choices=TRAINABLE_KINDS, default="flow",
                       help=", ".join(PRIOR_KINDS[kind].help for kind in TRAINABLE_KINDS))
    train.add_argument("--coords", choices=COORDS, default="axis_angle_mean", help="flow model coordinates")
    train.add_argument("--val-subjects", type=_subjects, default=DEFAULT_VAL_SUBJECTS,
                       help="comma-separated held-out subjects")
    train.add_argument("--epochs", type=positive_int, default=TrainConfig.epochs, help="passes over the training poses")
    train.add_argument("--batch-size", type=positive_int, default=TrainConfig.batch_size, help="poses per step")
    add_learning_rate(train, TrainConfig.lr)
    train.add_argument("--jitter", type=non_negative_float, default=TrainConfig.jitter, help="training noise std, radians")
    train.add_argument("--jitter-end", type=non_negative_float, default=None,
                       help="anneal the training noise linearly to this std by the last step (default: constant)")
    train.add_argument("--exclude-sources", type=_names, default=TrainConfig.exclude_sources,
                       help="comma-separated mocap sources (the file's source_names, e.g. cmu_deepmimic) left out")
    train.add_argument("--balance", choices=BALANCES, default=TrainConfig.balance,
                       help="draw training frames ∝ 1/(frames of their subject or clip)^power")
    train.add_argument("--balance-power", type=non_negative_float, default=TrainConfig.balance_power,
                       help="power of the balancing weights: 1 = every group weighs the same")
    train.add_argument("--mirror", action="store_true",
                       help="also train on the left/right mirror image of every training frame")
    train.add_argument("--floor", type=float_in(0.0, 0.5, low_open=False), default=TrainConfig.floor,
                       help="weight of the uniform-rotation component that bounds scores far from the data")
    train.add_argument("--tails", type=positive_float, default=DEFAULT_FLOW["tails"],
                       help="LogTails bound on the flow's latent side (default: none)")
    train.add_argument("--coupling", choices=("affine", "additive", "spline"), default=DEFAULT_FLOW["coupling"],
                       help="coupling layers of the flow")
    train.add_argument("--bins", type=positive_int, default=DEFAULT_FLOW["bins"], help="spline bins (--coupling spline)")
    train.add_argument("--steps", type=positive_int, default=DEFAULT_FLOW["steps"], help="flow steps")
    train.add_argument("--hidden", type=positive_int, default=DEFAULT_FLOW["hidden"], help="coupling MLP width")
    train.add_argument("--blocks", type=positive_int, default=DEFAULT_FLOW["blocks"], help="residual blocks per coupling MLP")
    _cnf_options(train.add_argument_group("continuous flow (--kind cnf)"))
    add_seed(train)
    add_device(train)
    resume = train.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true", help="continue from <out stem>.state.pt")
    resume.add_argument("--overwrite", action="store_true", help="replace an existing prior, its state and log")
    train.set_defaults(run=_run_train)

    combine = commands.add_parser("combine", help="attach a smoother flow prior as the fitting regulariser of another")
    combine.add_argument("--density", type=Path, required=True, help="flow prior whose density scores and samples")
    combine.add_argument("--regulariser", type=Path, required=True, help="flow prior whose density fitting uses")
    combine.add_argument("--out", type=Path, required=True, help="combined flow prior to write (may be --density)")
    add_overwrite(combine, "an existing prior at --out")
    combine.set_defaults(run=_run_combine)

    score = commands.add_parser("score", help="log-likelihood and held-out percentile of every pose in a file")
    score.add_argument("--poses", type=Path, required=True, help=".npz with body_pose (N, 69) (fit, prior sample, "
                       "mocap), body_pose (P, n, 69) (regress: people × hypotheses) or poses (N, ≥72) (AMASS)")
    score.add_argument("--out", type=Path, required=True, help="CSV to write")
    add_overwrite(score, "an existing score table at --out")
    _prior_options(score)
    score.set_defaults(run=_run_score)

    sample = commands.add_parser("sample", help="sample poses (and render a grid of meshes)")
    sample.add_argument("-n", "--samples", type=positive_int, default=16, help="number of poses")
    sample.add_argument("--temperature", type=positive_float, default=1.0, help="latent std scale")
    sample.add_argument("--out", type=Path, required=True, help=".npz to write (global_orient, body_pose, "
                        "log_likelihood, percentile)")
    sample.add_argument("--render", type=Path, default=None, help="PNG grid of the posed open body model")
    sample.add_argument("--max-render", type=positive_int, default=16, help="poses drawn in the grid")
    sample.add_argument("--columns", type=positive_int, default=4, help="columns of the grid")
    add_overwrite(sample, "existing samples at --out and a grid at --render")
    add_seed(sample, default=None)
    _prior_options(sample)
    sample.set_defaults(run=_run_sample)
