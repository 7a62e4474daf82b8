"""Natural-image baseline: rank any image set by an encoder's predicted response.

The reference point for synthetic images is the best natural image: rank a
stimulus set (NSD's, the embedded photographs, a user's folder) by the same
objectives and the same encoder, and compare the top-k with the synthesised
images (NeuroGen reports synthetic images above the best natural ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from neurokit.exceptions import ImageShapeError
from neurokit.validation import check_int
from neurogen.objectives import Objective
from neurogen.optimize import Encoders, as_encoders, as_objectives, needed_encoders, predict


def as_image_batch(images: np.ndarray | torch.Tensor, name: str = "images") -> torch.Tensor:
    """Images as a float32 tensor (n, 3, H, W) in [0, 1].

    Parameters
    ----------
    images : ndarray (n, H, W, 3) or Tensor (n, 3, H, W)
        Floats in [0, 1], or a numpy ``uint8`` array (0..255).

    Raises
    ------
    ImageShapeError
        Wrong dimensions or channels, or float values outside [0, 1].
    """
    if isinstance(images, torch.Tensor):
        tensor = images
        if tensor.ndim != 4 or tensor.shape[1] != 3:
            raise ImageShapeError(f"{name}: a tensor must have shape (n, 3, H, W), got {tuple(tensor.shape)}")
        tensor = tensor.float()
    else:
        arr = np.asarray(images)
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ImageShapeError(f"{name}: an array must have shape (n, H, W, 3), got {arr.shape}")
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        elif arr.dtype.kind != "f":
            raise ImageShapeError(f"{name}: expected float values in [0, 1] or uint8, got dtype {arr.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).permute(0, 3, 1, 2)
    if tensor.shape[0] == 0:
        raise ImageShapeError(f"{name}: no images")
    lo, hi = float(tensor.min()), float(tensor.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -1e-3 or hi > 1 + 1e-3:
        raise ImageShapeError(f"{name}: values must be in [0, 1], got range [{lo:.3g}, {hi:.3g}]")
    return tensor.clamp(0, 1)


@dataclass
class ImageRanking:
    """Natural images ranked by objectives.

    Attributes
    ----------
    scores : ndarray of shape (n_objectives, n_images)
        Objective value of every image (higher is better).
    order : ndarray of shape (n_objectives, n_images)
        Image indices from best to worst, per objective.
    predictions : dict of str to ndarray (n_images, n_targets)
        Each encoder's predicted responses.
    objective_names : list of str
    """

    scores: np.ndarray
    order: np.ndarray
    predictions: dict[str, np.ndarray]
    objective_names: list[str]

    def top(self, k: int) -> np.ndarray:
        """Indices of the ``k`` best images per objective, (n_objectives, k)."""
        k = check_int(k, "k", minimum=1)
        return self.order[:, : min(k, self.order.shape[1])]

    @property
    def best_score(self) -> np.ndarray:
        """Score of the best image per objective, (n_objectives,)."""
        return np.take_along_axis(self.scores, self.order[:, :1], axis=1)[:, 0]


def rank_images(
    encoder: Encoders,
    images: np.ndarray | torch.Tensor,
    objectives: Objective | Sequence[Objective],
    *,
    input_size: tuple[int, int] | None = None,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ImageRanking:
    """Rank images by the objectives' values under the encoder(s).

    Parameters
    ----------
    encoder : nn.Module or mapping of str to nn.Module
        Images (n, 3, H, W) in [0, 1] -> predictions (n, n_targets).
    images : ndarray (n, H, W, 3) or Tensor (n, 3, H, W)
        The candidate images, values in [0, 1].
    objectives : Objective or sequence of Objective
        E.g. ``ROIActivation(roi)`` per ROI: ranks by predicted ROI response.
    input_size : (int, int), optional
        Resize to this size before the encoder (use the same as the optimiser).
    batch_size : int, default 32
    device : str or torch.device, optional
        Where to run (default: the device of the encoder's first parameter).
    progress : bool, default False

    Returns
    -------
    ImageRanking
    """
    encoders = as_encoders(encoder)
    objectives = as_objectives(objectives)
    needed = needed_encoders(objectives, encoders)
    tensor = as_image_batch(images)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if device is None:
        first = next((p for m in encoders.values() for p in m.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    scores = np.empty((len(objectives), tensor.shape[0]), dtype=np.float64)
    preds_all: dict[str, list[np.ndarray]] = {name: [] for name in needed}
    modes = {m: m.training for m in encoders.values()}
    for module in modes:
        module.eval()
    try:
        with torch.no_grad():
            for lo in tqdm(range(0, tensor.shape[0], batch_size), disable=not progress, desc="ranking images"):
                batch = tensor[lo: lo + batch_size].to(device)
                preds = predict(encoders, batch, input_size, needed)
                for name, p in preds.items():
                    preds_all[name].append(p.cpu().numpy())
                for k, obj in enumerate(objectives):
                    scores[k, lo: lo + batch.shape[0]] = obj.value(preds).double().cpu().numpy()
    finally:
        for module, training in modes.items():
            module.train(training)
    order = np.argsort(-scores, axis=1, kind="stable")
    return ImageRanking(
        scores=scores,
        order=order,
        predictions={name: np.concatenate(v) for name, v in preds_all.items()},
        objective_names=[o.name for o in objectives],
    )
