"""The shared training loop: AdamW + schedule, early stopping, checkpoints, resume, DDP.

Run data-parallel with ``torchrun --nproc_per_node N -m neurokit.training ...``
(see ``python -m neurokit.training --help``) or call :class:`Trainer` from a
script started by torchrun.
"""

from neurokit.training.distributed import DistributedContext, init_distributed
from neurokit.training.sampling import epoch_batches, epoch_seed, shard
from neurokit.training.state import list_training_states, load_training_state, save_training_state
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
    "list_training_states",
    "load_training_state",
    "mean_pearson_r",
    "save_training_state",
    "shard",
]
