"""The one atomic-write helper (:mod:`hmr_flow.files`) and that every writer in the repository uses it."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from hmr_flow.files import atomic_path, save_npz, save_torch, temporary_path, write_csv, write_text

REPO = Path(__file__).resolve().parents[1]


def test_atomic_path_replaces_the_target_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target and not target.exists()
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_temporary_name_keeps_the_suffix_so_format_by_suffix_writers_work(tmp_path):
    target = tmp_path / "image.png"
    assert temporary_path(target).suffix == ".png"
    with atomic_path(target) as tmp:
        assert cv2.imwrite(str(tmp), np.full((4, 5, 3), 200, np.uint8))  # refuses names without an image suffix
    assert cv2.imread(str(target)).shape == (4, 5, 3)
    with atomic_path(tmp_path / "arrays.npz") as tmp:
        np.savez(tmp, a=np.arange(3))  # np.savez appends .npz to names without it
    assert np.load(tmp_path / "arrays.npz")["a"].tolist() == [0, 1, 2]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_block_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(OSError, match="nothing was written"), atomic_path(tmp_path / "out.txt"):
        pass
    assert not any(tmp_path.iterdir())


def test_writers_round_trip(tmp_path):
    save_torch({"x": torch.arange(3)}, tmp_path / "a.pt")
    assert torch.load(tmp_path / "a.pt", weights_only=True)["x"].tolist() == [0, 1, 2]
    save_npz({"y": np.ones(2)}, tmp_path / "b.npz", compressed=True)
    assert np.load(tmp_path / "b.npz")["y"].tolist() == [1.0, 1.0]
    write_text(tmp_path / "c.json", "{}")
    assert (tmp_path / "c.json").read_text() == "{}"
    write_csv(tmp_path / "d.csv", ["i", "v"], [(0, 1.5), (1, 2.5)])
    assert list(csv.reader(open(tmp_path / "d.csv"))) == [["i", "v"], ["0", "1.5"], ["1", "2.5"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "b.npz", "c.json", "d.csv"]


#: Renames outside hmr_flow/files.py, with the reason they are not a write-temp-then-rename of one file.
ALLOWED_RENAMES = {
    "hmr_flow/wheels.py": "moves a download out of the temporary folder pip downloads into",
}


def _renames(source: str) -> int:
    """Calls of ``os.replace`` / ``os.rename`` / ``<path>.replace(x)`` / ``<path>.rename(x)`` in ``source``."""
    count = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("replace", "rename"):
            owner = node.func.value
            is_os = isinstance(owner, ast.Name) and owner.id == "os"
            # str.replace takes two arguments, a path's replace/rename one
            count += is_os or (len(node.args) == 1 and not node.keywords)
    return count


def test_every_write_then_rename_goes_through_the_helper():
    offenders = []
    for folder in ("hmr_flow", "data_tools", "demo", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            name = path.relative_to(REPO).as_posix()
            if name == "hmr_flow/files.py" or name in ALLOWED_RENAMES:
                continue
            if _renames(path.read_text(encoding="utf-8")):
                offenders.append(name)
    assert not offenders, f"write through hmr_flow.files (atomic_path / save_*) instead of renaming: {offenders}"


def test_the_rename_finder_finds_renames():
    assert _renames("import os\nos.replace(a, b)") == 1
    assert _renames("tmp.replace(out)") == 1
    assert _renames("name.replace('a', 'b')") == 0
