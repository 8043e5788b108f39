"""What the ranks of a data-parallel run compare before the first step (minitorch_cap/training/agreement.py);
the comparison itself: tests/distributed/test_parallel.py, real ranks: test_parallel_mpi.py."""

import json

from minitorch_cap.distributed.parallel import description_differences
from minitorch_cap.optim import SGD
from minitorch_cap.training import Trainer
from minitorch_cap.training.agreement import PER_PROCESS_OPTIONS, REMEDIES, run_description

from tests.conftest import make_caption_data, make_setup


def trainer(data=None, lr=1e-2, **options):
    data = make_caption_data() if data is None else data
    model, opt, sched = make_setup(data, lr=lr)
    return Trainer(model, data, opt, sched, **{"batch_size": 10, "seed": 0, "verbose": False, "progress": False,
                                              **options})


def differences(a, b):
    return [key for key, _ in description_differences(run_description(a), run_description(b), 1)]


def test_the_description_has_every_topic_and_is_json():
    description = run_description(trainer())
    assert list(description) == ["data", "model", "optimizer", "scheduler", "options", "progress", "batch split",
                                 "versions"]
    assert set(REMEDIES) == set(description)            # every topic says how to make it agree
    assert json.loads(json.dumps(description)) == description
    assert not set(PER_PROCESS_OPTIONS) & set(description["options"])
    assert description["batch split"] == {"batch_size": 10, "iterations_per_epoch": 4, "ranks": 1}


def test_what_only_prints_or_writes_may_differ_and_what_changes_the_numbers_may_not(tmp_path):
    base = trainer()
    assert differences(base, trainer(verbose=True, print_every=3, out_dir=str(tmp_path), checkpoint_every=2,
                                     keep_best=False)) == []
    assert differences(base, trainer(lr=2e-2)) == ["optimizer.hyperparams.lr", "scheduler.base_lr", "scheduler.lr"]
    assert differences(base, trainer(seed=1)) == ["options.seed"]
    assert differences(base, trainer(metrics={"m": lambda model, data: 0.0})) == ["options.metrics"]
    fewer = dict(base.data, train_captions=base.data["train_captions"][:38],
                 train_image_idxs=base.data["train_image_idxs"][:38])
    other = trainer(fewer)                             # two captions fewer
    assert differences(base, other) == ["data.num_train", "data.train_captions_sha256",
                                        "batch split.iterations_per_epoch"]
    model, _, _ = make_setup(base.data, cell_type="gru")
    assert "model.config.cell_type" in differences(base, Trainer(model, base.data, SGD(model.named_parameters(), 0.1),
                                                                 batch_size=10, seed=0, verbose=False))


def test_the_optimizer_state_and_the_counters_are_compared():
    done, fresh = trainer(num_epochs=1), trainer(num_epochs=1)
    done.train()
    found = differences(fresh, done)
    assert {"optimizer.state_sha256", "progress.epoch", "progress.iteration", "scheduler.last_epoch"} <= set(found)
