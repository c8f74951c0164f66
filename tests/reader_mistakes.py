"""A typical mistake in every checkable exercise: (text of the correct answer in
reader_answers.ANSWERS, what the mistaken reader wrote instead, a fragment the checker's
message must contain)."""

MISTAKES = {
    1: ("0.5 / np.sqrt(x)", "1 / np.sqrt(x)", "twice the expected one"),
    2: ("- np.cos(1 / x)", "+ np.cos(1 / x)", "largest |difference|"),
    3: ("h**2 / 8", "h**2 / 4", "largest |difference|"),
    4: ("x - x**2 / 2", "x + x**2 / 2", "largest |difference|"),
    6: ("2 * x[0] * e], [2 * x[0] * e", "0.0], [0.0", "[fail] hessian"),
    7: ("[c, c]])", "[c, c]]).T", "transpose of the expected one"),
    8: ("2 * B.T @ A @ B @ x", "B.T @ A @ B @ x", "missing factor 2"),
    9: ("np.exp(-(a @ x))", "np.exp(a @ x)", "largest |difference|"),
    10: ("np.sqrt(c), np.sqrt(c) / 2", "np.sqrt(c) / 2, np.sqrt(c)", "[fail] semi_axes"),
    11: ("jacobian(*F(x, y)) @ jacobian(x, y)", "jacobian(*F(x, y))",
         "[fail] composite_jacobian"),
    12: ("return b * c + a * b,", "return b * c,", "[fail] gradient"),
    13: ("(1.0 / v.data,)", "(v.data,)", "[fail] log"),
    14: ("child.grad += local", "child.grad = local", "missing factor 2"),
    15: ("return total / len(preds)", "return total", "loss:"),
    17: ("return math.cos(x) * b1,", "return b1,", "[fail] reverse"),
    18: ('"reverse" if n_out < n_in else "forward"', '"forward" if n_out < n_in else "reverse"',
         "expected 'reverse', received 'forward'"),
    20: ("a / (1 + lam)", "a / (1 + 2 * lam)", "[fail] minimiser"),
    21: ("p / p.sum() - y", "y - p / p.sum()", "the sign is flipped"),
    22: ("-y * x /", "y * x /", "the sign is flipped"),
    23: ("    return A\n", "    return 2 * A\n", "twice the expected one"),
    24: ("2 * B @ A", "B @ A", "missing factor 2"),
    25: ("2 / np.linalg", "1 / np.linalg", "missing factor 2"),
    26: ("b = mu * b + H * path[-1]", "b = mu * b - H * path[-1]", "[fail] momentum"),
    27: ('"saddle" if x == 0 else "minimum"', '"minimum"', "expected 'saddle'"),
    28: ("x - np.linalg.solve(A, A @ x - b)", "x - (A @ x - b)", "[fail] newton_step"),
    29: ("return k\n", "return k + 1\n", "expected"),
    30: ("(f(x + h) - f(x - h)) / (2 * h)", "(f(x + h) - f(x)) / h", "forward difference"),
    31: ("np.exp(z - np.max(z))", "np.exp(z)", "naive exp(z) / sum(exp(z)) gives"),
    33: (" * (z > 0)", "", "dW1: "),
    34: ("np.linalg.norm(J, 2)", "np.linalg.norm(J)", "[fail] jacobian_norm"),
}
MISTAKES[19] = MISTAKES[18][:2] + ("expected 'forward', received 'reverse'",)
