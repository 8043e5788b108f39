"""Vanilla (Elman) RNN: ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``.

Shapes: N batch, T time steps, D input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from .recurrent import Recurrent


class RNN(Recurrent):
    """``x (N, T, D), h0 (N, H) -> h (N, T, H)``; weights ``Wx (D, H)``, ``Wh (H, H)``, ``b (H,)``.

    ``backward(dh)`` returns ``(dx, dh0)``.
    """

    GATES = ("h",)

    def forward(self, x, h0):
        x, h0 = self._check_sequence("RNN.forward", x, h0)
        N, T, _ = x.shape
        X, A = self._project_inputs(x)                              # X (T*N, D), A (T, N, H)
        Hs = np.empty((T + 1, N, self.hidden_dim), dtype=self.dtype)  # Hs[t+1] = h_t, Hs[0] = h0
        Hs[0] = h0
        Wh = self.Wh.data
        for t in range(T):
            a = A[t]
            a += Hs[t] @ Wh
            np.tanh(a, out=Hs[t + 1])
        self._save_for_backward(X=X, Hs=Hs)
        return np.ascontiguousarray(Hs[1:].transpose(1, 0, 2))

    def backward(self, dh):
        cache = self._saved()
        X, Hs = cache["X"], cache["Hs"]
        T, N = Hs.shape[0] - 1, Hs.shape[1]
        dHs = self._check_grad("RNN.backward", dh, N, T)            # (T, N, H)
        dA = np.empty_like(dHs)                                     # (T, N, H) grad of the tanh input
        WhT = self.Wh.data.T
        dnext = np.zeros((N, self.hidden_dim), dtype=self.dtype)
        for t in range(T - 1, -1, -1):
            h, da = Hs[t + 1], dA[t]
            np.multiply(h, h, out=da)
            np.subtract(1, da, out=da)                              # tanh' = 1 - h^2
            da *= dHs[t] + dnext
            dnext = da @ WhT
        dx = self._accumulate_weight_grads(X, Hs[:-1].reshape(T * N, self.hidden_dim), dA)
        return dx, dnext

    def step(self, x, prev_h):
        """One step without cache: ``x (N, D), prev_h (N, H) -> next_h (N, H)``."""
        x, prev_h = self._check_step("RNN.step", x, prev_h)
        a = self._step_preactivation(x, prev_h)
        return np.tanh(a, out=a)
