"""Data-parallel training on MPI (mpi4py, the optional extra ``mpi``): the same run on K processes.

``mpiexec -n K minitorch-cap train ...`` or, in a script run by ``mpiexec -n K python``::

    from minitorch_cap.distributed import world
    trainer = Trainer(model, data, optimizer, comm=world())   # world(): MPI.COMM_WORLD, or None alone

Each global minibatch and its dropout masks are split over the K ranks and one all-reduce per
step sums the gradients (:mod:`.parallel`), so K ranks compute the one-process run and a checkpoint
written with K ranks resumes with any K'. Only the order of the gradient sums differs: the losses
agree to 1e-12 (float64) or 1e-6 (float32) for the first hundred steps or so, then training amplifies
the rounding (measured in the README, ``benchmarks/mpi_drift.py``). A rank that raises, is
interrupted or dies stops the others within a bounded time (:mod:`.comm`).

mpi4py is imported only when needed: this package imports without it, and ``world()``
returns ``None`` outside an MPI launcher.
"""

from .comm import Communicator, RankFailed, communicator, launched_size, only_root_prints, world
from .parallel import DataParallel, RanksDisagree, SingleProcess, WeightsDrifted, allreduce_bytes, data_parallel

__all__ = ["world", "only_root_prints", "launched_size", "Communicator", "communicator", "RankFailed", "DataParallel",
           "SingleProcess", "WeightsDrifted", "RanksDisagree", "data_parallel", "allreduce_bytes"]
