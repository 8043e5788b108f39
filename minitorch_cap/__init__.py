"""minitorch_cap: a small, exact, fast mini-Torch in numpy for image captioning.

The public API (see README.md for a tour):

* ``minitorch_cap.nn`` — ``Parameter``, ``Module``, ``Sequential``, ``Affine``,
  ``TemporalAffine``, ``Embedding``, ``RNN``, ``LSTM``, ``GRU``, ``TemporalSoftmaxLoss``
* ``CaptioningModel`` — image features -> RNN/LSTM/GRU -> words
* ``minitorch_cap.gradcheck`` — numerical gradient checks, ``check_module``
* ``summary(model)`` — the parameter table
"""

from . import gradcheck, nn
from .gradcheck import check_module, rel_error
from .model import CaptioningModel
from .summary import summary

__version__ = "0.1.0"

__all__ = ["nn", "gradcheck", "CaptioningModel", "summary", "check_module", "rel_error", "__version__"]
