"""The captioner interface: what training, decoding, evaluation, checkpoints, summary and the CLI use.

A captioner is a :class:`~minitorch_cap.nn.Module` that turns image features into word
scores. Subclasses (``CaptioningModel``, ``CaptioningTransformer``) implement five things:

* ``forward(features, captions) -> loss`` and ``backward(dloss=1.0) -> dfeatures``: the
  training loss of a batch, teacher forced (inputs ``captions[:, :-1]``, targets
  ``captions[:, 1:]``, ``<NULL>`` targets masked), and its gradients;
* ``initial_state(features) -> state`` and ``decode_step(words (K,), state) -> (scores (K, V),
  state)``: the decoding primitives. A state is a tuple of arrays whose axis 0 is the row
  (image or beam), so a decoder may drop or reorder rows with ``s[rows]`` without knowing
  what the arrays mean. Neither keeps a cache nor touches the training caches;
* ``config()``: the constructor's arguments but ``word_to_idx``, as JSON values, so that
  ``type(model).from_config(word_to_idx, config)`` rebuilds the model (checkpoints);
* ``check_features(owner, features)``: the features it reads, validated and converted.

Model kinds. What runs and the command line build by name (``--model lstm``) is declared once,
in the captioner's own module, by a :class:`ModelKind` subclass: its name, the class it builds,
its settings (an attrs class whose fields are the constructor's keywords a user chooses, with
their help), its presets per data set and whether it reads region features. Defining the
class registers it in :data:`KINDS`, next to :data:`CAPTIONERS` (class name -> class), which
checkpoints rebuild models from; :func:`kind_of` finds the kind of a model or of a
checkpoint's record. Run settings, presets, the command line's model options and the kind a
checkpoint reports are all derived from these declarations (``minitorch_cap.runs``).

Both captioners end in the same masked vocabulary step (:meth:`Captioner._vocabulary_loss` and
:meth:`Captioner._vocabulary_backward`, written once here): only the unmasked positions reach the
vocabulary projection (the child named by ``VOCABULARY``) and the ``criterion`` child.

This base class gives every captioner the vocabulary attributes (``word_to_idx``,
``idx_to_word``, ``vocab_size``, ``null_id``, ``start_id``, ``end_id``, ``unk_id``), checked by
the library's one vocabulary rule (:func:`minitorch_cap.tokens.check_word_to_idx`), and,
written once here, ``loss`` (CS231n's ``(loss, grads)``) and the decoders ``sample``
(greedy), ``beam_search`` and ``sample_stochastic`` (the algorithms live in
:mod:`minitorch_cap.captioners.decoding`). A captioner that attends over image regions sets
``attends`` and gives one more primitive, ``step_attention()`` (its attention over the K
regions at the last ``decode_step``, (R, K)); ``attention_sample`` (greedy captions with the
attention of every word, for ``captions.png``) is written once here on it.

Shapes: N images, D feature size, T caption length, V vocabulary size, K rows being decoded.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import attrs
import numpy as np

from . import decoding
from ..nn import Module
from ..nn.checks import check_finite, float_input, int_option
from ..nn.module import naming_child
from ..tokens import END, NULL, START, UNK, check_word_to_idx

CAPTIONERS: dict[str, type["Captioner"]] = {}   # class name -> class, for checkpoints
KINDS: dict[str, type["ModelKind"]] = {}        # kind name -> its declaration, for runs and the command line


def last_target_lengths(mask: np.ndarray) -> np.ndarray:
    """``mask (N, T)`` bool -> ``(N,)`` int64: 1 + the last t with ``mask[n, t]``, 0 for a row without.

    A decoder whose position t sees only positions <= t (a recurrence, a causal Transformer)
    needs no position after a row's last target: ``lengths`` for a length-aware forward.
    """
    N, T = mask.shape
    return np.where(mask.any(axis=1), T - np.argmax(mask[:, ::-1], axis=1), 0).astype(np.int64)


class Captioner(Module):
    """Base class of captioning models (see the module docstring for the interface).

    ``VOCABULARY``: the name of the child that turns decoder outputs ``(N, T, H)`` into word
    scores (a TemporalAffine); its scores go to the ``criterion`` child (TemporalSoftmaxLoss).
    """

    VOCABULARY = "vocab"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        CAPTIONERS[cls.__name__] = cls

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int, dtype=np.float32):
        super().__init__(dtype)
        owner = type(self).__name__
        self.word_to_idx = check_word_to_idx(owner, word_to_idx)
        self.idx_to_word = {i: w for w, i in self.word_to_idx.items()}
        self.vocab_size = len(self.word_to_idx)
        self.null_id = self.word_to_idx[NULL]
        self.start_id = self.word_to_idx.get(START)
        self.end_id = self.word_to_idx.get(END)
        self.unk_id = self.word_to_idx.get(UNK)
        self.input_dim = input_dim

    # ------------------------------------------------------------------ what subclasses give
    def config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement config()")

    def initial_state(self, features) -> tuple[np.ndarray, ...]:
        raise NotImplementedError(f"{type(self).__name__} does not implement initial_state()")

    def decode_step(self, words, state):
        raise NotImplementedError(f"{type(self).__name__} does not implement decode_step()")

    #: True for a model that attends over image regions (it implements ``step_attention``).
    attends = False

    def step_attention(self) -> np.ndarray:
        """The attention weights (R, K) over the K image regions at the last ``decode_step`` of R rows."""
        raise NotImplementedError(f"{type(self).__name__} does not attend over image regions")

    @classmethod
    def from_config(cls, word_to_idx: Mapping[str, int], config: Mapping[str, Any]) -> "Captioner":
        """Rebuild a model from ``word_to_idx`` and ``config()`` (weights freshly drawn, to be loaded)."""
        options = dict(config)
        options["dtype"] = np.dtype(options.get("dtype", "float32"))
        return cls(word_to_idx, rng=np.random.default_rng(0), **options)

    def check_features(self, owner: str, features) -> np.ndarray:
        """features (N, D), or region features (N, P, D) for a model that ``attends`` -> an array of the
        model's dtype; wrong shape, no region, or NaN/inf raise ``ValueError``."""
        if self.attends and np.ndim(features) == 3:
            features = float_input(owner, "features", features, self.dtype, N=None, P=None, D=self.input_dim)
            if features.shape[1] == 0:
                raise ValueError(f"{owner}: region features need P >= 1 regions, got shape {features.shape}")
        else:
            features = float_input(owner, "features", features, self.dtype, N=None, D=self.input_dim)
        check_finite(owner, "features", features)
        return features

    # ------------------------------------------------------------------ training
    @property
    def loss_unit(self) -> str:
        """What one unit of the training loss is (``'per caption'``, ``'per position'``): its criterion's."""
        return self.criterion.unit

    def loss(self, features, captions) -> tuple[float, dict[str, np.ndarray]]:
        """CS231n's ``loss``: the loss and the gradient of every parameter, by dotted name.

        The gradients are computed afresh: each call gives every parameter a new zero
        ``.grad`` array, so the dict returned is also what ``p.grad`` holds, and a later call
        never changes it (the course's numerical checks call ``loss`` again and again while
        holding one ``grads``).
        """
        for param in self.parameters():
            param.grad = np.zeros_like(param.data)
        loss = self.forward(features, captions)
        self.backward(1.0)
        return loss, {name: p.grad for name, p in self.named_parameters()}

    def _vocabulary_loss(self, h: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
        """The masked vocabulary step: decoder outputs ``h (N, T, H)``, ``targets (N, T)``, ``mask (N, T)``
        -> ``(loss, rows)``, ``rows (M,)`` the unmasked positions in N*T order (keep them for
        :meth:`_vocabulary_backward`).

        Masked positions add nothing to the loss or to any gradient, so only the M unmasked rows
        of h reach the vocabulary projection and the softmax (V is the widest axis); they pass as
        one packed sequence ``(1, M)``, which the criterion normalises as the ``(N, T)`` batch.
        """
        N, T, H = h.shape
        rows = np.flatnonzero(mask)
        vocabulary = self._modules[self.VOCABULARY]
        with naming_child(self.VOCABULARY):
            scores = vocabulary.forward(h.reshape(N * T, H)[rows][None])                    # (1, M, V)
        with naming_child("criterion"):
            loss = self.criterion.forward(scores, targets.reshape(-1)[rows][None], batch_shape=(N, T))
        return loss, rows

    def _vocabulary_backward(self, rows: np.ndarray, shape: tuple[int, int, int], dloss) -> np.ndarray:
        """The backward of :meth:`_vocabulary_loss`: ``dh (N, T, H)`` (``shape``), zero at masked positions."""
        N, T, H = shape
        with naming_child("criterion"):
            dscores = self.criterion.backward(dloss)
        with naming_child(self.VOCABULARY):
            dh_rows = self._modules[self.VOCABULARY].backward(dscores)[0]                  # (M, H)
        dh = np.zeros((N * T, H), dtype=self.dtype)
        dh[rows] = dh_rows
        return dh.reshape(N, T, H)

    # ------------------------------------------------------------------ decoding
    def sample(self, features, max_length: int = decoding.DEFAULT_MAX_LENGTH) -> np.ndarray:
        """Greedy captions: features -> word ids (N, max_length).

        The first input is ``<START>``; column t holds the t-th generated word. Once a row
        emits ``<END>`` the rest of it is ``<NULL>``.
        """
        return decoding.greedy(self, features, max_length)

    def beam_search(self, features, beam_size: int = 3, max_length: int = decoding.DEFAULT_MAX_LENGTH, **options):
        """Batched beam search; see :func:`minitorch_cap.captioners.decoding.beam_search` -> ``BeamSearchResult``."""
        return decoding.beam_search(self, features, beam_size, max_length, **options)

    def sample_stochastic(self, features, max_length: int = decoding.DEFAULT_MAX_LENGTH, **options) -> np.ndarray:
        """Temperature / top-k sampling; see :func:`minitorch_cap.captioners.decoding.sample_stochastic` -> (N, max_length)."""
        return decoding.sample_stochastic(self, features, max_length, **options)

    def attention_sample(self, features, max_length: int = decoding.DEFAULT_MAX_LENGTH) -> tuple[np.ndarray, np.ndarray]:
        """Greedy captions and, per generated word, the model's attention over the image regions
        (``step_attention``) at the step that produced it.

        Returns ``(captions (N, L), weights (N, L, K))``, captions as ``sample`` (after ``<END>``,
        ``<NULL>``; those positions' weights are zero); K = 1 for features (N, D). Raises
        ``NotImplementedError`` for a model that does not attend (``attends`` False).
        """
        if not self.attends:
            raise NotImplementedError(f"{type(self).__name__} does not attend over image regions")
        L = int_option("attention_sample", "max_length", max_length)
        features = self.check_features("attention_sample", features)
        K = features.shape[1] if features.ndim == 3 else 1
        weights = np.zeros((features.shape[0], L, K))

        def observe(rows: np.ndarray, t: int) -> None:      # after the step that chose word t of ``rows``
            weights[rows, t] = self.step_attention()
        return decoding.greedy(self, features, L, observe=observe), weights


def captioner_from_config(class_name: str, word_to_idx: Mapping[str, int], config: Mapping[str, Any]) -> Captioner:
    """Build the captioner class ``class_name`` (e.g. ``'CaptioningModel'``) from a checkpoint's record.

    Raises ``ValueError`` for a class this library does not know.
    """
    cls = CAPTIONERS.get(class_name)
    if cls is None:
        raise ValueError(f"unknown captioner class {class_name!r}; this library knows {sorted(CAPTIONERS)}")
    return cls.from_config(word_to_idx, config)


# ---------------------------------------------------------------------------- model kinds
class ModelKind:
    """The declaration of a model kind; subclass it in the captioner's module (defining it registers it)::

        class TransformerKind(ModelKind):
            kind = "transformer"                  # its name (--model transformer)
            captioner = CaptioningTransformer     # the class it builds
            settings = TransformerSettings        # attrs class: constructor keywords a user chooses
            presets = {"shapes": {...}, "coco": {...}}   # per data set: settings and training values
            reads_regions = True                  # takes region features (N, P, D)

    ``presets[data]`` (``'shapes'``: the built-in data set, ``'coco'``: COCO-format files) holds
    values of the kind's ``settings`` fields and, optionally, of the run's training settings that
    differ for this kind (``lr``, ``epochs`` ...). ``region_features``: the built-in data is read
    as region features by default for this kind. ``default``: the kind a run uses when none is given.
    """

    kind: ClassVar[str]
    captioner: ClassVar[type]
    settings: ClassVar[type]
    presets: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    reads_regions: ClassVar[bool] = False
    region_features: ClassVar[bool] = False
    default: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            KINDS[cls.kind] = cls

    @classmethod
    def arguments(cls, settings) -> dict[str, Any]:
        """The constructor's keywords (beyond ``word_to_idx``, ``input_dim``, ``rng``) for ``settings``."""
        return attrs.asdict(settings)

    @classmethod
    def matches(cls, config: Mapping[str, Any]) -> bool:
        """Whether a model of class ``captioner`` with ``config()`` is of this kind."""
        return True

    @classmethod
    def build(cls, word_to_idx: Mapping[str, int], input_dim: int, settings, rng=None) -> "Captioner":
        """A fresh model of this kind: ``captioner(word_to_idx, input_dim=..., **arguments(settings), rng=rng)``."""
        return cls.captioner(word_to_idx, input_dim=input_dim, rng=rng, **cls.arguments(settings))

    @classmethod
    def preset(cls, data: str, given: Mapping[str, Any]) -> dict[str, Any]:
        """The presets on data set ``data`` for a run given the settings ``given`` (``presets[data]``)."""
        return dict(cls.presets.get(data, {}))

    @classmethod
    def parameters(cls, settings, vocab_size: int, input_dim: int) -> int:
        """The number of parameters of a model of ``settings`` (without building it)."""
        raise NotImplementedError(f"{cls.__name__} does not count its parameters")

    @classmethod
    def activations(cls, settings, batch_size: int, length: int, vocab_size: int, input_dim: int,
                    regions: int) -> int:
        """An upper estimate of the numbers a training step of ``batch_size`` captions of ``length``
        steps keeps for its backward and holds as temporaries (without running it)."""
        raise NotImplementedError(f"{cls.__name__} does not estimate its activations")

    @classmethod
    def settings_of(cls, config: Mapping[str, Any]):
        """The settings of a model of this kind, read from its ``config()``."""
        return cls.settings(**{f.name: config[f.name] for f in attrs.fields(cls.settings)})


def kind_of(model_or_class, config: Mapping[str, Any] | None = None) -> type[ModelKind]:
    """The kind of a captioner, or of a checkpoint's record ``(class name, config)``.

    Raises ``ValueError`` for a captioner no declared kind builds (a user's own subclass).
    """
    if isinstance(model_or_class, Captioner):
        name, config = type(model_or_class).__name__, model_or_class.config()
    else:
        name = str(model_or_class)
    for kind in KINDS.values():
        if kind.captioner.__name__ == name and kind.matches(config):
            return kind
    raise ValueError(f"no model kind builds a {name} with {dict(config)}; the kinds are {sorted(KINDS)}")

