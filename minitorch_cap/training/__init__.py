"""Training: the ``Trainer`` loop, HDF5 checkpoints (save, load, exact resume) and run folders.

``run_dir`` owns a run folder's files, lock and completion (``RunDir``, ``complete_run``);
``sigterm_as_interrupt`` makes SIGTERM stop a run as Ctrl-C does; ``blas_threads`` limits numpy's BLAS.
"""

from ..data.files import WriteError
from .checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint
from .process import Terminated, blas_threads, sigterm_as_interrupt
from .restore import init_from_checkpoint, load_model
from .run_dir import RunDir, RunFolderError, RunStatus, complete_run
from .trainer import Trainer, TrainerConfig, TrainingDiverged

__all__ = [
    "Trainer", "TrainerConfig", "TrainingDiverged",
    "save_checkpoint", "load_checkpoint", "load_model", "init_from_checkpoint", "CheckpointError", "FORMAT_VERSION",
    "WriteError", "RunDir", "RunFolderError", "RunStatus", "complete_run",
    "sigterm_as_interrupt", "Terminated", "blas_threads",
]
