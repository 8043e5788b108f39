"""Decoding captions from a `CaptioningModel`: greedy, batched beam search, and sampling.

Every decoder drives only the captioner interface's decoding primitives
``initial_state(features)`` and ``decode_step(words, state)`` (see
:mod:`minitorch_cap.captioners.base`), so it works for every captioner, and never uses teacher
forcing. One loop (``_generate``) serves greedy decoding and sampling.
Shapes: N images, K beam size, L ``max_length``, V vocabulary size. Captions come back in the
layout of ``model.sample``: column t holds the t-th generated word (no ``<START>``), and
after ``<END>`` the row is ``<NULL>``.

* :func:`greedy` — the best word at each step (``model.sample``).
* :func:`decode` — the one entry point evaluation uses: greedy by
  default, beam search when ``beam_size > 1`` or ``block_unk``.
* :func:`beam_search` — batched over images: the N*K live beams go through ONE
  ``decode_step`` per time step. The search is the one of Show-and-Tell (im2txt): each
  live beam proposes its K best words; proposals ending in ``<END>`` become finished
  captions (they do not take a beam slot), the K best other proposals of an image are its
  new beams. So ``beam_size=1`` is greedy decoding exactly.
  Finished captions of different lengths are ranked by the length-normalised score
  ``logprob / lp(length)``, with GNMT's penalty (Wu et al. 2016)
  ``lp(length) = ((5 + length) / 6) ** alpha``, where ``length`` counts the generated
  words including ``<END>``. ``alpha = 0`` (the default) ranks by log-probability, as
  Show-and-Tell and neuraltalk2 do; ``alpha`` around 0.6-1.0 favours longer captions.
  Log-probabilities are natural logs of the model's probabilities, float64, and include
  ``<END>``: for a caption c, ``logprob == -model.forward(features, [<START>, *c])``
  with ``N = 1`` (the SPEC's loss sums over time and averages over the batch).
  When no beam of an image reaches ``<END>`` within ``max_length`` words, its best
  unfinished beams are returned (``finished`` is False): there is always a caption.
* :func:`sample_stochastic` — temperature and top-k sampling with a seeded
  ``numpy.random.Generator`` (Gumbel-max: exact sampling from ``softmax(scores / T)``
  restricted to the k best words). ``temperature=0`` or ``top_k=1`` is greedy exactly.

``block_unk=True`` forbids ``<UNK>`` everywhere (its probability stays in the
normalisation, so log-probabilities remain the model's).
"""

from __future__ import annotations

import numpy as np
import attrs

from ..nn.checks import SettingsError, bool_option, check_memory, float_option, int_option
from ..nn.functional import log_softmax

#: The caption length every decoder uses unless told otherwise (the SPEC's ``sample`` default).
DEFAULT_MAX_LENGTH = 30


def check_decoding_memory(owner: str, images: int, max_length: int, beam_size: int = 1) -> None:
    """The memory rule (:func:`~minitorch_cap.nn.checks.check_memory`) for decoding ``images`` images
    to captions of up to ``max_length`` words: greedy keeps ``(N, L)`` word ids, beam search
    ``(N, K, L)`` and a copy; ``SettingsError`` naming the sizes when they would not fit."""
    what = f"{images:,} captions" if beam_size == 1 else f"{images:,} x {beam_size} beams"
    check_memory(owner, (1 if beam_size == 1 else 2 * beam_size) * images * max_length * 8,
                 f"{what} of up to {max_length:,} words", "give a smaller max_length")


@attrs.frozen
class BeamSearchResult:
    """n-best captions per image: the finished ones best first (by ``scores``), then, only when
    fewer than ``n_best`` finished, the best unfinished beams at ``max_length``.

    captions (N, n_best, L) int64 word ids (``<END>`` included, then ``<NULL>``);
    logprobs (N, n_best) float64 log-probability of each caption (``-inf`` for a missing
    entry); scores (N, n_best) float64 the length-normalised ranking score; lengths
    (N, n_best) words generated, ``<END>`` included; finished (N, n_best) bool, False
    for a caption that hit ``max_length`` without ``<END>``.
    """

    captions: np.ndarray
    logprobs: np.ndarray
    scores: np.ndarray
    lengths: np.ndarray
    finished: np.ndarray

    @property
    def best(self) -> np.ndarray:
        """The best caption of each image: (N, L), the layout of ``model.sample``."""
        return self.captions[:, 0]


def length_penalty(length, alpha: float):
    """GNMT's length penalty ``((5 + length) / 6) ** alpha`` (1 when alpha is 0)."""
    return ((5.0 + np.asarray(length, dtype=np.float64)) / 6.0) ** float(alpha)


def _start_id(owner: str, model) -> int:
    if model.start_id is None:
        raise ValueError(f"{owner}: the model's vocabulary has no '<START>' token to begin a caption with")
    return int(model.start_id)


def _unk_id(owner: str, model, block_unk: bool):
    bool_option(owner, "block_unk", block_unk)
    if not block_unk:
        return None
    unk = model.unk_id
    if unk is None:
        raise SettingsError(f"{owner}: block_unk=True but the model's vocabulary has no '<UNK>' token")
    return int(unk)


def _top_words(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, the ids of the k highest scores, best first, ties to the lower id: (R, k)."""
    if k == 1:
        return scores.argmax(axis=1)[:, None]
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -values), axis=1)
    return np.take_along_axis(part, order, axis=1)


def beam_search(model, features, beam_size: int = 3, max_length: int = DEFAULT_MAX_LENGTH, *, n_best: int = 1,
                alpha: float = 0.0, block_unk: bool = False) -> BeamSearchResult:
    """Batched beam search: features (N, D) -> the ``n_best`` (<= beam_size) best captions per image.

    See the module docstring for the search, the length normalisation (``alpha``) and the
    guarantees (``beam_size=1`` equals ``model.sample``; log-probabilities agree with the loss).
    """
    owner = "beam_search"
    K = int_option(owner, "beam_size", beam_size)
    L = int_option(owner, "max_length", max_length)
    n_best = int_option(owner, "n_best", n_best)
    if n_best > K:
        raise SettingsError(f"{owner}: n_best={n_best} must not exceed beam_size={K}")
    alpha = float_option(owner, "alpha", alpha, low=0.0)
    start, end, null = _start_id(owner, model), model.end_id, int(model.null_id)
    unk = _unk_id(owner, model, block_unk)

    state0 = model.initial_state(features)
    N, V = state0[0].shape[0], model.vocab_size
    check_decoding_memory(owner, N, L, K)
    Kw = min(K, V)                                           # words proposed per live beam
    state = tuple(np.repeat(s, K, axis=0) for s in state0)   # (N*K, H) each; slot k of image i is row i*K+k
    tokens = np.full((N, K, L), null, dtype=np.int64)        # words of each live beam
    cum = np.full((N, K), -np.inf)                           # log-probability of each live beam
    cum[:, 0] = 0.0
    alive = np.zeros((N, K), dtype=bool)
    alive[:, 0] = True
    last = np.full((N, K), start, dtype=np.int64)
    finished = [[] for _ in range(N)]                        # per image: (score, count, logprob, length, words)
    count = 0
    lp = [float(x) for x in length_penalty(np.arange(L + 1), alpha)]   # lp[length]
    rows_of = np.arange(N)[:, None] * K
    steps = 0
    for t in range(L):
        flat = np.flatnonzero(alive.ravel())
        if flat.size == 0:
            break
        steps = t + 1
        scores, sub_state = model.decode_step(last.ravel()[flat], tuple(s[flat] for s in state))
        logp = log_softmax(scores.astype(np.float64))        # (R, V)
        if unk is not None:
            scores[:, unk] = -np.inf
            logp[:, unk] = -np.inf
        words = _top_words(scores, Kw)                       # (R, Kw)
        total = cum.ravel()[flat][:, None] + np.take_along_axis(logp, words, axis=1)
        img, slot = flat // K, flat % K
        cols = slot[:, None] * Kw + np.arange(Kw)
        table = np.full((N, K * Kw), -np.inf)                # every proposal of every image
        table_words = np.full((N, K * Kw), null, dtype=np.int64)
        table[img[:, None], cols] = total
        table_words[img[:, None], cols] = words
        if end is not None:
            ends = (table_words == end) & np.isfinite(table)
            for i, pos in zip(*np.nonzero(ends)):
                logprob = float(table[i, pos])
                caption = tokens[i, pos // Kw, :t].tolist() + [end]
                finished[i].append((logprob / lp[t + 1], count, logprob, t + 1, caption))
                count += 1
            table[ends] = -np.inf
        order = np.argsort(-table, axis=1, kind="stable")[:, :K]
        cum = np.take_along_axis(table, order, axis=1)
        alive = np.isfinite(cum)
        parent = order // Kw
        new_words = np.where(alive, np.take_along_axis(table_words, order, axis=1), null)
        tokens = tokens[np.arange(N)[:, None], parent]
        tokens[:, :, t] = new_words
        last = new_words
        full = tuple(np.zeros((N * K,) + s.shape[1:], dtype=s.dtype) for s in sub_state)
        for f, s in zip(full, sub_state):
            f[flat] = s
        state = tuple(f[(rows_of + parent).ravel()] for f in full)
        # An image is done when no live beam can still enter its n_best finished captions (the
        # search itself does not depend on them): log-probabilities only fall, so a beam's best
        # future score is cum / lp(L) (cum if alpha = 0); a tie ranks after the earlier caption.
        for i in np.flatnonzero(alive.any(axis=1)):
            if len(finished[i]) >= n_best:
                nth_best = sorted((h[0] for h in finished[i]), reverse=True)[n_best - 1]
                if cum[i][alive[i]].max() / lp[L] <= nth_best:   # no caption gets longer than L words
                    alive[i] = False

    return _collect(finished, tokens, cum, alive, steps, N, L, n_best, alpha, null)


def _collect(finished, tokens, cum, alive, steps, N, L, n_best, alpha, null) -> BeamSearchResult:
    captions = np.full((N, n_best, L), null, dtype=np.int64)
    logprobs = np.full((N, n_best), -np.inf)
    scores = np.full((N, n_best), -np.inf)
    lengths = np.zeros((N, n_best), dtype=np.int64)
    done = np.zeros((N, n_best), dtype=bool)
    for i in range(N):
        ranked = [(logprob, score, length, words, True)
                  for score, _, logprob, length, words in sorted(finished[i], key=lambda h: (-h[0], h[1]))]
        if len(ranked) < n_best:   # fall back on the live beams (at max_length): there is always a caption
            live = np.flatnonzero(alive[i])
            live = live[np.argsort(-cum[i, live], kind="stable")]
            ranked += [(float(cum[i, k]), float(cum[i, k] / length_penalty(steps, alpha)), steps,
                        tokens[i, k, :steps], False) for k in live]
        for j, (logprob, score, length, words, fin) in enumerate(ranked[:n_best]):
            captions[i, j, :len(words)] = words
            logprobs[i, j], scores[i, j], lengths[i, j], done[i, j] = logprob, score, length, fin
    return BeamSearchResult(captions, logprobs, scores, lengths, done)


def sample_stochastic(model, features, max_length: int = DEFAULT_MAX_LENGTH, *, temperature: float = 1.0, top_k: int | None = None,
                      rng=None, block_unk: bool = False) -> np.ndarray:
    """Random captions: features (N, D) -> word ids (N, max_length), layout of ``model.sample``.

    Each word is drawn from ``softmax(scores / temperature)`` restricted to the ``top_k``
    best words (all when None). ``rng``: a ``numpy.random.Generator`` or an int seed (same
    seed, same captions); None draws a fresh unseeded generator. ``temperature=0`` or
    ``top_k=1`` gives the greedy captions exactly and draws no random numbers; any temperature
    above 0, however small (down to 5e-324), draws from the tempered distribution exactly, so
    a tiny one gives the greedy captions (up to exact ties), the ``T -> 0`` limit.
    """
    owner = "sample_stochastic"
    L = int_option(owner, "max_length", max_length)
    temperature = float_option(owner, "temperature", temperature, low=0.0)
    if top_k is not None:
        top_k = int_option(owner, "top_k", top_k)
    if not isinstance(rng, np.random.Generator):
        if rng is not None and (isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer))):
            raise TypeError(f"{owner}: rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")
        rng = np.random.default_rng(rng)
    unk = _unk_id(owner, model, block_unk)

    def choose(scores: np.ndarray) -> np.ndarray:
        if unk is not None:
            scores[:, unk] = -np.inf
        if temperature == 0 or top_k == 1:
            return scores.argmax(axis=1)
        logits = _tempered(scores, temperature)
        if top_k is not None and top_k < logits.shape[1]:
            keep = _top_words(logits, top_k)
            kept = np.full_like(logits, -np.inf)
            np.put_along_axis(kept, keep, np.take_along_axis(logits, keep, axis=1), axis=1)
            logits = kept
        return (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)

    return _generate(owner, model, features, L, choose)


def _tempered(scores: np.ndarray, temperature: float) -> np.ndarray:
    """``(scores - max) / temperature`` per row, float64: the logits of ``softmax(scores / T)``.

    Shifting by the row's best score first (softmax and the Gumbel-max draw do not change) keeps
    the best word at 0 and every other one finite or ``-inf``: ``scores / T`` alone overflows
    once ``T < max |score| / 1.8e308`` (e.g. ``T = 1e-320``), making every positive score
    ``+inf`` and the draw an ``argmax`` over ties (the lowest id: ``<NULL>``). So every
    ``T > 0`` gives the exact tempered draw, and tiny ones the greedy words, the ``T -> 0`` limit.
    """
    scores = scores.astype(np.float64)
    shifted = scores - scores.max(axis=1, keepdims=True)
    with np.errstate(over="ignore"):          # a gap / T beyond float64's range is -inf: probability 0
        return shifted / temperature


def greedy(model, features, max_length: int = DEFAULT_MAX_LENGTH, *, observe=None) -> np.ndarray:
    """Greedy captions: features -> word ids (N, max_length), the best word at each step.

    ``observe(rows (R,), t)``, when given, is called after each step with the images whose
    word t was just chosen (a model's inspection of that step, e.g. its attention).
    """
    L = int_option("sample", "max_length", max_length)
    return _generate("sample", model, features, L, lambda scores: scores.argmax(axis=1), observe)


def _generate(owner: str, model, features, L: int, choose, observe=None) -> np.ndarray:
    """The one word-by-word loop: ``choose(scores (R, V)) -> words (R,)`` picks each row's next word.

    Rows that emit ``<END>`` leave the work (their state rows are dropped); the rest of
    their caption is ``<NULL>``. ``observe(rows, t)``: see :func:`greedy`.
    """
    start, end, null = _start_id(owner, model), model.end_id, int(model.null_id)
    state = model.initial_state(features)
    N = state[0].shape[0]
    check_decoding_memory(owner, N, L)
    captions = np.full((N, L), null, dtype=np.int64)
    rows = np.arange(N)                                  # rows still generating
    words = np.full(N, start, dtype=np.int64)
    for t in range(L):
        if rows.size == 0:
            break
        scores, state = model.decode_step(words, state)
        words = choose(scores)
        captions[rows, t] = words
        if observe is not None:
            observe(rows, t)
        if end is not None:
            going = words != end
            if not going.all():
                rows, words = rows[going], words[going]
                state = tuple(s[going] for s in state)
    return captions


def decode(model, features, *, beam_size: int = 1, max_length: int = DEFAULT_MAX_LENGTH, alpha: float = 0.0,
           block_unk: bool = False) -> np.ndarray:
    """The best caption per image: (N, max_length) word ids. Greedy by default."""
    float_option("decode", "alpha", alpha, low=0.0)
    if int_option("decode", "beam_size", beam_size) == 1 and not bool_option("decode", "block_unk", block_unk):
        return model.sample(features, max_length=max_length)
    return beam_search(model, features, beam_size, max_length, alpha=alpha, block_unk=block_unk).best
