"""Throughput of a ProHMR-sized conditional vector Glow: hmr_flow vs nflows, zuko and normflows.

Architecture (ProHMR's pose prior): 144-D data, 4 steps of ActNorm → LU linear → additive coupling
(alternating halves), coupling nets = residual MLPs (hidden 1024, 2 residual blocks) with the
2048-D context concatenated to their input; batch 256, CPU, float32, default thread count.
Measured: ``log_prob`` of 256 (x, context) pairs and drawing 256 samples (one per context row),
both under ``torch.no_grad()``; median over repeats after warm-up, reported as samples/s.

Peers are an optional extra (``pip install -e ".[bench]"``); a missing one is reported and skipped.
What each peer can express differently is printed under the table.

    python bench/flows.py [--repeats 10] [--warmup 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from hmr_flow.flows import vector_glow

FEATURES, STEPS, HIDDEN, BLOCKS, CONTEXT, BATCH = 144, 4, 1024, 2, 2048, 256

# Each builder returns (log_prob(x, c) -> (B,), sample(c) -> (B, D), note).
Model = tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor], str]


def build_hmr_flow() -> Model:
    flow = vector_glow(FEATURES, STEPS, HIDDEN, CONTEXT, coupling="additive", blocks=BLOCKS)
    return flow.log_prob, lambda c: flow.sample(1, c)[:, 0], "reference architecture"


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
    return flow.log_prob, lambda c: flow.sample(1, c)[:, 0], note


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
    return lambda x, c: flow(c).log_prob(x), lambda c: flow(c).sample(), note


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
    return model.log_prob, lambda c: model.sample(len(c), c)[0], note


def median_rate(fn: Callable[[], object], warmup: int, repeats: int) -> float:
    """Median samples/s of ``fn`` (which processes BATCH samples)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return BATCH / statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    x, context = torch.randn(BATCH, FEATURES), torch.randn(BATCH, CONTEXT)
    builders = {"hmr_flow": build_hmr_flow, "nflows": build_nflows, "zuko": build_zuko, "normflows": build_normflows}
    rows, notes = {}, {}
    for name, build in builders.items():
        try:
            log_prob, sample, notes[name] = build()
        except ImportError as error:
            print(f"{name}: skipped ({error}); install the extra with pip install -e '.[bench]'")
            continue
        with torch.no_grad():
            log_prob(x, context)  # ActNorm data-dependent initialisation where the library has it
            got = log_prob(x, context)
            drawn = sample(context)
            if got.shape != (BATCH,) or drawn.shape != (BATCH, FEATURES):
                raise RuntimeError(f"{name}: unexpected shapes {tuple(got.shape)}, {tuple(drawn.shape)}")
            rows[name] = (
                median_rate(lambda: log_prob(x, context), args.warmup, args.repeats),
                median_rate(lambda: sample(context), args.warmup, args.repeats),
            )
    reference = rows.get("hmr_flow")
    print(f"\nProHMR-size conditional Glow: D={FEATURES}, {STEPS} steps, hidden {HIDDEN}, {BLOCKS} blocks, "
          f"context {CONTEXT}, batch {BATCH}, float32, CPU threads={torch.get_num_threads()}, "
          f"median of {args.repeats} after {args.warmup} warm-up\n")
    print(f"{'library':<10} {'log_prob/s':>12} {'sample/s':>12} {'log_prob ×':>11} {'sample ×':>9}")
    for name, (lp, sp) in rows.items():
        ratio = (f"{lp / reference[0]:>11.2f} {sp / reference[1]:>9.2f}") if reference else ""
        print(f"{name:<10} {lp:>12.0f} {sp:>12.0f} {ratio}")
    print("\n(× = throughput relative to hmr_flow; > 1 means faster than hmr_flow)")
    for name, note in notes.items():
        print(f"- {name}: {note}")


if __name__ == "__main__":
    main()
