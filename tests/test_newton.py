"""Newton's method and minimize: one step on a positive-definite quadratic, damping,
singular Hessians, and the trajectories of the chapter's experiments."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import Newton, Trajectory, minimize
from chainrule.optim.newton import solve_newton


def quadratic(a: np.ndarray, x_star: np.ndarray):
    """f(x) = (x - x*)^T A (x - x*) / 2: gradient A (x - x*), Hessian A."""
    at = cr.tensor(a)
    return lambda x: 0.5 * ((x - x_star) @ (at @ (x - x_star)))


def random_spd(n: int, seed: int) -> np.ndarray:
    m = np.random.default_rng(seed).normal(size=(n, n))
    return m @ m.T + 0.5 * np.eye(n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_newton_step_lands_on_the_minimum_of_a_pd_quadratic(seed):
    rng = np.random.default_rng(seed)
    a, x_star = random_spd(5, seed), rng.normal(size=5)
    x = cr.tensor(rng.normal(size=5) * 10, requires_grad=True)
    opt = Newton([x])
    value = opt.step(quadratic(a, x_star))
    assert value > 0
    np.testing.assert_allclose(x.data, x_star, rtol=1e-12, atol=1e-12)
    assert x._version == 1


def test_newton_over_several_parameters_of_different_shapes():
    rng = np.random.default_rng(3)
    a, x_star = random_spd(6, 3), rng.normal(size=6)
    f = quadratic(a, x_star)
    w = cr.tensor(np.zeros((2, 2)), requires_grad=True)
    b = cr.tensor(np.ones(2), requires_grad=True)
    Newton([w, b]).step(lambda w_, b_: f(cr.concatenate([w_.reshape(4), b_])))
    np.testing.assert_allclose(np.r_[w.data.ravel(), b.data], x_star, rtol=1e-12, atol=1e-12)


def test_damping_and_lr_give_the_damped_step():
    a, x_star = random_spd(3, 4), np.array([1.0, -2.0, 0.5])
    x0 = np.array([0.3, 0.3, 0.3])
    x = cr.tensor(x0, requires_grad=True)
    Newton([x], lr=0.5, damping=2.0).step(quadratic(a, x_star))
    g = a @ (x0 - x_star)
    expected = x0 - 0.5 * np.linalg.solve(a + 2.0 * np.eye(3), g)
    np.testing.assert_allclose(x.data, expected, rtol=1e-13)


def test_hessian_matches_torch():
    torch = pytest.importorskip("torch")
    x0 = np.array([0.7, -0.3])

    def f(x):
        return x[0] ** 2 * x[1].exp() + (x[0] * x[1]).sin()

    value, d = Newton([cr.tensor(x0, requires_grad=True)]).direction(f)
    xt = torch.tensor(x0)
    ft = lambda x: x[0] ** 2 * torch.exp(x[1]) + torch.sin(x[0] * x[1])  # noqa: E731
    h = torch.autograd.functional.hessian(ft, xt).numpy()
    g = torch.autograd.functional.jacobian(ft, xt).numpy()
    np.testing.assert_allclose(d, np.linalg.solve(h, g), rtol=1e-12)
    assert value == pytest.approx(float(ft(xt)))


def test_singular_hessian_is_refused_clearly():
    f = lambda x: x[0] ** 2 * x[1].exp()  # noqa: E731  exercise 6: H = diag(2 e^x2, 0) at x1 = 0
    x = cr.tensor([0.0, 0.0], requires_grad=True)
    with pytest.raises(np.linalg.LinAlgError) as info:
        Newton([x]).step(f)
    msg = str(info.value)
    assert "Hessian (2x2) is singular" in msg and "eigenvalues from 0 to 2" in msg
    assert "damping > 0" in msg
    np.testing.assert_array_equal(x.data, [0.0, 0.0])  # no step taken
    Newton([x], damping=1.0).step(f)  # damped: fine (here g = 0, so no move)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        solve_newton(np.array([[1.0, 1.0], [1.0, 1.0 + 1e-17]]), np.ones(2))


def test_bad_arguments():
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="lr must be > 0"):
        Newton([x], lr=0)
    with pytest.raises(ValueError, match="damping must be >= 0"):
        Newton([x], damping=-1)
    with pytest.raises(TypeError, match="floating-point leaf"):
        Newton([x * 2])
    with pytest.raises(ValueError, match="must return a scalar"):
        Newton([cr.tensor([1.0, 2.0], requires_grad=True)]).step(lambda v: v * 2)


# ----- minimize -----------------------------------------------------------------------------
def test_gradient_descent_on_diag_1_100_follows_exercise_25():
    a = np.diag([1.0, 100.0])
    traj = minimize(quadratic(a, np.zeros(2)), [1.0, 1.0], method="gd", lr=0.01, steps=30)
    assert isinstance(traj, Trajectory) and traj.xs.shape == (31, 2) and traj.steps == 30
    np.testing.assert_allclose(traj.xs[:, 0], 0.99 ** np.arange(31), rtol=1e-13)
    np.testing.assert_array_equal(traj.xs[1:, 1], 0.0)  # 1 - 100 * 0.01 = 0: one step
    np.testing.assert_allclose(traj.losses, 0.5 * 0.99 ** (2 * np.arange(31)) + np.r_[50, [0] * 30])


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_above_the_largest_stable_rate_it_diverges():
    f = quadratic(np.diag([1.0, 100.0]), np.zeros(2))
    stable = minimize(f, [1.0, 1.0], lr=0.0199, steps=200)
    unstable = minimize(f, [1.0, 1.0], lr=0.0201, steps=200)
    assert stable.loss < 1 < 1e3 < unstable.loss  # multipliers 1 - 100 lr: -0.99, -1.01
    blown = minimize(f, [1.0, 1.0], lr=10.0, steps=1000)
    assert blown.diverged and blown.steps < 1000 and not np.isfinite(blown.loss)


@pytest.mark.parametrize("method, kwargs", [("momentum", {"momentum": 0.9}),
                                            ("nesterov", {"momentum": 0.9, "nesterov": True}),
                                            ("adam", {})])
def test_first_order_methods_match_torch(method, kwargs):
    torch = pytest.importorskip("torch")
    lr = 0.05
    f = lambda x: x[0] ** 2 + 10 * x[1] ** 2  # noqa: E731  exercise 26
    traj = minimize(f, [1.0, 1.0], method=method, lr=lr, steps=25)
    xt = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([xt], lr=lr) if method == "adam" else \
        torch.optim.SGD([xt], lr=lr, **kwargs)
    expected = [xt.detach().numpy().copy()]
    for _ in range(25):
        opt.zero_grad()
        f(xt).backward()
        opt.step()
        expected.append(xt.detach().numpy().copy())
    np.testing.assert_allclose(traj.xs, np.array(expected), rtol=1e-12, atol=1e-15)


def test_momentum_converges_faster_than_gd_on_exercise_26():
    f = lambda x: x[0] ** 2 + 10 * x[1] ** 2  # noqa: E731
    gd = minimize(f, [1.0, 1.0], method="gd", lr=0.05, steps=100)
    mom = minimize(f, [1.0, 1.0], method="momentum", lr=0.05, momentum=0.5, steps=100)
    assert mom.loss < gd.loss * 1e-3


def test_newton_method_in_minimize_and_record_false_and_tol():
    f = quadratic(random_spd(3, 5), np.array([1.0, 2.0, 3.0]))
    traj = minimize(f, np.zeros(3), method="newton", steps=5, tol=1e-9)
    assert traj.steps == 1  # after one step the gradient is 0
    np.testing.assert_allclose(traj.x, [1.0, 2.0, 3.0], rtol=1e-12)
    last = minimize(f, np.zeros(3), method="gd", steps=7, record=False)
    assert last.xs.shape == (1, 3) and last.steps == 7
    full = minimize(f, np.zeros(3), method="gd", steps=7)
    np.testing.assert_allclose(last.x, full.x)
    assert "steps=7" in repr(full)


def test_minimize_bad_arguments():
    with pytest.raises(ValueError, match="unknown method 'lbfgs'"):
        minimize(lambda x: x.sum(), [1.0], method="lbfgs")
    with pytest.raises(ValueError, match="must return a scalar Tensor"):
        minimize(lambda x: x * 2, [1.0, 2.0])
    with pytest.raises(ValueError, match="steps must be a non-negative int"):
        minimize(lambda x: x.sum(), [1.0], steps=-1)
