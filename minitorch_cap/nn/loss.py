"""Temporal softmax cross-entropy: the captioning loss (a Criterion in Torch's words).

Shapes: N batch, T time steps, V vocabulary size.
"""

from __future__ import annotations

import numpy as np

from .checks import float_input, index_input, mask_input
from .module import Module


class TemporalSoftmaxLoss(Module):
    """``scores (N, T, V), targets (N, T) int, mask (N, T) -> loss`` (a Python float).

    ``loss = -(1/Z) * sum_{n,t} mask[n,t] * log softmax(scores[n,t])[targets[n,t]]``

    with ``Z = N`` (``normalize='batch'``, the SPEC and CS231n: summed over time,
    averaged over the batch), ``Z =`` number of unmasked tokens (``normalize='tokens'``),
    or ``Z = N * T`` (``normalize='positions'``: the mean over every position, masked ones
    counting as zero, as the course's Transformer solver computes it).
    ``mask=None`` counts every position. The log-softmax is shifted by the row maximum
    (stable), and only unmasked positions are computed. An
    empty batch (N = 0) or a fully masked one has loss 0 and zero gradient.

    Packed rows: ``forward(scores (1, M, V), targets (1, M), batch_shape=(N, T))`` takes
    only the M unmasked positions of an (N, T) batch (in N*T order) and normalises as for
    that batch; a model uses it to skip the masked positions' vocabulary scores.

    ``backward(dloss=1.0)`` returns ``dscores`` in the layout of the last forward's
    ``scores``; masked positions get zeros.
    """

    NORMALIZATIONS = ("batch", "tokens", "positions")
    #: What one unit of the loss is, by normalisation (progress lines say it).
    UNITS = {"batch": "per caption", "tokens": "per word", "positions": "per position"}

    def __init__(self, normalize: str = "batch", dtype=np.float32):
        super().__init__(dtype)
        if normalize not in self.NORMALIZATIONS:
            raise ValueError(f"TemporalSoftmaxLoss: normalize must be one of {list(self.NORMALIZATIONS)}, "
                             f"got {normalize!r}")
        self.normalize = normalize

    def forward(self, scores, targets, mask=None, *, batch_shape=None):
        owner = "TemporalSoftmaxLoss.forward"
        scores = float_input(owner, "scores", scores, self.dtype, N=None, T=None, V=None)
        N, T, V = scores.shape
        if V == 0:
            raise ValueError(f"{owner}: scores need V >= 1 classes, got shape {scores.shape}")
        targets = index_input(owner, "targets", targets, V, N=N, T=T)
        mask = np.ones((N, T), dtype=bool) if mask is None else mask_input(owner, "mask", mask, N=N, T=T)
        if batch_shape is None:
            batch_N, batch_T = N, T
        else:
            batch_N, batch_T = (int(d) for d in batch_shape)
            if N != 1 or T > batch_N * batch_T:
                raise ValueError(f"{owner}: packed rows need scores of shape (1, M, V) with M <= N*T of "
                                 f"batch_shape={tuple(batch_shape)}, got {scores.shape}")
        rows = np.flatnonzero(mask)                         # (M,) unmasked positions in N*T order
        scores2 = scores.reshape(N * T, V)
        if rows.size == N * T:                              # nothing masked: no gather needed
            shifted = scores2 - scores2.max(axis=1, keepdims=True)
        else:
            shifted = scores2[rows]                         # (M, V) copy we own
            shifted -= shifted.max(axis=1, keepdims=True)
        chosen = targets.reshape(-1)[rows]                  # (M,)
        chosen_shifted = shifted[np.arange(rows.size), chosen]
        probs = np.exp(shifted, out=shifted)                # (M, V) unnormalised, in place
        sums = probs.sum(axis=1)                            # (M,)
        log_likelihood = chosen_shifted - np.log(sums)
        Z = {"batch": batch_N, "tokens": max(rows.size, 1), "positions": batch_N * batch_T}[self.normalize]
        Z = max(Z, 1)
        loss = -float(log_likelihood.sum(dtype=self.dtype)) / Z
        probs /= sums[:, None]
        self._save_for_backward(probs=probs, rows=rows, chosen=chosen, shape=(N, T, V), Z=Z)
        return loss

    def backward(self, dloss=1.0):
        cache = self._saved()
        probs, rows, chosen, (N, T, V), Z = cache["probs"], cache["rows"], cache["chosen"], cache["shape"], cache["Z"]
        d = probs * self.dtype.type(float(dloss) / Z)          # softmax - one-hot, scaled
        d[np.arange(rows.size), chosen] -= self.dtype.type(float(dloss) / Z)
        if rows.size == N * T:                                 # nothing masked
            return d.reshape(N, T, V)
        dscores = np.zeros((N * T, V), dtype=self.dtype)
        dscores[rows] = d
        return dscores.reshape(N, T, V)

    @property
    def unit(self) -> str:
        """``'per caption'`` (summed over its words: the SPEC's), ``'per word'`` or ``'per position'``."""
        return self.UNITS[self.normalize]

    def extra_repr(self) -> str:
        return f"normalize={self.normalize!r}"
