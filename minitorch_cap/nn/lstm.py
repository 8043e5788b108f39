"""LSTM with the CS231n gate order **i, f, o, g**.

``a = x_t Wx + h_{t-1} Wh + b`` split into four blocks of H: ``i, f, o = sigmoid``,
``g = tanh``; ``c_t = f * c_{t-1} + i * g``; ``h_t = o * tanh(c_t)``.

Shapes: N batch, T time steps, D input size, H hidden size.
"""

from __future__ import annotations

import numpy as np

from .checks import float_input
from .functional import sigmoid_
from .recurrent import Recurrent


class LSTM(Recurrent):
    """``x (N, T, D), h0 (N, H), c0 (N, H) = zeros -> h (N, T, H)``.

    Weights ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)``, blocks in the order of ``GATES``.
    ``backward(dh)`` returns ``(dx, dh0)``, or ``(dx, dh0, dc0)`` when ``c0`` was passed.
    """

    GATES = ("i", "f", "o", "g")

    def _activate(self, a: np.ndarray) -> np.ndarray:
        """Turn pre-activations a (N, 4H) into gates in place: sigmoid on i, f, o, tanh on g."""
        H = self.hidden_dim
        sigmoid_(a[:, :3 * H])
        np.tanh(a[:, 3 * H:], out=a[:, 3 * H:])
        return a

    def _cell(self, gates, prev_c, c_out, tanh_c_out, h_out) -> None:
        """``c = f*prev_c + i*g``, ``h = o*tanh(c)`` from activated gates (N, 4H), into the outputs."""
        i, f, o, g = (self.gate(gates, k) for k in self.GATES)
        np.multiply(f, prev_c, out=c_out)
        c_out += i * g
        np.tanh(c_out, out=tanh_c_out)
        np.multiply(o, tanh_c_out, out=h_out)

    def forward(self, x, h0, c0=None):
        x, h0 = self._check_sequence("LSTM.forward", x, h0)
        N, T, _ = x.shape
        H = self.hidden_dim
        has_c0 = c0 is not None
        X, A = self._project_inputs(x)                   # X (T*N, D); A (T, N, 4H), becomes the gates
        Hs = np.empty((T + 1, N, H), dtype=self.dtype)   # Hs[t+1] = h_t, Hs[0] = h0
        Cs = np.empty((T + 1, N, H), dtype=self.dtype)   # Cs[t+1] = c_t, Cs[0] = c0
        tanh_C = np.empty((T, N, H), dtype=self.dtype)   # tanh(c_t)
        Hs[0] = h0
        Cs[0] = float_input("LSTM.forward", "c0", c0, self.dtype, N=N, H=H) if has_c0 else 0
        Wh = self.Wh.data
        for t in range(T):
            a = A[t]
            a += Hs[t] @ Wh
            self._activate(a)
            self._cell(a, Cs[t], Cs[t + 1], tanh_C[t], Hs[t + 1])
        self._save_for_backward(X=X, gates=A, Hs=Hs, Cs=Cs, tanh_C=tanh_C, has_c0=has_c0)
        return np.ascontiguousarray(Hs[1:].transpose(1, 0, 2))

    def backward(self, dh):
        cache = self._saved()
        X, gates, Hs, Cs, tanh_C = cache["X"], cache["gates"], cache["Hs"], cache["Cs"], cache["tanh_C"]
        T, N, H = tanh_C.shape
        dHs = self._check_grad("LSTM.backward", dh, N, T)  # (T, N, H)
        dA = np.empty_like(gates)                           # (T, N, 4H) grad of the pre-activations
        WhT = self.Wh.data.T
        dnext_h = np.zeros((N, H), dtype=self.dtype)
        dnext_c = np.zeros((N, H), dtype=self.dtype)
        for t in range(T - 1, -1, -1):
            i, f, o, g = (self.gate(gates[t], k) for k in self.GATES)
            di, df, do, dg = (self.gate(dA[t], k) for k in self.GATES)
            tc = tanh_C[t]
            dh_t = dHs[t]
            dh_t += dnext_h
            # dc = dnext_c + dh * o * (1 - tanh(c)^2)
            dc = 1 - tc * tc
            dc *= o
            dc *= dh_t
            dc += dnext_c
            # pre-activation gradients: sigmoid' = s (1 - s), tanh' = 1 - t^2
            np.multiply(dh_t, tc, out=do)
            do *= o * (1 - o)
            np.multiply(dc, g, out=di)
            di *= i * (1 - i)
            np.multiply(dc, Cs[t], out=df)
            df *= f * (1 - f)
            np.multiply(dc, i, out=dg)
            dg *= 1 - g * g
            dnext_c = dc * f
            dnext_h = dA[t] @ WhT
        dx = self._accumulate_weight_grads(X, Hs[:-1].reshape(T * N, H), dA)
        if cache["has_c0"]:
            return dx, dnext_h, dnext_c
        return dx, dnext_h

    def step(self, x, prev_h, prev_c):
        """One step without cache: ``x (N, D), prev_h (N, H), prev_c (N, H) -> (next_h, next_c)``."""
        x, prev_h = self._check_step("LSTM.step", x, prev_h)
        prev_c = float_input("LSTM.step", "prev_c", prev_c, self.dtype, N=x.shape[0], H=self.hidden_dim)
        a = self._activate(self._step_preactivation(x, prev_h))
        next_c, tanh_c, next_h = (np.empty_like(prev_h) for _ in range(3))
        self._cell(a, prev_c, next_c, tanh_c, next_h)
        return next_h, next_c
