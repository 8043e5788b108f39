"""minitorch_cap: a small, exact, fast mini-Torch in numpy for image captioning.

The public API (see README.md for a tour):

* ``minitorch_cap.nn`` — ``Parameter``, ``Module``, ``Sequential``, ``Affine``,
  ``TemporalAffine``, ``Embedding``, ``RNN``, ``LSTM``, ``GRU``, ``AttentionLSTM``, ``TemporalSoftmaxLoss``, ...
* ``Captioner`` — the captioner interface every model implements, and the model kinds
  (``minitorch_cap.captioners``); ``CaptioningModel`` — image features -> RNN/LSTM/GRU or the
  attention LSTM -> words
* ``CaptioningTransformer`` — image features (or regions) -> Transformer decoder -> words
* ``minitorch_cap.gradcheck`` — numerical gradient checks, ``check_module``
* ``summary(model)`` — the parameter table
* ``minitorch_cap.optim`` — ``SGD``, ``RMSProp``, ``Adam``, ``AdamW``, schedules, clipping
* ``minitorch_cap.training`` — ``Trainer``, HDF5 checkpoints with exact resume
* ``minitorch_cap.data`` — the course's COCO files, ``Vocabulary``, the built-in shapes data set
* ``minitorch_cap.captioners.decoding`` — beam search and sampling; ``minitorch_cap.metrics`` — BLEU,
  CIDEr-D, ROUGE-L; ``minitorch_cap.evaluation`` — decode a split and score it, caption reports and
  the held-out accuracy every command reports, loss curves and captioned image grids
* ``minitorch_cap.runs`` — what ``minitorch-cap train`` does, as library calls (``RunSettings``
  from the model kinds' declarations, ``prepare_run``, ``finish_run``, ``complete_run``)
* ``UserError`` — the base of the library's errors for bad input (a setting, a file, a folder,
  data): the command line prints them on one line; ``SettingsError`` — a setting out of range
* ``minitorch_cap.cs231n`` — the course's own API (``rnn_layers``, ``CaptioningRNN``, ``CaptioningSolver``, ...)
* ``minitorch_cap.distributed`` — data-parallel training on MPI (optional extra ``mpi``)
"""

from . import captioners, data, evaluation, gradcheck, metrics, nn, optim, training
from ._version import __version__
from .data import decode_captions, load_coco_data, load_shapes_data, sample_coco_minibatch
from .evaluation import evaluate, make_metric
from .gradcheck import check_module, rel_error
from .metrics import score_captions
from .nn.checks import SettingsError, UserError
from .captioners import BeamSearchResult, Captioner, CaptioningModel, CaptioningTransformer, beam_search, sample_stochastic
from .summary import summary
from .training import (Trainer, TrainerConfig, TrainingDiverged, load_checkpoint, load_model,
                       save_checkpoint)

__all__ = [
    "nn", "optim", "training", "data", "captioners", "evaluation", "metrics", "gradcheck",
    "Captioner", "CaptioningModel", "CaptioningTransformer", "summary", "check_module", "rel_error",
    "Trainer", "TrainerConfig", "TrainingDiverged", "save_checkpoint", "load_checkpoint", "load_model",
    "load_coco_data", "sample_coco_minibatch", "decode_captions", "load_shapes_data",
    "beam_search", "sample_stochastic", "BeamSearchResult", "evaluate", "make_metric", "score_captions",
    "UserError", "SettingsError", "__version__",
]
