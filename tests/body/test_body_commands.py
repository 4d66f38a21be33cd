"""``hmr-flow body build`` / ``python -m data_tools body preview`` wiring, cache location and the preview sheet."""

from __future__ import annotations

import argparse

import cv2

from data_tools.body import commands as preview_commands
from hmr_flow.commands import body as build_commands
from hmr_flow.body import MODEL_FORMAT_VERSION, cache_dir, default_model_path


def _parser(commands=preview_commands) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="group", required=True))
    return parser


def test_register_adds_build_and_preview():
    args = _parser(build_commands).parse_args(["body", "build", "--out", "x.npz", "--wheel", "w.whl"])
    assert callable(args.run) and str(args.out) == "x.npz" and str(args.wheel) == "w.whl"
    assert callable(_parser().parse_args(["body", "preview"]).run)


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("HMR_FLOW_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "b"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("HMR_FLOW_CACHE")
    assert cache_dir() == tmp_path / "b" / "hmr_flow"
    assert default_model_path().name == f"open_body_v{MODEL_FORMAT_VERSION}.npz"


def test_preview_renders_a_sheet(body_model, tmp_path):
    args = _parser().parse_args(["body", "preview", "--model", str(body_model.model_path), "--out", str(tmp_path / "p.png")])
    assert args.run(args) == 0
    image = cv2.imread(str(tmp_path / "p.png"))
    assert image is not None and image.shape[0] > 1000
    assert 0.03 < (image.min(axis=2) < 250).mean() < 0.5  # bodies cover part of the sheet
