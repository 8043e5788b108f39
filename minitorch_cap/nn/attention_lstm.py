"""Attention LSTM: an LSTM that attends over image regions at every step.

The recurrent cell of EECS 498-007 assignment 4 (``attention='dot'``: scaled dot-product
attention over a grid of CNN features) and of Show, Attend and Tell (Xu et al. 2015,
``attention='additive'``: Bahdanau's additive scores and a gate on the context, sec. 4.2.1).

Shapes: N batch, T time steps, D input size, H hidden size (= region size), P regions,
A attention size, M the (row, step) pairs that run (the sum of the lengths).

At step t, from the previous hidden state ``h = h_{t-1}`` and the regions ``r (P, H)``::

    dot:       e_p = h . r_p / sqrt(H)
    additive:  e_p = v . tanh(h Wq + r_p Wk + ba)
    alpha = softmax_p(e),  context = sum_p alpha_p r_p
    additive:  beta = sigmoid(h Wbeta + bbeta),  context = beta * context
    a = x_t Wx + h Wh + context Wattn + b,  split i, f, o, g  (the LSTM's gate order)
    c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t)

with ``h0 = c0 = mean_p r_p`` (the assignment's initial state).

Layout: rows are sorted by length once per forward (longest first), so step t runs on the
first ``k_t`` rows, and the per-step arrays of all steps are stacked into ``(M, ...)``
arrays, step t at rows ``off[t]:off[t+1]`` (PyTorch's ``PackedSequence`` layout). Every
per-step slice is contiguous, no padding position is computed, and the weight gradients are
one product each over all M pairs. The products of the hidden state are fused: ``h W_h``
with ``W_h = [Wh | Wq | Wbeta]`` (``Wh`` alone for ``dot``) gives ``h Wh``, the query and
the gate's pre-activation at once, and backward's ``dh_{t-1} = dZ W_h^T`` likewise.
"""

from __future__ import annotations

import math

import numpy as np

from .attention import masked_softmax
from .checks import SettingsError, choice_option, float_input, int_option
from .functional import sigmoid_
from .init import as_generator, scaled_randn
from .lstm import cell_backward, cell_forward
from .module import Module
from .parameter import Parameter
from .recurrent import Packing, check_lengths

ATTENTIONS = ("dot", "additive")


class AttentionLSTM(Module):
    """``x (N, T, D), regions (N, P, H), lengths (N,) = None -> h (N, T, H)``.

    ``AttentionLSTM(input_dim, hidden_dim, attention='dot'|'additive', attention_dim=None,
    dtype=np.float32, rng=None)``. Parameters: ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``Wattn (H, 4H)``,
    ``b (4H,)``; ``additive`` adds ``Wq (H, A)``, ``Wk (H, A)``, ``ba (A,)``, ``v (A,)``,
    ``Wbeta (H, 1)``, ``bbeta (1,)`` with ``A = attention_dim`` (default H; only ``additive``
    takes it). Initialisation as the other cells: weights ``randn / sqrt(fan_in)`` (``v``:
    ``randn / sqrt(A)``), biases zero, drawn in the order above from ``rng`` (a
    ``numpy.random.Generator``) or numpy's global state.

    ``forward(x, regions, lengths=None)``: ``lengths (N,)`` integers in ``[0, T]`` (None: T
    for every row); row n runs steps ``0..lengths[n]-1`` only, and ``h`` and
    ``attn_weights`` are exactly 0 after them. ``attn_weights (N, T, P)`` holds alpha after a
    forward. ``backward(dh, dattn=None) -> (dx, dregions)``: ``dattn (N, T, P)`` is an optional
    gradient of the loss with respect to ``attn_weights`` (a regulariser's); both are
    ignored after each row's length, and ``dx`` is 0 there. Parameter gradients accumulate.

    Decoding state (:meth:`initial_state`, :meth:`step_state`): ``(h, c, regions)``, plus the
    keys ``regions Wk + ba (N, P, A)`` for ``additive``; axis 0 is the row. After a step,
    ``step_attn_weights (K, P)`` holds that step's alpha.

    Errors: bad sizes or options raise ``ValueError``; inputs of the wrong shape, or lengths
    that are not integers in ``[0, T]``, raise ``ValueError``/``TypeError`` naming the input.
    """

    GATES = ("i", "f", "o", "g")

    def __init__(self, input_dim: int, hidden_dim: int, attention: str = "dot", attention_dim: int | None = None,
                 dtype=np.float32, rng=None):
        super().__init__(dtype)
        owner = "AttentionLSTM"
        self.input_dim = int_option(owner, "input_dim", input_dim)
        self.hidden_dim = int_option(owner, "hidden_dim", hidden_dim)
        choice_option(owner, "attention", attention, ATTENTIONS)
        if attention == "dot" and attention_dim is not None:
            raise SettingsError(f"{owner}: attention_dim applies to attention='additive' only (dot-product scores "
                                f"have no attention layer), got attention_dim={attention_dim!r}")
        self.attention = attention
        D, H = self.input_dim, self.hidden_dim
        rng = as_generator(rng, owner)
        self.Wx = Parameter(scaled_randn(rng, (D, 4 * H), np.sqrt(D)), self.dtype)
        self.Wh = Parameter(scaled_randn(rng, (H, 4 * H), np.sqrt(H)), self.dtype)
        self.Wattn = Parameter(scaled_randn(rng, (H, 4 * H), np.sqrt(H)), self.dtype)
        self.b = Parameter(np.zeros(4 * H), self.dtype)
        self.attention_dim = None
        if attention == "additive":
            A = self.attention_dim = H if attention_dim is None else int_option(owner, "attention_dim", attention_dim)
            self.Wq = Parameter(scaled_randn(rng, (H, A), np.sqrt(H)), self.dtype)
            self.Wk = Parameter(scaled_randn(rng, (H, A), np.sqrt(H)), self.dtype)
            self.ba = Parameter(np.zeros(A), self.dtype)
            self.v = Parameter(scaled_randn(rng, (A,), np.sqrt(A)), self.dtype)
            self.Wbeta = Parameter(scaled_randn(rng, (H, 1), np.sqrt(H)), self.dtype)
            self.bbeta = Parameter(np.zeros(1), self.dtype)
        self.attn_weights = None            # (N, T, P) alpha of the last forward
        self.step_attn_weights = None       # (K, P) alpha of the last step_state

    @property
    def additive(self) -> bool:
        return self.attention == "additive"

    def _hidden_weights(self) -> np.ndarray:
        """``W_h = [Wh | Wq | Wbeta]`` (H, 4H + A + 1) for additive, ``Wh`` (H, 4H) for dot."""
        if not self.additive:
            return self.Wh.data
        return np.concatenate([self.Wh.data, self.Wq.data, self.Wbeta.data], axis=1)

    # ------------------------------------------------------------------ checks
    def _check_regions(self, owner: str, regions, N: int | None = None) -> np.ndarray:
        regions = float_input(owner, "regions", regions, self.dtype, N=N, P=None, H=self.hidden_dim)
        if regions.shape[1] == 0:
            raise ValueError(f"{owner}: regions need P >= 1 regions, got shape {regions.shape}")
        return regions

    # ------------------------------------------------------------------ one step
    def _step(self, a, h, c, regions, keys, W_h, out) -> None:
        """One step on K rows, written into ``out`` (a dict of arrays):

        a (K, 4H) holds ``x Wx + b`` and becomes the gates (activated in place); h, c (K, H)
        the previous state; regions (K, P, H); keys (K, P, A) or None; out: ``alpha (K, P)``,
        ``gated (K, H)`` (the context entering ``Wattn``), ``c`` and ``tanh_c`` and ``h``
        (K, H), and for additive ``context (K, H)`` (before the gate), ``beta (K, 1)``,
        ``u (K, P, A)``. ``out["c"]`` may be ``c`` itself; ``out["h"]`` must not be ``h``.
        """
        H = self.hidden_dim
        z = h @ W_h                                                  # [h Wh | h Wq | h Wbeta]
        a += z[:, :4 * H]                                            # x Wx + b + h Wh
        alpha = out["alpha"]
        if self.additive:
            A = self.attention_dim
            u = out["u"]
            np.add(keys, z[:, None, 4 * H:4 * H + A], out=u)
            np.tanh(u, out=u)                                        # u_p = tanh(h Wq + r_p Wk + ba)
            np.matmul(u, self.v.data, out=alpha)                     # e_p = v . u_p
        else:
            np.matmul(regions, h[:, :, None], out=alpha[:, :, None])
            alpha *= 1.0 / math.sqrt(H)                              # e_p = h . r_p / sqrt(H)
        masked_softmax(alpha, None)                                  # alpha = softmax_p(e)
        context = out["context"] if self.additive else out["gated"]
        np.matmul(alpha[:, None, :], regions, out=context[:, None, :])  # context = sum_p alpha_p r_p
        if self.additive:
            beta = out["beta"]
            np.add(z[:, 4 * H + self.attention_dim:], self.bbeta.data, out=beta)
            sigmoid_(beta)                                           # beta = sigmoid(h Wbeta + bbeta)
            np.multiply(beta, context, out=out["gated"])             # context *= beta
        a += out["gated"] @ self.Wattn.data                          # a = x Wx + h Wh + context Wattn + b
        sigmoid_(a[:, :3 * H])                                       # i, f, o = sigmoid
        np.tanh(a[:, 3 * H:], out=a[:, 3 * H:])                      # g = tanh
        cell_forward(a.reshape(-1, 4, H).transpose(1, 0, 2), c, out["c"], out["tanh_c"], out["h"])

    def _step_buffers(self, K: int, P: int) -> dict:
        H, dt = self.hidden_dim, self.dtype
        out = {name: np.empty((K, H), dtype=dt) for name in ("gated", "c", "tanh_c", "h")}
        out["alpha"] = np.empty((K, P), dtype=dt)
        if self.additive:
            out["context"] = np.empty((K, H), dtype=dt)
            out["beta"] = np.empty((K, 1), dtype=dt)
            out["u"] = np.empty((K, P, self.attention_dim), dtype=dt)
        return out

    # ------------------------------------------------------------------ sequence
    def forward(self, x, regions, lengths=None):
        owner = "AttentionLSTM.forward"
        x = float_input(owner, "x", x, self.dtype, N=None, T=None, D=self.input_dim)
        N, T, D = x.shape
        if T == 0:
            raise ValueError(f"{owner}: x has no time steps (T=0)")
        regions = self._check_regions(owner, regions, N)
        lengths = check_lengths(owner, lengths, N, T)
        H, P = self.hidden_dim, regions.shape[1]
        pack = Packing(lengths, T)
        M, order = pack.P, pack.order
        R = np.ascontiguousarray(regions[order])                    # (N, P, H) rows sorted by length
        keys = None
        if self.additive:
            keys = R @ self.Wk.data                                  # (N, P, A) = r Wk + ba
            keys += self.ba.data
        W_h = self._hidden_weights()
        X = x.reshape(N * T, D)[pack.flat]                           # (M, D) packed inputs
        gates = X @ self.Wx.data                                     # (M, 4H): x Wx + b, then the gates
        gates += self.b.data
        buffers = {name: np.empty((M, H), dtype=self.dtype) for name in ("Hprev", "Cprev", "tanh_c", "gated", "Hout")}
        buffers["alpha"] = np.empty((M, P), dtype=self.dtype)
        if self.additive:
            buffers["context"] = np.empty((M, H), dtype=self.dtype)
            buffers["beta"] = np.empty((M, 1), dtype=self.dtype)
            buffers["u"] = np.empty((M, P, self.attention_dim), dtype=self.dtype)
        h = R.mean(axis=1)                                           # h0 = c0 = mean_p r_p (sorted rows)
        c = h.copy()
        for t in range(pack.steps):
            k, s = pack.k[t], pack.slice(t)
            buffers["Hprev"][s] = h[:k]
            buffers["Cprev"][s] = c[:k]
            out = {name: buffers[name][s] for name in buffers if name not in ("Hprev", "Cprev", "Hout")}
            out.update(c=c[:k], h=buffers["Hout"][s])
            self._step(gates[s], buffers["Hprev"][s], buffers["Cprev"][s], R[:k], None if keys is None else keys[:k],
                       W_h, out)
            h[:k] = buffers["Hout"][s]
        self.attn_weights = pack.unpack(buffers["alpha"])
        self._save_for_backward(pack=pack, X=X, gates=gates, R=R, W_h=W_h, regions_shape=regions.shape,
                                **{k: v for k, v in buffers.items() if k != "Hout"})
        return pack.unpack(buffers["Hout"])

    def backward(self, dh, dattn=None):
        cache = self._saved()
        owner = "AttentionLSTM.backward"
        pack, R, W_h = cache["pack"], cache["R"], cache["W_h"]
        N, P, H = cache["regions_shape"]
        T = pack.T
        dH = pack.pack(float_input(owner, "dh", dh, self.dtype, N=N, T=T, H=H))             # (M, H)
        dE_ext = None if dattn is None else pack.pack(float_input(owner, "dattn", dattn, self.dtype, N=N, T=T, P=P))
        gates, alpha, tanh_C, Cprev = cache["gates"], cache["alpha"], cache["tanh_c"], cache["Cprev"]
        M, A = pack.P, self.attention_dim or 0
        dZ = np.empty((M, W_h.shape[1]), dtype=self.dtype)          # grad of [h Wh | h Wq | h Wbeta + bbeta]
        dA = dZ[:, :4 * H]                                           # grad of the pre-activations a
        dE = np.empty((M, P), dtype=self.dtype)                     # grad of the scores e
        dContext = np.empty((M, H), dtype=self.dtype)               # grad of the (ungated) context
        dkeys = np.zeros((N, P, A), dtype=self.dtype) if self.additive else None
        dpre_buffer = np.empty((N, P, A), dtype=self.dtype) if self.additive else None
        WattnT, W_hT = np.ascontiguousarray(self.Wattn.data.T), np.ascontiguousarray(W_h.T)
        scale = 1.0 / math.sqrt(H)
        dnext_h = np.zeros((N, H), dtype=self.dtype)
        dnext_c = np.zeros((N, H), dtype=self.dtype)
        for t in range(pack.steps - 1, -1, -1):
            k, s = pack.k[t], pack.slice(t)
            da = dA[s]
            i_f_o_g, da_blocks = (y.reshape(k, 4, H).transpose(1, 0, 2) for y in (gates[s], da))   # (4, k, H)
            dnext_c[:k] = cell_backward(dH[s] + dnext_h[:k], dnext_c[:k], i_f_o_g, tanh_C[s], Cprev[s], da_blocks)
            # a = x Wx + h Wh + context Wattn + b
            dgated = da @ WattnT
            if self.additive:
                # context = beta * context0, beta = sigmoid(h Wbeta + bbeta)
                beta = cache["beta"][s]
                dZ[s, 4 * H + A:] = (dgated * cache["context"][s]).sum(axis=1, keepdims=True) * beta * (1 - beta)
                dgated *= beta
            dContext[s] = dgated
            # context = sum_p alpha_p r_p
            dalpha = np.matmul(R[:k], dgated[:, :, None])[:, :, 0]
            if dE_ext is not None:
                dalpha += dE_ext[s]
            # alpha = softmax(e):  de = alpha (dalpha - sum_p alpha_p dalpha_p)
            a_t = alpha[s]
            de = dE[s]
            np.multiply(a_t, dalpha - (a_t * dalpha).sum(axis=1, keepdims=True), out=de)
            if self.additive:
                # e_p = v . u_p,  u_p = tanh(h Wq + keys_p):  d(pre) = de_p v (1 - u_p^2)
                u, dpre = cache["u"][s], dpre_buffer[:k]             # (k, P, A)
                np.multiply(u, u, out=dpre)
                np.subtract(1, dpre, out=dpre)
                dpre *= self.v.data
                dpre *= de[:, :, None]                               # d(pre) = de_p v (1 - u_p^2)
                dkeys[:k] += dpre
                dZ[s, 4 * H:4 * H + A] = dpre.sum(axis=1)           # grad of h Wq
                dprev_h = dZ[s] @ W_hT
            else:
                # e_p = h . r_p / sqrt(H)
                dprev_h = da @ W_hT
                dprev_h += np.matmul(de[:, None, :], R[:k])[:, 0] * scale
            dnext_h[:k] = dprev_h
        return self._parameter_and_input_grads(cache, dZ, dE, dContext, dkeys, dnext_h, dnext_c, scale)

    def _parameter_and_input_grads(self, cache, dZ, dE, dContext, dkeys, dh0, dc0, scale):
        """The products over all M pairs: every parameter gradient, dx (N, T, D) and dregions (N, P, H)."""
        pack, R, X, Hprev = cache["pack"], cache["R"], cache["X"], cache["Hprev"]
        N, P, H = cache["regions_shape"]
        dA = dZ[:, :4 * H]
        self.Wx.grad += X.T @ dA
        self.b.grad += dA.sum(axis=0)
        self.Wattn.grad += cache["gated"].T @ dA
        dW_h = Hprev.T @ dZ                                          # [dWh | dWq | dWbeta]
        self.Wh.grad += dW_h[:, :4 * H]
        dx = pack.unpack(dA @ self.Wx.data.T)
        # dregions: h0 = c0 = mean_p r_p, context = sum_p alpha_p r_p, and the scores
        left, right = [cache["alpha"]], [dContext]                   # sum_t alpha_t[p] dcontext_t
        if self.additive:
            A = self.attention_dim
            self.Wq.grad += dW_h[:, 4 * H:4 * H + A]
            self.Wbeta.grad += dW_h[:, 4 * H + A:]
            self.bbeta.grad += dZ[:, 4 * H + A:].sum(axis=0)
            self.v.grad += dE.reshape(-1) @ cache["u"].reshape(-1, A)   # e_p = v . u_p
            dkeys2 = dkeys.reshape(N * P, A)
            self.Wk.grad += R.reshape(N * P, H).T @ dkeys2           # keys = r Wk + ba
            self.ba.grad += dkeys2.sum(axis=0)
            dR = (dkeys2 @ self.Wk.data.T).reshape(N, P, H)
        else:
            left.append(dE * scale)                                  # sum_t de_t[p] h_{t-1} / sqrt(H)
            right.append(Hprev)
            dR = np.zeros((N, P, H), dtype=self.dtype)
        L = np.concatenate([pack.padded(a) for a in left])           # (S, N, P), S = 1 or 2 padded sequences
        Rt = np.concatenate([pack.padded(a) for a in right])         # (S, N, H)
        dR += np.matmul(L.transpose(1, 2, 0), Rt.transpose(1, 0, 2))
        dR += ((dh0 + dc0) / P)[:, None, :]
        dregions = np.empty_like(dR)
        dregions[pack.order] = dR
        return dx, dregions

    # ------------------------------------------------------------------ inspection and decoding
    def attend(self, h, regions) -> tuple[np.ndarray, np.ndarray]:
        """The attention of one step, without cache: ``h (N, H)`` the previous hidden state,
        ``regions (N, P, H)`` -> ``(context (N, H), alpha (N, P))``, the context after the gate
        for ``additive`` (what enters ``Wattn``). EECS 498's ``dot_product_attention``."""
        owner = "AttentionLSTM.attend"
        h = float_input(owner, "h", h, self.dtype, N=None, H=self.hidden_dim)
        regions = self._check_regions(owner, regions, h.shape[0])
        state = self.initial_state(regions)
        out = self._step_buffers(h.shape[0], regions.shape[1])
        a = np.zeros((h.shape[0], 4 * self.hidden_dim), dtype=self.dtype)
        self._step(a, h, np.zeros_like(h), regions, state[3] if self.additive else None, self._hidden_weights(), out)
        return out["gated"], out["alpha"]

    def initial_state(self, regions) -> tuple[np.ndarray, ...]:
        """``regions (N, P, H)`` -> ``(h0, c0, regions)`` (+ ``keys (N, P, A)`` for additive), ``h0 = c0 = mean_p r_p``."""
        regions = self._check_regions("AttentionLSTM.initial_state", regions)
        h0 = regions.mean(axis=1)
        state = (h0, h0.copy(), regions)
        if self.additive:
            keys = regions @ self.Wk.data
            keys += self.ba.data
            state += (keys,)
        return state

    def step_state(self, x, state) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """One step without cache: ``x (K, D)``, a state of K rows -> ``(h (K, H), next state)``.

        ``step_attn_weights (K, P)`` then holds the step's attention weights.
        """
        owner = "AttentionLSTM.step_state"
        x = float_input(owner, "x", x, self.dtype, N=None, D=self.input_dim)
        state = tuple(state)
        size = 4 if self.additive else 3
        if len(state) != size:
            raise ValueError(f"{owner}: expected a state of {size} arrays (from initial_state), got {len(state)}")
        K, H = x.shape[0], self.hidden_dim
        h = float_input(owner, "h", state[0], self.dtype, K=K, H=H)
        c = float_input(owner, "c", state[1], self.dtype, K=K, H=H)
        regions = self._check_regions(owner, state[2], K)
        keys = float_input(owner, "keys", state[3], self.dtype, K=K, P=regions.shape[1], A=self.attention_dim) \
            if self.additive else None
        a = x @ self.Wx.data
        a += self.b.data
        out = self._step_buffers(K, regions.shape[1])
        self._step(a, h, c, regions, keys, self._hidden_weights(), out)
        self.step_attn_weights = out["alpha"]
        return out["h"], (out["h"], out["c"]) + state[2:]

    def extra_repr(self) -> str:
        extra = f", attention_dim={self.attention_dim}" if self.additive else ""
        return (f"input_dim={self.input_dim}, hidden_dim={self.hidden_dim}, attention={self.attention!r}{extra}, "
                f"dtype={self.dtype.name}")
