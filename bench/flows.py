"""Throughput of a ProHMR-sized conditional vector Glow: hmr_flow vs nflows, zuko and normflows.

Architecture (ProHMR's pose prior): 144-D data, 4 steps of ActNorm → LU linear → additive coupling
(alternating halves), coupling nets = residual MLPs (hidden 1024, 2 residual blocks) with the
2048-D context concatenated to their input; batch 256, CPU, float32, default thread count.
Measured: ``log_prob`` of 256 (x, context) pairs under ``torch.no_grad()`` with a **new** context tensor at
every call (a copy: nothing computed from an earlier context can be reused) and with the **same** context
tensor at every call (scoring new poses of the same people again, as a fit's steps do); the fit's own
pattern, ``log_prob`` and its gradient with respect to x through the frozen flow (no parameter gradients;
the same contexts at every call); 256 samples with one per context row; and 256 samples as 32 per context
for 8 contexts (the ProHMR use: many hypotheses per image). The libraries are timed round-robin (every
repeat runs every library once, so load changes hit all of them alike); reported as the median samples/s
and the spread (min–max) over repeats.

Peers are an optional extra (``pip install -e ".[bench]"``); a missing one is reported and skipped.
What each peer can express differently is printed under the table.

    python bench/flows.py [--repeats 10] [--warmup 3] [--per-context 32]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from hmr_flow.flows import vector_glow

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import round_robin, spread  # noqa: E402

FEATURES, STEPS, HIDDEN, BLOCKS, CONTEXT, BATCH = 144, 4, 1024, 2, 2048, 256

# Each builder returns (log_prob(x, c) -> (B,), sample(c, n) -> (B, n, D), note, the module to freeze).
Model = tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], Callable[[torch.Tensor, int], torch.Tensor], str,
              torch.nn.Module]


def build_hmr_flow() -> Model:
    flow = vector_glow(FEATURES, STEPS, HIDDEN, CONTEXT, coupling="additive", blocks=BLOCKS)
    return flow.log_prob, lambda c, n: flow.sample(n, c), "reference architecture", flow


def _halves(parity: int) -> torch.Tensor:
    """nflows/normflows masks: 1 = transformed feature; alternates like hmr_flow's half split."""
    mask = torch.zeros(FEATURES)
    mask[FEATURES // 2 :] = 1
    return mask if parity % 2 == 0 else 1 - mask


def build_nflows() -> Model:
    from nflows.distributions import StandardNormal
    from nflows.flows import Flow
    from nflows.nn.nets import ResidualNet
    from nflows.transforms import ActNorm, AdditiveCouplingTransform, CompositeTransform, LULinear

    def net(i, o):
        return ResidualNet(i, o, HIDDEN, context_features=CONTEXT, num_blocks=BLOCKS)

    layers = []
    for k in range(STEPS):
        layers += [ActNorm(FEATURES), LULinear(FEATURES, identity_init=False), AdditiveCouplingTransform(_halves(k), net)]
    flow = Flow(CompositeTransform(layers), StandardNormal([FEATURES]))
    note = "same layers; its ResidualNet adds the context through a GLU gate inside every block"
    return flow.log_prob, lambda c, n: flow.sample(n, c), note, flow


def build_zuko() -> Model:
    import zuko
    from zuko.flows import Flow, GeneralCouplingTransform, UnconditionalDistribution, UnconditionalTransform
    from zuko.transforms import AdditiveTransform, LULinearTransform, MonotonicAffineTransform

    layers = []
    for k in range(STEPS):
        layers += [
            UnconditionalTransform(MonotonicAffineTransform, torch.zeros(FEATURES), torch.zeros(FEATURES)),
            UnconditionalTransform(LULinearTransform, torch.eye(FEATURES)),
            GeneralCouplingTransform(
                FEATURES, CONTEXT, _halves(k) == 0, univariate=AdditiveTransform, shapes=((),),
                hidden_features=[HIDDEN] * (2 * BLOCKS + 1),
            ),
        ]
    base = UnconditionalDistribution(zuko.distributions.DiagNormal, torch.zeros(FEATURES), torch.ones(FEATURES), buffer=True)
    flow = Flow(layers, base)
    note = ("no ActNorm (learned elementwise affine, no data init) and no permutation in LU; "
            "coupling nets are plain MLPs with 5 hidden layers (no residual connections)")
    return lambda x, c: flow(c).log_prob(x), lambda c, n: flow(c).sample((n,)).transpose(0, 1), note, flow


def build_normflows() -> Model:
    import normflows as nf

    class WithContext(nf.flows.Flow):
        """Lets a context-free normflows layer sit in a ConditionalNormalizingFlow."""

        def __init__(self, flow):
            super().__init__()
            self.flow = flow

        def forward(self, z, context=None):
            return self.flow(z)

        def inverse(self, z, context=None):
            return self.flow.inverse(z)

    class AdditiveCoupling(nf.flows.Flow):
        """Conditional NICE coupling (normflows has no conditional additive coupling layer)."""

        def __init__(self, mask):
            super().__init__()
            self.register_buffer("mask", mask.bool())
            n = int(mask.sum())
            self.net = nf.nets.ResidualNet(FEATURES - n, n, HIDDEN, context_features=CONTEXT, num_blocks=BLOCKS)

        def _shift(self, z, context, sign):
            out = z.clone()
            out[:, self.mask] = z[:, self.mask] + sign * self.net(z[:, ~self.mask], context)
            return out, z.new_zeros(len(z))

        def forward(self, z, context=None):
            return self._shift(z, context, -1.0)

        def inverse(self, z, context=None):
            return self._shift(z, context, 1.0)

    data_to_latent = []
    for k in range(STEPS):
        data_to_latent += [
            WithContext(nf.flows.ActNorm(FEATURES)),
            WithContext(nf.flows.LULinearPermute(FEATURES, identity_init=False)),
            AdditiveCoupling(_halves(k)),
        ]
    flows = data_to_latent[::-1]  # normflows lists layers in sampling (latent → data) order
    model = nf.ConditionalNormalizingFlow(nf.distributions.DiagGaussian(FEATURES, trainable=False), flows)
    note = ("ActNorm/LULinearPermute wrapped to accept a context; conditional additive coupling written "
            "here on nf.nets.ResidualNet (GLU context gate); LULinearPermute adds a random permutation")
    def sample(c, n):
        return model.sample(len(c) * n, c.repeat_interleave(n, dim=0))[0].reshape(len(c), n, FEATURES)

    return model.log_prob, sample, note, model


def _score_and_gradient(log_prob, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """``log_prob`` of ``x`` and its gradient with respect to ``x`` (a fitting step's prior), gradients on."""
    with torch.enable_grad():
        x = x.clone().requires_grad_(True)
        log_prob(x, context).sum().backward()
    return x.grad


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--per-context", type=int, default=32, help="samples per context in the many-sample task")
    args = parser.parse_args(argv)
    if BATCH % args.per_context:
        raise SystemExit(f"--per-context must divide {BATCH}")

    torch.manual_seed(0)
    x, context = torch.randn(BATCH, FEATURES), torch.randn(BATCH, CONTEXT)
    few = context[: BATCH // args.per_context]
    builders = {"hmr_flow": build_hmr_flow, "nflows": build_nflows, "zuko": build_zuko, "normflows": build_normflows}
    columns = ("log_prob, new context", "log_prob, same context", "log_prob + grad, frozen", "sample 1/ctx",
               f"sample {args.per_context}/ctx")
    tasks, notes = {}, {}
    for name, build in builders.items():
        try:
            log_prob, sample, notes[name], module = build()
        except ImportError as error:
            print(f"{name}: skipped ({error}); install the extra with pip install -e '.[bench]'")
            continue
        with torch.no_grad():
            log_prob(x, context)  # ActNorm data-dependent initialisation where the library has it
            got, drawn, many = log_prob(x, context), sample(context, 1), sample(few, args.per_context)
        expected = ((BATCH,), (BATCH, 1, FEATURES), (len(few), args.per_context, FEATURES))
        if (got.shape, drawn.shape, many.shape) != expected:
            raise RuntimeError(f"{name}: unexpected shapes {tuple(got.shape)}, {tuple(drawn.shape)}, {tuple(many.shape)}")
        module.requires_grad_(False)  # a trained flow used as a prior (sampling and scoring need no parameter gradients)
        tasks[(name, columns[0])] = lambda lp=log_prob: lp(x, context.clone())
        tasks[(name, columns[1])] = lambda lp=log_prob: lp(x, context)
        tasks[(name, columns[2])] = lambda lp=log_prob: _score_and_gradient(lp, x, context)
        tasks[(name, columns[3])] = lambda s=sample: s(context, 1)
        tasks[(name, columns[4])] = lambda s=sample: s(few, args.per_context)
    with torch.no_grad():
        times = round_robin(tasks, args.repeats, args.warmup)
    rates = {task: [BATCH / wall for _, wall in values] for task, values in times.items()}  # samples/s
    libraries = list(dict.fromkeys(name for name, _ in tasks))
    print(f"\nProHMR-size conditional Glow: D={FEATURES}, {STEPS} steps, hidden {HIDDEN}, {BLOCKS} blocks, "
          f"context {CONTEXT}, {BATCH} samples per call, float32, CPU threads={torch.get_num_threads()}, "
          f"round-robin, median (min–max) samples/s of {args.repeats} repeats after {args.warmup} warm-up\n")
    print(f"{'library':<10}" + "".join(f"{c:>26}" for c in columns))
    for name in libraries:
        cells = [spread(rates[(name, column)], ".0f", width=8) for column in columns]
        print(f"{name:<10}" + "".join(f"{c:>26}" for c in cells))
    if "hmr_flow" in libraries:
        print("\nhmr_flow ÷ peer (median throughput ratio; > 1 means hmr_flow is faster):")
        for name in libraries[1:]:
            ratios = [statistics.median(rates[("hmr_flow", c)]) / statistics.median(rates[(name, c)]) for c in columns]
            print(f"{'vs ' + name:<14}" + "".join(f"  {c} {r:.2f}×" for c, r in zip(columns, ratios)))
    for name, note in notes.items():
        print(f"- {name}: {note}")


if __name__ == "__main__":
    main()
