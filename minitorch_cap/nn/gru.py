"""GRU with PyTorch's gate order **r, z, n** (beyond the course).

``r = sigmoid(x Wx_r + h Wh_r + b_r)``, ``z = sigmoid(x Wx_z + h Wh_z + b_z)``,
``n = tanh(x Wx_n + b_n + r * (h Wh_n))``, ``h_t = (1 - z) * n + z * h_{t-1}``.

Shapes: N batch, T time steps, D input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from .functional import sigmoid_, sigmoid_grad_, tanh_grad_
from .recurrent import Recurrent


class GRU(Recurrent):
    """``x (N, T, D), h0 (N, H) -> h (N, T, H)``; weights ``Wx (D, 3H)``, ``Wh (H, 3H)``, ``b (3H,)``.

    ``backward(dh)`` returns ``(dx, dh0)``.
    """

    GATES = ("r", "z", "n")

    def _cell(self, a, hWh, prev_h, gates, hWh_n, h_out, tmp) -> None:
        """One step from ``a = x Wx + b`` and ``hWh = prev_h Wh`` (N, 3H).

        Writes the gates r, z, n gate-major into gates (3, N, H) (contiguous blocks, where
        elementwise work is fastest), ``prev_h Wh_n`` into hWh_n (N, H) and h into h_out.
        """
        N, H = prev_h.shape
        a3, hWh3 = a.reshape(N, 3, H).transpose(1, 0, 2), hWh.reshape(N, 3, H).transpose(1, 0, 2)
        r, z, n = gates
        np.add(a3[:2], hWh3[:2], out=gates[:2])
        sigmoid_(gates[:2])                                   # r, z
        np.copyto(hWh_n, hWh3[2])
        np.multiply(r, hWh_n, out=n)
        n += a3[2]
        np.tanh(n, out=n)
        # h = (1 - z) * n + z * prev_h = n + z * (prev_h - n)
        np.subtract(prev_h, n, out=tmp)
        tmp *= z
        np.add(n, tmp, out=h_out)

    def forward(self, x, h0):
        x, h0 = self._check_sequence("GRU.forward", x, h0)
        N, T, _ = x.shape
        H = self.hidden_dim
        X, A = self._project_inputs(x)                  # X (T*N, D); A (T, N, 3H) = X Wx + b
        gates = np.empty((T, 3, N, H), dtype=self.dtype)  # r, z, n of each step, gate-major
        Hs = np.empty((T + 1, N, H), dtype=self.dtype)  # Hs[t+1] = h_t, Hs[0] = h0
        HWh_n = np.empty((T, N, H), dtype=self.dtype)   # h_{t-1} Wh_n, needed for dr
        Hs[0] = h0
        Wh = self.Wh.data
        hWh = np.empty((N, 3 * H), dtype=self.dtype)
        tmp = np.empty((N, H), dtype=self.dtype)
        for t in range(T):
            np.matmul(Hs[t], Wh, out=hWh)
            self._cell(A[t], hWh, Hs[t], gates[t], HWh_n[t], Hs[t + 1], tmp)
        self._save_for_backward(X=X, gates=gates, Hs=Hs, HWh_n=HWh_n)
        return np.ascontiguousarray(Hs[1:].transpose(1, 0, 2))

    def backward(self, dh):
        cache = self._saved()
        X, gates, Hs, HWh_n = cache["X"], cache["gates"], cache["Hs"], cache["HWh_n"]
        T, N, H = HWh_n.shape
        dHs = self._check_grad("GRU.backward", dh, N, T)  # (T, N, H)
        dA = np.empty((T, N, 3 * H), dtype=self.dtype)     # grad of x Wx + b
        dAh = np.empty((T, N, 3 * H), dtype=self.dtype)    # grad of h Wh (differs from dA in the n block)
        dgates = np.empty((3, N, H), dtype=self.dtype)     # one step's dA, gate-major
        dr, dz, dn = dgates
        dhn, tmp = np.empty((N, H), dtype=self.dtype), np.empty((N, H), dtype=self.dtype)
        WhT = self.Wh.data.T
        dnext = np.zeros((N, H), dtype=self.dtype)
        for t in range(T - 1, -1, -1):
            r, z, n = gates[t]
            prev_h = Hs[t]
            dh_t = dHs[t]
            dh_t += dnext
            # pre-activation of n: d = dh (1 - z) (1 - n^2)
            np.subtract(1, z, out=dn)
            dn *= dh_t
            tanh_grad_(dn, n, tmp)
            np.multiply(dn, HWh_n[t], out=dr)
            sigmoid_grad_(dr, r, tmp)
            np.subtract(prev_h, n, out=dz)
            dz *= dh_t
            sigmoid_grad_(dz, z, tmp)
            np.multiply(dn, r, out=dhn)                      # the n block of dAh
            dA3, dAh3 = dA[t].reshape(N, 3, H).transpose(1, 0, 2), dAh[t].reshape(N, 3, H).transpose(1, 0, 2)
            np.copyto(dA3, dgates)
            np.copyto(dAh3[:2], dgates[:2])
            np.copyto(dAh3[2], dhn)
            np.matmul(dAh[t], WhT, out=dnext)
            np.multiply(dh_t, z, out=tmp)
            dnext += tmp
        dx = self._accumulate_weight_grads(X, Hs[:-1].reshape(T * N, H), dA, dAh)
        return dx, dnext

    def step(self, x, prev_h):
        """One step without cache: ``x (N, D), prev_h (N, H) -> next_h (N, H)``."""
        x, prev_h = self._check_step("GRU.step", x, prev_h)
        a = x @ self.Wx.data
        a += self.b.data
        gates = np.empty((3,) + prev_h.shape, dtype=self.dtype)
        hWh_n, next_h, tmp = (np.empty_like(prev_h) for _ in range(3))
        self._cell(a, prev_h @ self.Wh.data, prev_h, gates, hWh_n, next_h, tmp)
        return next_h
