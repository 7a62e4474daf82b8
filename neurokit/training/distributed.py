"""PyTorch DistributedDataParallel plumbing for the training loop (``torchrun``).

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (and the rendezvous
address); :func:`init_distributed` reads them, initialises the default process
group (gloo on CPU, NCCL on CUDA) and returns a :class:`DistributedContext`.
Without those variables everything degrades to a single process.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from neurokit.exceptions import InvalidParameterError


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in a (possibly single-process) run.

    Attributes
    ----------
    rank, world_size, local_rank : int
        Global rank, number of processes, rank on this machine.
    backend : str or None
        Process-group backend (``"gloo"``, ``"nccl"``), None when not distributed.
    owns_group : bool
        Whether :func:`init_distributed` created the process group (and
        :func:`shutdown` should destroy it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that writes files and prints."""
        return self.rank == 0


def env_world() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the torchrun environment (``(0, 1, 0)`` without it)."""
    try:
        rank = int(os.environ.get("RANK", 0))
        world = int(os.environ.get("WORLD_SIZE", 1))
        local = int(os.environ.get("LOCAL_RANK", rank))
    except ValueError as err:
        raise InvalidParameterError(f"RANK/WORLD_SIZE/LOCAL_RANK must be integers: {err}") from err
    if world < 1 or not 0 <= rank < world:
        raise InvalidParameterError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world}")
    return rank, world, local


def init_distributed(
    device_type: str = "cpu", backend: str | None = None, timeout: datetime.timedelta | None = None
) -> DistributedContext:
    """Join the process group that torchrun set up, or run alone.

    Parameters
    ----------
    device_type : {"cpu", "cuda"}
        Picks the default backend: gloo for CPU, NCCL for CUDA.
    backend : str, optional
        Explicit backend.
    timeout : datetime.timedelta, optional
        How long collectives (a barrier) wait for the slowest rank; torch's
        default (30 minutes for gloo) when None.

    Returns
    -------
    DistributedContext
    """
    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), dist.get_world_size(), env_world()[2], dist.get_backend(), False)
    rank, world, local = env_world()
    if world == 1:
        return DistributedContext(0, 1, 0, None, False)
    if not dist.is_available():  # pragma: no cover - torch built without distributed
        raise InvalidParameterError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = backend or ("nccl" if device_type == "cuda" else "gloo")
    if device_type == "cuda":
        torch.cuda.set_device(local)
    _import_group_capturing_modules()
    extra = {} if timeout is None else {"timeout": timeout}
    dist.init_process_group(backend=backend, rank=rank, world_size=world, **extra)
    return DistributedContext(rank, world, local, backend, True)


def _import_group_capturing_modules() -> None:
    """Import, before the group exists, the torch modules that would pin it.

    ``torch.distributed.nn.functional`` binds ``group=group.WORLD`` as default
    arguments when it is imported; DistributedDataParallel's constructor
    imports it (through ``torch._dynamo``). Imported after
    ``init_process_group``, those defaults hold the default process group
    forever, :func:`shutdown` cannot free it, and gloo's worker threads
    outlive the interpreter: at exit one of them may drop the last reference
    to a collective's tensor without the GIL and the process aborts
    ("terminate called without an active exception", SIGABRT) after a
    successful run. Imported first, the defaults hold the placeholder.
    (``torch.distributed.optim.zero_redundancy_optimizer`` and
    ``torch.distributed.fsdp.sharded_grad_scaler`` use the same pattern but
    are not imported by this loop; the regression test in
    ``tests/neurokit/test_training_distributed.py`` lists the threads left after a fit.)
    """
    import torch.distributed.nn.functional  # noqa: F401


def shutdown(ctx: DistributedContext) -> None:
    """Destroy the process group if ``ctx`` created it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistributedContext) -> None:
    """Wait for every rank (no-op when alone)."""
    if ctx.enabled:
        dist.barrier()


def all_reduce_sum(tensor: torch.Tensor, ctx: DistributedContext) -> torch.Tensor:
    """Sum ``tensor`` over ranks, in place, and return it (no-op when alone)."""
    if ctx.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def gather_rows(tensor: torch.Tensor, ctx: DistributedContext) -> torch.Tensor:
    """Concatenate every rank's ``(n_r, ...)`` tensor along dim 0, in rank order, on every rank."""
    if not ctx.enabled:
        return tensor
    n = torch.tensor([tensor.shape[0]], device=tensor.device)
    sizes = [torch.zeros_like(n) for _ in range(ctx.world_size)]
    dist.all_gather(sizes, n)
    n_max = int(max(s.item() for s in sizes))
    padded = torch.zeros((n_max, *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in range(ctx.world_size)]
    dist.all_gather(parts, padded)
    return torch.cat([p[: int(s.item())] for p, s in zip(parts, sizes)])


def wrap_model(model: nn.Module, ctx: DistributedContext, device: torch.device) -> nn.Module:
    """Wrap ``model`` in DistributedDataParallel when distributed, else return it.

    Non-persistent buffers (e.g. the MeshConv sparse operators, which every
    rank builds identically from the mesh) are excluded from DDP's buffer
    broadcast: they are constants, and sparse tensors cannot be broadcast.
    Parameters are broadcast from rank 0 at wrap time, so all ranks start equal.
    """
    if not ctx.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    persistent = set(model.state_dict())
    ignore = [name for name, _ in model.named_buffers() if name not in persistent]
    if ignore:
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, ignore)
    device_ids = [device.index if device.index is not None else ctx.local_rank] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)
