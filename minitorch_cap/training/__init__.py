"""Training: the ``Trainer`` loop, HDF5 checkpoints (save, load, exact resume) and run folders.

``run_dir`` owns a run folder's files, lock and completion (``open_run_dir``,
``claim_default_run_dir``, ``complete_run``); ``sigterm_as_interrupt`` makes SIGTERM stop a
run as Ctrl-C does.
"""

from ..data.files import WriteError
from .checkpoint import (
    FORMAT_VERSION, CheckpointError, init_from_checkpoint, load_checkpoint, load_model, save_checkpoint,
)
from .interrupts import Terminated, sigterm_as_interrupt
from .run_dir import RunFolderError, RunStatus, check_run_dir, claim_default_run_dir, complete_run, open_run_dir
from .trainer import Trainer, TrainerConfig, TrainingDiverged

__all__ = [
    "Trainer", "TrainerConfig", "TrainingDiverged",
    "save_checkpoint", "load_checkpoint", "load_model", "init_from_checkpoint", "CheckpointError", "FORMAT_VERSION",
    "WriteError", "RunFolderError", "RunStatus", "open_run_dir", "check_run_dir", "claim_default_run_dir", "complete_run",
    "sigterm_as_interrupt", "Terminated",
]
