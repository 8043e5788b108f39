"""The attention LSTM and its captioner written in PyTorch (float64), step by step from the
formulas of the SPEC's "Attention LSTM captioning" section: the oracle of
tests/nn/test_attention_lstm.py and tests/captioners/test_recurrent_attention.py.

Nothing here is shared with the library: autograd differentiates this independent version.
"""

from __future__ import annotations

import math


def attention_lstm(torch, p, x, regions, lengths, attention):
    """h (N, T, H) and alpha (N, T, P), zero after each row's length; ``p`` maps parameter names to tensors."""
    N, T, _ = x.shape
    H = regions.shape[2]
    h = regions.mean(dim=1)                                         # h0 = c0 = mean_p r_p
    c = h.clone()
    hs, alphas = [], []
    for t in range(T):
        if attention == "dot":
            e = (regions @ h.unsqueeze(2)).squeeze(2) / math.sqrt(H)
        else:
            keys = regions @ p["Wk"] + p["ba"]
            e = torch.tanh(keys + (h @ p["Wq"]).unsqueeze(1)) @ p["v"]
        alpha = torch.softmax(e, dim=1)
        context = (alpha.unsqueeze(1) @ regions).squeeze(1)
        if attention == "additive":
            context = torch.sigmoid(h @ p["Wbeta"] + p["bbeta"]) * context
        a = x[:, t] @ p["Wx"] + h @ p["Wh"] + context @ p["Wattn"] + p["b"]
        i, f, o, g = a.chunk(4, dim=1)
        c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_next = torch.sigmoid(o) * torch.tanh(c_next)
        running = (lengths > t).to(x.dtype).unsqueeze(1)           # rows past their length keep their state
        c = running * c_next + (1 - running) * c
        h = running * h_next + (1 - running) * h
        hs.append(running * h_next)
        alphas.append(running * alpha)
    return torch.stack(hs, dim=1), torch.stack(alphas, dim=1)


def captioning_loss(torch, p, features, captions, null_id, attention, attention_reg):
    """The attention captioner's loss: projection region by region, embedding, attention LSTM over
    the whole caption (no lengths), vocabulary, masked softmax loss summed over time and averaged over
    the batch, plus ``attention_reg / N * sum_{n,p} (1 - sum_t mask alpha)^2``."""
    if features.ndim == 2:
        features = features.unsqueeze(1)
    N = features.shape[0]
    regions = features @ p["proj.W"] + p["proj.b"]
    words_in, targets = captions[:, :-1], captions[:, 1:]
    mask = (targets != null_id).to(features.dtype)
    x = p["embed.W"][words_in]
    cell = {k[len("rnn."):]: v for k, v in p.items() if k.startswith("rnn.")}
    T = words_in.shape[1]
    h, alpha = attention_lstm(torch, cell, x, regions, torch.full((N,), T), attention)
    scores = h @ p["vocab.W"] + p["vocab.b"]
    logp = torch.log_softmax(scores, dim=2).gather(2, targets.unsqueeze(2)).squeeze(2)
    loss = -(logp * mask).sum() / N
    coverage = (alpha * mask.unsqueeze(2)).sum(dim=1)
    return loss + attention_reg / N * ((1 - coverage) ** 2).sum()
