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


def cell_forward(gates, prev_c, c_out, tanh_c_out, h_out) -> None:
    """``c = f*prev_c + i*g``, ``h = o*tanh(c)`` from the activated gates ``(i, f, o, g)`` (each (K, H)),
    into the outputs (K, H); ``c_out`` may be ``prev_c``. The one LSTM cell of :class:`LSTM` and
    :class:`~minitorch_cap.nn.attention_lstm.AttentionLSTM`."""
    i, f, o, g = gates
    np.multiply(f, prev_c, out=c_out)
    np.multiply(i, g, out=tanh_c_out)           # i*g, before tanh_c_out holds tanh(c)
    c_out += tanh_c_out
    np.tanh(c_out, out=tanh_c_out)
    np.multiply(o, tanh_c_out, out=h_out)


def cell_backward(dh, dnext_c, gates, tanh_c, prev_c, da) -> np.ndarray:
    """The backward of :func:`cell_forward` and of the gate activations, for one step of K rows:
    ``dh``, ``dnext_c`` (K, H) the gradients of ``h_t`` and ``c_t``; writes the gradients of the four
    pre-activations into ``da`` (four writable (K, H) views, in the order i, f, o, g) and returns
    ``dc_{t-1}`` (K, H), a new array.

    From ``c_t = f c_{t-1} + i g`` and ``h_t = o tanh(c_t)`` (the course's ``lstm_step_backward``;
    chainer's ``lstm.py``), with ``sigmoid' = s (1 - s)`` and ``tanh' = 1 - g^2``.
    """
    i, f, o, g = gates
    dc = dnext_c + dh * o * (1 - tanh_c * tanh_c)
    da[0][...] = dc * g * i * (1 - i)                     # di
    da[1][...] = dc * prev_c * f * (1 - f)                # df
    da[2][...] = dh * tanh_c * o * (1 - o)                # do
    da[3][...] = dc * i * (1 - g * g)                     # dg
    return dc * f


class LSTM(Recurrent):
    """``x (N, T, D), h0 (N, H), c0 (N, H) = zeros, lengths (N,) = None -> h (N, T, H)``.

    Weights ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)``, blocks in the order of ``GATES``.
    ``lengths``: integers in ``[0, T]`` (None: T for every row); row n runs steps
    ``0..lengths[n]-1`` only and ``h[n, t]`` is exactly 0 after them (as PyTorch pads a
    packed sequence). Bad lengths raise ``TypeError`` (not integers) or ``ValueError``
    (shape, range) naming ``LSTM.forward``.
    ``backward(dh)`` returns ``(dx, dh0)``, or ``(dx, dh0, dc0)`` when ``c0`` was passed; it
    ignores dh where a row did not run and gives dx = 0 there.
    ``backward(dh, dc)`` also takes the gradient of the last cell state (N, H), which
    :meth:`final_cell` returns: ``c_T``, or with lengths each row's own last cell state
    ``c_{lengths[n]}`` (``c0`` itself for a row of length 0, whose dc then passes to dc0). A
    caller that uses it (a single step, as the course's ``lstm_step_backward``, or a sequence
    continued elsewhere) passes its gradient there.
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

    def forward(self, x, h0, c0=None, lengths=None):
        x, h0, packing = self._check_sequence("LSTM.forward", x, h0, lengths)
        N, P, H = packing.N, packing.P, self.hidden_dim
        has_c0 = c0 is not None
        X, A = self._project_inputs(x, packing)           # X (P, D); A (P, 4H) = X Wx + b
        Hs = np.empty((N + P, H), dtype=self.dtype)       # states (sorted rows): h0, then each pair's h_t
        Cs = np.empty((N + P, H), dtype=self.dtype)       # c0, then each pair's c_t
        tanh_C = np.empty((P, H), dtype=self.dtype)       # tanh(c_t) of each pair
        Hs[packing.state(-1)] = packing.sort(h0)
        Cs[packing.state(-1)] = packing.sort(float_input("LSTM.forward", "c0", c0, self.dtype, N=N, H=H)) \
            if has_c0 else 0
        a = np.empty((N, 4 * H), dtype=self.dtype)        # one step's pre-activations
        for t in range(packing.steps):
            k, rows, new, prev = packing.k[t], packing.slice(t), packing.state(t), packing.previous(t)
            gates = A[rows].reshape(4, k, H)              # step t's block of A, once consumed, holds its gates
            self._hidden_product(Hs[prev], a[:k])
            a[:k] += A[rows]
            self._activate(a[:k], gates)
            cell_forward(gates, Cs[prev], Cs[new], tanh_C[rows], Hs[new])
        self._save_for_backward(packing=packing, X=X, gates=A, Hs=Hs, Cs=Cs, tanh_C=tanh_C, has_c0=has_c0)
        return packing.unpack(Hs[N:])

    def final_cell(self) -> np.ndarray:
        """Each row's last cell state (N, H) after the last forward: ``c_T``, or ``c_{lengths[n]}``
        when lengths were given (``c0`` for a row of length 0). A copy."""
        cache = self._saved()
        return cache["packing"].last(cache["Cs"])

    def backward(self, dh, dc=None):
        """``dh (N, T, H)``, ``dc (N, H) = None`` the gradient of :meth:`final_cell` -> ``(dx, dh0)``,
        or ``(dx, dh0, dc0)`` when the forward was given ``c0``.

        Per step (last first): :func:`cell_backward`, then ``dh_{t-1} = da Wh^T``.
        """
        cache = self._saved()
        packing, X, gates, Hs, Cs, tanh_C = (cache[k] for k in ("packing", "X", "gates", "Hs", "Cs", "tanh_C"))
        N, H = packing.N, self.hidden_dim
        dHs = self._check_grad("LSTM.backward", dh, packing)  # (P, H)
        dA = np.empty((packing.P, 4 * H), dtype=self.dtype)    # grad of the pre-activations, packed like A
        # dh_{t-1} and dc_{t-1} of the sorted rows. A row's final cell c_{lengths[n]} gets dc: its
        # row of dnext_c is read first at the row's last step (later steps run fewer rows).
        dnext_h = np.zeros((N, H), dtype=self.dtype)
        dnext_c = (np.zeros((N, H), dtype=self.dtype) if dc is None
                   else packing.sort(float_input("LSTM.backward", "dc", dc, self.dtype, N=N, H=H)))
        for t in range(packing.steps - 1, -1, -1):
            k, rows = packing.k[t], packing.slice(t)
            da = dA[rows].reshape(k, 4, H).transpose(1, 0, 2)   # gate blocks i, f, o, g of step t
            dh_t = dHs[rows] + dnext_h[:k]
            dnext_c[:k] = cell_backward(dh_t, dnext_c[:k], gates[rows].reshape(4, k, H), tanh_C[rows],
                                        Cs[packing.previous(t)], da)
            self._hidden_grad(dA[rows], dnext_h[:k])              # dh_{t-1} = da Wh^T
        dx = self._accumulate_weight_grads(packing, X, Hs, dA)
        if cache["has_c0"]:
            return dx, packing.unsort(dnext_h), packing.unsort(dnext_c)
        return dx, packing.unsort(dnext_h)

    def step(self, x, prev_h, prev_c):
        """One step without cache: ``x (N, D), prev_h (N, H), prev_c (N, H) -> (next_h, next_c)``."""
        x, prev_h = self._check_step("LSTM.step", x, prev_h)
        prev_c = float_input("LSTM.step", "prev_c", prev_c, self.dtype, N=x.shape[0], H=self.hidden_dim)
        gates = np.empty((4,) + prev_h.shape, dtype=self.dtype)
        self._activate(self._step_preactivation(x, prev_h), gates)
        next_c, tanh_c, next_h = (np.empty_like(prev_h) for _ in range(3))
        cell_forward(gates, prev_c, next_c, tanh_c, next_h)
        return next_h, next_c

    def initial_state(self, h0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(h0, c0)`` with ``c0 = 0`` (N, H), as the course's LSTM starts."""
        return h0, np.zeros_like(h0)

    def step_state(self, x, state):
        """One step without cache: ``x (N, D), (h, c) -> (next_h, (next_h, next_c))``."""
        h, c = self.step(x, *state)
        return h, (h, c)
