"""MNIST data for chainrule: IDX reader, checked downloader, bundled 4-vs-9 set, batching."""

from .batches import BatchIterator, batches
from .download import (
    DEFAULT_MIRRORS,
    MNIST_FILES,
    DownloadError,
    default_cache_dir,
    download,
    fetch_mnist_file,
)
from .idx import IDXError, read_idx, write_idx
from .mnist import BUNDLED_DIGITS, MNISTData, as_features, load_mnist, load_mnist49

__all__ = [
    "BUNDLED_DIGITS",
    "DEFAULT_MIRRORS",
    "MNIST_FILES",
    "BatchIterator",
    "DownloadError",
    "IDXError",
    "MNISTData",
    "as_features",
    "batches",
    "default_cache_dir",
    "download",
    "fetch_mnist_file",
    "load_mnist",
    "load_mnist49",
    "read_idx",
    "write_idx",
]
