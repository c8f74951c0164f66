"""Datasets: the bundled 4-vs-9 set (needs nothing outside the package) and full MNIST."""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import MNISTData, as_features, load_mnist, load_mnist49, read_idx, write_idx
from chainrule.data.download import MNIST_FILES  # the dict itself (patched below)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
# md5 of each stored array's bytes, as recorded in src/chainrule/data/PROVENANCE.md
ARRAY_MD5 = {
    "x_train": "a94a4b83e59ce1473a3c3cabd7a616cf",
    "digit_train": "456bec0c24c244c5d992bb81737f4361",
    "x_test": "6f17990f6cdf45c08a7e99cea51b0578",
    "digit_test": "ce8662ed40e699d9d3c9b4cf629c06a9",
}


@pytest.fixture(scope="module")
def data() -> MNISTData:
    return load_mnist49()


@pytest.fixture(scope="module")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared/data/mnist not found: {SHARED} (real MNIST files needed)")
    return SHARED


# ----------------------------------------------------------------------------- bundled


def test_bundled_counts_dtypes_and_labels(data: MNISTData) -> None:
    assert data.x_train.shape == (1958, 28, 28) and data.x_test.shape == (1991, 28, 28)
    assert data.x_train.dtype == data.x_test.dtype == np.uint8
    assert data.y_train.dtype == data.y_test.dtype == np.int64
    assert data.digit_train.dtype == np.uint8
    assert np.bincount(data.y_train).tolist() == [980, 978]
    assert np.bincount(data.y_test).tolist() == [982, 1009]
    for y, d in ((data.y_train, data.digit_train), (data.y_test, data.digit_test)):
        np.testing.assert_array_equal(y, np.where(d == 4, 0, 1))
        assert set(np.unique(d).tolist()) == {4, 9}
    assert data.digits == (4, 9) and data.source == "bundled"
    assert repr(data) == "MNISTData(digits=(4, 9), source='bundled', train=1958, test=1991)"
    x_train, y_train, x_test, y_test = data
    assert x_train is data.x_train and y_test is data.y_test


def test_bundled_training_order_mixes_classes(data: MNISTData) -> None:
    first = data.y_train[:100]
    assert 30 < first.sum() < 70  # not sorted by class


def test_bundled_arrays_match_provenance() -> None:
    ref = resources.files("chainrule.data").joinpath("mnist49.npz")
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(ARRAY_MD5)
        for key, want in ARRAY_MD5.items():
            assert hashlib.md5(npz[key].tobytes()).hexdigest() == want, key
    text = resources.files("chainrule.data").joinpath("PROVENANCE.md").read_text()
    for want in ARRAY_MD5.values():
        assert want in text
    file_md5 = hashlib.md5(ref.read_bytes()).hexdigest()
    assert re.search(r"md5 \*\*([0-9a-f]{32})\*\*", text).group(1) == file_md5
    assert "CC BY-SA 3.0" in text


def test_bundled_pixels_are_real_digits(data: MNISTData) -> None:
    # A real MNIST digit: zero border, strokes reaching 255, about 19% ink on average.
    for x in (data.x_train, data.x_test):
        assert x.max() == 255 and (x[:, 0, :] == 0).mean() > 0.99
        assert 0.15 < (x > 0).mean() < 0.25


def test_bundled_test_set_is_official_t10k_fours_and_nines(data: MNISTData, shared: Path) -> None:
    images = read_idx(shared / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(shared / "t10k-labels-idx1-ubyte.gz")
    keep = np.isin(labels, (4, 9))
    np.testing.assert_array_equal(data.x_test, images[keep])
    np.testing.assert_array_equal(data.digit_test, labels[keep])


def test_bundled_training_set_is_the_sample_fours_and_nines(data: MNISTData, shared: Path):
    with np.load(shared / "train-sample-10k.npz", allow_pickle=False) as npz:
        images, labels = npz["images"], npz["labels"]
    keep = np.isin(labels, (4, 9))
    source = sorted(zip((i.tobytes() for i in images[keep]), labels[keep].tolist(), strict=True))
    bundled = sorted(
        zip((i.tobytes() for i in data.x_train), data.digit_train.tolist(), strict=True)
    )
    assert bundled == source
    test_images = {i.tobytes() for i in data.x_test}
    assert not any(i.tobytes() in test_images for i in data.x_train)


def test_as_features(data: MNISTData) -> None:
    f32 = as_features(data.x_train)
    f64 = as_features(data.x_test, np.float64)
    assert f32.shape == (1958, 784) and f32.dtype == np.float32
    assert f64.shape == (1991, 784) and f64.dtype == np.float64
    assert f32.min() == 0.0 and f32.max() == 1.0
    np.testing.assert_array_equal(f64, data.x_test.reshape(1991, 784) / 255.0)
    with pytest.raises(TypeError, match="expects uint8"):
        as_features(f32)
    with pytest.raises(TypeError, match="must be floating"):
        as_features(data.x_train, np.int32)


def test_load_mnist_default_and_order(data: MNISTData) -> None:
    default = load_mnist()
    np.testing.assert_array_equal(default.x_train, data.x_train)
    np.testing.assert_array_equal(default.y_test, data.y_test)
    swapped = load_mnist(digits=(9, 4))
    np.testing.assert_array_equal(swapped.y_train, 1 - data.y_train)
    assert swapped.digits == (9, 4)


def test_load_mnist_errors() -> None:
    with pytest.raises(ValueError, match=r"only digits 4 and 9.*full=True.*--full"):
        load_mnist(digits=(3, 8))
    with pytest.raises(ValueError, match="at least two digits"):
        load_mnist(digits=(4,))
    with pytest.raises(ValueError, match="distinct integers in 0..9"):
        load_mnist(digits=(4, 4))
    with pytest.raises(ValueError, match="distinct integers in 0..9"):
        load_mnist(digits=(4, 10), full=True)


# ----------------------------------------------------------------------------- full (loopback)


@pytest.fixture
def full_mirror(shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A loopback mirror with the official t10k files, and (the full training images
    not being available offline) the 10k real training sample written as the two
    training IDX files, their md5 patched into the downloader's table."""
    root = tmp_path / "mirror"
    root.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (root / name).write_bytes((shared / name).read_bytes())
    with np.load(shared / "train-sample-10k.npz", allow_pickle=False) as npz:
        files = {
            "train-images-idx3-ubyte.gz": npz["images"],
            "train-labels-idx1-ubyte.gz": npz["labels"],
        }
    for name, arr in files.items():
        digest = hashlib.md5(write_idx(root / name, arr).read_bytes()).hexdigest()
        monkeypatch.setitem(MNIST_FILES, name, digest)
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_load_mnist_full_other_digits(full_mirror: str, tmp_path: Path, shared: Path) -> None:
    cache = tmp_path / "cache"
    mirrors = [full_mirror]
    d = load_mnist(digits=(8, 3, 0), full=True, cache_dir=cache, mirrors=mirrors, progress=False)
    assert d.source == "full" and d.digits == (8, 3, 0)
    # README counts: training sample 0:1001 3:1032 8:944; test set 0:980 3:1010 8:974
    assert np.bincount(d.y_train).tolist() == [944, 1032, 1001]
    assert np.bincount(d.y_test).tolist() == [974, 1010, 980]
    np.testing.assert_array_equal(np.array([8, 3, 0])[d.y_test], d.digit_test)
    labels = read_idx(shared / "t10k-labels-idx1-ubyte.gz")
    images = read_idx(shared / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(d.x_test, images[np.isin(labels, (8, 3, 0))])
    assert sorted(p.name for p in cache.iterdir()) == sorted(MNIST_FILES)
    # Cached now: a second load needs no mirror at all.
    again = load_mnist(digits=(4, 9), full=True, cache_dir=cache, mirrors=[], progress=False)
    np.testing.assert_array_equal(again.x_test, load_mnist49().x_test)
    assert np.bincount(again.y_train).tolist() == [980, 978]
