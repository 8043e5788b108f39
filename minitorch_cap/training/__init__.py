"""Training: the ``Trainer`` loop and HDF5 checkpoints (save, load, exact resume)."""

from .checkpoint import (
    FORMAT_VERSION, CheckpointError, init_from_checkpoint, load_checkpoint, load_model, save_checkpoint,
)
from .trainer import Trainer, TrainerConfig, TrainingDiverged

__all__ = [
    "Trainer", "TrainerConfig", "TrainingDiverged",
    "save_checkpoint", "load_checkpoint", "load_model", "init_from_checkpoint", "CheckpointError", "FORMAT_VERSION",
]
