"""Held-out scores for early stopping: the mean Pearson r over targets, streamed and all-reduced.

The default metric keeps float64 sufficient statistics per target (n, sums,
sums of squares and cross-products), so predictions never have to be held in
memory at once and a distributed run sums the statistics of its shards with one
all-reduce, giving exactly the correlation of the full validation set.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from neurokit.exceptions import DataValidationError

Reduce = Callable[[torch.Tensor], torch.Tensor]


class StreamingPearson:
    """Mean Pearson correlation over targets, accumulated batch by batch.

    Targets and predictions of shape (n, ...) are flattened to
    (n, n_targets); the score is the mean over targets of the correlation
    across samples. Constant targets or predictions give r = 0 for that target.
    """

    def __init__(self) -> None:
        self.stats: torch.Tensor | None = None  # (6, n_targets): n, sx, sy, sxx, syy, sxy

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of predictions and targets of shape (batch, ...)."""
        p = pred.detach().reshape(pred.shape[0], -1).double()
        t = target.detach().reshape(target.shape[0], -1).to(p.device).double()
        if p.shape != t.shape:
            raise DataValidationError(f"predictions {tuple(pred.shape)} and targets {tuple(target.shape)} differ")
        s = torch.stack(
            [torch.full_like(p[0], p.shape[0]), p.sum(0), t.sum(0), (p * p).sum(0), (t * t).sum(0), (p * t).sum(0)]
        )
        self.stats = s if self.stats is None else self.stats + s

    def per_target(self, reduce: Reduce | None = None) -> torch.Tensor:
        """Pearson r of every target, after summing the statistics with ``reduce`` (e.g. an all-reduce)."""
        if self.stats is None:
            raise DataValidationError("no validation batch was seen")
        s = reduce(self.stats.clone()) if reduce is not None else self.stats
        n, sx, sy, sxx, syy, sxy = s
        cov = sxy - sx * sy / n
        vx = (sxx - sx * sx / n).clamp_min(0)
        vy = (syy - sy * sy / n).clamp_min(0)
        den = (vx * vy).sqrt()
        return torch.where(den > 0, cov / den.clamp_min(1e-300), torch.zeros_like(cov))

    def compute(self, reduce: Reduce | None = None) -> float:
        """Mean Pearson r over targets (a Python float)."""
        return float(self.per_target(reduce).mean())


def mean_pearson_r(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over targets of the Pearson correlation across samples.

    Parameters
    ----------
    pred, target : torch.Tensor of shape (n_samples, ...)

    Returns
    -------
    float
    """
    acc = StreamingPearson()
    acc.update(pred, target)
    return acc.compute()
