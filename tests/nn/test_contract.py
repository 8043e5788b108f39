"""The module contract, run on every Module exported by minitorch_cap.nn and on the captioners.

For each case, at small sizes: the gradient check in float64 (``check_module``, every input
and parameter within 1e-7), two backwards double the parameter gradients (and return the
same input gradients), a state_dict round trip reproduces the outputs, the repr, float32
agrees with float64 (outputs and gradients, float32 kept throughout), eval mode keeps no
cache, and bad input is refused with an error naming the module. A module exported by
minitorch_cap.nn without a case here fails ``test_every_exported_module_has_a_contract_case``.
The checks themselves are in tests/nn/contract.py; each module's own tests keep what is
particular to it (formulas, oracles, course values, its own error messages).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

import minitorch_cap
from minitorch_cap import CaptioningModel, nn
from minitorch_cap.nn import (GELU, GRU, LSTM, RNN, Affine, AttentionLSTM, Dropout, Embedding, LayerNorm, Module,
                              ModuleList,
                              MultiHeadAttention, PositionalEncoding, ReLU, Recurrent, Sequential, TemporalAffine,
                              TemporalSoftmaxLoss, TransformerDecoder, TransformerDecoderLayer, causal_mask)
from tests.nn import contract

#: Exported Module subclasses without a forward of their own: bases and containers. Their
#: contract is that calling forward says so, naming the class.
NO_FORWARD = {"Module": Module, "Recurrent": Recurrent, "ModuleList": ModuleList}

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "b"]
W2I = {w: i for i, w in enumerate(WORDS)}

_rng = np.random.default_rng(0)
X2 = _rng.standard_normal((2, 4))            # (N, D)
X3 = _rng.standard_normal((2, 3, 4))         # (N, T, D)
SEQ = _rng.standard_normal((2, 3, 3))        # (N, T, D) of the recurrent cells, D=3
H0, C0 = _rng.standard_normal((2, 4)), _rng.standard_normal((2, 4))
IDS = np.array([[0, 5, 5], [3, 1, 0]])
SCORES, TARGETS = _rng.standard_normal((2, 3, 5)), np.array([[1, 4, 0], [2, 2, 3]])
LOSS_MASK = np.array([[True, True, False], [True, False, True]])
MEMORY, KV = _rng.standard_normal((2, 2, 4)), _rng.standard_normal((2, 5, 4))
ATTN_MASK = _rng.random((3, 5)) < 0.6
ATTN_MASK[:, 0] = True
FEATURES = _rng.standard_normal((2, 5))
CAPTIONS = np.array([[1, 4, 5, 2, 0], [1, 5, 3, 4, 2]])
STRINGS = np.full((2, 4), "x")
REGIONS = _rng.standard_normal((2, 3, 4))    # (N, P, H) of the attention LSTM, H=4
LENGTHS = np.array([3, 2])                   # the second row stops after 2 of T=3 steps
REGION_FEATURES = _rng.standard_normal((2, 3, 5))   # (N, P, D) of the attention captioner


def perturb(module: Module, seed: int) -> Module:
    """Non-zero biases and LayerNorm affine parameters (their defaults are zeros and ones)."""
    rng = np.random.default_rng(seed + 100)
    for name, p in module.named_parameters():
        if name.split(".")[-1] in ("b", "beta", "gamma"):
            p.data[...] += 0.3 * rng.standard_normal(p.shape)
    return module


@dataclass
class Case:
    """One module of the contract: ``make(dtype, seed)`` and the inputs of one forward."""

    cls: type
    make: Callable[..., Module]
    inputs: tuple
    repr_head: str | None        # the repr's first line; None: only "ClassName(" is checked
    bad: list = field(default_factory=list)       # (inputs, error, message regex)
    f32_tol: float = 1e-5


def _decoder_layer(activation):
    return lambda dtype, seed=0: perturb(TransformerDecoderLayer(4, 2, 6, dropout=0.1, activation=activation,
                                                                 dtype=dtype, rng=np.random.default_rng(seed)), seed)


def _captioner(cell):
    return lambda dtype, seed=0: perturb(CaptioningModel(W2I, input_dim=5, wordvec_dim=3, hidden_dim=4, cell_type=cell,
                                                         dtype=dtype, rng=np.random.default_rng(seed)), seed)


def rng_of(seed):
    return np.random.default_rng(seed)


def _attention_lstm(attention):
    return lambda dtype, seed=0: perturb(AttentionLSTM(3, 4, attention, 5 if attention == "additive" else None,
                                                       dtype=dtype, rng=rng_of(seed)), seed)


def _attention_captioner(attention, reg):
    return lambda dtype, seed=0: perturb(CaptioningModel(W2I, input_dim=5, wordvec_dim=3, hidden_dim=4,
                                                         cell_type="attention", dtype=dtype, rng=rng_of(seed),
                                                         attention=attention, attention_reg=reg), seed)


CASES = {
    "Affine": Case(Affine, lambda dtype, seed=0: perturb(Affine(4, 3, dtype=dtype, rng=rng_of(seed)), seed), (X2,),
                   "Affine(in_dim=4, out_dim=3, dtype=float64)",
                   [((X3,), ValueError, r"Affine.forward: expected x of shape \(N, D=4\)"),
                    ((STRINGS,), TypeError, "Affine.forward: expected x to be a real-valued array")]),
    "TemporalAffine": Case(TemporalAffine, lambda dtype, seed=0: perturb(TemporalAffine(4, 3, dtype=dtype,
                                                                                       rng=rng_of(seed)), seed),
                           (X3,), "TemporalAffine(in_dim=4, out_dim=3, dtype=float64)",
                           [((X2,), ValueError, r"TemporalAffine.forward: expected x of shape \(N, T, D=4\)")]),
    "Embedding": Case(Embedding, lambda dtype, seed=0: Embedding(6, 3, dtype=dtype, rng=rng_of(seed)), (IDS,),
                      "Embedding(vocab_size=6, dim=3, dtype=float64)",
                      [((IDS + 1,), ValueError, r"Embedding.forward: idx holds id 6, outside the valid range"),
                       ((IDS * 1.0,), TypeError, "Embedding.forward: expected idx to be an integer array")]),
    "RNN": Case(RNN, lambda dtype, seed=0: perturb(RNN(3, 4, dtype=dtype, rng=rng_of(seed)), seed), (SEQ, H0),
                "RNN(input_dim=3, hidden_dim=4, dtype=float64)",
                [((SEQ, H0[:, :3]), ValueError, r"RNN.forward: expected h0 of shape \(N=2, H=4\)")]),
    "LSTM": Case(LSTM, lambda dtype, seed=0: perturb(LSTM(3, 4, dtype=dtype, rng=rng_of(seed)), seed), (SEQ, H0, C0),
                 "LSTM(input_dim=3, hidden_dim=4, dtype=float64)",
                 [((X3, H0), ValueError, r"LSTM.forward: expected x of shape \(N, T, D=3\)")]),
    "GRU": Case(GRU, lambda dtype, seed=0: perturb(GRU(3, 4, dtype=dtype, rng=rng_of(seed)), seed), (SEQ, H0),
                "GRU(input_dim=3, hidden_dim=4, dtype=float64)",
                [((SEQ[:, :0], H0), ValueError, r"GRU.forward: x has no time steps")]),
    "TemporalSoftmaxLoss": Case(TemporalSoftmaxLoss, lambda dtype, seed=0: TemporalSoftmaxLoss(dtype=dtype),
                                (SCORES, TARGETS, LOSS_MASK), "TemporalSoftmaxLoss(normalize='batch')",
                                [((SCORES, TARGETS[:, :2], None), ValueError, "TemporalSoftmaxLoss.forward: expected")]),
    "TemporalSoftmaxLoss-tokens": Case(TemporalSoftmaxLoss,
                                       lambda dtype, seed=0: TemporalSoftmaxLoss("tokens", dtype=dtype),
                                       (SCORES, TARGETS, LOSS_MASK), "TemporalSoftmaxLoss(normalize='tokens')",
                                       [((SCORES, TARGETS, LOSS_MASK[:1]), ValueError,
                                         "TemporalSoftmaxLoss.forward: expected mask")]),
    "Sequential": Case(Sequential, lambda dtype, seed=0: perturb(Sequential(
        Affine(4, 5, dtype=dtype, rng=rng_of(seed)), GELU(dtype=dtype), Affine(5, 3, dtype=dtype, rng=rng_of(seed + 1))),
        seed), (X2,), "Sequential(",
        [((X3,), ValueError, r"^0: Affine.forward: expected x of shape \(N, D=4\)")]),
    "ReLU": Case(ReLU, lambda dtype, seed=0: ReLU(dtype=dtype), (X3,), "ReLU(dtype=float64)",
                 [((STRINGS,), TypeError, "ReLU.forward: expected x to be a real-valued array")], f32_tol=1e-6),
    "GELU": Case(GELU, lambda dtype, seed=0: GELU(dtype=dtype), (X3,), "GELU(dtype=float64)",
                 [((STRINGS,), TypeError, "GELU.forward: expected x to be a real-valued array")], f32_tol=1e-6),
    "Dropout": Case(Dropout, lambda dtype, seed=0: Dropout(0.5, rng=rng_of(seed), dtype=dtype), (X3,), "Dropout(p=0.5)",
                    [((STRINGS,), TypeError, "Dropout.forward: expected x to be a real-valued array")]),
    "LayerNorm": Case(LayerNorm, lambda dtype, seed=0: perturb(LayerNorm(4, dtype=dtype), seed), (X3,),
                      "LayerNorm(dim=4, eps=1e-05, dtype=float64)",
                      [((SEQ,), ValueError, r"LayerNorm.forward: expected x of shape")]),
    "MultiHeadAttention": Case(MultiHeadAttention, lambda dtype, seed=0: perturb(MultiHeadAttention(
        4, 2, dropout=0.1, dtype=dtype, rng=rng_of(seed)), seed), (X3, KV, KV, ATTN_MASK),
        "MultiHeadAttention(embed_dim=4, num_heads=2, dropout=0.1, dtype=float64",
        [((X3, KV, KV[:, :4]), ValueError, r"MultiHeadAttention.forward: expected value of shape \(N=2, L=5, E=4\)")]),
    "PositionalEncoding": Case(PositionalEncoding, lambda dtype, seed=0: PositionalEncoding(
        4, dropout=0.1, max_len=10, dtype=dtype, rng=rng_of(seed)), (X3,),
        "PositionalEncoding(embed_dim=4, max_len=10, dtype=float64",
        [((np.zeros((2, 11, 4)),), ValueError, "PositionalEncoding.forward")]),
    "TransformerDecoderLayer": Case(TransformerDecoderLayer, _decoder_layer("relu"), (X3, MEMORY, causal_mask(3)),
                                    "TransformerDecoderLayer(input_dim=4, num_heads=2, dim_feedforward=6, "
                                    "activation='relu', dtype=float64",
                                    [((X3, SEQ), ValueError, "TransformerDecoderLayer.forward")]),
    "TransformerDecoderLayer-gelu": Case(TransformerDecoderLayer, _decoder_layer("gelu"), (X3, MEMORY),
                                         "TransformerDecoderLayer(input_dim=4, num_heads=2, dim_feedforward=6, "
                                         "activation='gelu', dtype=float64",
                                         [((X3, MEMORY, causal_mask(2)), ValueError, "TransformerDecoderLayer")]),
    "TransformerDecoder": Case(TransformerDecoder, lambda dtype, seed=0: perturb(TransformerDecoder(
        _decoder_layer("relu")(dtype, seed), 2), seed + 1), (X3, MEMORY, causal_mask(3)),
        "TransformerDecoder(num_layers=2, dtype=float64",
        [((SEQ, MEMORY), ValueError, "TransformerDecoder")]),
    **{f"CaptioningModel-{cell}": Case(CaptioningModel, _captioner(cell), (FEATURES, CAPTIONS),
                                       f"CaptioningModel(cell_type='{cell}', vocab_size=6, dtype=float64",
                                       [((X2, CAPTIONS), ValueError,
                                         r"CaptioningModel.forward: expected features of shape \(N, D=5\)"),
                                        ((FEATURES, CAPTIONS + 1), ValueError,
                                         r"CaptioningModel.forward: captions holds id 6")])
       for cell in ("rnn", "lstm", "gru")},
    "AttentionLSTM-dot": Case(AttentionLSTM, _attention_lstm("dot"), (SEQ, REGIONS, LENGTHS),
                              "AttentionLSTM(input_dim=3, hidden_dim=4, attention='dot', dtype=float64)",
                              [((SEQ, REGIONS[:, :, :3]), ValueError,
                                r"AttentionLSTM.forward: expected regions of shape \(N=2, P, H=4\)"),
                               ((SEQ, REGIONS, np.array([3, 4])), ValueError,
                                r"AttentionLSTM.forward: lengths must lie in \[0, T=3\]")]),
    "AttentionLSTM-additive": Case(AttentionLSTM, _attention_lstm("additive"), (SEQ, REGIONS, LENGTHS),
                                   "AttentionLSTM(input_dim=3, hidden_dim=4, attention='additive', attention_dim=5, "
                                   "dtype=float64)",
                                   [((SEQ, REGIONS, LENGTHS * 1.0), TypeError,
                                     "AttentionLSTM.forward: expected lengths to be an integer array")]),
    "CaptioningModel-attention-dot": Case(CaptioningModel, _attention_captioner("dot", 0.0),
                                          (REGION_FEATURES, CAPTIONS),
                                          "CaptioningModel(cell_type='attention', attention='dot', vocab_size=6, "
                                          "dtype=float64",
                                          [((REGION_FEATURES[:, :, :4], CAPTIONS), ValueError,
                                            r"CaptioningModel.forward: expected features of shape \(N, P, D=5\)")]),
    "CaptioningModel-attention-additive": Case(CaptioningModel, _attention_captioner("additive", 0.7),
                                               (REGION_FEATURES, CAPTIONS),
                                               "CaptioningModel(cell_type='attention', attention='additive', "
                                               "vocab_size=6, dtype=float64",
                                               [((FEATURES, CAPTIONS + 1), ValueError,
                                                 r"CaptioningModel.forward: captions holds id 6")]),
}

# The Transformer captioner joins the contract as soon as minitorch_cap exports it.
if hasattr(minitorch_cap, "CaptioningTransformer"):
    def _transformer_captioner(dtype, seed=0):
        """Unit-scale weights: at the course's init (normal, 0.02) attention is nearly uniform and the
        query/key gradients are 1e-6 of the others, below what float32 vs float64 can compare."""
        model = minitorch_cap.CaptioningTransformer(W2I, input_dim=5, wordvec_dim=4, num_heads=2, num_layers=2,
                                                    max_length=8, dropout=0.1, dtype=dtype, rng=rng_of(seed),
                                                    dim_feedforward=6)
        rng = rng_of(seed + 200)
        for _, p in model.named_parameters():
            p.data[...] = 0.5 * rng.standard_normal(p.shape)
        return model

    CASES["CaptioningTransformer"] = Case(minitorch_cap.CaptioningTransformer, _transformer_captioner,
                                          (FEATURES, CAPTIONS), None,   # its options: its own tests
                                          [((X2, CAPTIONS), ValueError, "CaptioningTransformer")])

cases = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))


def exported_modules() -> dict[str, type]:
    return {name: obj for name in nn.__all__ if inspect.isclass(obj := getattr(nn, name)) and issubclass(obj, Module)}


def test_every_exported_module_has_a_contract_case():
    covered = {case.cls for case in CASES.values()} | set(NO_FORWARD.values())
    missing = sorted(name for name, cls in exported_modules().items() if cls not in covered)
    assert not missing, f"exported by minitorch_cap.nn without a contract case in {__file__}: {missing}"
    assert {name for name in NO_FORWARD} <= set(exported_modules())


@pytest.mark.parametrize("name", sorted(NO_FORWARD))
def test_modules_without_a_forward_say_so(name):
    module = {"Module": lambda: Module(), "Recurrent": lambda: Recurrent(3, 4), "ModuleList": lambda: ModuleList()}[name]()
    with pytest.raises(NotImplementedError, match=name):
        module.forward(X2)


@cases
def test_gradients_in_float64(case):
    module = case.make(np.float64)
    report = contract.assert_gradients(module, *case.inputs)
    float_inputs = sum(isinstance(x, np.ndarray) and x.dtype.kind == "f" for x in case.inputs)
    assert len(report.errors) == float_inputs + len(list(module.parameters()))  # nothing skipped


@cases
def test_two_backwards_double_the_parameter_gradients(case):
    contract.assert_two_backwards_double_parameter_grads(case.make(np.float64), *case.inputs)


@cases
def test_state_dict_round_trip_reproduces_the_outputs(case):
    contract.assert_state_dict_round_trip(case.make, *case.inputs)


@cases
def test_float32_agrees_with_float64(case):
    contract.assert_float32_agrees_with_float64(case.make, *case.inputs, tol=case.f32_tol)


@cases
def test_eval_keeps_no_cache(case):
    contract.assert_eval_keeps_no_cache(case.make(np.float64), *case.inputs)


@cases
def test_repr(case):
    contract.assert_repr(case.make(np.float64), case.repr_head)


@cases
def test_bad_input_errors_name_the_module(case):
    assert case.bad, "every case lists at least one bad input"
    for inputs, error, message in case.bad:
        contract.assert_bad_input_names_the_module(case.make(np.float64), inputs, error, message)
