"""Helpers for the optimizer tests: parameters with chosen gradients, reference runs, the PyTorch oracle."""

import numpy as np

from minitorch_cap.nn import Parameter


def trajectory(make_optimizer, w0, grads, lrs=None):
    """Run an optimizer on one Parameter starting at ``w0``, feeding ``grads`` in turn.

    ``lrs`` optionally sets ``optimizer.lr`` before each step (a schedule). Returns the
    weights after every step, stacked.
    """
    p = Parameter(w0)
    opt = make_optimizer([("w", p)])
    out = []
    for k, g in enumerate(grads):
        if lrs is not None:
            opt.lr = lrs[k]
        p.grad[...] = g
        opt.step()
        out.append(p.data.copy())
    return np.stack(out)


def torch_trajectory(torch, make_optimizer, w0, grads, lrs=None):
    """The same run with a ``torch.optim`` optimizer (float64), as the oracle."""
    p = torch.nn.Parameter(torch.tensor(np.asarray(w0, dtype=np.float64)))
    opt = make_optimizer([p])
    out = []
    for k, g in enumerate(grads):
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[k]
        p.grad = torch.tensor(np.asarray(g, dtype=np.float64))
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.stack(out)


def random_run(seed=0, shape=(4, 5), steps=6, dtype=np.float64):
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal(shape).astype(dtype)
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(steps)]
    return w0, grads


LRS = [0.1, 0.1, 0.05, 0.05, 0.02, 0.01]   # a schedule changing the rate between steps
