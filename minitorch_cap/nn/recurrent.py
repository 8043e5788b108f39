"""What RNN, LSTM and GRU share: weights, input checks, the input projection and the final products.

Shapes: N batch, T time steps, D input size, H hidden size, G number of gate blocks
(RNN 1, GRU 3, LSTM 4).

Every cell stores its weights as ``Wx (D, G*H)``, ``Wh (H, G*H)``, ``b (G*H,)`` with the
gate blocks side by side in the order of the subclass's ``GATES``. Internally the
sequence is processed **time-major** ``(T, N, ...)`` so that every per-step slice is one
contiguous block; inputs and outputs keep the public ``(N, T, ...)`` layout.

The efficient pattern (Element-Research ``SeqLSTM``):

* forward projects all time steps at once, ``A = X Wx + b`` with ``X (T*N, D)``,
  then runs only ``h_{t-1} Wh`` inside the loop;
* backward gathers the pre-activation gradients of every step into ``dA (T, N, G*H)``
  and forms ``dWx``, ``db``, ``dWh`` and ``dx`` with one product each.
"""

from __future__ import annotations

import numpy as np

from .checks import float_input, int_option
from .init import scaled_randn
from .module import Module
from .parameter import Parameter


class Recurrent(Module):
    """Base class of the sequence modules ``x (N, T, D), h0 (N, H) -> h (N, T, H)``.

    ``input_dim`` and ``hidden_dim`` must be integers >= 1 (``ValueError`` naming the
    module otherwise). A batch of N = 0 sequences works (forward, backward and ``step``, as
    in beam search once every caption has ended); T = 0 is refused by name.
    """

    GATES: tuple[str, ...] = ()

    def __init__(self, input_dim: int, hidden_dim: int, dtype=np.float32, rng=None):
        super().__init__(dtype)
        owner = type(self).__name__
        self.input_dim = int_option(owner, "input_dim", input_dim)
        self.hidden_dim = int_option(owner, "hidden_dim", hidden_dim)
        D, H, G = self.input_dim, self.hidden_dim, len(self.GATES)
        self.Wx = Parameter(scaled_randn(rng, (D, G * H), np.sqrt(D)), self.dtype)
        self.Wh = Parameter(scaled_randn(rng, (H, G * H), np.sqrt(H)), self.dtype)
        self.b = Parameter(np.zeros(G * H), self.dtype)

    def gate(self, block: np.ndarray, name: str) -> np.ndarray:
        """The ``(…, H)`` slice of gate ``name`` in an array whose last axis holds all G blocks."""
        H = self.hidden_dim
        k = self.GATES.index(name)
        return block[..., k * H:(k + 1) * H]

    # ------------------------------------------------------------------ checks
    def _check_sequence(self, owner: str, x, h0) -> tuple[np.ndarray, np.ndarray]:
        x = float_input(owner, "x", x, self.dtype, N=None, T=None, D=self.input_dim)
        h0 = float_input(owner, "h0", h0, self.dtype, N=x.shape[0], H=self.hidden_dim)
        if x.shape[1] == 0:
            raise ValueError(f"{owner}: x has no time steps (T=0)")
        return x, h0

    def _check_step(self, owner: str, x, prev_h) -> tuple[np.ndarray, np.ndarray]:
        x = float_input(owner, "x", x, self.dtype, N=None, D=self.input_dim)
        prev_h = float_input(owner, "prev_h", prev_h, self.dtype, N=x.shape[0], H=self.hidden_dim)
        return x, prev_h

    def _check_grad(self, owner: str, dh, N: int, T: int) -> np.ndarray:
        """dh (N, T, H) -> a time-major copy (T, N, H) that backward may overwrite.

        Always a copy: ``ascontiguousarray`` would return the caller's own memory when dh is a
        transposed view of a time-major array, and backward would then overwrite it.
        """
        dh = float_input(owner, "dh", dh, self.dtype, N=N, T=T, H=self.hidden_dim)
        return np.array(dh.transpose(1, 0, 2), order="C", copy=True)

    # ------------------------------------------------------------------ shared maths
    def _project_inputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (N, T, D) -> (X (T*N, D) time-major copy, A (T, N, G*H) = X Wx + b)."""
        N, T, D = x.shape
        X = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(T * N, D)
        A = X @ self.Wx.data
        A += self.b.data
        return X, A.reshape(T, N, self.Wx.shape[1])         # not -1: N may be 0

    def _step_preactivation(self, x: np.ndarray, prev_h: np.ndarray) -> np.ndarray:
        """One step's ``x Wx + b + prev_h Wh`` (N, G*H)."""
        a = x @ self.Wx.data
        a += self.b.data
        a += prev_h @ self.Wh.data
        return a

    def _accumulate_weight_grads(self, X: np.ndarray, Hprev: np.ndarray, dA: np.ndarray,
                                 dAh: np.ndarray | None = None) -> np.ndarray:
        """Add dWx, db, dWh from the gathered pre-activation gradients; return dx (N, T, D).

        X (T*N, D) inputs, Hprev (T*N, H) the hidden state entering each step,
        dA (T, N, G*H) gradient of ``x Wx + b``; dAh (T, N, G*H) gradient of ``h Wh``
        when it differs from dA (GRU), else None.
        """
        T, N, GH = dA.shape
        dA2 = dA.reshape(T * N, GH)
        dAh2 = dA2 if dAh is None else dAh.reshape(T * N, GH)
        self.Wx.grad += X.T @ dA2
        self.b.grad += dA2.sum(axis=0)
        self.Wh.grad += Hprev.T @ dAh2
        dx = dA2 @ self.Wx.data.T
        return dx.reshape(T, N, self.input_dim).transpose(1, 0, 2)

    # ------------------------------------------------------------------ state API
    # One API for every cell (chainer's reset_state/set_state, rnn's getHiddenState): a
    # caller holds an opaque tuple of (N, H) arrays and never branches on the cell type.
    def initial_state(self, h0: np.ndarray) -> tuple[np.ndarray, ...]:
        """The state before the first step, from ``h0 (N, H)``: ``(h0,)`` (the LSTM adds ``c0 = 0``)."""
        return (h0,)

    def step_state(self, x, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """One step without cache: ``x (N, D)``, a state of N rows -> ``(next_h (N, H), next state)``."""
        h = self.step(x, *state)
        return h, (h,)

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, hidden_dim={self.hidden_dim}, dtype={self.dtype.name}"
