"""Official-format files: chumpy pickles without chumpy, refused pickles, broken files."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse
import torch

from hmr_flow.body import BodyModel, BodyModelFileError, SmplPickleError, load_model_file, load_smpl_pickle


@pytest.fixture()
def fake_chumpy(monkeypatch):
    """A stand-in ``chumpy.ch.Ch`` (state ``{'x': array}``) importable only while pickling."""
    module = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = np.asarray(x)
            self.label = "unused"

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    module.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
    monkeypatch.setitem(sys.modules, "chumpy.ch", module)
    return Ch


def _write_official_pkl(tmp_path, body_model, ch_class):
    arrays, ids, _ = load_model_file(body_model.model_path)
    data = dict(arrays)
    data["shapedirs"] = ch_class(arrays["shapedirs"])
    data["v_template"] = ch_class(arrays["v_template"])
    data["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"])
    data["vertex_ids_names"] = np.array(list(ids))
    data["vertex_ids_values"] = np.array(list(ids.values()))
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path


def test_chumpy_pickle_loads_without_chumpy_and_matches(tmp_path, body_model, fake_chumpy, monkeypatch):
    path = _write_official_pkl(tmp_path, body_model, fake_chumpy)
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    monkeypatch.delitem(sys.modules, "chumpy")
    raw = load_smpl_pickle(path)
    assert isinstance(raw["shapedirs"], np.ndarray) and raw["J_regressor"].shape == (24, body_model.num_vertices)
    model = BodyModel(path)
    pose = 0.2 * torch.randn(2, 72, generator=torch.Generator().manual_seed(0))
    betas = torch.randn(2, 10, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(model(pose, betas).vertices, body_model(pose, betas).vertices, atol=1e-5)


class Arbitrary:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickle_with_arbitrary_callable_is_refused(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"v_template": Arbitrary()}, protocol=2))
    with pytest.raises(SmplPickleError, match=r"evil.pkl: refusing to load (__builtin__|builtins).print"):
        load_smpl_pickle(path)


class SomeClass:
    def __init__(self):
        self.x = np.zeros(3)


def test_pickle_with_arbitrary_class_is_refused(tmp_path):
    path = tmp_path / "class.pkl"
    path.write_bytes(pickle.dumps({"shapedirs": SomeClass()}, protocol=2))
    with pytest.raises(SmplPickleError, match=r"class\.pkl: refusing to load .*SomeClass"):
        load_smpl_pickle(path)
    with pytest.raises(BodyModelFileError, match="SomeClass"):
        BodyModel(path)


def test_broken_files_raise_clear_errors(tmp_path, body_model):
    with pytest.raises(BodyModelFileError, match="missing.npz: model file not found"):
        BodyModel(tmp_path / "missing.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a zip at all")
    with pytest.raises(BodyModelFileError, match="corrupt.npz: corrupt or unreadable"):
        BodyModel(corrupt)
    arrays, _, _ = load_model_file(body_model.model_path)
    bad = dict(arrays, weights=arrays["weights"][:, :23])
    np.savez(tmp_path / "shape.npz", **bad)
    with pytest.raises(BodyModelFileError, match=r"shape.npz: 'weights' has shape \(\d+, 23\), expected"):
        BodyModel(tmp_path / "shape.npz")
    nan = dict(arrays, v_template=np.full_like(arrays["v_template"], np.nan))
    np.savez(tmp_path / "nan.npz", **nan)
    with pytest.raises(BodyModelFileError, match="nan.npz: 'v_template' contains NaN"):
        BodyModel(tmp_path / "nan.npz")
    np.savez(tmp_path / "noids.npz", **arrays)
    with pytest.raises(BodyModelFileError, match="no keypoint vertex ids"):
        BodyModel(tmp_path / "noids.npz")


def test_a_compressed_model_in_the_cache_is_read_from_its_unpacked_copy(tmp_path, monkeypatch, body_model):
    """The first load of a compressed model file in the user cache writes its arrays uncompressed; later loads
    read that copy (same arrays), a changed file gets a new one, a file elsewhere is left alone."""
    import os
    import shutil

    from hmr_flow.body.model_file import unpacked_path

    monkeypatch.setenv("HMR_FLOW_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    model = tmp_path / "cache" / "model.npz"
    shutil.copy(body_model.model_path, model)
    first = load_model_file(model)[0]
    copy = unpacked_path(model)
    assert copy.is_file() and copy.parent == tmp_path / "cache" / "unpacked"
    read = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda path, **kw: read.append(path) or real_load(path, **kw))
    again = load_model_file(model)[0]
    assert read == [copy] and all(np.array_equal(first[k], again[k]) for k in first)
    os.utime(model, ns=(1, 1))  # the file changed: its old copy is not used
    load_model_file(model)
    assert read[-1] == model and unpacked_path(model) != copy and unpacked_path(model).is_file()
    elsewhere = tmp_path / "model.npz"
    shutil.copy(body_model.model_path, elsewhere)
    load_model_file(elsewhere)
    assert read[-1] == elsewhere and len(list((tmp_path / "cache" / "unpacked").iterdir())) == 2
