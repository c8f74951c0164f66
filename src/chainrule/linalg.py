"""``chainrule.linalg``: NumPy's ``np.linalg``, differentiable (reverse and forward mode, any
order)::

    from chainrule import linalg as la
    la.inv(t), la.solve(a, b), la.cholesky(k), la.eigh(s).eigenvalues, ...

``np.linalg.inv(t)`` on a Tensor answers the same (NumPy's dispatch). The rules live in
:mod:`chainrule.ops.linalg_inverse` and :mod:`chainrule.ops.linalg_decompose`; each function's
docstring states where its derivative is defined (invertible, full rank, distinct eigenvalues
or singular values). ``eig``/``eigvals`` (complex results), ``tensorsolve`` and ``tensorinv``
are not provided.
"""

from numpy.linalg import LinAlgError

from chainrule.ops.linalg import norm
from chainrule.ops.linalg_decompose import (
    cholesky,
    cond,
    eigh,
    eigvalsh,
    matrix_rank,
    qr,
    svd,
    svdvals,
)
from chainrule.ops.linalg_inverse import (
    det,
    inv,
    lstsq,
    matrix_power,
    multi_dot,
    pinv,
    slogdet,
    solve,
)

__all__ = [
    "LinAlgError", "cholesky", "cond", "det", "eigh", "eigvalsh", "inv", "lstsq",
    "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "svd",
    "svdvals",
]
