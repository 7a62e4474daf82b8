"""The shared training loop: AdamW + schedule, early stopping, checkpoints, resume, DDP.

Run data-parallel with ``torchrun --nproc_per_node N -m neurokit.training ...``
(see ``python -m neurokit.training --help``) or call :class:`Trainer` from a
script started by torchrun.
"""

from neurokit.training.distributed import DistributedContext, init_distributed
from neurokit.training.sampling import epoch_batches, epoch_seed, shard
from neurokit.training.state import list_checkpoints, load_checkpoint, save_checkpoint
from neurokit.training.trainer import PRECISIONS, SCHEDULES, Trainer, TrainingHistory, fit_model
from neurokit.training.validation import StreamingPearson, mean_pearson_r

__all__ = [
    "PRECISIONS",
    "SCHEDULES",
    "DistributedContext",
    "StreamingPearson",
    "Trainer",
    "TrainingHistory",
    "epoch_batches",
    "epoch_seed",
    "fit_model",
    "init_distributed",
    "list_checkpoints",
    "load_checkpoint",
    "mean_pearson_r",
    "save_checkpoint",
    "shard",
]
