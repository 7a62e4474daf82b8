"""``neurokit reconstruct``: reconstruct seen images from fMRI files.

The subcommand is registered into the ``neurokit`` command line through its
plugin hook (:func:`neurokit.cli.add_subcommand`, or the
``neurokit.commands`` entry-point group), so :mod:`neurokit` never imports
:mod:`cortex2image`::

    neurokit reconstruct MODEL LEFT RIGHT --output DIR [--samples N] [--seed S]
                         [--rerank-encoder PATH | --no-rerank] [--overwrite]

Everything is read and validated, and every image computed, before anything
is written; the output folder is assembled under a temporary name next to
``DIR`` and renamed into place, so a failure leaves no partial folder.
``DIR`` must be new, empty or an earlier output of this toolkit (it holds
``.neurokit-output.json``); ``--overwrite`` replaces only such a folder, never
a user's files.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.exceptions import DataValidationError
from neurokit.io.output_folder import atomic_output_folder, check_output_folder

__all__ = ["register", "reconstruct_command", "write_reconstruction", "contact_sheet", "main"]


def register(subparsers: Any) -> None:
    """Add the ``reconstruct`` subcommand to a ``neurokit`` subparsers object."""
    p = subparsers.add_parser(
        "reconstruct",
        help="reconstruct seen images from fMRI files (cortex2image)",
        description="Reconstruct the images a subject saw from left/right fsaverage response files "
        "(MGH/MGZ, GIfTI or npy; one sample per row/frame) with a trained cortex2image model.",
    )
    p.add_argument("model", help="model checkpoint (folder, stem or .json/.safetensors) saved by Reconstructor.save")
    p.add_argument("left", help="left-hemisphere response file (or an .npy with both hemispheres, or a NIfTI volume)")
    p.add_argument("right", nargs="?", default=None, help="right-hemisphere response file")
    p.add_argument("--output", "-o", required=True, help="output folder (must not exist unless --overwrite)")
    p.add_argument("--samples", type=int, default=8,
                   help="images drawn per response; the one whose predicted brain response correlates best with "
                        "the measured one is kept (default 8)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the samples (default 0)")
    p.add_argument("--temperature", type=float, default=1.0, help="posterior noise scale (default 1)")
    p.add_argument("--rerank-encoder", default=None,
                   help="LinearImageEncoder checkpoint used for reranking instead of the model's own encoder")
    p.add_argument("--no-rerank", action="store_true", help="keep the posterior-mean sample (no reranking)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier output folder of this command (never a folder with other files)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.set_defaults(func=reconstruct_command)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def contact_sheet(samples: np.ndarray, *, pad: int = 2) -> np.ndarray:
    """Grid of images: one row per input, one column per sample.

    Parameters
    ----------
    samples : ndarray of shape (n, n_samples, H, W, 3)
        Values in [0, 1].
    pad : int
        White pixels between images.

    Returns
    -------
    ndarray of uint8, shape (n * (H + pad) + pad, n_samples * (W + pad) + pad, 3)
    """
    samples = np.asarray(samples)
    if samples.ndim != 5 or samples.shape[-1] != 3:
        raise DataValidationError(f"samples: expected (n, n_samples, H, W, 3), got {samples.shape}")
    n, s, h, w, _ = samples.shape
    sheet = np.full((n * (h + pad) + pad, s * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(n):
        for j in range(s):
            top, left = pad + i * (h + pad), pad + j * (w + pad)
            sheet[top : top + h, left : left + w] = _to_uint8(samples[i, j])
    return sheet


def write_reconstruction(result: Any, output: str | os.PathLike, *, overwrite: bool = False,
                         record: dict[str, Any] | None = None,
                         nsd_ids: Sequence[int] | np.ndarray | None = None) -> Path:
    """Write a :class:`~cortex2image.reconstructor.Reconstruction` as a folder, atomically.

    Files: ``recon_0000.png`` ... (the chosen image per input),
    ``samples/recon_0000_s00.png`` ... (every sample, when more than one),
    ``contact_sheet.png`` and ``reconstruction.json`` (settings, chosen
    samples, rerank scores and ``record``). With ``nsd_ids`` (the seen image
    of each input), the index also holds ``"nsd_ids"`` (aligned with
    ``"files"``) and ``"nsd_id_of_file"`` (file name -> NSD id), which
    :func:`cortex2image.evaluation.evaluate_reconstruction_folder` reads to
    rescore the folder.

    The folder is assembled under a temporary name and renamed into place
    (:func:`neurokit.io.output_folder.atomic_output_folder`): ``overwrite``
    replaces only an earlier output folder of the toolkit's (it holds the
    marker file), never a file or a folder with a user's files.

    Raises
    ------
    OutputExistsError
        If ``output`` is a file or a folder of someone else's, or an earlier
        output folder and ``overwrite`` is false.
    DataValidationError
        If ``nsd_ids`` does not give one id per input.
    """
    from PIL import Image

    n = result.samples.shape[0]
    files = [f"recon_{i:04d}.png" for i in range(n)]
    index: dict[str, Any] = {}
    if nsd_ids is not None:
        ids = np.asarray(nsd_ids)
        if ids.shape != (n,) or not np.issubdtype(ids.dtype, np.integer):
            raise DataValidationError(f"nsd_ids: expected {n} integer NSD ids (one per input), got {ids.shape} "
                                      f"{ids.dtype}")
        index = {"nsd_ids": ids.tolist(), "nsd_id_of_file": dict(zip(files, ids.tolist()))}
    with atomic_output_folder(output, command="neurokit reconstruct", overwrite=overwrite) as tmp:
        n, s = result.samples.shape[:2]
        for i in range(n):
            Image.fromarray(_to_uint8(result.images[i])).save(tmp / f"recon_{i:04d}.png")
        if s > 1:
            (tmp / "samples").mkdir()
            for i in range(n):
                for j in range(s):
                    Image.fromarray(_to_uint8(result.samples[i, j])).save(tmp / "samples" / f"recon_{i:04d}_s{j:02d}.png")
        Image.fromarray(contact_sheet(result.samples)).save(tmp / "contact_sheet.png")
        doc = {
            "n_inputs": int(n),
            "n_samples": int(s),
            "image_size": list(result.images.shape[1:3]),
            "chosen_sample": result.chosen.tolist(),
            "rerank_scores": None if result.rerank_scores is None else np.round(result.rerank_scores, 6).tolist(),
            "files": files,
            **dict(result.meta),
            **dict(record or {}),
            **index,
        }
        (tmp / "reconstruction.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    out = Path(os.fspath(output))
    return out


def reconstruct_command(args: argparse.Namespace) -> int:
    """Run ``neurokit reconstruct`` with parsed arguments; returns the exit status."""
    from cortex2image.reconstructor import Reconstructor
    from cortex2image.rerank_encoder import LinearImageEncoder

    out = check_output_folder(args.output, overwrite=args.overwrite)  # before any work
    if args.samples < 1:
        raise DataValidationError(f"--samples must be at least 1, got {args.samples}")
    model = Reconstructor.load(args.model, device=args.device)
    source: Any = args.left if args.right is None else (args.left, args.right)
    encoder = LinearImageEncoder.load(args.rerank_encoder) if args.rerank_encoder else None
    if args.no_rerank:
        encoder = False
    result = model.reconstruct(source, n_samples=args.samples, seed=args.seed, temperature=args.temperature,
                               rerank_encoder=encoder)
    record = {"model": os.fspath(args.model), "left": os.fspath(args.left),
              "right": None if args.right is None else os.fspath(args.right),
              "rerank_encoder": "none" if args.no_rerank else (args.rerank_encoder or "the model's own")}
    path = write_reconstruction(result, out, overwrite=args.overwrite, record=record)
    print(f"wrote {result.images.shape[0]} reconstructions to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``neurokit`` command line with ``reconstruct`` registered in-process (for tests and ``python -m``)."""
    from neurokit import cli

    cli.add_subcommand(register)
    return cli.main(argv)


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(sys.argv[1:]))
