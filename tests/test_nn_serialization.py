"""Saving and loading modules as .npz: round trips, dtype kept, refusals (no pickle)."""

import zipfile

import numpy as np
import pytest

from chainrule import nn


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip_keeps_values_and_dtype(tmp_path, dtype):
    model = nn.MLP([5, 4, 3], rng=0, dtype=dtype)
    path = model.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    other = nn.MLP([5, 4, 3], rng=1, dtype=dtype)
    assert other.load(path) is other
    for (n, p), (m, q) in zip(model.named_parameters(), other.named_parameters(), strict=True):
        assert n == m and q.dtype == dtype
        np.testing.assert_array_equal(p.data, q.data)
    with np.load(path, allow_pickle=False) as f:
        assert f.files == list(model.state_dict())


def test_module_level_functions_and_suffix(tmp_path):
    model = nn.Linear(3, 2, rng=0)
    path = nn.save(model, tmp_path / "sub" / "weights")
    assert path == tmp_path / "sub" / "weights.npz" and path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == ["weights.npz"]  # no temp left
    other = nn.load(nn.Linear(3, 2, rng=5), path)
    np.testing.assert_array_equal(other.weight.data, model.weight.data)


def test_load_refuses_other_names_and_shapes(tmp_path):
    path = nn.MLP([5, 4, 3], rng=0).save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match=r"layers.0.weight: expected shape \(5, 6\) dtype "
                                         r"float64, got shape \(5, 4\)"):
        nn.MLP([5, 6, 3], rng=0).load(path)
    with pytest.raises(ValueError, match="missing: layers.4.weight, layers.4.bias"):
        nn.MLP([5, 4, 3, 2], rng=0).load(path)
    with pytest.raises(ValueError, match="unexpected: layers.0.weight, layers.0.bias"):
        nn.Linear(5, 4).load(path)
    with pytest.raises(ValueError, match="dtype float32, got shape .* dtype float64"):
        nn.MLP([5, 4, 3], dtype=np.float32).load(path)


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"evil.npz: array 'weight' holds Python objects.*"
                                         r"refused"):
        nn.Linear(1, 2).load(path)


def test_load_reports_missing_broken_and_wrong_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="load: no such file: .*absent.npz"):
        nn.Linear(1, 2).load(tmp_path / "absent.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match="junk.npz is not an .npz archive"):
        nn.Linear(1, 2).load(junk)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match="single.npy holds a single array"):
        nn.Linear(1, 2).load(single)
    good = nn.Linear(40, 30, rng=0).save(tmp_path / "good.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="cut.npz"):
        nn.Linear(40, 30).load(cut)
    assert zipfile.is_zipfile(good)
