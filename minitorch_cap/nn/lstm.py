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
    ``backward(dh, dc)`` also takes the gradient of the last cell state ``c_T`` (N, H), which
    :meth:`final_cell` returns: a caller that uses ``c_T`` (a single step, as the course's
    ``lstm_step_backward``, or a sequence continued elsewhere) passes its gradient there.
    """

    GATES = ("i", "f", "o", "g")

    def _activate(self, a: np.ndarray, out: np.ndarray) -> None:
        """Pre-activations a (N, 4H) -> gates written gate-major into out (4, N, H).

        out[k] is then one contiguous (N, H) block per gate: elementwise work on contiguous
        blocks runs 2-4x faster than on the (N, H) column slices of a (N, 4H) array.
        """
        N, H = a.shape[0], self.hidden_dim
        np.copyto(out, a.reshape(N, 4, H).transpose(1, 0, 2))
        sigmoid_(out[:3])                       # i, f, o: one contiguous block
        np.tanh(out[3], out=out[3])             # g

    @staticmethod
    def _cell(gates, prev_c, c_out, tanh_c_out, h_out, tmp) -> None:
        """``c = f*prev_c + i*g``, ``h = o*tanh(c)`` from gates (4, N, H), into the outputs; tmp (N, H) scratch."""
        i, f, o, g = gates
        np.multiply(f, prev_c, out=c_out)
        np.multiply(i, g, out=tmp)
        c_out += tmp
        np.tanh(c_out, out=tanh_c_out)
        np.multiply(o, tanh_c_out, out=h_out)

    def forward(self, x, h0, c0=None):
        x, h0 = self._check_sequence("LSTM.forward", x, h0)
        N, T, _ = x.shape
        H = self.hidden_dim
        has_c0 = c0 is not None
        X, A = self._project_inputs(x)                   # X (T*N, D); A (T, N, 4H) = X Wx + b
        gates = A.reshape(T, 4, N, H)                    # A[t]'s memory, once consumed, holds step t's gates
        Hs = np.empty((T + 1, N, H), dtype=self.dtype)   # Hs[t+1] = h_t, Hs[0] = h0
        Cs = np.empty((T + 1, N, H), dtype=self.dtype)   # Cs[t+1] = c_t, Cs[0] = c0
        tanh_C = np.empty((T, N, H), dtype=self.dtype)   # tanh(c_t)
        Hs[0] = h0
        Cs[0] = float_input("LSTM.forward", "c0", c0, self.dtype, N=N, H=H) if has_c0 else 0
        Wh = self.Wh.data
        a = np.empty((N, 4 * H), dtype=self.dtype)       # one step's pre-activations
        tmp = np.empty((N, H), dtype=self.dtype)
        for t in range(T):
            np.matmul(Hs[t], Wh, out=a)
            a += A[t]
            self._activate(a, gates[t])
            self._cell(gates[t], Cs[t], Cs[t + 1], tanh_C[t], Hs[t + 1], tmp)
        self._save_for_backward(X=X, gates=gates, Hs=Hs, Cs=Cs, tanh_C=tanh_C, has_c0=has_c0)
        return np.ascontiguousarray(Hs[1:].transpose(1, 0, 2))

    def final_cell(self) -> np.ndarray:
        """``c_T`` (N, H): the cell state after the last step of the last forward (a copy)."""
        return self._saved()["Cs"][-1].copy()

    def backward(self, dh, dc=None):
        cache = self._saved()
        X, gates, Hs, Cs, tanh_C = cache["X"], cache["gates"], cache["Hs"], cache["Cs"], cache["tanh_C"]
        T, N, H = tanh_C.shape
        dHs = self._check_grad("LSTM.backward", dh, N, T)  # (T, N, H)
        dA = np.empty((T, N, 4 * H), dtype=self.dtype)      # grad of the pre-activations, layout of A
        dgates = np.empty((4, N, H), dtype=self.dtype)      # one step's, gate-major (contiguous blocks)
        di, df, do, dg = dgates
        WhT = self.Wh.data.T
        dnext_h = np.zeros((N, H), dtype=self.dtype)
        dnext_c = (np.zeros((N, H), dtype=self.dtype) if dc is None  # gradient of c_T; a copy we overwrite
                   else np.array(float_input("LSTM.backward", "dc", dc, self.dtype, N=N, H=H), copy=True))
        dc, tmp = np.empty((N, H), dtype=self.dtype), np.empty((N, H), dtype=self.dtype)
        for t in range(T - 1, -1, -1):
            i, f, o, g = gates[t]
            tc = tanh_C[t]
            dh_t = dHs[t]
            dh_t += dnext_h
            # dc = dnext_c + dh * o * (1 - tanh(c)^2)
            np.multiply(tc, tc, out=dc)
            np.subtract(1, dc, out=dc)
            dc *= o
            dc *= dh_t
            dc += dnext_c
            # pre-activation gradients: sigmoid' = s (1 - s), tanh' = 1 - t^2
            np.multiply(dh_t, tc, out=do)
            np.subtract(1, o, out=tmp)
            tmp *= o
            do *= tmp
            np.multiply(dc, g, out=di)
            np.subtract(1, i, out=tmp)
            tmp *= i
            di *= tmp
            np.multiply(dc, Cs[t], out=df)
            np.subtract(1, f, out=tmp)
            tmp *= f
            df *= tmp
            np.multiply(dc, i, out=dg)
            np.multiply(g, g, out=tmp)
            np.subtract(1, tmp, out=tmp)
            dg *= tmp
            np.multiply(dc, f, out=dnext_c)
            np.copyto(dA[t].reshape(N, 4, H), dgates.transpose(1, 0, 2))
            np.matmul(dA[t], WhT, out=dnext_h)
        dx = self._accumulate_weight_grads(X, Hs[:-1].reshape(T * N, H), dA)
        if cache["has_c0"]:
            return dx, dnext_h, dnext_c
        return dx, dnext_h

    def step(self, x, prev_h, prev_c):
        """One step without cache: ``x (N, D), prev_h (N, H), prev_c (N, H) -> (next_h, next_c)``."""
        x, prev_h = self._check_step("LSTM.step", x, prev_h)
        prev_c = float_input("LSTM.step", "prev_c", prev_c, self.dtype, N=x.shape[0], H=self.hidden_dim)
        gates = np.empty((4,) + prev_h.shape, dtype=self.dtype)
        self._activate(self._step_preactivation(x, prev_h), gates)
        next_c, tanh_c, next_h, tmp = (np.empty_like(prev_h) for _ in range(4))
        self._cell(gates, prev_c, next_c, tanh_c, next_h, tmp)
        return next_h, next_c

    def initial_state(self, h0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(h0, c0)`` with ``c0 = 0`` (N, H), as the course's LSTM starts."""
        return h0, np.zeros_like(h0)

    def step_state(self, x, state):
        """One step without cache: ``x (N, D), (h, c) -> (next_h, (next_h, next_c))``."""
        h, c = self.step(x, *state)
        return h, (h, c)
