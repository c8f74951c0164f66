"""Function transforms, modelled on JAX: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``,
``jacfwd``, ``jacrev``, ``jacobian``, ``hessian``, ``hvp``, ``taylor`` and ``vmap``.

Each transform takes a function of arrays and gives back a function (``jvp`` and ``vjp``
evaluate it at once). The functions may take NumPy arrays, Python floats and Tensors, and
containers of them (tuples, lists, dicts, namedtuples, dataclasses: :mod:`chainrule.tree`,
the one place containers are flattened and rebuilt); derivatives come back in the
structure of the input, each leaf in its input leaf's dtype. ``functional_call`` runs an
``nn.Module`` on a dict of parameters, so ``grad`` can take ``model.state_dict()``.

* Called at top level on arrays and floats, the transforms return NumPy arrays (a Python
  float for a 0-d result), so they compose with plain NumPy code, and record nothing that
  outlives the call.
* Called on Tensors, or inside another transform, they return Tensors that still carry
  the outer derivatives, so transforms nest: ``grad(grad(f))``, ``jacfwd(jacrev(f))``,
  ``jvp`` of ``grad``, ``grad`` of ``jvp``, to any depth.

Nesting without *perturbation confusion* (one derivative's tangent or cotangent mistaken
for another's; Siskind & Pearlmutter's classic bug):

* every ``jvp`` takes a fresh forward-mode **level** from a counter that only grows, so an
  inner ``jvp`` has a higher level than the outer one; primitives peel the highest level
  first, and ``jvp`` reads only its own level from the outputs;
* every reverse transform differentiates with respect to a tensor of its own: an input that
  already takes part in a derivative is passed through an identity-like primitive
  (``reshape`` to its own shape), the inner gradient is collected at that new node, and the
  outer derivative still sees through it. A forward-mode input gets its own
  ``requires_grad`` flag, so the reverse nodes record at its level (forward-over-reverse).
"""

from chainrule.functional.call import functional_call
from chainrule.functional.forward import hvp, jvp
from chainrule.functional.jacobian import JacobianChoice, hessian, jacfwd, jacobian, jacrev
from chainrule.functional.reverse import grad, value_and_grad, vjp
from chainrule.functional.taylor import taylor
from chainrule.functional.vmap import vmap

__all__ = [
    "JacobianChoice", "functional_call", "grad", "hessian", "hvp", "jacfwd", "jacobian",
    "jacrev", "jvp", "taylor", "value_and_grad", "vjp", "vmap",
]
