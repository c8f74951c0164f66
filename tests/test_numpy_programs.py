"""Real NumPy programs, written as people write them (``import chainrule.numpy as np``, a dict
of parameters, ``cr.grad``), differentiated and compared with PyTorch (CPU, float64) and with
central finite differences.

Each program is written once against ``np`` (chainrule.numpy) and once against ``torch``;
the values and every gradient must agree to 1e-10 (relative), and ``cr.check.gradcheck``
(finite differences, reverse and forward mode) must pass on the chainrule version.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as onp
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.check import gradcheck

torch = pytest.importorskip("torch")

RTOL = 1e-10


def torch_value_and_grad(f: Callable, params: dict) -> tuple[float, dict]:
    """f's value and gradient with respect to a dict of float64 arrays, by PyTorch."""
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    out = f(tp)
    grads = torch.autograd.grad(out, list(tp.values()))
    return out.item(), {k: g.numpy() for k, g in zip(tp, grads)}


def assert_matches_torch(f_np: Callable, f_torch: Callable, params: dict) -> None:
    value, grads = cr.value_and_grad(f_np)(params)
    t_value, t_grads = torch_value_and_grad(f_torch, params)
    assert onp.isclose(value, t_value, rtol=RTOL, atol=0)
    assert set(grads) == set(params)
    for k in params:
        assert onp.shape(grads[k]) == onp.shape(params[k])
        onp.testing.assert_allclose(grads[k], t_grads[k], rtol=1e-8, atol=1e-12, err_msg=k)
        assert onp.abs(t_grads[k]).max() > 1e-6, f"{k}: a gradient too small to test anything"


# ----- 1. Gaussian-process log marginal likelihood (cholesky + solve) ----------------------------
def _data(seed: int, n: int, d: int) -> tuple[onp.ndarray, onp.ndarray]:
    rng = onp.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = onp.sin(X.sum(axis=1)) + 0.1 * rng.standard_normal(n)
    return X, y


GP_X, GP_Y = _data(0, 12, 2)
GP_PARAMS = {"log_lengthscale": onp.log(0.8), "log_variance": onp.log(1.3),
             "log_noise": onp.log(0.05)}


def gp_log_marginal_likelihood(params: dict) -> np.ndarray:
    ell = np.exp(params["log_lengthscale"])
    sf2 = np.exp(params["log_variance"])
    sn2 = np.exp(params["log_noise"])
    sq = np.sum((GP_X[:, None, :] - GP_X[None, :, :]) ** 2, axis=-1)
    K = sf2 * np.exp(-0.5 * sq / ell**2) + sn2 * np.eye(len(GP_Y))
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, GP_Y))
    return (-0.5 * np.dot(GP_Y, alpha) - np.sum(np.log(np.diag(L)))
            - 0.5 * len(GP_Y) * np.log(2 * np.pi))


def gp_torch(params: dict) -> torch.Tensor:
    ell, sf2, sn2 = (torch.exp(params[k]) for k in ("log_lengthscale", "log_variance",
                                                     "log_noise"))
    X, y = torch.from_numpy(GP_X), torch.from_numpy(GP_Y)
    sq = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    K = sf2 * torch.exp(-0.5 * sq / ell**2) + sn2 * torch.eye(len(y), dtype=torch.float64)
    L = torch.linalg.cholesky(K)
    alpha = torch.linalg.solve(L.T, torch.linalg.solve(L, y))
    return -0.5 * y @ alpha - torch.log(torch.diagonal(L)).sum() - 0.5 * len(y) * onp.log(
        2 * onp.pi)


def test_gp_marginal_likelihood_gradient_in_a_dict_matches_torch() -> None:
    assert_matches_torch(gp_log_marginal_likelihood, gp_torch, GP_PARAMS)


def test_gp_marginal_likelihood_matches_finite_differences_and_the_direct_formula() -> None:
    gradcheck(gp_log_marginal_likelihood, GP_PARAMS, modes=("rev", "fwd"))
    # the same likelihood by slogdet and inv: -1/2 y K^-1 y - 1/2 log|K| - n/2 log 2 pi
    p = GP_PARAMS
    sq = ((GP_X[:, None] - GP_X[None]) ** 2).sum(-1)
    K = onp.exp(p["log_variance"]) * onp.exp(-0.5 * sq / onp.exp(p["log_lengthscale"]) ** 2)
    K += onp.exp(p["log_noise"]) * onp.eye(len(GP_Y))
    direct = (-0.5 * GP_Y @ onp.linalg.inv(K) @ GP_Y - 0.5 * onp.linalg.slogdet(K)[1]
              - 0.5 * len(GP_Y) * onp.log(2 * onp.pi))
    assert onp.isclose(float(gp_log_marginal_likelihood(p)), direct, rtol=1e-12)


def test_gp_hyperparameters_improve_under_gradient_ascent() -> None:
    params = dict(GP_PARAMS)
    start = float(gp_log_marginal_likelihood(params))
    for _ in range(20):
        g = cr.grad(gp_log_marginal_likelihood)(params)
        params = {k: v + 0.02 * g[k] for k, v in params.items()}
    assert float(gp_log_marginal_likelihood(params)) > start + 1.0


# ----- 2. logistic regression written with np.logaddexp ---------------------------------------
LR_X, _ = _data(1, 40, 3)
LR_Y = onp.where(LR_X @ onp.array([1.0, -2.0, 0.5]) + 0.3 > 0, 1.0, -1.0)
LR_PARAMS = {"w": onp.array([0.1, -0.2, 0.3]), "b": onp.array(0.05)}


def logistic_loss(params: dict) -> np.ndarray:
    margins = LR_Y * (np.dot(LR_X, params["w"]) + params["b"])
    return np.mean(np.logaddexp(0.0, -margins)) + 0.01 * np.sum(params["w"] ** 2)


def logistic_torch(params: dict) -> torch.Tensor:
    X, y = torch.from_numpy(LR_X), torch.from_numpy(LR_Y)
    margins = y * (X @ params["w"] + params["b"])
    return torch.logaddexp(torch.zeros_like(margins), -margins).mean() + 0.01 * (
        params["w"] ** 2).sum()


def test_logistic_regression_with_logaddexp_matches_torch() -> None:
    assert_matches_torch(logistic_loss, logistic_torch, LR_PARAMS)
    gradcheck(logistic_loss, LR_PARAMS)


def test_logistic_regression_is_stable_where_the_naive_form_overflows() -> None:
    far = {"w": 400.0 * LR_PARAMS["w"], "b": onp.array(0.0)}  # margins of several hundred
    value, g = cr.value_and_grad(logistic_loss)(far)
    t_value, t_g = torch_value_and_grad(logistic_torch, far)
    assert onp.isfinite(float(value)) and onp.isclose(value, t_value, rtol=RTOL)
    onp.testing.assert_allclose(g["w"], t_g["w"], rtol=1e-8)


# ----- 3. an RNN: a loop, np.stack of the hidden states, np.cumsum over time ------------------
RNN_XS = onp.random.default_rng(2).standard_normal((6, 3))  # 6 steps of 3 inputs
RNN_TARGET = onp.linspace(-1, 1, 6)
RNN_PARAMS = {k: 0.5 * onp.random.default_rng(3 + i).standard_normal(s) for i, (k, s) in
              enumerate([("W", (4, 4)), ("U", (4, 3)), ("b", (4,)), ("v", (4,))])}


def rnn_loss(params: dict) -> np.ndarray:
    h = np.zeros(4)
    states = []
    for x in RNN_XS:
        h = np.tanh(np.dot(params["W"], h) + np.dot(params["U"], x) + params["b"])
        states.append(h)
    H = np.stack(states)                        # (steps, hidden)
    running = np.cumsum(H @ params["v"]) / np.arange(1, len(RNN_XS) + 1)  # running mean
    return np.sum((running - RNN_TARGET) ** 2)


def rnn_torch(params: dict) -> torch.Tensor:
    h = torch.zeros(4, dtype=torch.float64)
    states = []
    for x in torch.from_numpy(RNN_XS):
        h = torch.tanh(params["W"] @ h + params["U"] @ x + params["b"])
        states.append(h)
    running = torch.cumsum(torch.stack(states) @ params["v"], 0) / torch.arange(
        1, len(RNN_XS) + 1, dtype=torch.float64)
    return ((running - torch.from_numpy(RNN_TARGET)) ** 2).sum()


def test_rnn_with_stack_and_cumsum_matches_torch_and_finite_differences() -> None:
    assert_matches_torch(rnn_loss, rnn_torch, RNN_PARAMS)
    gradcheck(rnn_loss, RNN_PARAMS)


# ----- 4. a Newton step through np.linalg.solve, with the Hessian ------------------------------
def test_newton_step_solves_a_quadratic_in_one_step() -> None:
    """Exercise 28: for f = 1/2 (t - t*)^T A (t - t*), t - H^-1 grad f = t* exactly."""
    rng = onp.random.default_rng(4)
    M = rng.standard_normal((4, 4))
    A, target = M @ M.T + 4 * onp.eye(4), rng.standard_normal(4)

    def f(t):
        d = t - target
        return 0.5 * np.dot(d, np.dot(A, d))

    theta = rng.standard_normal(4)
    H = cr.hessian(f)(theta)
    onp.testing.assert_allclose(H, A, rtol=1e-12)
    step = theta - np.linalg.solve(H, cr.grad(f)(theta))
    onp.testing.assert_allclose(step, target, rtol=1e-10, atol=1e-12)


NEWTON_A = onp.random.default_rng(5).standard_normal((5, 3))


def _smooth_loss(t, lib):
    """A convex, non-quadratic loss: sum log(1 + exp(A t)) + |t|^2 / 2."""
    z = torch.from_numpy(NEWTON_A) @ t if lib is torch else np.dot(NEWTON_A, t)
    return lib.logaddexp(z, 0 * z).sum() + 0.5 * (t * t).sum()


def newton_step(t):
    loss = lambda u: _smooth_loss(u, np)  # noqa: E731
    return t - np.linalg.solve(cr.hessian(loss)(t), cr.grad(loss)(t))


def newton_step_torch(t):
    loss = lambda u: _smooth_loss(u, torch)  # noqa: E731
    g = torch.autograd.grad(loss(t), t, create_graph=True)[0]
    H = torch.stack([torch.autograd.grad(g[i], t, create_graph=True)[0] for i in range(len(t))])
    return t - torch.linalg.solve(H, g)


def test_newton_step_hessian_and_its_jacobian_match_torch() -> None:
    theta = onp.array([0.3, -0.7, 1.1])
    t = torch.tensor(theta, requires_grad=True)
    H = cr.hessian(lambda u: _smooth_loss(u, np))(theta)
    t_H = torch.autograd.functional.hessian(lambda u: _smooth_loss(u, torch), t)
    onp.testing.assert_allclose(H, t_H.numpy(), rtol=1e-10)
    onp.testing.assert_allclose(newton_step(theta), newton_step_torch(t).detach().numpy(),
                                rtol=1e-10)
    # differentiate through the step itself: third derivatives of the loss
    J = cr.jacobian(newton_step)(theta)
    t_J = torch.autograd.functional.jacobian(newton_step_torch, t)
    onp.testing.assert_allclose(J, t_J.numpy(), rtol=1e-8, atol=1e-12)
    assert onp.abs(J).max() > 1e-3


def test_newton_iterations_converge_quadratically() -> None:
    theta, errors = onp.array([0.3, -0.7, 1.1]), []
    for _ in range(5):
        theta = onp.asarray(newton_step(theta))
        errors.append(onp.linalg.norm(cr.grad(lambda u: _smooth_loss(u, np))(theta)))
    assert errors[3] < 1e-10 and errors[1] < errors[0] ** 1.5


# ----- 5. (our choice) a Gaussian mixture log-likelihood with a hand-written logsumexp -------
GMM_X = onp.concatenate([onp.random.default_rng(6).normal(m, 0.5, 20) for m in (-2.0, 1.5)])
GMM_PARAMS = {"logits": onp.array([0.2, -0.1, 0.0]), "means": onp.array([-1.5, 0.0, 1.0]),
              "log_scales": onp.array([-0.3, 0.1, 0.0])}


def logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def gmm_log_likelihood(params: dict) -> np.ndarray:
    log_w = params["logits"] - logsumexp(params["logits"], 0)
    z = (GMM_X[:, None] - params["means"]) / np.exp(params["log_scales"])
    log_pdf = -0.5 * z**2 - params["log_scales"] - 0.5 * np.log(2 * np.pi)
    return np.sum(logsumexp(log_w + log_pdf, axis=1))


def gmm_torch(params: dict) -> torch.Tensor:
    log_w = torch.log_softmax(params["logits"], 0)
    z = (torch.from_numpy(GMM_X)[:, None] - params["means"]) / torch.exp(params["log_scales"])
    log_pdf = -0.5 * z**2 - params["log_scales"] - 0.5 * onp.log(2 * onp.pi)
    return torch.logsumexp(log_w + log_pdf, 1).sum()


def test_gaussian_mixture_log_likelihood_matches_torch_and_finite_differences() -> None:
    assert_matches_torch(gmm_log_likelihood, gmm_torch, GMM_PARAMS)
    gradcheck(gmm_log_likelihood, GMM_PARAMS)
    hessian = cr.hessian(gmm_log_likelihood)(GMM_PARAMS)
    t_h = torch.autograd.functional.hessian(
        lambda m: gmm_torch({**{k: torch.from_numpy(v) for k, v in GMM_PARAMS.items()},
                             "means": m}), torch.from_numpy(GMM_PARAMS["means"]))
    onp.testing.assert_allclose(hessian["means"]["means"], t_h.numpy(), rtol=1e-8)


# ----- the namespace as programs use it ---------------------------------------------------------
def test_star_import_and_numpy_names_do_not_shadow_the_builtins_it_uses() -> None:
    """np.any, np.sum, np.max... resolved once must not replace Python's any/sum/max inside
    chainrule.numpy (which made every later tuple argument a Tensor)."""
    exec("from chainrule.numpy import *", {})  # noqa: S102  (every name resolved)
    assert np.any(cr.tensor([0.0, 1.0], requires_grad=True) > 0)
    assert np.reshape(onp.arange(6.0), (2, 3)).shape == (2, 3)
    assert np.split(onp.arange(4.0), [1, 3])[1].tolist() == [1.0, 2.0]
    g = cr.grad(lambda x: np.sum(np.append([[x, 2.0]], [[3.0, x]], axis=0) ** 2))(1.5)
    assert g == pytest.approx(4 * 1.5)


def test_complex_values_raise_instead_of_a_wrong_derivative() -> None:
    """|1.5 i| has derivative 1 in x; a rule written for real values gave -1 silently."""
    with pytest.raises(TypeError, match="complex numbers are not supported"):
        cr.grad(lambda x: np.abs(x * 1j))(1.5)
    with pytest.raises(TypeError, match="complex numbers are not supported"):
        cr.jvp(lambda x: np.abs(x * 1j), (1.5,), (1.0,))
    with pytest.raises(TypeError, match="z has dtype complex128: complex numbers"):
        cr.grad(lambda z: np.abs(z))(1 + 2j)
    with pytest.raises(TypeError, match="requires_grad on a tensor of dtype complex128"):
        cr.tensor([1 + 2j], requires_grad=True)
    # the real-input identities answer as NumPy does, with their derivatives
    assert cr.grad(lambda x: np.sum(np.real(x) * 2 + np.imag(x) + np.angle(x)))(
        onp.array([-1.0, 2.0])).tolist() == [2.0, 2.0]
