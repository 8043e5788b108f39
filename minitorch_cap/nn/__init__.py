"""Modules with hand-written backward: Parameter, Module, Sequential and the captioning layers."""

from .affine import Affine, TemporalAffine
from .embedding import Embedding
from .gru import GRU
from .loss import TemporalSoftmaxLoss
from .lstm import LSTM
from .module import Module
from .parameter import Parameter
from .recurrent import Recurrent
from .rnn import RNN
from .sequential import Sequential

__all__ = [
    "Parameter", "Module", "Sequential", "Affine", "TemporalAffine", "Embedding",
    "Recurrent", "RNN", "LSTM", "GRU", "TemporalSoftmaxLoss",
]
