"""The course's ``cs231n/classifiers/rnn.py``: ``CaptioningRNN`` over the library's ``CaptioningModel``.

Shapes: N batch, D image-feature size, T caption length, W word-vector size, H hidden size,
V vocabulary size.

``CaptioningRNN`` has the course's constructor, ``params`` dict, ``loss`` and ``sample``; the
work is done by a :class:`minitorch_cap.CaptioningModel` (``.model``), whose eight parameters
``params`` shows under the course's names. Reading ``model.params[k]`` gives the parameter's
own array (changing it in place changes the model, as the notebooks' numerical gradient checks
need) and ``model.params[k] = array`` writes into it.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np

from ...captioners.recurrent import CaptioningModel

__all__ = ["CaptioningRNN", "COURSE_NAMES"]

COURSE_NAMES = {
    "W_embed": "embed.W",    # (V, W)
    "W_proj": "proj.W",      # (D, H)
    "b_proj": "proj.b",      # (H,)
    "Wx": "rnn.Wx",          # (W, H) rnn, (W, 4H) lstm
    "Wh": "rnn.Wh",          # (H, H) rnn, (H, 4H) lstm
    "b": "rnn.b",            # (H,) rnn, (4H,) lstm
    "W_vocab": "vocab.W",    # (H, V)
    "b_vocab": "vocab.b",    # (V,)
}
"""The course's parameter names, in the course's order, and the ``CaptioningModel`` parameter each one is."""


class CourseParams(MutableMapping):
    """``CaptioningRNN.params``: the model's parameters under the course's names (a live view).

    ``params[k]`` is the parameter's array itself. ``params[k] = value`` copies ``value`` into it
    after checking it: real-valued, the parameter's shape, finite; it is converted to the model's
    dtype (the course casts every parameter to the model's dtype too). Unknown names raise
    ``KeyError``; parameters cannot be deleted (``TypeError``).
    """

    def __init__(self, model: CaptioningModel):
        self._model = model
        named = dict(model.named_parameters())
        missing = [dotted for dotted in COURSE_NAMES.values() if dotted not in named]
        if missing:
            raise RuntimeError(f"CaptioningRNN: the CaptioningModel has no parameters {missing} "
                               f"(it has {sorted(named)})")
        self._params = {name: named[dotted] for name, dotted in COURSE_NAMES.items()}

    def _param(self, key):
        try:
            return self._params[key]
        except (KeyError, TypeError):
            raise KeyError(f"CaptioningRNN.params: no parameter {key!r}; the names are {list(COURSE_NAMES)}") from None

    def __getitem__(self, key) -> np.ndarray:
        return self._param(key).data

    def __setitem__(self, key, value) -> None:
        param = self._param(key)
        if value is param.data:                      # the solver hands back the array it updated in place
            return
        array = np.asarray(value)
        if array.dtype == np.bool_ or not (np.issubdtype(array.dtype, np.floating)
                                           or np.issubdtype(array.dtype, np.integer)):
            raise TypeError(f"CaptioningRNN.params: {key!r} must be a real-valued array, got dtype {array.dtype}")
        if array.shape != param.shape:
            raise ValueError(f"CaptioningRNN.params: {key!r} has shape {param.shape}, got an array of shape "
                             f"{array.shape}")
        self._model.load_state_dict({COURSE_NAMES[key]: array.astype(param.dtype, copy=False)}, strict=False)

    def __delitem__(self, key) -> None:
        raise TypeError(f"CaptioningRNN.params: the model's parameters cannot be deleted (asked to delete {key!r})")

    def __iter__(self):
        return iter(COURSE_NAMES)

    def __len__(self) -> int:
        return len(COURSE_NAMES)

    def __repr__(self) -> str:
        items = ", ".join(f"{k!r}: {p.dtype.name}{p.shape}" for k, p in self._params.items())
        return f"CaptioningRNN.params({{{items}}})"


class CaptioningRNN:
    """The course's captioning RNN: image features -> RNN or LSTM -> words.

    ``CaptioningRNN(word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
    cell_type='rnn', dtype=np.float32)`` as the course; ``cell_type`` is ``'rnn'`` or ``'lstm'``
    (the library's ``'gru'`` works too). The initial weights are drawn from numpy's global
    random state in the course's order, so a seeded notebook gets the course's weights.

    Attributes: ``params`` (:class:`CourseParams`), ``model`` (the :class:`CaptioningModel`
    doing the work: pass it to the library's ``Trainer``, ``beam_search``, ``save_checkpoint``),
    ``cell_type``, ``dtype``, ``word_to_idx``, ``idx_to_word`` (a dict id -> word, as the course).
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type="rnn",
                 dtype=np.float32):
        self.model = CaptioningModel(word_to_idx, input_dim=input_dim, wordvec_dim=wordvec_dim,
                                     hidden_dim=hidden_dim, cell_type=cell_type, dtype=dtype)
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)
        self._params = CourseParams(self.model)

    @property
    def params(self) -> CourseParams:
        return self._params

    @params.setter
    def params(self, values) -> None:
        """``model.params = {...}`` writes every given array (e.g. a solver's ``best_params``)."""
        for key, value in dict(values).items():
            self._params[key] = value

    def loss(self, features, captions):
        """features (N, D), captions (N, T) int -> ``(loss, grads)``, ``grads`` keyed as ``params``.

        Input words are ``captions[:, :-1]``, targets ``captions[:, 1:]``, ``<NULL>`` targets
        masked; the loss is summed over time and averaged over the batch (the course's).
        Each call returns new gradient arrays (an earlier ``grads`` is left as it was).
        """
        loss, grads = self.model.loss(features, captions)
        return loss, {name: grads[dotted] for name, dotted in COURSE_NAMES.items()}

    def sample(self, features, max_length=30):
        """Greedy captions: features (N, D) -> word ids (N, max_length); the first input is ``<START>``.

        After a row emits ``<END>`` the rest of it is ``<NULL>`` (``decode_captions`` stops at
        ``<END>`` either way).
        """
        return self.model.sample(features, max_length=max_length)

    def __repr__(self) -> str:
        return f"CaptioningRNN(model={self.model!r})"
