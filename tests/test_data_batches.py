"""Mini-batching: coverage, reproducibility, reshuffling per epoch, drop_last, errors."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data import BatchIterator, batches, load_mnist49


def data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    return x, np.arange(n) * 10


def epoch(it: BatchIterator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    pairs = list(it)
    return [xb for xb, _ in pairs], [yb for _, yb in pairs]


@pytest.mark.parametrize("shuffle", [True, False])
def test_every_sample_once_and_pairs_kept(shuffle: bool) -> None:
    x, y = data(10)
    it = batches(x, y, batch_size=4, shuffle=shuffle, seed=0)
    assert isinstance(it, BatchIterator) and len(it) == 3
    xs, ys = epoch(it)
    assert [len(b) for b in ys] == [4, 4, 2]
    order = np.concatenate(ys) // 10
    assert sorted(order.tolist()) == list(range(10))
    np.testing.assert_array_equal(np.concatenate(xs), x[order])  # x and y stay paired
    if not shuffle:
        np.testing.assert_array_equal(order, np.arange(10))


def test_seed_reproducible_and_each_epoch_reshuffles() -> None:
    x, y = data(50)
    a = batches(x, y, 8, seed=123)
    b = batches(x, y, 8, seed=123)
    epochs_a = [np.concatenate(epoch(a)[1]) for _ in range(3)]
    epochs_b = [np.concatenate(epoch(b)[1]) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b, strict=True):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(epochs_a[0], epochs_a[1])  # new order each epoch
    assert not np.array_equal(epochs_a[0], np.arange(50) * 10)  # actually shuffled
    other = np.concatenate(epoch(batches(x, y, 8, seed=124))[1])
    assert not np.array_equal(other, epochs_a[0])


def test_rng_argument() -> None:
    x, y = data(20)
    a = np.concatenate(epoch(batches(x, y, 5, rng=np.random.default_rng(7)))[1])
    b = np.concatenate(epoch(batches(x, y, 5, seed=7))[1])
    np.testing.assert_array_equal(a, b)


def test_drop_last() -> None:
    x, y = data(10)
    it = batches(x, y, 4, drop_last=True, seed=1)
    assert len(it) == 2
    ys = epoch(it)[1]
    assert [len(b) for b in ys] == [4, 4]
    assert len(set(np.concatenate(ys).tolist())) == 8
    assert len(batches(x, y, 5, drop_last=True)) == 2  # exact multiple: nothing dropped
    assert len(batches(x, y, 11, drop_last=True)) == 0
    assert list(batches(x, y, 11, drop_last=True)) == []
    assert len(batches(x, y, 11)) == 1


def test_unshuffled_batches_are_views() -> None:
    x, y = data(10)
    xb, _ = next(iter(batches(x, y, 4, shuffle=False)))
    assert np.shares_memory(xb, x)


def test_empty_data() -> None:
    it = batches(np.zeros((0, 3)), np.zeros(0), 4)
    assert len(it) == 0 and list(it) == []


def test_errors() -> None:
    x, y = data(10)
    with pytest.raises(ValueError, match="batch_size must be > 0, got 0"):
        batches(x, y, 0)
    with pytest.raises(ValueError, match="batch_size must be > 0, got -3"):
        batches(x, y, -3)
    with pytest.raises(TypeError, match="batch_size must be an int, got float"):
        batches(x, y, 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="batch_size must be an int, got bool"):
        batches(x, y, True)
    with pytest.raises(ValueError, match=r"len\(x\) = 10, len\(y\) = 9"):
        batches(x, y[:9], 2)
    with pytest.raises(ValueError, match="either seed or rng"):
        batches(x, y, 2, seed=1, rng=np.random.default_rng(1))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        batches(x, y, 2, rng=np.random.RandomState(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scalar"):
        batches(np.float64(1.0), y, 2)


def test_on_bundled_mnist() -> None:
    d = load_mnist49()
    it = batches(d.x_train, d.y_train, batch_size=128, seed=0)
    assert len(it) == 16  # ceil(1958 / 128)
    seen = 0
    for xb, yb in it:
        assert xb.shape[1:] == (28, 28) and xb.dtype == np.uint8 and yb.dtype == np.int64
        seen += len(yb)
    assert seen == 1958
    assert "batches=16" in repr(it)
