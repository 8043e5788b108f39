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
    """``x (N, T, D), h0 (N, H), lengths (N,) = None -> h (N, T, H)``; weights ``Wx (D, 3H)``,
    ``Wh (H, 3H)``, ``b (3H,)``.

    ``lengths``: integers in ``[0, T]`` (None: T for every row); row n runs steps
    ``0..lengths[n]-1`` only and ``h[n, t]`` is exactly 0 after them (as PyTorch pads a
    packed sequence). ``backward(dh)`` returns ``(dx, dh0)``; it ignores dh where a row did
    not run and gives dx = 0 there (and dh0 = 0 for a row of length 0). Bad lengths raise
    ``TypeError`` (not integers) or ``ValueError`` (shape, range) naming ``GRU.forward``.
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

    def forward(self, x, h0, lengths=None):
        x, h0, packing = self._check_sequence("GRU.forward", x, h0, lengths)
        N, P, H = packing.N, packing.P, self.hidden_dim
        X, A = self._project_inputs(x, packing)          # X (P, D); A (P, 3H) = X Wx + b
        gates = np.empty((P, 3 * H), dtype=self.dtype)   # r, z, n of each pair; step t's block is (3, k_t, H)
        Hs = np.empty((N + P, H), dtype=self.dtype)      # states (sorted rows): h0, then each pair's h_t
        HWh_n = np.empty((P, H), dtype=self.dtype)       # h_{t-1} Wh_n, needed for dr
        Hs[packing.state(-1)] = packing.sort(h0)
        hWh = np.empty((N, 3 * H), dtype=self.dtype)
        tmp = np.empty((N, H), dtype=self.dtype)
        for t in range(packing.steps):
            k, rows, prev = packing.k[t], packing.slice(t), packing.previous(t)
            self._hidden_product(Hs[prev], hWh[:k])
            self._cell(A[rows], hWh[:k], Hs[prev], gates[rows].reshape(3, k, H), HWh_n[rows],
                       Hs[packing.state(t)], tmp[:k])
        self._save_for_backward(packing=packing, X=X, gates=gates, Hs=Hs, HWh_n=HWh_n)
        return packing.unpack(Hs[N:])

    def backward(self, dh):
        """``dh (N, T, H)`` -> ``(dx, dh0)``. Per step, from ``h_t = (1 - z) n + z h_{t-1}`` and
        ``n = tanh(x Wx_n + b_n + r (h_{t-1} Wh_n))``, with ``sigmoid' = s (1 - s)``, ``tanh' = 1 - n^2``."""
        cache = self._saved()
        packing, X, gates, Hs, HWh_n = (cache[k] for k in ("packing", "X", "gates", "Hs", "HWh_n"))
        P, H = packing.P, self.hidden_dim
        dHs = self._check_grad("GRU.backward", dh, packing)  # (P, H)
        dA = np.empty((P, 3 * H), dtype=self.dtype)           # grad of x Wx + b
        dAh = np.empty((P, 3 * H), dtype=self.dtype)          # grad of h Wh (differs from dA in the n block)
        dnext = np.zeros((packing.N, H), dtype=self.dtype)    # dh_{t-1}, sorted rows
        for t in range(packing.steps - 1, -1, -1):
            k, rows = packing.k[t], packing.slice(t)
            r, z, n = gates[rows].reshape(3, k, H)
            prev_h = Hs[packing.previous(t)]
            da, dah = dA[rows].reshape(k, 3, H), dAh[rows].reshape(k, 3, H)   # gate blocks r, z, n
            dh_t = dHs[rows] + dnext[:k]
            dn = dh_t * (1 - z) * (1 - n * n)                 # n's pre-activation
            da[:, 0] = dn * HWh_n[rows] * r * (1 - r)         # r's
            da[:, 1] = dh_t * (prev_h - n) * z * (1 - z)      # z's
            da[:, 2] = dn
            dah[:, :2] = da[:, :2]
            dah[:, 2] = dn * r                                # through r * (h_{t-1} Wh_n)
            self._hidden_grad(dAh[rows], dnext[:k])
            dnext[:k] += dh_t * z                              # dh_{t-1} = dah Wh^T + dh z
        dx = self._accumulate_weight_grads(packing, X, Hs, dA, dAh)
        return dx, packing.unsort(dnext)

    def step(self, x, prev_h):
        """One step without cache: ``x (N, D), prev_h (N, H) -> next_h (N, H)``."""
        x, prev_h = self._check_step("GRU.step", x, prev_h)
        a = x @ self.Wx.data
        a += self.b.data
        gates = np.empty((3,) + prev_h.shape, dtype=self.dtype)
        hWh_n, next_h, tmp = (np.empty_like(prev_h) for _ in range(3))
        self._cell(a, self._hidden(prev_h), prev_h, gates, hWh_n, next_h, tmp)
        return next_h
