"""A straightforward per-time-step training step: the usual CS231n student code.

This is the baseline the benchmark compares the library against. It is written the way
the assignment is usually solved: one ``*_step_forward`` / ``*_step_backward`` pair per
time step, a cache tuple per step, the input projection inside the loop, the vocabulary
projection and softmax over every position (masked afterwards), and ``np.add.at`` for the
embedding gradient. It computes exactly the same loss and gradients as
``CaptioningModel.loss`` (the benchmark checks the loss).

``reference_loss(params, features, captions, cell_type, null_id=0) -> (loss, grads)``
takes the parameters by the model's dotted names (``model.state_dict()``).
Shapes: N batch, T time steps, D feature size, W word-vector size, H hidden, V vocabulary.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1)


# ---------------------------------------------------------------------- cells, one step
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h ** 2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tc ** 2)
    di, df, do, dg = dc * g, dc * prev_c, dnext_h * tc, dc * i
    da = np.hstack((di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)))
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def gru_step_forward(x, prev_h, Wx, Wh, b):
    H = prev_h.shape[1]
    ax = x @ Wx + b
    ah = prev_h @ Wh
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    next_h = (1 - z) * n + z * prev_h
    return next_h, (x, prev_h, Wx, Wh, r, z, n, ah[:, 2 * H:])


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, r, z, n, ahn = cache
    dn = dnext_h * (1 - z) * (1 - n ** 2)
    dr = dn * ahn * r * (1 - r)
    dz = dnext_h * (prev_h - n) * z * (1 - z)
    dax = np.hstack((dr, dz, dn))
    dah = np.hstack((dr, dz, dn * r))
    dprev_h = dah @ Wh.T + dnext_h * z
    return dax @ Wx.T, dprev_h, x.T @ dax, prev_h.T @ dah, dax.sum(axis=0)


# ---------------------------------------------------------------------- whole sequences
def sequence_forward(cell_type, x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=x.dtype)
    caches, prev_h, prev_c = [], h0, np.zeros_like(h0)
    for t in range(T):
        if cell_type == "lstm":
            prev_h, prev_c, cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        elif cell_type == "gru":
            prev_h, cache = gru_step_forward(x[:, t], prev_h, Wx, Wh, b)
        else:
            prev_h, cache = rnn_step_forward(x[:, t], prev_h, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(cache)
    return h, caches


def sequence_backward(cell_type, dh, caches, Wx, Wh, b):
    N, T, H = dh.shape
    dx = np.zeros((N, T, Wx.shape[0]), dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dprev_h, dprev_c = np.zeros((N, H), dtype=dh.dtype), np.zeros((N, H), dtype=dh.dtype)
    for t in reversed(range(T)):
        if cell_type == "lstm":
            dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, caches[t])
        elif cell_type == "gru":
            dx_t, dprev_h, dWx_t, dWh_t, db_t = gru_step_backward(dh[:, t] + dprev_h, caches[t])
        else:
            dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, caches[t])
        dx[:, t] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def temporal_softmax_loss(x, y, mask):
    """CS231n's version: every position is computed, then masked."""
    N, T, V = x.shape
    x_flat, y_flat, mask_flat = x.reshape(N * T, V), y.reshape(N * T), mask.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    dx_flat *= mask_flat[:, None]
    return loss, dx_flat.reshape(N, T, V)


# ---------------------------------------------------------------------- the training step
def reference_loss(params, features, captions, cell_type, null_id=0):
    """One training step the textbook way: (loss, grads by the model's parameter names)."""
    p = params
    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    mask = captions_out != null_id
    h0 = features @ p["proj.W"] + p["proj.b"]
    x = p["embed.W"][captions_in]
    h, caches = sequence_forward(cell_type, x, h0, p["rnn.Wx"], p["rnn.Wh"], p["rnn.b"])
    N, T, H = h.shape
    scores = (h.reshape(N * T, H) @ p["vocab.W"] + p["vocab.b"]).reshape(N, T, -1)
    loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

    grads = {}
    dscores2 = dscores.reshape(N * T, -1)
    grads["vocab.W"] = h.reshape(N * T, H).T @ dscores2
    grads["vocab.b"] = dscores2.sum(axis=0)
    dh = (dscores2 @ p["vocab.W"].T).reshape(N, T, H)
    dx, dh0, grads["rnn.Wx"], grads["rnn.Wh"], grads["rnn.b"] = sequence_backward(
        cell_type, dh, caches, p["rnn.Wx"], p["rnn.Wh"], p["rnn.b"])
    dW_embed = np.zeros_like(p["embed.W"])
    np.add.at(dW_embed, captions_in, dx)
    grads["embed.W"] = dW_embed
    grads["proj.W"] = features.T @ dh0
    grads["proj.b"] = dh0.sum(axis=0)
    return loss, grads
