"""Checked downloader, against MNIST files served from a loopback HTTP server: small
synthetic IDX files written here byte by byte (always), and the real MNIST files where
``../shared`` has them (skipped otherwise).

Only 127.0.0.1 is ever contacted: every call passes explicit loopback mirrors.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import DownloadError, default_cache_dir, download, fetch_mnist_file

download_module = importlib.import_module("chainrule.data.download")  # the name is shadowed
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
LABELS = "t10k-labels-idx1-ubyte.gz"
IMAGES = "t10k-images-idx3-ubyte.gz"
REAL_MD5 = {LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
            IMAGES: "9fb629c4189551a2d022fa330f9573f3"}
SYNTHETIC_IMAGES = 120  # random pixels: the gzipped file stays ~95 kB, big enough to cut


def write_synthetic_mnist(root: Path, n: int = SYNTHETIC_IMAGES) -> dict[str, str]:
    """Gzipped IDX files named as MNIST's test set, written with struct (independent of
    chainrule's reader and writer): a big-endian magic (0x0801 uint8 vector, 0x0803 uint8
    3-d array), the sizes, then the bytes. Returns their md5 sums."""
    rng = np.random.default_rng(10)
    bodies = {LABELS: struct.pack(">II", 0x0801, n) + rng.integers(0, 10, n, np.uint8).tobytes(),
              IMAGES: struct.pack(">IIII", 0x0803, n, 28, 28)
              + rng.integers(0, 256, (n, 28, 28), np.uint8).tobytes()}
    root.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, body in bodies.items():
        packed = gzip.compress(body, mtime=0)
        (root / name).write_bytes(packed)
        sums[name] = hashlib.md5(packed).hexdigest()
    return sums


class Mirror:
    """A loopback server. Routes: /good/<f> real bytes, /corrupt/<f> one byte flipped,
    /short/<f> connection closed half-way (Content-Length says more), anything else 404."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: Counter[str] = Counter()
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                mirror.requests[self.path] += 1
                kind, _, name = self.path.strip("/").partition("/")
                path = mirror.root / name
                if kind not in ("good", "corrupt", "short") or not path.is_file():
                    self.send_error(404, "Not Found")
                    return
                body = bytearray(path.read_bytes())
                if kind == "corrupt":
                    body[len(body) // 2] ^= 0x01
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if kind == "short" else body)
                if kind == "short":
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, kind: str) -> str:
        return f"{self.base}/{kind}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


MD5: dict[str, str] = {}  # of the files the current test's mirror serves (set by `files`)
IMAGE_COUNT: list[int] = []


@pytest.fixture(params=["synthetic", "real"])
def files(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the mirror serves: synthetic IDX files (their md5 sums standing in for the
    official ones), or the real MNIST files of ../shared (skipped where it is absent)."""
    if request.param == "real":
        if not SHARED.is_dir():
            pytest.skip(f"../shared/data/mnist not found: {SHARED} (real MNIST files needed)")
        root, sums, count = SHARED, REAL_MD5, 10000
    else:
        root = tmp_path / "served"
        sums, count = write_synthetic_mnist(root), SYNTHETIC_IMAGES
        for name, digest in sums.items():
            monkeypatch.setitem(download_module.MNIST_FILES, name, digest)
    monkeypatch.setattr(f"{__name__}.MD5", dict(sums))
    monkeypatch.setattr(f"{__name__}.IMAGE_COUNT", [count])
    return root


def start_mirror(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    srv = Mirror(root)
    yield srv
    srv.close()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    """A loopback mirror serving nothing (every file a 404)."""
    yield from start_mirror(tmp_path / "empty", monkeypatch)


@pytest.fixture
def mirror(files: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    """A loopback mirror serving ``files`` (synthetic, then real)."""
    yield from start_mirror(files, monkeypatch)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def test_download_verifies_and_caches(mirror: Mirror, cache: Path) -> None:
    path = download(LABELS, cache, mirrors=[mirror.url("good")], progress=False)
    assert path == cache / LABELS
    assert md5(path) == MD5[LABELS]
    assert mirror.requests == {f"/good/{LABELS}": 1}
    assert sorted(p.name for p in cache.iterdir()) == [LABELS]
    # Second call: served from the cache, no request at all.
    again = download(LABELS, cache, mirrors=[mirror.url("good")], progress=False)
    assert again == path
    assert sum(mirror.requests.values()) == 1


def test_mirror_url_without_trailing_slash(mirror: Mirror, cache: Path) -> None:
    path = download(LABELS, cache, mirrors=[mirror.url("good").rstrip("/")], progress=False)
    assert md5(path) == MD5[LABELS]


def test_corrupt_mirror_skipped_for_next_good_one(mirror: Mirror, cache: Path) -> None:
    mirrors = [mirror.url("corrupt"), mirror.url("short"), mirror.url("good")]
    path = download(IMAGES, cache, mirrors=mirrors, progress=False)
    assert md5(path) == MD5[IMAGES]
    assert mirror.requests == {f"/corrupt/{IMAGES}": 1, f"/short/{IMAGES}": 1, f"/good/{IMAGES}": 1}
    assert sorted(p.name for p in cache.iterdir()) == [IMAGES]
    images = fetch_mnist_file(IMAGES, cache, mirrors=[mirror.url("missing")], progress=False)
    assert images.shape == (IMAGE_COUNT[0], 28, 28) and images.dtype == np.uint8


def test_missing_everywhere_names_each_mirror(server: Mirror, cache: Path) -> None:
    mirrors = [server.url("a"), server.url("b")]
    with pytest.raises(DownloadError) as info:
        download(LABELS, cache, mirrors=mirrors, progress=False)
    err = info.value
    msg = str(err)
    assert msg.startswith(f"could not download {LABELS}")
    for url in mirrors:
        assert f"{url}{LABELS}: HTTP 404" in msg
    assert [u for u, _ in err.failures] == [m + LABELS for m in mirrors]
    assert not err.offline and isinstance(err, OSError)
    assert list(cache.iterdir()) == []  # no partial or temporary file left behind


def test_only_bad_copies_leave_nothing_behind(mirror: Mirror, cache: Path) -> None:
    with pytest.raises(DownloadError) as info:
        mirrors = [mirror.url("corrupt"), mirror.url("short")]
        download(IMAGES, cache, mirrors=mirrors, progress=False)
    msg = str(info.value)
    assert f"{mirror.url('corrupt')}{IMAGES}: wrong checksum" in msg
    assert f"expected {MD5[IMAGES]}" in msg
    size = (mirror.root / IMAGES).stat().st_size
    assert (f"{mirror.url('short')}{IMAGES}: incomplete download: got {size // 2} of {size}"
            in msg)
    assert list(cache.iterdir()) == []


def test_corrupted_cache_is_replaced(mirror: Mirror, cache: Path) -> None:
    cache.mkdir()
    (cache / LABELS).write_bytes(b"not the real file")
    path = download(LABELS, cache, mirrors=[mirror.url("good")], progress=False)
    assert md5(path) == MD5[LABELS]
    assert mirror.requests == {f"/good/{LABELS}": 1}


def test_corrupted_cache_and_no_mirror_is_reported(server: Mirror, cache: Path) -> None:
    cache.mkdir()
    (cache / LABELS).write_bytes(b"not the real file")
    with pytest.raises(DownloadError, match=r"cached .* has md5 [0-9a-f]{32}, expected"):
        download(LABELS, cache, mirrors=[server.url("gone")], progress=False)
    assert sorted(p.name for p in cache.iterdir()) == [LABELS]


def test_offline_message(cache: Path) -> None:
    mirrors = [closed_port_url(), closed_port_url()]
    with pytest.raises(DownloadError) as info:
        download(LABELS, cache, mirrors=mirrors, timeout=5, progress=False)
    msg = str(info.value)
    assert msg.startswith("could not reach any MNIST mirror: are you offline?")
    assert info.value.offline
    for url in mirrors:
        assert f"{url}{LABELS}: unreachable" in msg
    assert "load_mnist49" in msg  # points at the bundled data
    assert list(cache.iterdir()) == []


def test_progress_bar(mirror: Mirror, cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = download(LABELS, cache, mirrors=[mirror.url("good")], progress=True)
    assert md5(path) == MD5[LABELS]
    assert LABELS in capsys.readouterr().err


def test_bad_names(cache: Path) -> None:
    with pytest.raises(ValueError, match="unknown file 'x.gz'"):
        download("x.gz", cache, mirrors=[])
    with pytest.raises(ValueError, match="plain name"):
        download("../x.gz", cache, mirrors=[], md5="0" * 32)
    with pytest.raises(ValueError, match="unknown MNIST file"):
        fetch_mnist_file("x.gz", cache, mirrors=[])


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "d"
    monkeypatch.delenv("CHAINRULE_DATA")
    assert default_cache_dir() == tmp_path / "x" / "chainrule"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert default_cache_dir() == tmp_path / "h" / ".cache" / "chainrule"


def test_default_cache_dir_used(mirror: Mirror, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "env-cache"))
    path = download(LABELS, mirrors=[mirror.url("good")], progress=False)
    assert path == tmp_path / "env-cache" / LABELS and md5(path) == MD5[LABELS]
