"""The shared training loop: AdamW + schedule, early stopping, per-epoch training states, exact resume, DDP.

:class:`Trainer` fits any ``torch.nn.Module``; with a ``run_dir`` it writes
the run's training state after every epoch (:func:`save_training_state`:
model, optimizer, scheduler, RNG and trainer state, safetensors + JSON) so a
killed run resumes exactly. Finished models are saved with
:mod:`neurokit.checkpoints` instead. Run data-parallel with
``torchrun --nproc_per_node N -m neurokit.training ...`` (see
``python -m neurokit.training --help``) or call :class:`Trainer` from a script
started by torchrun.
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
