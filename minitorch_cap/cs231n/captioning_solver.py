"""The course's ``cs231n/captioning_solver.py``: ``CaptioningSolver``, the course's training loop.

It follows the course line for line, so a seeded notebook prints the course's losses:
minibatches come from :func:`~minitorch_cap.cs231n.coco_utils.sample_coco_minibatch` (numpy's
global random state), every parameter gets its own copy of ``optim_config`` and is updated by
the named rule of :mod:`minitorch_cap.cs231n.optim`, and ``lr_decay`` multiplies every
parameter's ``learning_rate`` at the end of each epoch.

Why not the library's :class:`~minitorch_cap.training.Trainer`: it draws minibatches from its own
generator and updates with optimizer objects, so it cannot reproduce a notebook's sequence; it
is the tool for real runs (checkpoints, resume, validation, early stopping, MPI), and takes
``CaptioningRNN.model``.

Under an MPI launcher (``mpiexec -n K`` with K > 1) ``train()`` refuses to start: this loop is
one process drawing from numpy's global state, so K ranks would train K unrelated copies, each
on its own minibatches, none of them the data-parallel run ``mpiexec`` promises. The Trainer
with ``comm=minitorch_cap.distributed.world()`` is that run.
"""

from __future__ import annotations

import numbers

from ..distributed import launched_size
from ..nn.checks import int_option
from . import optim
from .coco_utils import sample_coco_minibatch

__all__ = ["CaptioningSolver"]


class CaptioningSolver:
    """Train a course-style captioning model (``model.params`` dict, ``model.loss(features, captions)``).

    ``CaptioningSolver(model, data, update_rule='sgd', optim_config={}, lr_decay=1.0,
    batch_size=100, num_epochs=10, print_every=10, verbose=True)``; ``data`` is the dict of
    ``load_coco_data``. ``train()`` runs ``num_epochs * max(num_train // batch_size, 1)``
    iterations, printing ``(Iteration %d / %d) loss: %f`` every ``print_every`` iterations when
    ``verbose``. Afterwards ``loss_history`` holds one loss per iteration.

    Raises ``TypeError`` for a model without ``params`` and ``loss``, ``ValueError`` for an
    unknown ``update_rule`` (one of ``sgd``, ``sgd_momentum``, ``rmsprop``, ``adam``) or a bad
    number, ``KeyError`` when ``data`` lacks ``train_captions``; ``train()`` raises
    ``RuntimeError`` under an MPI launcher with more than one process (see the module docstring).
    """

    def __init__(self, model, data, update_rule="sgd", optim_config=None, lr_decay=1.0, batch_size=100,
                 num_epochs=10, print_every=10, verbose=True):
        if not (hasattr(model, "params") and callable(getattr(model, "loss", None))):
            raise TypeError(f"CaptioningSolver: the model needs the course's API, a params dict and "
                            f"loss(features, captions), got {type(model).__name__} (wrap a CaptioningModel's "
                            "settings in CaptioningRNN, or train it with minitorch_cap.Trainer)")
        self.model = model
        self.data = data
        if update_rule not in optim.__all__:
            raise ValueError(f'CaptioningSolver: invalid update_rule "{update_rule}"; '
                             f"the rules of cs231n.optim are {optim.__all__}")
        self.update_rule = getattr(optim, update_rule)
        self.optim_config = {} if optim_config is None else optim_config
        if not isinstance(self.optim_config, dict):
            raise TypeError(f"CaptioningSolver: optim_config must be a dict, got {type(optim_config).__name__}")
        if isinstance(lr_decay, bool) or not isinstance(lr_decay, numbers.Real) or not lr_decay > 0:
            raise ValueError(f"CaptioningSolver: lr_decay must be a positive number, got {lr_decay!r}")
        self.lr_decay = lr_decay
        self.batch_size = int_option("CaptioningSolver", "batch_size", batch_size)
        self.num_epochs = int_option("CaptioningSolver", "num_epochs", num_epochs, low=0)
        self.print_every = int_option("CaptioningSolver", "print_every", print_every)
        self.verbose = verbose
        if "train_captions" not in data:
            raise KeyError("CaptioningSolver: data has no 'train_captions' (pass the dict of load_coco_data)")
        self._reset()

    def _reset(self):
        """Book-keeping, and a copy of ``optim_config`` for every parameter (as the course)."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """One update: draw a minibatch, compute loss and gradients, apply the rule to every parameter."""
        captions, features, urls = sample_coco_minibatch(self.data, batch_size=self.batch_size, split="train")
        loss, grads = self.model.loss(features, captions)
        self.loss_history.append(loss)
        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Returns 0.0, as the course's (a placeholder there: captions have no accuracy).

        To score captions use :func:`minitorch_cap.evaluate` (BLEU, CIDEr-D, ROUGE-L) on
        ``model.model``.
        """
        return 0.0

    def train(self):
        """Run the optimisation (see the class docstring)."""
        processes = launched_size()
        if processes > 1:
            raise RuntimeError(
                f"CaptioningSolver: started by an MPI launcher with {processes} processes, it would train "
                f"{processes} unrelated copies of the model (it is the course's one-process loop, drawing from "
                "numpy's global random state). Run it without mpiexec, or train data-parallel with "
                "minitorch_cap.Trainer(solver_model.model, data, optimizer, comm=minitorch_cap.distributed.world())")
        num_train = self.data["train_captions"].shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print("(Iteration %d / %d) loss: %f" % (t + 1, num_iterations, self.loss_history[-1]))
            if (t + 1) % iterations_per_epoch == 0:
                self.epoch += 1
                for k in self.optim_configs:
                    self.optim_configs[k]["learning_rate"] *= self.lr_decay
