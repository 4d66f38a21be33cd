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


def _set_writer(text: str):
    def write(tmp):
        with open(tmp, "w") as handle:
            handle.write(text)

    return write


def test_a_result_set_is_replaced_whole_or_not_at_all(tmp_path):
    from hmr_flow.files import write_set

    old = {"x_params.npz": "old params", "x_0.ply": "old mesh 0", "x_1.ply": "old mesh 1"}
    for name, text in old.items():
        (tmp_path / name).write_text(text)

    def fails(tmp):
        with open(tmp, "w") as handle:
            handle.write("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="x_0.ply: cannot write \\(No space left on device\\)"):
        write_set({tmp_path / "x_params.npz": _set_writer("new params"), tmp_path / "x_0.ply": fails},
                  stale=[tmp_path / "x_1.ply"])
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == old  # the old set, nothing beside it
    written = write_set({tmp_path / "x_params.npz": _set_writer("new params"), tmp_path / "x_0.ply": _set_writer("new")},
                        stale=[tmp_path / "x_params.npz", tmp_path / "x_0.ply", tmp_path / "x_1.ply"])
    assert written == [tmp_path / "x_params.npz", tmp_path / "x_0.ply"]
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"x_params.npz": "new params", "x_0.ply": "new"}


def test_an_interruption_while_a_set_is_renamed_restores_the_old_set(tmp_path, monkeypatch):
    import os

    from hmr_flow import files

    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(f"old {name}")
    real = os.replace
    calls = []

    def replace_then_interrupted(source, target):
        calls.append(target)
        if len(calls) == 4:  # both old files moved aside, the first new one in place: Ctrl-C
            raise KeyboardInterrupt
        real(source, target)

    monkeypatch.setattr(files.os, "replace", replace_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_set({tmp_path / "a.txt": _set_writer("new a"), tmp_path / "b.txt": _set_writer("new b")})
    monkeypatch.undo()
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"a.txt": "old a.txt", "b.txt": "old b.txt"}


def test_every_writer_takes_a_file_name_that_is_not_utf8(tmp_path):
    import os

    name = os.fsdecode(b"caf\xe9")  # Latin-1 bytes, as Python passes them on
    save_torch({"x": torch.arange(3)}, tmp_path / f"{name}.pt")
    save_npz({"y": np.ones(2)}, tmp_path / f"{name}.npz")
    write_text(tmp_path / f"{name}.json", "{}")
    write_csv(tmp_path / f"{name}.csv", ["i"], [(0,)])
    assert torch.load(tmp_path / f"{name}.pt", weights_only=True)["x"].tolist() == [0, 1, 2]
    assert sorted(os.fsencode(p.name) for p in tmp_path.iterdir()) == [b"caf\xe9." + s for s in (b"csv", b"json", b"npz",
                                                                                                  b"pt")]


def test_a_refusal_of_the_operating_system_names_the_file(tmp_path):
    (tmp_path / "blocked").write_text("a file, not a folder")
    with pytest.raises(OSError, match="blocked/out.csv: cannot write"):
        write_csv(tmp_path / "blocked" / "out.csv", ["i"], [])


def test_no_code_writes_images_with_cv2_imwrite():
    """``cv2.imwrite`` crashes the interpreter on a file name that is not UTF-8: images go through
    ``hmr_flow.images.write_image`` (encoded in memory, written by Python)."""
    offenders = []
    for folder in ("hmr_flow", "data_tools", "demo", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr == "imwrite":
                    offenders.append(path.relative_to(REPO).as_posix())
    assert not offenders, offenders
