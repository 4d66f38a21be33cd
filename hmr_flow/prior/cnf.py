"""``CNFPrior``: a continuous normalizing flow (:mod:`hmr_flow.flows.continuous`) over the modelled body joints.

Same space, floor and held-out table as the flow prior (:mod:`hmr_flow.prior.flow`): the model works on
``x (B, 3J)``, the mean-relative axis-angle of the modelled joints (:class:`~hmr_flow.prior.space.PoseSpace`),
``log_prob`` adds the exact log-Jacobian back to canonical axis-angle, and the density is the mixture
``(1 − ε)·model + ε·uniform rotations`` (``ε = floor``). The model is ``ActNorm`` (per-coordinate
standardisation, initialised on the data) followed by one :class:`~hmr_flow.flows.ContinuousFlow` whose
vector field is a :class:`~hmr_flow.flows.TimeMLP` (``hidden`` units, two hidden layers, exact divergence
in closed form). Its depth is not a setting: the ODE solver takes as many steps as the density needs.

Three solvers, one model:

- **scoring and sampling** (``log_prob``, ``score``, ``sample``): ``dopri5`` with ``rtol``/``atol``,
  divergence exact: the density of the continuous flow itself;
- **fitting** (``loss``): ``fit_method`` with ``fit_steps`` fixed steps (default RK4, 4 steps), exact
  divergence: a cheap, smooth approximation of the same density (its error on held-out poses is in
  ``docs/flows.md``), differentiable by back-propagation through the steps;
- **training** (:meth:`CNFPrior.training_loss`): the settings of :data:`DEFAULT_TRAINING` (fixed steps
  or ``dopri5``, back-propagation or adjoint, Hutchinson or exact divergence, RNODE weights).

Checkpoint (``torch.save`` dict, loadable with ``weights_only=True``): ``format``, ``config`` (joints,
coords, ``cnf`` settings, floor), ``state_dict``, ``info`` (provenance).
"""

from __future__ import annotations

import torch
from torch import Tensor

from hmr_flow.flows import ActNorm, Compose, ContinuousFlow, Flow, ODESolution, ODESolver, TimeMLP
from hmr_flow.prior.base import TorchDensityPrior, settings_with_defaults
from hmr_flow.prior.space import PoseSpace, floored_log_prob, floored_samples
from hmr_flow.validation.file_kinds import CNF_PRIOR

FORMAT = "hmr_flow.prior.cnf/1"
#: Model and solver settings of the shipped CNF prior (stored in its checkpoint).
DEFAULT_CNF = {"hidden": 256, "activation": "softplus", "time": 1.0, "rtol": 1e-5, "atol": 1e-5,
               "fit_method": "rk4", "fit_steps": 4}
#: Training settings (``prior train --kind cnf``): solver ``method`` (``steps`` if fixed-step), ``adjoint``,
#: the training ``divergence`` and the RNODE weights of the kinetic energy and the Jacobian norm.
DEFAULT_TRAINING = {"method": "rk4", "steps": 8, "adjoint": False, "divergence": "hutchinson", "kinetic": 0.01,
                    "jacobian": 0.01}


def training_solver(settings: dict) -> ODESolver:
    """The :class:`ODESolver` of training ``settings`` (keys of :data:`DEFAULT_TRAINING`)."""
    settings = settings_with_defaults(settings, DEFAULT_TRAINING, "CNF training")
    return ODESolver(settings["method"], steps=int(settings["steps"]), adjoint=bool(settings["adjoint"]))


class CNFPrior(TorchDensityPrior):
    """A continuous-normalizing-flow pose prior (module docstring).

    Args:
        joints: modelled body-joint indices (0–22); coords: model coordinates
            (:data:`hmr_flow.prior.space.COORDS`); mean_rotations: ``(J, 3, 3)`` for ``"axis_angle_mean"``.
        cnf: model and solver settings (keys of :data:`DEFAULT_CNF`).
        floor: weight ``ε`` of the uniform-rotation component, ``[0, 1)``.
        percentiles: held-out table or ``None``; info: provenance saved with the prior.
    """

    kind = "cnf"
    fit_weight = 0.1
    checkpoint_format, label, model_key, file_kind = FORMAT, "CNF", "cnf", CNF_PRIOR

    def __init__(self, joints: list[int], coords: str = "axis_angle_mean", mean_rotations: Tensor | None = None,
                 cnf: dict | None = None, floor: float = 0.0, percentiles=None, info: dict | None = None) -> None:
        super().__init__(PoseSpace(joints, coords, mean_rotations), floor, percentiles, info)
        self.cnf_config = settings_with_defaults(cnf, DEFAULT_CNF, "CNF")
        c, features = self.cnf_config, self.space.features
        self.solver = ODESolver("dopri5", rtol=float(c["rtol"]), atol=float(c["atol"]))
        self.fit_solver = ODESolver(c["fit_method"], steps=int(c["fit_steps"]))
        field = TimeMLP(features, int(c["hidden"]), activation=c["activation"])
        cnf_layer = ContinuousFlow(field, features, time=float(c["time"]), solver=self.solver)
        self.flow = Flow(Compose(ActNorm(features), cnf_layer), (features,))

    @property
    def cnf(self) -> ContinuousFlow:
        """The continuous flow (after the ActNorm standardisation)."""
        return self.flow.transform.transforms[1]

    def flow_log_prob(self, x: Tensor, solver: ODESolver | None = None, divergence: str = "exact",
                      regularise: bool = False) -> tuple[Tensor, ODESolution]:
        """log-density ``(B,)`` of model coordinates ``x (B, 3J)`` under the flow alone (no floor), solved with
        ``solver`` (default: the scoring solver), and the :class:`~hmr_flow.flows.ODESolution`."""
        normalise = self.flow.transform.transforms[0]
        y, logabsdet = normalise(x)
        solution = self.cnf.solve(y, solver=solver, divergence=divergence, regularise=regularise)
        return self.flow.base_log_prob(solution.output) + logabsdet + solution.logabsdet, solution

    def _model_log_prob(self, x: Tensor) -> Tensor:
        return floored_log_prob(self.flow_log_prob(x)[0], x, self.floor)

    def loss(self, body_pose) -> Tensor:
        """Fitting cost ``(B,)``: the negative log-likelihood with the fitting solver (module docstring)."""
        x, log_jacobian = self.encode(body_pose, check_finite=False)  # see PosePrior.loss
        return -(floored_log_prob(self.flow_log_prob(x, self.fit_solver)[0], x, self.floor) + log_jacobian)

    def training_loss(self, x: Tensor, settings: dict | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """The training objective on model coordinates ``x (B, 3J)``: mean NLL (no floor) plus the RNODE
        terms weighted as ``settings`` say (:data:`DEFAULT_TRAINING`), and the terms ``nll``, ``kinetic``,
        ``jacobian`` (means) and ``nfe`` (0-dim tensors) for the log."""
        settings = settings_with_defaults(settings, DEFAULT_TRAINING, "CNF training")
        log_prob, solution = self.flow_log_prob(x, training_solver(settings), settings["divergence"], regularise=True)
        nll, kinetic, jacobian = -log_prob.mean(), solution.kinetic.mean(), solution.jacobian.mean()
        loss = nll + float(settings["kinetic"]) * kinetic + float(settings["jacobian"]) * jacobian
        return loss, {"nll": nll, "kinetic": kinetic, "jacobian": jacobian, "nfe": torch.tensor(float(solution.nfe))}

    def _sample_model(self, n: int, temperature: float) -> Tensor:
        return floored_samples(self.flow.sample(n, temperature=temperature), self.floor)

    # ------------------------------------------------------------------ files
    def config(self) -> dict:
        return {"joints": self.space.joints.tolist(), "coords": self.space.coords, "cnf": dict(self.cnf_config),
                "floor": self.floor}

    @classmethod
    def _from_config(cls, config: dict, mean_rotations: Tensor, info: dict | None) -> CNFPrior:
        return cls(config["joints"], config["coords"], mean_rotations, config["cnf"], config.get("floor", 0.0),
                   info=info)
