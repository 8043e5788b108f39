"""GRU with PyTorch's gate order **r, z, n** (beyond the course).

``r = sigmoid(x Wx_r + h Wh_r + b_r)``, ``z = sigmoid(x Wx_z + h Wh_z + b_z)``,
``n = tanh(x Wx_n + b_n + r * (h Wh_n))``, ``h_t = (1 - z) * n + z * h_{t-1}``.

Shapes: N batch, T time steps, D input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from .functional import sigmoid_
from .recurrent import Recurrent


class GRU(Recurrent):
    """``x (N, T, D), h0 (N, H) -> h (N, T, H)``; weights ``Wx (D, 3H)``, ``Wh (H, 3H)``, ``b (3H,)``.

    ``backward(dh)`` returns ``(dx, dh0)``.
    """

    GATES = ("r", "z", "n")

    def _cell(self, a, hWh, prev_h, h_out) -> None:
        """From ``a = x Wx + b`` and ``hWh = prev_h Wh`` (N, 3H): gates into ``a`` in place, h into h_out."""
        H = self.hidden_dim
        rz = a[:, :2 * H]
        rz += hWh[:, :2 * H]
        sigmoid_(rz)
        r, z, n = (self.gate(a, k) for k in self.GATES)
        n += r * self.gate(hWh, "n")
        np.tanh(n, out=n)
        # h = (1 - z) * n + z * prev_h = n + z * (prev_h - n)
        np.subtract(prev_h, n, out=h_out)
        h_out *= z
        h_out += n

    def forward(self, x, h0):
        x, h0 = self._check_sequence("GRU.forward", x, h0)
        N, T, _ = x.shape
        H = self.hidden_dim
        X, A = self._project_inputs(x)                  # X (T*N, D); A (T, N, 3H), becomes r, z, n
        Hs = np.empty((T + 1, N, H), dtype=self.dtype)  # Hs[t+1] = h_t, Hs[0] = h0
        HWh_n = np.empty((T, N, H), dtype=self.dtype)   # h_{t-1} Wh_n, needed for dr
        Hs[0] = h0
        Wh = self.Wh.data
        for t in range(T):
            hWh = Hs[t] @ Wh
            HWh_n[t] = self.gate(hWh, "n")
            self._cell(A[t], hWh, Hs[t], Hs[t + 1])
        self._save_for_backward(X=X, gates=A, Hs=Hs, HWh_n=HWh_n)
        return np.ascontiguousarray(Hs[1:].transpose(1, 0, 2))

    def backward(self, dh):
        cache = self._saved()
        X, gates, Hs, HWh_n = cache["X"], cache["gates"], cache["Hs"], cache["HWh_n"]
        T, N, H = HWh_n.shape
        dHs = self._check_grad("GRU.backward", dh, N, T)  # (T, N, H)
        dA = np.empty_like(gates)    # (T, N, 3H) grad of x Wx + b
        dAh = np.empty_like(gates)   # (T, N, 3H) grad of h Wh (differs from dA in the n block)
        WhT = self.Wh.data.T
        dnext = np.zeros((N, H), dtype=self.dtype)
        for t in range(T - 1, -1, -1):
            r, z, n = (self.gate(gates[t], k) for k in self.GATES)
            dr, dz, dn = (self.gate(dA[t], k) for k in self.GATES)
            prev_h = Hs[t]
            dh_t = dHs[t]
            dh_t += dnext
            # pre-activation of n: d = dh (1 - z) (1 - n^2)
            np.multiply(dh_t, 1 - z, out=dn)
            dn *= 1 - n * n
            np.multiply(dn, HWh_n[t], out=dr)
            dr *= r * (1 - r)
            np.subtract(prev_h, n, out=dz)
            dz *= dh_t
            dz *= z * (1 - z)
            dAh[t, :, :2 * H] = dA[t, :, :2 * H]
            np.multiply(dn, r, out=self.gate(dAh[t], "n"))
            dnext = dAh[t] @ WhT
            dnext += dh_t * z
        dx = self._accumulate_weight_grads(X, Hs[:-1].reshape(T * N, H), dA, dAh)
        return dx, dnext

    def step(self, x, prev_h):
        """One step without cache: ``x (N, D), prev_h (N, H) -> next_h (N, H)``."""
        x, prev_h = self._check_step("GRU.step", x, prev_h)
        a = x @ self.Wx.data
        a += self.b.data
        next_h = np.empty_like(prev_h)
        self._cell(a, prev_h @ self.Wh.data, prev_h, next_h)
        return next_h
