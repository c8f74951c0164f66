"""A correct answer to every checkable exercise, as the reader's file would hold it (NumPy
only where the exercise asks for work by hand), for tests/test_reader_check.py."""

ANSWERS = {
    1: '''
import numpy as np

def d_inverse(x):
    return -1.0 / x**2

def d_sqrt(x):
    return 0.5 / np.sqrt(x)

def d_exp2(x):
    return 2.0 * np.exp(2.0 * x)
''',
    2: '''
import numpy as np

def derivative(x):
    return 2 * x * np.sin(1 / x) - np.cos(1 / x)

def derivative_at_zero():
    return 0.0
''',
    3: '''
def taylor_sqrt(h):
    return 1 + h / 2 - h**2 / 8

def error_bound(h):
    return 3 / 8 * h**3 / 6
''',
    4: '''
def taylor_log1p(x):
    return x - x**2 / 2
''',
    6: '''
import numpy as np

def grad(x):
    e = np.exp(x[1])
    return np.array([2 * x[0] * e, x[0] ** 2 * e])

def hessian(x):
    e = np.exp(x[1])
    return np.array([[2 * e, 2 * x[0] * e], [2 * x[0] * e, x[0] ** 2 * e]])
''',
    7: '''
import numpy as np

def jacobian(x, y):
    c = np.cos(x + y)
    return np.array([[2 * x, 2 * y], [y, x], [c, c]])
''',
    8: '''
def grad(x, A, B):
    return 2 * B.T @ A @ B @ x
''',
    9: '''
import numpy as np

def grad(x, a):
    return a / (1 + np.exp(-(a @ x)))
''',
    10: '''
import numpy as np

def grad(x, y):
    return np.array([2 * x, 8 * y])

def semi_axes(c):
    return np.sqrt(c), np.sqrt(c) / 2
''',
    11: '''
import numpy as np

def F(x, y):
    return np.sin(x) * np.cos(y), np.cos(x) * np.sin(y)

def jacobian(x, y):
    return np.array([[np.cos(x) * np.cos(y), -np.sin(x) * np.sin(y)],
                     [-np.sin(x) * np.sin(y), np.cos(x) * np.cos(y)]])

def composite_jacobian(x, y):
    return jacobian(*F(x, y)) @ jacobian(x, y)
''',
    12: '''
def forward(x1, x2, x3):
    a, b, c = x1 + x2, x2 + x3, x1 + x3
    return a, b, c, a * b * c

def gradient(x1, x2, x3):
    a, b, c = x1 + x2, x2 + x3, x1 + x3
    return b * c + a * b, b * c + a * c, a * c + a * b
''',
    13: '''
import math
from chainrule import Value

def log(v):
    return Value(math.log(v.data), (v,), "log", (1.0 / v.data,))

def dfdx():
    x = Value(0.0)
    f = log((2 * x + 3).sigmoid())
    f.backward()
    return x.grad
''',
    14: '''
def backward(root):
    order, seen = [], set()

    def visit(v):
        if id(v) not in seen:
            seen.add(id(v))
            for child in v._prev:
                visit(child)
            order.append(v)

    visit(root)
    root.grad = 1.0
    for node in reversed(order):
        for child, local in zip(node._prev, node._local):
            child.grad += local * node.grad
''',
    15: '''
from chainrule import Value

def mse_loss(preds, targets):
    total = Value(0.0)
    for p, t in zip(preds, targets):
        total = total + (p - t) ** 2
    return total / len(preds)

def fit(xs, ys):
    w, b = Value(0.0), Value(0.0)
    for _ in range(400):
        w.grad = b.grad = 0.0
        mse_loss([w * x + b for x in xs], list(ys)).backward()
        w.data -= 0.5 * w.grad
        b.data -= 0.5 * b.grad
    return w.data, b.data
''',
    17: '''
import math

def forward(x):
    s1, s2 = math.sin(x), math.sin(math.sin(x))
    t1 = math.cos(x)
    t2 = math.cos(s1) * t1
    return 1.0, t1, t2, math.cos(s2) * t2

def reverse(x):
    s1, s2 = math.sin(x), math.sin(math.sin(x))
    b2 = math.cos(s2)
    b1 = math.cos(s1) * b2
    return math.cos(x) * b1, b1, b2, 1.0
''',
    18: '''
def cheaper_mode(n_in, n_out):
    return "reverse" if n_out < n_in else "forward"

def speedup(n_in, n_out):
    return max(n_in, n_out) / min(n_in, n_out)
''',
    20: '''
def grad(x, a, lam):
    return 2 * (x - a) + 2 * lam * x

def minimiser(a, lam):
    return a / (1 + lam)
''',
    21: '''
import numpy as np

def grad(z, y):
    p = np.exp(z - z.max())
    return p / p.sum() - y
''',
    22: '''
import numpy as np

def grad(w, x, y):
    return -y * x / (1 + np.exp(y * (w @ x)))
''',
    23: '''
def grad(x, A, x0):
    return A @ (x - x0)

def hessian(x, A, x0):
    return A
''',
    24: '''
def grad(A, B):
    return 2 * B @ A
''',
    25: '''
import numpy as np

def largest_stable_lr(A):
    return 2 / np.linalg.eigvalsh(A).max()

def gd_path(A, w0, lr, steps):
    path = [w0]
    for _ in range(steps):
        path.append(path[-1] - lr * A @ path[-1])
    return np.array(path)
''',
    26: '''
import numpy as np

H = np.array([2.0, 20.0])

def gradient_descent(theta0, lr, steps):
    path = [theta0]
    for _ in range(steps):
        path.append(path[-1] - lr * H * path[-1])
    return np.array(path)

def momentum(theta0, lr, mu, steps):
    path, b = [theta0], np.zeros(2)
    for _ in range(steps):
        b = mu * b + H * path[-1]
        path.append(path[-1] - lr * b)
    return np.array(path)
''',
    27: '''
import numpy as np

def hessian(x, y):
    return np.array([[12 * x**2 - 4, 0.0], [0.0, 2.0]])

def critical_points():
    return [(-1, 0), (0, 0), (1, 0)]

def classify(x, y):
    return "saddle" if x == 0 else "minimum"
''',
    28: '''
import numpy as np

def newton_step(A, b, x):
    return x - np.linalg.solve(A, A @ x - b)
''',
    29: '''
def escape_step(eps, lr):
    x, y, k = 1.0, eps, 0
    while abs(y) <= 1:
        x, y, k = x - lr * 2 * x, y + lr * 2 * y, k + 1
    return k
''',
    30: '''
def central_difference(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)

def best_h():
    return 1e-5
''',
    31: '''
import numpy as np

def softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()
''',
    33: '''
import numpy as np

def mlp_gradients(W1, b1, W2, b2, x, y):
    z = x @ W1 + b1
    h = np.maximum(z, 0)
    logits = h @ W2 + b2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    g = p.copy()
    g[np.arange(len(y)), y] -= 1
    g /= len(y)
    dW2, db2 = h.T @ g, g.sum(axis=0)
    dz = (g @ W2.T) * (z > 0)
    return x.T @ dz, dz.sum(axis=0), dW2, db2
''',
    34: '''
import numpy as np

def jacobian_norm(W, x, depth):
    J, h = np.eye(len(x)), x
    for _ in range(depth):
        h = np.tanh(h @ W)
        J = (1 - h * h)[:, None] * (W.T @ J)
    return np.linalg.norm(J, 2)

def bound(W, depth):
    return np.linalg.norm(W, 2) ** depth
''',
}
ANSWERS[19] = ANSWERS[18]
