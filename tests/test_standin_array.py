"""The CuPy stand-in itself: what it refuses and what it counts (the instrument behind
``test_device.py`` and ``test_device_table.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from standin_array import SYNCS, DeviceArray, namespace


def test_it_refuses_the_implicit_copy_to_numpy_naming_the_line() -> None:
    x = namespace.asarray([1.0, 2.0])
    with pytest.raises(TypeError, match=r"test_standin_array\.py:\d+ \(np\.asarray\(x\)\)"):
        np.asarray(x)


def test_it_refuses_host_arrays_mixed_in_but_takes_host_indices() -> None:
    x = namespace.asarray([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="host numpy.ndarray of shape \\(3,\\)"):
        x + np.ones(3)
    picked = x[np.array([2, 0])]
    assert type(picked) is DeviceArray
    np.testing.assert_array_equal(namespace.asnumpy(picked), [3.0, 1.0])


def test_it_counts_host_syncs_and_keeps_results_on_the_device() -> None:
    SYNCS.reset()
    x = namespace.asarray([1.0, -2.0])
    total = np.sum(np.exp(x) * 2)
    assert type(total) is DeviceArray and total.ndim == 0  # a 0-d array, as CuPy's
    assert SYNCS.count == 0
    float(total), bool(total > 0), total.item()
    assert SYNCS.count == 3
