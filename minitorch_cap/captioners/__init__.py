"""Captioners: the interface every model implements, the models, and decoding.

* :mod:`.base` — ``Captioner`` (the interface the Trainer, decoding, evaluation, checkpoints
  and the command line use) and the registry checkpoints rebuild models from;
* :mod:`.recurrent` — ``CaptioningModel`` (image features -> RNN/LSTM/GRU -> words);
  :mod:`.attention` — its attention LSTM kind (``cell_type='attention'``);
* :mod:`.transformer` — ``CaptioningTransformer`` (and :mod:`.course_weights`, the course's
  PyTorch weights);
* :mod:`.decoding` — greedy decoding, beam search and sampling on the interface alone.
"""

from . import attention, decoding   # noqa: F401  (attention: registers its model kind)
from .base import Captioner, captioner_from_config
from .decoding import BeamSearchResult, beam_search, sample_stochastic
from .recurrent import CaptioningModel
from .transformer import CaptioningTransformer

__all__ = ["Captioner", "captioner_from_config", "CaptioningModel", "CaptioningTransformer", "decoding",
           "beam_search", "sample_stochastic", "BeamSearchResult"]
