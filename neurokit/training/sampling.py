"""Deterministic data order: per-epoch seeded permutations, split into global batches and rank shards.

The order of epoch ``e`` depends only on ``(seed, e)``, never on a global RNG
stream, so a run resumed at epoch ``e`` sees exactly the batches an
uninterrupted run would, and every rank of a distributed run agrees on the
global batches without communicating.
"""

from __future__ import annotations

import torch

from neurokit.validation import check_int


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A 63-bit seed derived from ``(seed, epoch, rank)`` (SplitMix64 mixing)."""
    z = (int(seed) * 0x9E3779B97F4A7C15 + int(epoch) * 0xBF58476D1CE4E5B9 + int(rank) * 0x94D049BB133111EB) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    return (z ^ (z >> 31)) >> 1


def epoch_batches(
    n_samples: int, batch_size: int, seed: int, epoch: int, *, shuffle: bool = True, drop_last: bool = False
) -> list[torch.Tensor]:
    """Global batches of sample indices for one epoch.

    Parameters
    ----------
    n_samples : int
        Number of training samples.
    batch_size : int
        Global batch size (summed over all ranks).
    seed, epoch : int
        The permutation is drawn from a generator seeded with
        ``epoch_seed(seed, epoch)``.
    shuffle : bool
        If false, batches follow the sample order.
    drop_last : bool
        Drop a final batch smaller than ``batch_size``.

    Returns
    -------
    list of torch.Tensor of int64
        Index batches; together they cover every sample once (but for a
        dropped remainder).
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if shuffle:
        gen = torch.Generator().manual_seed(epoch_seed(seed, epoch))
        order = torch.randperm(n_samples, generator=gen)
    else:
        order = torch.arange(n_samples)
    batches = list(order.split(batch_size))
    if drop_last and len(batches) > 1 and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def shard(indices: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """The contiguous part of ``indices`` that ``rank`` of ``world_size`` processes.

    Shards differ in size by at most one (like :func:`numpy.array_split`) and,
    concatenated in rank order, give back ``indices``. A shard may be empty
    when ``len(indices) < world_size``.
    """
    world_size = check_int(world_size, "world_size", minimum=1)
    rank = check_int(rank, "rank", minimum=0, maximum=world_size - 1)
    n = len(indices)
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return indices[start : start + base + (1 if rank < extra else 0)]
