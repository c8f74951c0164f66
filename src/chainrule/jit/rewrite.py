"""Algebraic rewrites of a traced program, made before its buffers are planned.

:func:`fold_scales`: a scalar times a matrix product, ``c * (A @ B)``, becomes
``A @ (c * B)`` (or ``(c * A) @ B``), scaling whichever operand is smaller. An SGD step's
``lr * (x.T @ d)`` then scales the batch's ``d`` (32 x 256) instead of the weight-sized
product (784 x 256): one pass over the large array less per parameter. The two orders round
differently (a few units in the last place), within what :func:`chainrule.jit` promises
(the eager numbers to 1e-12 relative in float64, 1e-5 in float32); at the very edges of
the float range they can also overflow or underflow differently (a product that overflows
before a tiny scale is applied is finite when the operand is scaled first), as under any
compiler that reassociates floating-point arithmetic.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from chainrule import ops
from chainrule.jit.program import Line, Program, Ref


def fold_scales(program: Program) -> None:
    """Rewrite ``c * (A @ B)`` as ``A @ (c * B)`` (the smaller operand scaled) wherever the
    product is read by that multiplication alone, ``c`` is a constant scalar, and the result
    keeps its dtype."""
    readers = Counter(s for line in program.lines for s in line.reads())
    readers.update(o.slot for o in program.outputs if o.slot is not None)
    made = {line.outs[0]: line for line in program.lines if line.outs and not line.many}
    lines: list[Line] = []
    for line in program.lines:
        folded = _folded(line, made, readers, program)
        if folded is None:
            lines.append(line)
            continue
        product, scale = folded  # the product now makes line's result: line goes
        at = next(i for i, x in enumerate(lines) if x is product)
        lines.insert(at, scale)
    program.lines = lines


def _folded(line: Line, made: dict[int, Line], readers: Counter,
            program: Program) -> tuple[Line, Line] | None:
    """For ``line`` = ``c * P`` with P a matrix product read only here: the product line,
    changed to make ``line``'s result from a scaled operand, and the new scaling line."""
    if line.prim is not ops.mul or line.kwargs or len(line.args) != 2:
        return None
    refs = [a for a in line.args if isinstance(a, Ref)]
    consts = [a for a in line.args if not isinstance(a, Ref)]
    if len(refs) != 1 or np.ndim(consts[0]) != 0 or readers[refs[0].slot] != 1:
        return None
    product = made.get(refs[0].slot)
    if product is None or product.prim is not ops.matmul or product.kwargs:
        return None
    if not all(isinstance(a, Ref) for a in product.args):
        return None
    operands = [program.values[a.slot] for a in product.args]
    if any(np.ndim(v) != 2 for v in operands):
        return None
    k = 0 if operands[0].size <= operands[1].size else 1
    if operands[k].size >= program.values[product.outs[0]].size:
        return None  # scaling the operand would be no cheaper than scaling the product
    scaled = np.multiply(consts[0], operands[k])
    dtypes = {scaled.dtype, operands[k].dtype, np.result_type(program.values[product.outs[0]]),
              np.result_type(program.values[line.outs[0]])}
    if len(dtypes) != 1:
        return None  # a float64 scalar promotes a float32 product: scaling first would not
    slot = max(program.values) + 1
    program.values[slot] = scaled
    scale = Line(ops.mul.forward, "mul", ops.mul, (consts[0], product.args[k]), {}, (slot,),
                 (), product.phase)
    args: list[Any] = list(product.args)
    args[k] = Ref(slot)
    product.args, product.outs = tuple(args), line.outs
    return product, scale
