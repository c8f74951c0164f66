"""``chainrule.jit``: trace a pure function once per signature, replay it after.

::

    step = cr.jit(sgd_step, donate_argnums=0)
    params, loss = step(params, x, y)        # first call: trace, plan, generate, run
    params, loss = step(params, x, y)        # later calls: the generated code only
    print(step.program(params, x, y))        # the program, like a jaxpr

The *signature* of a call is the structure of its arguments (:mod:`chainrule.tree`), the
shape, dtype and strides of each array leaf, and the values of the static arguments
(``static_argnums``, and every Python number among the arguments: a number is baked into
the program as it is into eager code, so ``lr=0.01`` keeps float32 arithmetic float32). A
call with a new signature traces again; each jitted function keeps the programs of its
last ``cache_size`` (default 32) signatures, least recently used dropped first.

Results are NumPy arrays (0-d arrays for scalars) in the structure ``fn`` returns; they
belong to the caller and no later call overwrites them. The arrays of donated arguments
(``donate_argnums``) may be overwritten by the call, and may come back as outputs: pass
arrays you will not read again (an optimizer's old parameters).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from chainrule.batching import is_batched
from chainrule.jit.plan import make_plan
from chainrule.jit.program import Output, Program, Ref
from chainrule.jit.replay import generate
from chainrule.jit.rewrite import fold_scales
from chainrule.jit.trace import Trace, state
from chainrule.jit.tracer import Tracer, TracingError
from chainrule.tensor import Tensor, make
from chainrule.tree import tree_flatten, tree_unflatten

CACHE_SIZE = 32


class _Compiled:
    """One signature's program, its plan and its generated replay function."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.run, self.source = generate(program, program.plan)
        self.lock = threading.Lock()  # the planned buffers serve one call at a time


class Jitted:
    """A function traced once per signature and replayed after (see :func:`jit`)."""

    def __init__(self, fn: Callable, static_argnums: Sequence[int], donate_argnums: Sequence[int],
                 cache_size: int) -> None:
        self.fn = fn
        self.static = tuple(sorted(static_argnums))
        self.donate = tuple(sorted(donate_argnums))
        if set(self.static) & set(self.donate):
            raise ValueError("jit: an argument cannot be both static and donated")
        if cache_size < 1:
            raise ValueError(f"jit: cache_size must be at least 1, got {cache_size}")
        self.cache_size = cache_size
        self.cache: OrderedDict[Hashable, _Compiled] = OrderedDict()
        self.traces = 0  # how many times fn was traced (a new signature each time)
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<chainrule.jit of {self.__name__}>"

    def __call__(self, *args: Any) -> Any:
        if state.active is not None:  # inside another trace: trace straight through
            return self.fn(*args)
        try:
            key, leaves = self._signature(args)
        except _Batched:  # called inside vmap: fn runs batched, eagerly (the same numbers;
            return self.fn(*args)  # jit(vmap(f)) is the order that replays)
        compiled = self.cache.get(key)
        if compiled is None:
            compiled = self._compile(key, args, leaves)
        else:
            self.cache.move_to_end(key)
        if compiled.program.donated:
            _check_donated(leaves, compiled.program.donated)
        with compiled.lock:
            outs = compiled.run(*leaves)
        return tree_unflatten(compiled.program.out_def, outs)

    def program(self, *args: Any) -> Program:
        """The traced program for these arguments (traced now if not cached), printable."""
        return self._compiled(args).program

    def source(self, *args: Any) -> str:
        """The generated replay code for these arguments."""
        return self._compiled(args).source

    def _compiled(self, args: tuple) -> _Compiled:
        key, leaves = self._signature(args)
        return self.cache.get(key) or self._compile(key, args, leaves)

    # ----- signatures ----------------------------------------------------------------
    def _signature(self, args: tuple) -> tuple[Hashable, list]:
        """(cache key, the array leaves to pass). An argument that is an array, or a list
        or tuple of arrays, takes a fast path (no treedef: the key has its type and
        length); any other goes through :func:`chainrule.tree.tree_flatten`."""
        key: list = []
        leaves: list = []
        for i, a in enumerate(args):
            t = type(a)
            if (t is np.ndarray or isinstance(a, np.generic)) and i not in self.static:
                a = a if t is np.ndarray else np.asarray(a)
                leaves.append(a)
                key.append((a.shape, a.dtype, a.strides))
            elif (t is list or t is tuple) and i not in self.static and all(
                    type(x) is np.ndarray or isinstance(x, np.generic) for x in a):
                arrays = [x if type(x) is np.ndarray else np.asarray(x) for x in a]
                leaves += arrays
                key.append((t, len(a), *[(x.shape, x.dtype, x.strides) for x in arrays]))
            else:
                key.append(self._general(i, a, leaves))
        if len(args) <= max(self.static, default=-1):
            raise ValueError(f"jit: static_argnums {self.static} but {len(args)} "
                             "argument(s) given")
        return tuple(key), leaves

    def _general(self, i: int, a: Any, leaves: list) -> Hashable:
        """The key of argument i (a static one, or any container); its arrays join
        ``leaves``."""
        if i in self.static:
            try:
                hash(a)
            except TypeError:
                raise TypeError(f"jit: static argument {i} must be hashable, got "
                                f"{type(a).__name__}") from None
            return ("static", a)
        flat, td = tree_flatten(a)
        key: list = [td]
        for j, x in enumerate(flat):
            arr = _leaf_array(x, i, j)
            if arr is None:  # a Python number or other constant: static
                key.append(("const", type(x), _number_key(x)))
            else:
                leaves.append(arr)
                key.append((arr.shape, arr.dtype, arr.strides))
        return tuple(key)

    def _spec(self, args: tuple) -> list:
        """Per argument: None (static), or its treedef and which of its leaves are arrays."""
        spec: list = []
        for i, a in enumerate(args):
            if i in self.static:
                spec.append(None)
                continue
            flat, td = tree_flatten(a)
            spec.append((td, [_leaf_array(x, i, j) is not None for j, x in enumerate(flat)]))
        return spec

    def _compile(self, key: Hashable, args: tuple, leaves: list) -> _Compiled:
        spec = self._spec(args)
        program = trace(self.fn, args, leaves, spec, self.__name__,
                        [j for j, a in enumerate(_positions(spec)) if a in self.donate])
        compiled = _Compiled(program)
        self.traces += 1
        self.cache[key] = compiled
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return compiled


def _check_donated(leaves: list, donated: tuple[int, ...]) -> None:
    """A donated array is written over during the call: its memory must be its own, not
    that of another argument (which would then be read after the write) or of a second
    donated one (two results in one buffer)."""
    roots = [id(a if a.base is None else a.base) for a in leaves]
    for j in donated:
        for k, root in enumerate(roots):
            if k != j and root == roots[j]:
                raise ValueError(
                    f"jit: donated array {j} (of the flattened arguments) shares its memory "
                    f"with array {k}; the call would overwrite it while the other is still "
                    "read. Pass a copy of one of them (donation reuses memory the caller "
                    "gives up)")


def _positions(spec: list) -> list[int]:
    """For each array leaf, the number of the argument it belongs to."""
    return [i for i, s in enumerate(spec) if s is not None for k in s[1] if k]


class _Batched(Exception):
    """An argument batched by an enclosing vmap (met while reading the signature)."""


def _leaf_array(x: Any, i: int, j: int) -> np.ndarray | None:
    if isinstance(x, Tensor):
        if is_batched(x):
            raise _Batched
        if x.requires_grad or x._fw is not None:
            raise TypeError(f"jit: argument {i} (leaf {j}) is a Tensor that requires grad: a "
                            "jitted function's results are not recorded for an outer "
                            "backward; take the derivative inside the function "
                            "(jit(grad(f))), or pass t.detach()")
        return x.data
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    if isinstance(x, bool | int | float | complex | str | type(None)):
        return None
    if isinstance(x, np.random.Generator):
        raise TypeError(f"jit: argument {i} (leaf {j}) is a random generator: it would be "
                        "drawn from once while tracing and its numbers frozen; draw the "
                        "random arrays outside and pass them in")
    raise TypeError(f"jit: argument {i} (leaf {j}) is a {type(x).__name__}; jitted functions "
                    "take arrays, Tensors and Python numbers (in containers), or static "
                    "arguments (static_argnums)")


def trace(fn: Callable, args: tuple, leaves: list, spec: list, name: str,
          donated: Sequence[int] = ()) -> Program:
    """Trace ``fn`` on ``args`` into a planned :class:`Program`."""
    t = Trace()
    tracers = iter([t.input(a) for a in leaves])
    call_args = []
    for a, s in zip(args, spec):
        if s is None:
            call_args.append(a)
            continue
        td, kinds = s
        flat = tree_flatten(a)[0]
        call_args.append(tree_unflatten(td, [_input_tensor(next(tracers)) if k else x
                                             for x, k in zip(flat, kinds)]))
    outer, random_state = state.active, np.random.get_state(legacy=False)
    state.active = t
    try:
        result = fn(*call_args)
    finally:
        state.active = outer
    if not _same_random_state(random_state, np.random.get_state(legacy=False)):
        raise TracingError(f"jit: {name} drew random numbers from NumPy's global generator "
                           "while tracing; they would be frozen into the program. Draw them "
                           "outside and pass them in as arguments")
    flat, out_def = tree_flatten(result)
    outputs = [_output(x) for x in flat]
    program = Program(name, list(t.inputs), t.lines, outputs, out_def, t.values,
                      tuple(donated))
    prune(program)
    fold_scales(program)
    program.plan = make_plan(program, tuple(donated))
    return program


def _input_tensor(tracer: Tracer) -> Tensor:
    """A jitted function's input: a Tensor on the tracer; floating-point ones require grad,
    so the transforms inside record differentiable backward passes (see trace.py)."""
    t = make(tracer, None)
    if tracer.dtype.kind in "fc":
        t.requires_grad = True
    return t


def _output(x: Any) -> Output:
    data = x._data if isinstance(x, Tensor) else x
    if isinstance(data, Tracer):
        return Output(data.slot)
    if isinstance(data, np.ndarray | np.generic | bool | int | float | complex):
        return Output(None, np.array(data, copy=True))
    raise TypeError(f"jit: the function returned a {type(x).__name__}; a jitted function "
                    "returns arrays, Tensors and numbers, in containers")


def _same_random_state(a: dict, b: dict) -> bool:
    return a["state"]["pos"] == b["state"]["pos"] and bool(
        np.array_equal(a["state"]["key"], b["state"]["key"])) and a["has_gauss"] == b["has_gauss"]


def prune(program: Program) -> None:
    """Merge repeated lines (the same function on the same arguments: an optimizer casts
    its step size once per parameter) and drop the lines no output needs (the trace also
    records values only a forward-mode pass or a Python expression needed). A line with no
    output (a :func:`chainrule.jit.check`) is an effect: always kept."""
    same: dict[int, int] = {}  # slot -> the slot of the first line that computed it
    seen: dict[Hashable, tuple[int, ...]] = {}
    kept = []
    for line in program.lines:
        line.args, line.kwargs = _renamed(line.args, same), _renamed(line.kwargs, same)
        line.views = tuple(dict.fromkeys(same.get(v, v) for v in line.views))
        key = _key((id(line.fn), line.args, line.kwargs))
        if key in seen:
            same.update(zip(line.outs, seen[key]))
        else:
            if key is not None:
                seen[key] = line.outs
            kept.append(line)
    program.lines = kept
    for o in program.outputs:
        if o.slot in same:
            o.slot = same[o.slot]
    needed = {o.slot for o in program.outputs if o.slot is not None}
    kept = []
    for line in reversed(program.lines):
        if not line.outs or any(o in needed for o in line.outs):
            kept.append(line)
            needed.update(line.reads())
    program.lines = kept[::-1]


def _renamed(x: Any, same: dict[int, int]) -> Any:
    if isinstance(x, Ref):
        return Ref(same.get(x.slot, x.slot))
    if isinstance(x, tuple | list):
        items = [_renamed(i, same) for i in x]
        return tuple(items) if isinstance(x, tuple) else items
    if isinstance(x, dict):
        return {k: _renamed(v, same) for k, v in x.items()}
    return x


def _key(x: Any) -> Hashable | None:
    """A hashable stand-in for a line's call (arrays by identity), or None if there is
    none (then the line is never merged)."""
    if isinstance(x, np.ndarray):
        return ("array", id(x))
    if isinstance(x, tuple | list):
        items = tuple(_key(i) for i in x)
        return None if None in items else (type(x).__name__, items)
    if isinstance(x, dict):
        pairs = tuple((k, _key(v)) for k, v in x.items())
        return None if any(v is None for _, v in pairs) else ("dict", pairs)
    try:
        hash(x)
    except TypeError:
        return None
    return (type(x).__name__, _number_key(x))


def _number_key(x: Any) -> Any:
    """``x``, or for a float its text: keys must tell apart what ``==`` does not (-0.0 and
    0.0 give 1/x of opposite signs) and match what ``==`` never matches (NaN)."""
    return repr(x) if isinstance(x, float | complex | np.inexact) else x


def jit(fn: Callable, static_argnums: int | Sequence[int] = (),
        donate_argnums: int | Sequence[int] = (), cache_size: int = CACHE_SIZE) -> Jitted:
    """``fn`` traced once per signature into a program of primitive calls on raw arrays
    (forward and backward included) and replayed with planned buffers after.

    ``fn`` is a pure function of containers of arrays; it may call any chainrule function
    and transform (``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``hessian``,
    ``checkpoint``). Python control flow on traced values is refused
    (:class:`~chainrule.jit.TracingError`): use ``chainrule.where`` or a static argument.
    ``static_argnums``: arguments baked into the program (hashable; a new value traces
    again). ``donate_argnums``: arguments whose arrays the call may overwrite and reuse for
    its outputs. ``cache_size``: how many signatures' programs are kept.

    Arrays ``fn`` reads from its closure are constants of the program: it keeps the values
    they had when it was traced (as in JAX), so change one by passing it as an argument. A
    closed-over Tensor that requires grad is refused (its gradient would be lost), and so
    is a Tensor argument that requires grad: take the derivative inside (``jit(grad(f))``).
    Called inside ``vmap``, ``fn`` runs batched without the program (``jit(vmap(f))`` is the
    order that replays).
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    donate = (donate_argnums,) if isinstance(donate_argnums, int) else tuple(donate_argnums)
    return Jitted(fn, static, donate, cache_size)


def make_program(fn: Callable, static_argnums: int | Sequence[int] = ()) -> Callable[..., Program]:
    """``make_program(fn)(*args)``: the program ``jit`` would replay for these arguments,
    printed one primitive per line (inputs, forward, the backward the transforms added,
    outputs, the buffer plan)."""
    return jit(fn, static_argnums, cache_size=1).program


