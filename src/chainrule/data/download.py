"""Checked downloader and cache for the official MNIST files.

:func:`download` tries each mirror in turn, checks the md5 of what it got
against the official sum, and only then moves the file into the cache
(written to a temporary file in the same directory, then ``os.replace``, so a
crash or a bad mirror never leaves a partial or wrong file under the real
name). A cached file is reused only if its md5 matches. Nothing downloaded is
ever unpickled: the files are IDX, read by :func:`chainrule.data.idx.read_idx`.

Cache directory: ``$CHAINRULE_DATA`` if set, else ``$XDG_CACHE_HOME/chainrule``,
else ``~/.cache/chainrule``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import ssl
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .idx import read_idx

__all__ = [
    "DEFAULT_MIRRORS",
    "MNIST_FILES",
    "DownloadError",
    "default_cache_dir",
    "download",
    "fetch_mnist_file",
    "md5_of",
]

#: The four official MNIST files and their md5 sums.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

#: Public mirrors, tried in this order.
DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror delivered a file with the right checksum.

    Attributes:
        name: the file asked for.
        failures: ``(url, reason)`` for each mirror tried, in order.
        offline: True when no mirror could even be reached.
    """

    def __init__(self, message: str, name: str, failures: list[tuple[str, str]], offline: bool):
        super().__init__(message)
        self.name = name
        self.failures = failures
        self.offline = offline


def default_cache_dir() -> Path:
    """``$CHAINRULE_DATA``, else ``$XDG_CACHE_HOME/chainrule``, else ``~/.cache/chainrule``."""
    if os.environ.get("CHAINRULE_DATA"):
        return Path(os.environ["CHAINRULE_DATA"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "chainrule"
    return Path.home() / ".cache" / "chainrule"


def md5_of(path: str | os.PathLike[str]) -> str:
    """Hex md5 of a file, read in chunks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Unreachable(Exception):
    """The mirror's host could not be reached at all (DNS, refused, no route, timeout)."""


def _fetch(url: str, dest: Path, timeout: float, progress: bool, desc: str) -> str:
    """Stream ``url`` into the file ``dest``; return the md5 of the bytes received."""
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise OSError(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLError):  # reached, but TLS failed: not "offline"
            raise OSError(f"TLS error ({exc.reason})") from exc
        raise _Unreachable(f"unreachable ({exc.reason})") from exc
    except (TimeoutError, ConnectionRefusedError, socket.gaierror) as exc:
        raise _Unreachable(f"unreachable ({exc!r})") from exc
    h = hashlib.md5()
    with response, open(dest, "wb") as out:
        total = response.headers.get("Content-Length")
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=int(total) if total and total.isdigit() else None,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=desc,
                leave=False,
            )
        received = 0
        try:
            while chunk := response.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total and total.isdigit() and received != int(total):
        raise OSError(f"incomplete download: got {received} of {total} bytes")
    return h.hexdigest()


def download(
    name: str,
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] | None = None,
    timeout: float = 30.0,
    *,
    md5: str | None = None,
    progress: bool = True,
) -> Path:
    """Return the path of ``name`` in the cache, downloading it first if needed.

    Args:
        name: file name, e.g. ``"t10k-images-idx3-ubyte.gz"``; its URL on a
            mirror is ``mirror + name``.
        cache_dir: where to keep it (default :func:`default_cache_dir`).
        mirrors: base URLs to try in order (default :data:`DEFAULT_MIRRORS`).
        timeout: seconds allowed for connecting and for each read.
        md5: expected md5; required for names not in :data:`MNIST_FILES`.
        progress: show a tqdm progress bar while downloading.

    Raises:
        DownloadError: every mirror failed; the message lists each mirror and
            why (HTTP status, wrong checksum, unreachable, ...), and starts
            with "could not reach any MNIST mirror: are you offline?" when
            none could be reached at all.
    """
    expected = md5 or MNIST_FILES.get(name)
    if expected is None:
        raise ValueError(f"unknown file {name!r}: pass md5=... (known: {', '.join(MNIST_FILES)})")
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise ValueError(f"file name must be a plain name, got {name!r}")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache / name
    stale = ""
    if target.is_file():
        cached = md5_of(target)
        if cached == expected:
            return target
        stale = f"cached {target} has md5 {cached}, expected {expected}: ignored\n"
    cache.mkdir(parents=True, exist_ok=True)

    failures: list[tuple[str, str]] = []
    unreachable = 0
    for mirror in DEFAULT_MIRRORS if mirrors is None else mirrors:
        url = mirror if mirror.endswith("/") else mirror + "/"
        url += name
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=cache)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            got = _fetch(url, tmp, timeout, progress, desc=name)
            if got != expected:
                failures.append((url, f"wrong checksum: md5 {got}, expected {expected}"))
                continue
            os.replace(tmp, target)
            return target
        except _Unreachable as exc:
            unreachable += 1
            failures.append((url, str(exc)))
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # HTTP status errors, resets or timeouts mid-stream, short reads, bad URLs
            failures.append((url, str(exc) or type(exc).__name__))
        finally:
            tmp.unlink(missing_ok=True)

    tried = "\n".join(f"  - {url}: {why}" for url, why in failures) or "  (no mirrors given)"
    offline = bool(failures) and unreachable == len(failures)
    if offline:
        head = f"could not reach any MNIST mirror: are you offline? ({name} not downloaded)"
    else:
        head = f"could not download {name} (md5 {expected}) from any mirror"
    hint = (
        f"To work offline, put {name} (md5 {expected}) in {cache} yourself, or use the "
        "bundled 4-vs-9 set (chainrule.data.load_mnist49), which needs no network."
    )
    raise DownloadError(f"{head}:\n{tried}\n{stale}{hint}", name, failures, offline)


def fetch_mnist_file(
    name: str,
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] | None = None,
    timeout: float = 30.0,
    *,
    progress: bool = True,
) -> np.ndarray:
    """Download (or reuse from the cache) one official MNIST file and read it as an array.

    ``name`` is one of :data:`MNIST_FILES`; images come back as uint8
    ``(N, 28, 28)``, labels as uint8 ``(N,)``.
    """
    if name not in MNIST_FILES:
        raise ValueError(f"unknown MNIST file {name!r} (known: {', '.join(MNIST_FILES)})")
    path = download(name, cache_dir, mirrors, timeout, progress=progress)
    return read_idx(path)
