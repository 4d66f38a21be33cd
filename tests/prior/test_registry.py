"""The prior registry: every choice of prior (loading, training, the commands' options) reads
:data:`hmr_flow.prior.PRIOR_KINDS`, so a new kind is one class and one entry."""

from __future__ import annotations

import argparse

import pytest
import torch

from hmr_flow.prior import DENSITY_KINDS, KINDS, PRIOR_KINDS, TRAINABLE_KINDS, FlowPrior, GMMPrior, NoPrior, load_prior
from hmr_flow.prior.registry import PriorKind


def test_the_shipped_kinds_and_their_derived_lists():
    assert {kind: entry.prior for kind, entry in PRIOR_KINDS.items()} == {"flow": FlowPrior, "gmm": GMMPrior,
                                                                           "none": NoPrior}
    assert KINDS == ("flow", "gmm", "none") and DENSITY_KINDS == ("flow", "gmm") and TRAINABLE_KINDS == ("flow", "gmm")
    assert [kind for kind, entry in PRIOR_KINDS.items() if entry.resumable] == ["flow"]
    assert all(entry.weights.is_file() for entry in PRIOR_KINDS.values() if entry.density)


class _Shifted(FlowPrior):
    """A "new kind": the shipped flow under another name and fitting weight."""

    kind = "shifted"
    fit_weight = 0.25


@pytest.fixture
def new_kind(monkeypatch):
    entry = PriorKind(_Shifted, PRIOR_KINDS["flow"].weights, help="a test kind")
    monkeypatch.setitem(PRIOR_KINDS, "shifted", entry)
    return entry


def test_one_entry_makes_a_kind_loadable(new_kind):
    prior = load_prior("shifted")
    assert isinstance(prior, _Shifted) and prior.kind == "shifted" and not prior.flow.training
    poses = 0.2 * torch.randn(3, 69, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(prior.log_prob(poses), load_prior("flow").log_prob(poses))


def test_one_entry_makes_a_fit_choice_with_its_own_weight(new_kind):
    from hmr_flow.commands.fit import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    fit = parser._subparsers._group_actions[0].choices["fit"]
    options = {name: action for action in fit._actions for name in action.option_strings}
    assert "shifted" in options["--prior"].choices and "shifted 0.25" in options["--prior-weight"].help


def test_a_kind_without_shipped_weights_asks_for_a_file(monkeypatch):
    from hmr_flow.validation import UserInputError

    monkeypatch.setitem(PRIOR_KINDS, "shifted", PriorKind(_Shifted))
    with pytest.raises(UserInputError, match="ships no weights"):
        load_prior("shifted")


def test_unknown_kinds_and_files_for_the_none_prior_are_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        load_prior("vae")
    with pytest.raises(ValueError, match="takes no file"):
        load_prior("none", "x.pt")
