"""Modules with hand-written backward: Parameter, Module, Sequential and the captioning layers."""

from .activation import GELU, ReLU
from .affine import Affine, TemporalAffine
from .attention import KeyValueCache, MultiHeadAttention, causal_mask
from .attention_lstm import AttentionLSTM
from .dropout import Dropout, dropout_disabled, dropout_source
from .embedding import Embedding
from .gru import GRU
from .layernorm import LayerNorm
from .loss import TemporalSoftmaxLoss
from .lstm import LSTM
from .module import Module, inference_mode
from .parameter import Parameter
from .positional import PositionalEncoding
from .recurrent import Recurrent
from .rnn import RNN
from .sequential import Sequential
from .transformer import DecoderCache, ModuleList, TransformerDecoder, TransformerDecoderLayer

__all__ = [
    "Parameter", "Module", "inference_mode", "Sequential", "Affine", "TemporalAffine", "Embedding",
    "Recurrent", "RNN", "LSTM", "GRU", "AttentionLSTM", "TemporalSoftmaxLoss",
    "ReLU", "GELU", "Dropout", "dropout_disabled", "dropout_source", "LayerNorm", "MultiHeadAttention",
    "KeyValueCache", "causal_mask",
    "PositionalEncoding", "TransformerDecoderLayer", "TransformerDecoder", "DecoderCache", "ModuleList",
]
