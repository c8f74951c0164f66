"""Hypothesis profiles and the ``--no-torch`` switch, for every test module.

Profiles (``CHAINRULE_HYPOTHESIS_PROFILE=NAME`` or ``pytest --hypothesis-profile=NAME``;
without either, ``dev``):

* ``dev``: 10 examples per primitive in the primitive table (``tests/test_ops_vjp.py``,
  ``tests/test_jvp_rules.py``), or ``CHAINRULE_EXAMPLES`` of them, so a local run stays quick;
* ``ci``: 50 examples per primitive for first order and 20 for second order (what
  ``.ci/run`` selects through the environment, so that it runs the README's command as is).

Tests that name their own ``max_examples`` keep it under either profile.

``--no-torch`` makes ``import torch`` fail (``sys.modules['torch'] = None``) before any test
module is imported, so the paths taken where PyTorch is absent (finite differences instead
of PyTorch references) run even on a machine that has it.
"""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("dev", max_examples=int(os.environ.get("CHAINRULE_EXAMPLES", "10")),
                          **_COMMON)
settings.register_profile("ci", max_examples=50, print_blob=True, **_COMMON)
# CHAINRULE_HYPOTHESIS_PROFILE=ci (what .ci/run sets) or --hypothesis-profile=NAME (read after
# this file, so it wins) choose another profile.
settings.load_profile(os.environ.get("CHAINRULE_HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-torch", action="store_true",
                     help="run as if PyTorch were not installed (import torch fails)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--no-torch"):
        sys.modules["torch"] = None  # type: ignore[assignment]


@pytest.fixture
def fresh_cutlog():
    """An empty cut log (chainrule.cutlog) before and after the test: diagnoses read it."""
    from chainrule import cutlog

    cutlog.clear()
    yield
    cutlog.clear()
