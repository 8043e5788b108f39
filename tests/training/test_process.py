"""sigterm_as_interrupt: SIGTERM stops a run as Ctrl-C does (issue 13)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from minitorch_cap.training.run_dir import RunLock

from minitorch_cap.training import Terminated, Trainer, load_checkpoint, sigterm_as_interrupt

from tests.conftest import make_setup

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_during_training_is_a_keyboard_interrupt_and_the_run_stays_resumable(data, tmp_path):
    model, opt, sched = make_setup(data)

    def terminate(trainer, record):
        if record["epoch"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    trainer = Trainer(model, data, opt, sched, batch_size=10, num_epochs=4, seed=0, out_dir=tmp_path,
                      callbacks=[terminate], verbose=False, progress=False)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="terminated by SIGTERM") as info:
        with sigterm_as_interrupt():
            trainer.train()
    assert isinstance(info.value, Terminated)
    assert signal.getsignal(signal.SIGTERM) is before                   # restored
    assert load_checkpoint(tmp_path / "checkpoint.h5")["trainer"]["epoch"] == 1
    assert not (tmp_path / ".lock.pid").exists()                         # the folder is free again
    RunLock(tmp_path).acquire().release()
    resumed = Trainer.resume(tmp_path / "checkpoint.h5", data=data, progress=False)
    resumed.train()
    assert resumed.epoch == 4


def test_a_terminated_process_runs_its_cleanup():
    script = ("import os, signal, sys\n"
              "from minitorch_cap.training import sigterm_as_interrupt\n"
              "try:\n"
              "    with sigterm_as_interrupt():\n"
              "        os.kill(os.getpid(), signal.SIGTERM)\n"
              "        signal.pause()\n"
              "except KeyboardInterrupt as exc:\n"
              "    print('cleaned up after', exc)\n")
    result = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "cleaned up after terminated by SIGTERM\n", result.stderr


def test_blas_threads_limits_numpys_blas_inside_the_block(capsys):
    import os

    from threadpoolctl import threadpool_info

    from minitorch_cap.training import blas_threads

    def blas():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = blas()
    with blas_threads(1):
        assert blas() and set(blas()) == {1}
    assert blas() == before
    cores = os.cpu_count() or 1
    with blas_threads(cores + 5):
        assert max(blas()) <= cores
    assert f"more than this machine's {cores} cores; using {cores}" in capsys.readouterr().err
