"""The CS231n assignment-3 API on minitorch_cap: change ``from cs231n.X import ...`` to
``from minitorch_cap.cs231n.X import ...`` and a captioning notebook runs on the library.

Modules mirror the course's files; each is a thin layer over the library (the maths lives once):

* ``rnn_layers`` — ``rnn_step_forward/backward``, ``rnn_forward/backward``,
  ``lstm_step_forward/backward``, ``lstm_forward/backward``, ``word_embedding_forward/backward``,
  ``temporal_affine_forward/backward``, ``temporal_softmax_loss``, ``sigmoid`` (over
  ``minitorch_cap.nn``'s RNN, LSTM, Embedding, TemporalAffine, TemporalSoftmaxLoss)
* ``layers`` — ``affine_forward/backward`` (over ``nn.Affine``)
* ``classifiers.rnn`` — ``CaptioningRNN`` (over ``CaptioningModel``; ``params`` under the course's names)
* ``captioning_solver`` — ``CaptioningSolver``, the course's loop (numpy's global random state)
* ``optim`` — ``sgd``, ``sgd_momentum``, ``rmsprop``, ``adam`` (the course's formulas; ``adam`` is
  ``minitorch_cap.optim.Adam(formula="cs231n")``'s code)
* ``coco_utils`` — ``load_coco_data`` (also finds ``cs231n/`` or ``daseCV/datasets/coco_captioning``),
  ``sample_coco_minibatch``, ``decode_captions``
* ``gradient_check`` — ``eval_numerical_gradient``, ``eval_numerical_gradient_array``, ``rel_error``
* ``image_utils`` — ``image_from_url`` (URLs, ``file://``, local paths; a deadline, no hang)
"""

from . import captioning_solver, classifiers, coco_utils, gradient_check, image_utils, layers, optim, rnn_layers

__all__ = ["captioning_solver", "classifiers", "coco_utils", "gradient_check", "image_utils", "layers", "optim",
           "rnn_layers"]
