"""Operations shared by the scalar-engine tests: what to apply and where to sample x."""

from __future__ import annotations

from hypothesis import strategies as st

H = 1e-6  # central-difference step


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


AWAY_FROM_0 = floats(0.1, 5.0) | floats(-5.0, -0.1)

# name -> (function applied alike to Value, Dual and torch.Tensor, where to sample x)
UNARY = {
    "neg": (lambda v: -v, floats(-5, 5)),
    "relu": (lambda v: v.relu(), floats(0.01, 5) | floats(-5, -0.01)),
    "tanh": (lambda v: v.tanh(), floats(-5, 5)),
    "sigmoid": (lambda v: v.sigmoid(), floats(-30, 30)),
    "exp": (lambda v: v.exp(), floats(-20, 20)),
    "log": (lambda v: v.log(), floats(0.01, 50)),
    "sin": (lambda v: v.sin(), floats(-10, 10)),
    "cos": (lambda v: v.cos(), floats(-10, 10)),
    "sqrt": (lambda v: v.sqrt(), floats(0.01, 50)),
    "square": (lambda v: v**2, floats(-5, 5)),
}
