"""The course's ``cs231n/rnn_layers.py``: functional forward/backward pairs over the library's modules.

Shapes: N batch, T time steps, D input size, H hidden size, V vocabulary size, M output size.

Each forward returns ``(out, cache)`` and each backward takes ``(dout, cache)``, with the
course's names, arguments and return values. The work is done by ``minitorch_cap.nn``
(``RNN``, ``LSTM``, ``Embedding``, ``TemporalAffine``, ``TemporalSoftmaxLoss``); a step
function is its module run on a sequence of one step (T = 1). The module is built in the
dtype of the inputs: float64 inputs (the notebooks' gradient checks) are computed in float64,
float32 inputs in float32. The ``cache`` holds the module instance that ran the forward.

The course's ``rnn_layers`` also carries ``affine_forward`` / ``affine_backward``
(re-exported from :mod:`minitorch_cap.cs231n.layers`), so ``from ... rnn_layers import *``
gives a notebook every name it uses.
"""

from __future__ import annotations

import numpy as np

from ..nn import LSTM, RNN, Embedding, TemporalAffine, TemporalSoftmaxLoss
from ..nn import functional
from ..nn.checks import float_input
from ..nn.module import naming_child
from ._adapter import Cache, build, cached_module, fresh_grads, input_dtype, weight
from .layers import affine_backward, affine_forward, backward_of_affine

__all__ = [
    "affine_forward", "affine_backward",
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "word_embedding_forward", "word_embedding_backward", "sigmoid",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
]


# ---------------------------------------------------------------------------------- recurrent
def _recurrent(cls, owner: str, x, h0, Wx, Wh, b, *, step: bool):
    """Check the inputs of a recurrent forward and build its module: -> (module, x, h0)."""
    dtype = input_dtype(owner, x, h0, Wx, Wh, b)
    h_name = "prev_h" if step else "h0"
    x = float_input(owner, "x", x, dtype, N=None, D=None) if step else \
        float_input(owner, "x", x, dtype, N=None, T=None, D=None)
    h0 = float_input(owner, h_name, h0, dtype, N=x.shape[0], H=None)
    D, H = x.shape[-1], h0.shape[1]
    G = len(cls.GATES)
    gh = "H" if G == 1 else f"{G}H"
    module = build(cls, dtype, D, H,
                   Wx=weight(owner, "Wx", Wx, dtype, (D, G * H), ("D", gh)),
                   Wh=weight(owner, "Wh", Wh, dtype, (H, G * H), ("H", gh)),
                   b=weight(owner, "b", b, dtype, (G * H,), (gh,)))
    return module, x, h0


def _grad(owner: str, name: str, value, module, shape: tuple) -> np.ndarray:
    """An upstream gradient shaped like the forward's output: (N, H) for a step, (N, T, H) for a sequence."""
    dims = dict(zip("NT", shape[:-1]))
    return float_input(owner, name, value, module.dtype, **dims, H=module.hidden_dim)


def _weight_grads(module):
    return module.Wx.grad, module.Wh.grad, module.b.grad


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One tanh RNN step: ``next_h = tanh(x Wx + prev_h Wh + b)``.

    x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,) -> ``(next_h (N, H), cache)``.
    Raises ``ValueError`` / ``TypeError`` naming the argument on a wrong shape or kind.
    """
    rnn, x, prev_h = _recurrent(RNN, "rnn_step_forward", x, prev_h, Wx, Wh, b, step=True)
    next_h = rnn.forward(x[:, None, :], prev_h)[:, 0, :]
    return next_h, Cache("rnn_step_forward", rnn, x.shape)


def rnn_step_backward(dnext_h, cache):
    """Backward of :func:`rnn_step_forward`: dnext_h (N, H) -> ``(dx, dprev_h, dWx, dWh, db)``."""
    owner = "rnn_step_backward"
    rnn = cached_module(owner, cache, "rnn_step_forward")
    dnext_h = _grad(owner, "dnext_h", dnext_h, rnn, cache.shape)
    dx, dprev_h = fresh_grads(rnn).backward(dnext_h[:, None, :])
    return (dx[:, 0, :], dprev_h) + _weight_grads(rnn)


def rnn_forward(x, h0, Wx, Wh, b):
    """A tanh RNN over a sequence: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,) -> ``(h (N, T, H), cache)``."""
    rnn, x, h0 = _recurrent(RNN, "rnn_forward", x, h0, Wx, Wh, b, step=False)
    return rnn.forward(x, h0), Cache("rnn_forward", rnn, x.shape)


def rnn_backward(dh, cache):
    """Backward of :func:`rnn_forward`: dh (N, T, H), the upstream gradient of every hidden state,
    -> ``(dx (N, T, D), dh0 (N, H), dWx, dWh, db)``."""
    owner = "rnn_backward"
    rnn = cached_module(owner, cache, "rnn_forward")
    dh = _grad(owner, "dh", dh, rnn, cache.shape)
    dx, dh0 = fresh_grads(rnn).backward(dh)
    return (dx, dh0) + _weight_grads(rnn)


def sigmoid(x):
    """The logistic sigmoid, without overflow or warning for any finite x (the library's).

    Float arrays keep their dtype; anything else is computed in float64.
    """
    x = np.asarray(x)
    return functional.sigmoid(x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step, gates in the course's order i, f, o, g.

    x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) ->
    ``(next_h (N, H), next_c (N, H), cache)``.
    """
    owner = "lstm_step_forward"
    lstm, x, prev_h = _recurrent(LSTM, owner, x, prev_h, Wx, Wh, b, step=True)
    prev_c = float_input(owner, "prev_c", prev_c, lstm.dtype, N=x.shape[0], H=lstm.hidden_dim)
    next_h = lstm.forward(x[:, None, :], prev_h, prev_c)[:, 0, :]
    return next_h, lstm.final_cell(), Cache(owner, lstm, x.shape)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward of :func:`lstm_step_forward`: dnext_h (N, H), dnext_c (N, H) ->
    ``(dx (N, D), dprev_h, dprev_c, dWx (D, 4H), dWh (H, 4H), db (4H,))``."""
    owner = "lstm_step_backward"
    lstm = cached_module(owner, cache, "lstm_step_forward")
    dnext_h = _grad(owner, "dnext_h", dnext_h, lstm, cache.shape)
    dnext_c = _grad(owner, "dnext_c", dnext_c, lstm, cache.shape)
    dx, dprev_h, dprev_c = fresh_grads(lstm).backward(dnext_h[:, None, :], dnext_c)
    return (dx[:, 0, :], dprev_h, dprev_c) + _weight_grads(lstm)


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a sequence with ``c0 = 0``: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,)
    -> ``(h (N, T, H), cache)``."""
    lstm, x, h0 = _recurrent(LSTM, "lstm_forward", x, h0, Wx, Wh, b, step=False)
    return lstm.forward(x, h0), Cache("lstm_forward", lstm, x.shape)


def lstm_backward(dh, cache):
    """Backward of :func:`lstm_forward`: dh (N, T, H) -> ``(dx (N, T, D), dh0 (N, H), dWx, dWh, db)``."""
    owner = "lstm_backward"
    lstm = cached_module(owner, cache, "lstm_forward")
    dh = _grad(owner, "dh", dh, lstm, cache.shape)
    dx, dh0 = fresh_grads(lstm).backward(dh)
    return (dx, dh0) + _weight_grads(lstm)


# ---------------------------------------------------------------------------------- words
def word_embedding_forward(x, W):
    """Look up word vectors: x (N, T) int ids in [0, V), W (V, D) -> ``(out (N, T, D), cache)``.

    Ids outside [0, V) raise ``ValueError`` (negative ids are not wrapped around).
    """
    owner = "word_embedding_forward"
    dtype = input_dtype(owner, W)
    W = float_input(owner, "W", W, dtype, V=None, D=None)
    embed = build(Embedding, dtype, *W.shape, W=W)
    with naming_child(owner):
        out = embed.forward(x)
    return out, Cache(owner, embed, np.shape(x))


def word_embedding_backward(dout, cache):
    """Backward of :func:`word_embedding_forward`: dout (N, T, D) -> dW (V, D) (ids get no gradient)."""
    owner = "word_embedding_backward"
    embed = cached_module(owner, cache, "word_embedding_forward")
    N, T = cache.shape
    dout = float_input(owner, "dout", dout, embed.dtype, N=N, T=T, D=embed.dim)
    fresh_grads(embed).backward(dout)
    return embed.W.grad


def temporal_affine_forward(x, w, b):
    """One affine map at every time step: x (N, T, D), w (D, M), b (M,) -> ``(out (N, T, M), cache)``."""
    owner = "temporal_affine_forward"
    dtype = input_dtype(owner, x, w, b)
    x = float_input(owner, "x", x, dtype, N=None, T=None, D=None)
    w = float_input(owner, "w", w, dtype, D=x.shape[2], M=None)
    affine = build(TemporalAffine, dtype, *w.shape, W=w, b=weight(owner, "b", b, dtype, (w.shape[1],), ("M",)))
    return affine.forward(x), Cache(owner, affine, x.shape)


def temporal_affine_backward(dout, cache):
    """Backward of :func:`temporal_affine_forward`: dout (N, T, M) -> ``(dx (N, T, D), dw (D, M), db (M,))``."""
    return backward_of_affine("temporal_affine_backward", "temporal_affine_forward", dout, cache, "NT")


def temporal_softmax_loss(x, y, mask, verbose=False):
    """The captioning loss and its gradient: x (N, T, V) scores, y (N, T) ids, mask (N, T) bool.

    ``loss = -(1/N) sum_{n,t} mask[n,t] log softmax(x[n,t])[y[n,t]]`` (summed over time,
    averaged over the batch, as the course); returns ``(loss, dx (N, T, V))``. ``verbose``
    prints the flattened gradient's shape, as the course's does.
    """
    x_dtype = input_dtype("temporal_softmax_loss", x)
    criterion = TemporalSoftmaxLoss(dtype=x_dtype)
    with naming_child("temporal_softmax_loss"):
        loss = criterion.forward(x, y, mask)
    dx = criterion.backward(1.0)
    if verbose:
        N, T, V = dx.shape
        print("dx_flat: ", (N * T, V))
    return loss, dx
