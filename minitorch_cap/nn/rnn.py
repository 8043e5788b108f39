"""Vanilla (Elman) RNN: ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``.

Shapes: N batch, T time steps, D input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from .recurrent import Recurrent


class RNN(Recurrent):
    """``x (N, T, D), h0 (N, H), lengths (N,) = None -> h (N, T, H)``; weights ``Wx (D, H)``,
    ``Wh (H, H)``, ``b (H,)``.

    ``lengths``: integers in ``[0, T]`` (None: T for every row); row n runs steps
    ``0..lengths[n]-1`` only and ``h[n, t]`` is exactly 0 after them (as PyTorch pads a
    packed sequence). ``backward(dh)`` returns ``(dx, dh0)``; it ignores dh where a row did
    not run and gives dx = 0 there (and dh0 = 0 for a row of length 0). Bad lengths raise
    ``TypeError`` (not integers) or ``ValueError`` (shape, range) naming ``RNN.forward``.
    """

    GATES = ("h",)

    def forward(self, x, h0, lengths=None):
        x, h0, packing = self._check_sequence("RNN.forward", x, h0, lengths)
        X, A = self._project_inputs(x, packing)                   # X (P, D), A (P, H) = X Wx + b
        Hs = np.empty((packing.N + packing.P, self.hidden_dim), dtype=self.dtype)  # states: h0, then h_t
        Hs[packing.state(-1)] = packing.sort(h0)
        a = np.empty((packing.N, self.hidden_dim), dtype=self.dtype)    # one step's pre-activations
        for t in range(packing.steps):
            k = packing.k[t]
            self._hidden_product(Hs[packing.previous(t)], a[:k])
            a[:k] += A[packing.slice(t)]
            np.tanh(a[:k], out=Hs[packing.state(t)])
        self._save_for_backward(packing=packing, X=X, Hs=Hs)
        return packing.unpack(Hs[packing.N:])

    def backward(self, dh):
        cache = self._saved()
        packing, X, Hs = cache["packing"], cache["X"], cache["Hs"]
        dHs = self._check_grad("RNN.backward", dh, packing)          # (P, H)
        dA = np.empty_like(dHs)                                     # (P, H) grad of the tanh input
        dnext = np.zeros((packing.N, self.hidden_dim), dtype=self.dtype)   # dh_{t-1}, sorted rows
        for t in range(packing.steps - 1, -1, -1):
            k, rows = packing.k[t], packing.slice(t)
            h = Hs[packing.state(t)]
            dA[rows] = (dHs[rows] + dnext[:k]) * (1 - h * h)         # tanh' = 1 - h^2
            self._hidden_grad(dA[rows], dnext[:k])                  # dh_{t-1} = da Wh^T
        dx = self._accumulate_weight_grads(packing, X, Hs, dA)
        return dx, packing.unsort(dnext)

    def step(self, x, prev_h):
        """One step without cache: ``x (N, D), prev_h (N, H) -> next_h (N, H)``."""
        x, prev_h = self._check_step("RNN.step", x, prev_h)
        a = self._step_preactivation(x, prev_h)
        return np.tanh(a, out=a)
