"""Continuous-flow costs: the exact divergence's ways, and training memory of the adjoint method vs
back-propagation through the solver at 10, 30 and 100 fixed RK4 steps.

The model is the CNF prior's vector field (:class:`hmr_flow.flows.TimeMLP`, D = 57, hidden 256), one
thread.

**Divergence** (``--points`` random points, round-robin over ``--repeats`` rounds, median and min–max
ms): a plain evaluation of the field; the exact divergence in closed form (``TimeMLP.with_divergence``);
the full Jacobian's trace by ``torch.func`` (``vmap(jacfwd)`` and ``vmap(jacrev)``); Hutchinson's
estimate (one vector-Jacobian product by autograd).

**Training memory**: one training step of the prior's objective (exact divergence, both RNODE
regularisers) on a batch of 512 standard-normal points, each setting in a **fresh process**
(``--child``): it builds the model and data, resets the process's peak resident size
(``/proc/self/clear_refs``, Linux), runs one forward + backward, and reports the new peak minus the
resident size before the step (MiB), the step's wall time and the function evaluations of the forward
solve and in total (the adjoint evaluates the field again backwards). Round-robin over ``--repeats``
rounds; the spread is min–max.

    python bench/cnf.py [--steps 10 30 100] [--repeats 3] [--batch 512] [--hidden 256] [--points 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import round_robin, spread  # noqa: E402

FEATURES = 57  # the shipped priors' 19 modelled joints × 3


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _field(hidden: int):
    """A :class:`hmr_flow.flows.TimeMLP` (D = 57) with random weights (std 0.05, none zero), one thread, seed 0."""
    import torch

    from hmr_flow.flows import TimeMLP

    torch.set_num_threads(1)
    torch.manual_seed(0)
    field = TimeMLP(FEATURES, hidden)
    with torch.no_grad():
        for p in field.parameters():
            p.normal_(0.0, 0.05)
    return field


def child(steps: int, adjoint: bool, batch: int, hidden: int) -> dict:
    """One training step in this process (see the module docstring); returns its figures."""
    import torch

    from hmr_flow.flows import ContinuousFlow, ODESolver

    field = _field(hidden)
    flow = ContinuousFlow(field, FEATURES)
    solver = ODESolver("rk4", steps=steps, adjoint=adjoint)
    x = torch.randn(batch, FEATURES)
    warm = flow.solve(x[:8], solver=solver, regularise=True)  # first-call allocations out of the measurement
    (warm.logabsdet.sum() + warm.kinetic.sum()).backward()
    field.zero_grad()
    Path("/proc/self/clear_refs").write_text("5")  # peak resident size := current resident size
    before = _status_kib("VmRSS")
    started = time.perf_counter()
    evaluations = flow.evaluations
    solution = flow.solve(x, solver=solver, regularise=True)
    loss = (-solution.logabsdet + 0.5 * solution.output.pow(2).sum(1) + 0.01 * solution.kinetic
            + 0.01 * solution.jacobian).mean()
    loss.backward()
    seconds = time.perf_counter() - started
    return {"peak_mib": (_status_kib("VmHWM") - before) / 1024, "seconds": seconds, "nfe_forward": solution.nfe,
            "nfe_total": flow.evaluations - evaluations}


def divergence_timings(hidden: int, points: int, repeats: int) -> dict[str, list[float]]:
    """Milliseconds per call of each way to the field's value and divergence (module docstring)."""
    import torch

    from hmr_flow.flows import jacobian_divergence

    field = _field(hidden)
    z, t = torch.randn(points, FEATURES), torch.tensor(0.5)
    noise = torch.randint(0, 2, z.shape).float() * 2 - 1

    def hutchinson():
        with torch.enable_grad():
            y = z.detach().requires_grad_()
            f = field(t, y)
            return f, (torch.autograd.grad(f, y, noise)[0] * noise).sum(1)

    def by_jacrev():
        jac = torch.func.vmap(torch.func.jacrev(lambda v: field(t, v[None])[0]))(z)
        return jac.diagonal(dim1=-2, dim2=-1).sum(-1)

    ways = {"field only": lambda: field(t, z), "closed form (exact)": lambda: field.with_divergence(t, z),
            "vmap(jacfwd) trace": lambda: jacobian_divergence(field, t, z), "vmap(jacrev) trace": by_jacrev,
            "Hutchinson (1 VJP)": hutchinson}
    with torch.no_grad():
        exact = field.with_divergence(t, z)[1]
        if not torch.allclose(jacobian_divergence(field, t, z)[1], exact, atol=1e-3, rtol=1e-4):
            raise RuntimeError("closed-form divergence disagrees with the Jacobian's trace")
        times = round_robin(ways, repeats)
    return {name: [1000 * wall for _, wall in values] for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 30, 100], help="fixed RK4 steps")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (every setting once per round)")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--points", type=int, default=1024, help="points of the divergence timing")
    parser.add_argument("--child", nargs=2, metavar=("STEPS", "ADJOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1] == "1", args.batch, args.hidden)))
        return
    timings = divergence_timings(args.hidden, args.points, args.repeats)
    print(f"field value and divergence: D={FEATURES}, hidden {args.hidden}, {args.points} points, 1 thread; median "
          f"(min–max) ms of {args.repeats} rounds")
    for name, values in timings.items():
        print(f"{name:<22}{spread(values, '.1f', width=10)}")
    print()
    settings = [(steps, adjoint) for adjoint in (False, True) for steps in args.steps]
    results: dict[tuple[int, bool], list[dict]] = {s: [] for s in settings}
    for _ in range(args.repeats):
        for steps, adjoint in settings:
            done = subprocess.run([sys.executable, __file__, "--child", str(steps), str(int(adjoint)), "--batch",
                                   str(args.batch), "--hidden", str(args.hidden)], capture_output=True, text=True,
                                  check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            results[(steps, adjoint)].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"one CNF training step: D={FEATURES}, hidden {args.hidden}, batch {args.batch}, RK4, exact divergence + "
          f"RNODE terms, 1 thread, fresh process per setting; median (min–max) of {args.repeats} rounds")
    print(f"{'gradients':<22}{'steps':>6}{'peak MiB':>24}{'seconds':>22}{'NFE fwd / total':>18}")
    for steps, adjoint in settings:
        runs = results[(steps, adjoint)]
        peak, seconds = [r["peak_mib"] for r in runs], [r["seconds"] for r in runs]
        name = "adjoint" if adjoint else "backprop through solver"
        print(f"{name:<22}{steps:>6}{spread(peak, '.1f', width=10)}{spread(seconds, '.2f', width=10)}"
              f"{runs[0]['nfe_forward']:>10} / {runs[0]['nfe_total']}")
    for adjoint in (False, True):
        low, high = (statistics.median(r["peak_mib"] for r in results[(steps, adjoint)])
                     for steps in (min(args.steps), max(args.steps)))
        print(f"{'adjoint' if adjoint else 'backprop'}: peak at {max(args.steps)} steps ÷ at {min(args.steps)} = "
              f"{high / low:.2f}×")


if __name__ == "__main__":
    main()
