"""Run folders (issue 13): one owner per folder, atomic default folders, overwrite that loses nothing,
and completing a run killed at any point."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from minitorch_cap.training import Trainer, load_checkpoint
from minitorch_cap.training.run_dir import (BEST_NAME, CHECKPOINT_NAME, HISTORY_NAME, PREVIOUS_NAME, RunDir,
                                            RunFolderError, RunLock, complete_run, holds_run)

from tests.conftest import QUIET, make_setup

ROOT = Path(__file__).resolve().parents[2]


def trainer(data, out, seed=0, cell_type="lstm", **options):
    model, opt, sched = make_setup(data, cell_type=cell_type, seed=seed)
    options = {**QUIET, "batch_size": 10, "num_epochs": 2, **options}
    return Trainer(model, data, opt, sched, seed=seed, out_dir=out, **options)


def test_a_folder_holding_another_run_is_refused_unless_overwrite(data, tmp_path):
    first = trainer(data, tmp_path / "run")
    first.train()
    before = (tmp_path / "run" / CHECKPOINT_NAME).read_bytes()
    with pytest.raises(RunFolderError, match=r"out_dir '.*run' already holds a run .*; continue it by resuming "
                                             r"from .*checkpoint\.h5, choose another folder, or overwrite it"):
        trainer(data, tmp_path / "run", seed=1).train()
    assert (tmp_path / "run" / CHECKPOINT_NAME).read_bytes() == before
    # resuming into the run's own folder is the same run
    Trainer.resume(tmp_path / "run" / CHECKPOINT_NAME, data=data, num_epochs=3, progress=False).train()
    second = trainer(data, tmp_path / "run", seed=1, overwrite=True)
    second.train()
    saved = load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["trainer"]
    assert saved["config"]["seed"] == 1 and "overwrite" not in saved["config"]
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.name != ".lock") == [BEST_NAME, CHECKPOINT_NAME, HISTORY_NAME]


def test_resume_from_a_run_folder_continues_in_that_folder(data, tmp_path):
    """Trainer.resume(folder) means folder/checkpoint.h5 (it wrote the run into the folder's parent)."""
    trainer(data, tmp_path / "run").train()
    Trainer.resume(tmp_path / "run", data=data, num_epochs=3, progress=False).train()
    assert load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["trainer"]["epoch"] == 3
    assert not (tmp_path / CHECKPOINT_NAME).exists() and not (tmp_path / HISTORY_NAME).exists()


def test_overwrite_keeps_the_old_run_until_the_new_one_has_a_checkpoint(data, tmp_path):
    trainer(data, tmp_path / "run").train()
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}

    def crash(trainer, record):
        raise RuntimeError("crash before the first checkpoint")

    failing = trainer(data, tmp_path / "run", seed=1, overwrite=True, callbacks=[crash])
    with pytest.raises(RuntimeError, match="crash before"):
        failing.train()
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before   # all back, unchanged

    # killed (no close) before the first checkpoint: the next opening restores the old files
    run = RunDir.claim(tmp_path / "run", overwrite=True)
    assert not holds_run(tmp_path / "run") and (tmp_path / "run" / PREVIOUS_NAME / CHECKPOINT_NAME).is_file()
    run.lock.release()                          # what a kill does to the lock
    with pytest.raises(RunFolderError, match="already holds a run"):
        RunDir.claim(tmp_path / "run")
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()} == before

    # after the first checkpoint the old files are gone
    ok = trainer(data, tmp_path / "run", seed=1, overwrite=True, num_epochs=1)
    ok.train()
    assert not (tmp_path / "run" / PREVIOUS_NAME).exists()
    assert load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["trainer"]["config"]["seed"] == 1


def test_two_trainers_on_one_folder_the_second_is_refused(data, tmp_path):
    seen = {}

    def second_run(first, record):
        if "error" not in seen:
            other = trainer(data, tmp_path / "run", seed=1, overwrite=True)
            with pytest.raises(RunFolderError) as info:
                other.train()
            seen["error"] = str(info.value)

    trainer(data, tmp_path / "run", callbacks=[second_run]).train()
    assert seen["error"] == (f"the run folder {str(tmp_path / 'run')!r} is in use: this process is writing a run "
                             "into it; wait for it to finish, or choose another folder")
    assert load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["trainer"]["config"]["seed"] == 0


LOCK_HOLDER = r"""
import sys, time
from minitorch_cap.training.run_dir import RunDir
run = RunDir.claim(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""


def test_a_second_process_is_refused_and_a_dead_ones_lock_is_stale(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(tmp_path / "run")], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderError, match=rf"is in use: process {child.pid} is writing a run into it"):
            RunDir.claim(tmp_path / "run")
        other = RunDir.claim_default(tmp_path / "run")
        assert other.path == tmp_path / "run-2"     # a default choice moves on
        other.close(failed=True)
        assert not other.path.exists()              # claimed, created, nothing written: nothing left behind
    finally:
        child.kill()                                  # kill -9: the lock file stays, the lock does not
        child.wait()
    assert (tmp_path / "run" / ".lock.pid").read_text().strip() == str(child.pid)    # it names its dead owner ...
    with RunDir.claim(tmp_path / "run") as run:                                     # ... and blocks no one
        assert run.lock.held and (tmp_path / "run" / ".lock.pid").read_text().strip() == str(os.getpid())
    assert not run.lock.held and not (tmp_path / "run" / ".lock.pid").exists()


def test_default_folders_are_chosen_atomically(tmp_path, data):
    base = tmp_path / "runs" / "shapes-lstm"
    first = RunDir.claim_default(base)
    second = RunDir.claim_default(base)               # the first is claimed (not yet written): not chosen again
    assert (first.path, second.path) == (base, base.with_name("shapes-lstm-2"))
    trainer(data, first, num_epochs=1).train()        # the run writes through the owner it is given ...
    assert first.lock.held                            # ... which stays the caller's until it closes it
    first.close()
    second.close()
    third = RunDir.claim_default(base)
    assert third.path == second.path                  # first holds a run now; second is free again
    third.close()


def test_stale_temporary_files_are_removed_when_a_folder_is_opened(tmp_path):
    (tmp_path / "run").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / "run" / f".checkpoint.h5.tmp-{dead.stdout.strip()}"
    stale.write_bytes(b"half a file")
    with RunDir.claim(tmp_path / "run"):
        pass
    assert not stale.exists()


def test_resume_into_a_new_folder_keeps_best_h5(data, tmp_path):
    """A run resumed into a new folder that does not improve still has a best.h5 (copied from the old folder)."""
    trainer(data, tmp_path / "a", num_epochs=1).train()
    Trainer.resume(tmp_path / "a" / CHECKPOINT_NAME, data=data, num_epochs=2, out_dir=tmp_path / "b",
                   progress=False, monitor="train_loss", min_delta=1e9).train()
    assert load_checkpoint(tmp_path / "b" / BEST_NAME)["trainer"]["epoch"] == 1


KILLED_RUN = r"""
import os, signal, sys
import numpy as np
from minitorch_cap import CaptioningModel
from minitorch_cap.optim import Adam, ExponentialLR
from minitorch_cap.training import Trainer
from minitorch_cap.data import files
from minitorch_cap.training.synthetic import random_caption_data

out, kill_after = sys.argv[1], int(sys.argv[2])
real, writes = files.atomic_write_bytes, [0]

def dying(path, data):                   # the process dies right after its kill_after-th file write
    real(path, data)
    writes[0] += 1
    if writes[0] == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)

files.atomic_write_bytes = dying
data = random_caption_data(40, 12, input_dim=12, vocab_size=12, T=9, seed=0)
model = CaptioningModel(data["word_to_idx"], input_dim=12, wordvec_dim=8, hidden_dim=16, cell_type="lstm",
                        rng=np.random.default_rng(0))
opt = Adam(model.named_parameters(), lr=1e-2)
Trainer(model, data, opt, ExponentialLR(opt, 0.9), batch_size=10, num_epochs=3, seed=0, verbose=False,
        progress=False, out_dir=out, checkpoint_every=3).train()
"""


def without_seconds(history):
    """A history without what differs between two equal runs: timings and the folder's name."""
    return {**history, "epochs": [{k: v for k, v in r.items() if k != "seconds"} for r in history["epochs"]],
            "config": {k: v for k, v in history["config"].items() if k != "out_dir"}}


def test_a_run_killed_at_any_write_is_completed_exactly(data, tmp_path):
    """kill -9 after each of the first file writes of a run (mid-epoch checkpoints, epoch-end checkpoint,
    best.h5, history.json, the final checkpoint): complete_run + Trainer.resume leave the folder an
    uninterrupted run leaves (the same history.json, best.h5 of the same epoch)."""
    from minitorch_cap.training.synthetic import random_caption_data
    data = random_caption_data(40, 12, input_dim=12, vocab_size=12, T=9, seed=0)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    full = subprocess.run([sys.executable, "-c", KILLED_RUN, str(tmp_path / "full"), "0"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert full.returncode == 0, full.stderr
    reference = json.loads((tmp_path / "full" / HISTORY_NAME).read_text())
    best_epoch = load_checkpoint(tmp_path / "full" / BEST_NAME)["trainer"]["epoch"]
    # 4 iterations per epoch, checkpoint_every=3: the writes are ckpt(it 3), ckpt(ep 1), best, history,
    # ckpt(it 6), ckpt(ep 2), [best,] history, ckpt(it 9), ckpt(ep 3), [best,] history ([best]: if it improved)
    repaired = {}
    for kill_after in (1, 2, 3, 6, 10, 11):
        out = tmp_path / f"killed-{kill_after}"
        result = subprocess.run([sys.executable, "-c", KILLED_RUN, str(out), str(kill_after)], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == -signal.SIGKILL, result.stderr
        status = complete_run(out)
        repaired[kill_after] = status.repaired
        if not status.complete:
            Trainer.resume(status.checkpoint, data=data, progress=False).train()
            status = complete_run(out)
        assert status.complete and status.epoch == status.num_epochs == 3, kill_after
        assert without_seconds(json.loads((out / HISTORY_NAME).read_text())) == without_seconds(reference), kill_after
        assert load_checkpoint(out / BEST_NAME)["trainer"]["epoch"] == best_epoch, kill_after
        assert not [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".lock"], kill_after
        assert complete_run(out).repaired == ()                      # nothing left to repair
    assert HISTORY_NAME in repaired[2]                               # killed between checkpoint and history
    assert repaired[1] == ()                                         # a mid-epoch checkpoint: resume does it all


def test_complete_run_reports_what_it_cannot_do(tmp_path):
    (tmp_path / "empty").mkdir()
    status = complete_run(tmp_path / "empty")
    assert status.checkpoint is None and not status.complete and "metrics.json" in status.missing
    with pytest.raises(RunFolderError, match="is not a run folder"):
        complete_run(tmp_path / "missing")
    with RunLock(tmp_path / "empty"):
        with pytest.raises(RunFolderError, match="is in use"):
            complete_run(tmp_path / "empty")


def test_overwrite_may_start_from_the_checkpoint_it_replaces(data, tmp_path):
    """Issue 13: `--overwrite --init OLD/checkpoint.h5` used to delete the checkpoint it was about to load."""
    trainer(data, tmp_path / "run", num_epochs=1).train()
    again = trainer(data, tmp_path / "run", seed=1, overwrite=True, num_epochs=1,
                    init_from=tmp_path / "run" / CHECKPOINT_NAME)
    again.train()
    assert load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME)["trainer"]["config"]["seed"] == 1
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.name != ".lock") == [BEST_NAME, CHECKPOINT_NAME, HISTORY_NAME]


def test_files_a_run_would_replace_are_refused_too(data, tmp_path):
    """A user's own captions.json is never replaced by a run without overwrite (review finding)."""
    (tmp_path / "captions.json").write_text("my captions")
    with pytest.raises(RunFolderError, match=r"files a run would replace \(captions\.json\)"):
        trainer(data, tmp_path).train()
    assert (tmp_path / "captions.json").read_text() == "my captions"


def test_resuming_from_best_h5_into_its_folder_would_replace_a_later_checkpoint(data, tmp_path):
    """Resuming best.h5 in place threw away the epochs after it (review finding): it is another run now."""
    run = trainer(data, tmp_path / "run", num_epochs=3)
    run.train()
    assert (tmp_path / "run" / "best.h5").is_file()
    with pytest.raises(RunFolderError, match="already holds a run"):
        Trainer.resume(tmp_path / "run" / "best.h5", data=data, progress=False).train()
    branch = Trainer.resume(tmp_path / "run" / "best.h5", data=data, progress=False, num_epochs=4,
                            out_dir=str(tmp_path / "branch"))
    branch.train()
    assert (tmp_path / "branch" / CHECKPOINT_NAME).is_file()


def test_refusing_a_folder_never_advises_resuming_a_damaged_checkpoint(data, tmp_path):
    """Issue 24 C: with checkpoint.h5 damaged, refusing `--resume RUN/best.h5` advised resuming from it."""
    trainer(data, tmp_path / "run", num_epochs=2).train()
    raw = bytearray((tmp_path / "run" / CHECKPOINT_NAME).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "run" / CHECKPOINT_NAME).write_bytes(bytes(raw))
    with pytest.raises(RunFolderError) as info:
        Trainer.resume(tmp_path / "run" / BEST_NAME, data=data, progress=False).train()
    message = str(info.value)
    assert "its checkpoint.h5 cannot be resumed" in message and "is damaged" in message
    assert "continue it by resuming from" not in message


def test_a_failed_claim_removes_every_folder_it_made_and_nothing_else(tmp_path):
    """A claim of a/b/c that fails before anything is written removes c, b and a (it made all three);
    a folder that was there before, or one that holds a file, stays."""
    (tmp_path / "keep").mkdir()
    RunDir.claim(tmp_path / "keep" / "a" / "b" / "c").close(failed=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"] and not any((tmp_path / "keep").iterdir())
    run = RunDir.claim(tmp_path / "x" / "y")
    (tmp_path / "x" / "note.txt").write_text("mine")            # written meanwhile into a folder the claim made
    run.close(failed=True)
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["note.txt"]
    run = RunDir.claim(tmp_path / "done")
    run.close()                                                  # a run that did not fail keeps its folder
    assert (tmp_path / "done").is_dir()
