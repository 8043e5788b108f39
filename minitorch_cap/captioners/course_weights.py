"""The course's PyTorch ``CaptioningTransformer`` weights, read into :class:`CaptioningTransformer`.

The course's model (Transformer_Captioning.ipynb, ``cs231n/classifiers/transformer.py``) stores
Linear weights (out, in); ours are (in, out), so they are transposed. Two layouts are read: the
2021-2024 decoder layer (``multihead_attn``, ``linear1/2``, ``norm1..3``, ReLU) and the 2025+ one
(``cross_attn``, ``ffn.fc1/fc2``, ``norm_self/cross/ffn``, GELU), so a PyTorch-trained model can be
inspected here and the course's checks run with the course's weights.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


_LAYER_NAMES = {
    "self_attn": ("self_attn", "self_attn"),
    "multihead_attn": ("multihead_attn", "cross_attn"),
    "linear1": ("linear1", "ffn.fc1"),
    "linear2": ("linear2", "ffn.fc2"),
    "norm1": ("norm1", "norm_self"),
    "norm2": ("norm2", "norm_cross"),
    "norm3": ("norm3", "norm_ffn"),
}


def course_state_dict_layout(model, variant: str) -> dict[str, tuple[str, bool]]:
    """Our parameter name -> (the course's ``state_dict`` key, transposed?) for ``variant``
    ``'2021'`` (ReLU layer: ``multihead_attn``, ``linear1/2``, ``norm1..3``) or ``'2025'``
    (GELU layer: ``cross_attn``, ``ffn.fc1/fc2``, ``norm_self/cross/ffn``).

    Linear ``weight`` (out, in) is our ``W`` (in, out) transposed; LayerNorm ``weight``/``bias``
    are ``gamma``/``beta``; Embedding ``weight`` is ``W`` as is.
    """
    column = {"2021": 0, "2025": 1}[variant]
    layout = {}
    for name, param in model.named_parameters():
        parts = name.split(".")
        if parts[0] == "transformer":               # transformer.layers.i.<child>[.<sub>].<param>
            child, rest = parts[3], parts[4:]
            prefix = ".".join(parts[:3] + [_LAYER_NAMES[child][column]] + rest[:-1])
        else:
            prefix = ".".join(parts[:-1])
        leaf = parts[-1]
        if leaf in ("gamma", "beta"):
            layout[name] = (f"{prefix}.{'weight' if leaf == 'gamma' else 'bias'}", False)
        elif parts[0] == "embedding":
            layout[name] = (f"{prefix}.weight", False)
        else:
            layout[name] = (f"{prefix}.{'weight' if leaf == 'W' else 'bias'}", leaf == "W")
    return layout


def load_course_state_dict(model, state_dict: Mapping[str, np.ndarray]) -> str:
    """Copy the weights of the course's PyTorch ``CaptioningTransformer`` into ``model``.

    ``state_dict``: the course model's ``state_dict()`` with every tensor as a numpy array
    (``{k: v.numpy() for k, v in m.state_dict().items()}``). Both layer layouts are read
    (see :func:`course_state_dict_layout`); the variant is recognised by its names, and
    must agree with ``model.activation`` (ReLU for 2021-2024, GELU for 2025+). The
    ``positional_encoding.pe`` buffer is checked against ours (same table, float tolerance)
    and not copied. Values are cast to the model's dtype. Returns the variant read.
    Raises ``ValueError`` for missing, unknown or mis-shaped entries, or a variant the
    model's activation does not match.
    """
    owner = "load_course_state_dict"
    state = {k: np.asarray(v) for k, v in state_dict.items()}
    variant = "2025" if any(".cross_attn." in k for k in state) else "2021"
    wanted = {"2021": "relu", "2025": "gelu"}[variant]
    if model.activation != wanted:
        raise ValueError(f"{owner}: the state dict has the course's {variant} layer layout ({wanted.upper()} "
                         f"feed-forward) but the model was built with activation={model.activation!r}")
    layout = course_state_dict_layout(model, variant)
    known = {key for key, _ in layout.values()} | {"positional_encoding.pe"}
    missing = sorted(key for key, _ in layout.values() if key not in state)
    unexpected = sorted(k for k in state if k not in known)
    if missing or unexpected:
        raise ValueError(f"{owner}: names do not match the course's {variant} layout; missing {missing or 'none'}, "
                         f"unexpected {unexpected or 'none'}")
    if "positional_encoding.pe" in state:
        pe = state["positional_encoding.pe"].reshape(-1, model.wordvec_dim)
        ours = model.positional_encoding.pe[:pe.shape[0]]
        if pe.shape[0] != model.max_length or not np.allclose(pe, ours, atol=1e-5):
            raise ValueError(f"{owner}: positional_encoding.pe {state['positional_encoding.pe'].shape} differs from "
                             f"the model's sinusoid table (max_length={model.max_length}, W={model.wordvec_dim})")
    ours = {}
    for name, (key, transposed) in layout.items():
        value = state[key].T if transposed else state[key]
        ours[name] = np.ascontiguousarray(value, dtype=model.dtype)
    model.load_state_dict(ours)
    return variant
