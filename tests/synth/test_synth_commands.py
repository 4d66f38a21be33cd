"""The ``synth`` command group: parser wiring, preview sheet, refusing to overwrite a set."""

from __future__ import annotations

import argparse

import cv2
import pytest

from data_tools.synth.commands import main, register
from tests.synth.conftest import SIZE


def test_register_adds_render_and_preview_with_run():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(["synth", "render", "--split", "val", "--n", "5", "--out", "x"])
    assert callable(args.run) and args.size == 128 and args.workers == 2 and args.seed == 0
    assert callable(parser.parse_args(["synth", "preview", "--data", "d", "--out", "p.png"]).run)


def test_preview_writes_a_contact_sheet(synth_set, tmp_path):
    out = tmp_path / "preview.png"
    assert main(["preview", "--data", str(synth_set), "--out", str(out), "--count", "6", "--columns", "3"]) == 0
    sheet = cv2.imread(str(out))
    assert sheet.shape == (2 * 2 * SIZE, 3 * 2 * SIZE, 3)  # 2 rows × 3 columns of 2× tiles
    assert sheet.std() > 20


def test_render_refuses_to_overwrite_without_flag(synth_set, tiny_poses):
    with pytest.raises(FileExistsError, match="--overwrite"):
        main(["render", "--poses", str(tiny_poses), "--split", "train", "--n", "1", "--out", str(synth_set),
              "--workers", "0"])
