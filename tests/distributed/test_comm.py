"""minitorch_cap.distributed.comm without MPI: world detection, never importing mpi4py unasked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from minitorch_cap.distributed import launched_size, world


def test_importing_and_training_alone_never_imports_mpi4py():
    code = ("import sys, numpy as np; import minitorch_cap; from minitorch_cap.distributed import world; "
            "from minitorch_cap.training.synthetic import random_caption_data; "
            "d = random_caption_data(20, input_dim=8); m = minitorch_cap.CaptioningModel(d['word_to_idx'], 8, 4, 4); "
            "t = minitorch_cap.Trainer(m, d, minitorch_cap.optim.SGD(m.named_parameters(), 1e-2), "
            "batch_size=10, num_epochs=1, verbose=False, comm=world()); t.train(); "
            "assert world() is None and 'mpi4py' not in sys.modules, sorted(sys.modules)")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr


def test_launched_size_reads_the_launchers_variables():
    assert launched_size({}) == 1
    assert launched_size({"PMI_SIZE": "4"}) == 4
    assert launched_size({"OMPI_COMM_WORLD_SIZE": "3"}) == 3
    assert launched_size({"PMI_SIZE": "junk", "MPI_LOCALNRANKS": "2"}) == 2


def test_world_under_a_launcher_without_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)       # import mpi4py now fails
    with pytest.raises(ImportError, match=r"pip install 'minitorch-cap\[mpi\]'"):
        world()
