"""Benchmark: latent-optimisation steps per second (batch of 8 trajectories).

Each step is one generator forward, one encoder forward on the images, one
backward to the latents and one Adam update. The encoder is a cheap but real
one: EfficientNet-Lite0 (ImageNet weights, from ``encoding.features``) up to
stage 4, average-pooled, then a fixed random linear read-out to 24 "ROIs"
(NeuroGen's count); with ``--encoder convnet`` a small random conv net.

Usage::

    python benchmarks/neurogen.py                      # DCGAN and Fourier on CPU
    python benchmarks/neurogen.py --generators biggan --device cuda   # BigGAN-deep-256 on a GPU

BigGAN uses the pretrained ``biggan-deep-256`` when it is in the cache (or
``--biggan-path``), else a randomly initialised model of the same size (the
speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

# This script shares its name with the package it measures: drop its own folder from the
# import path so that ``import neurogen`` finds the package, not this file.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import torch  # noqa: E402
from torch import nn  # noqa: E402

from neurogen import FourierImage, LatentOptimizer, ROIActivation  # noqa: E402
from neurogen.generators import BigGANGenerator, DCGANFaceGenerator  # noqa: E402

BIGGAN_DEEP_256 = dict(
    output_dim=256, z_dim=128, class_embed_dim=128, channel_width=128, num_classes=1000,
    layers=[(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8), (True, 8, 8),
            (False, 8, 4), (True, 4, 4), (False, 4, 2), (True, 2, 2), (False, 2, 1), (True, 1, 1)],
    attention_layer_position=8, eps=1e-4, n_stats=51,
)


class EfficientNetROIEncoder(nn.Module):
    """EfficientNet-Lite0 stage-4 features (pooled) -> fixed random linear map to ``n_rois`` outputs."""

    def __init__(self, n_rois: int = 24, input_size: int = 128) -> None:
        super().__init__()
        from encoding.features.efficientnet import load_efficientnet_lite0

        self.net = load_efficientnet_lite0().requires_grad_(False)
        self.input_size = input_size
        torch.manual_seed(0)
        self.readout = nn.Linear(80, n_rois).requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                                      align_corners=False)
        feats = self.net.forward_layers((x - 0.5) / 0.5, ["stage4"])["stage4"].mean(dim=(2, 3))
        return self.readout(feats)


def small_convnet(n_rois: int = 24) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 32, 5, stride=2), nn.ReLU(), nn.Conv2d(32, 64, 3, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, n_rois),
    ).requires_grad_(False)


def make_generator(name: str, args: argparse.Namespace):
    if name == "dcgan":
        return DCGANFaceGenerator.from_pretrained()
    if name == "fourier":
        return FourierImage(args.fourier_size)
    if name == "biggan":
        try:
            return BigGANGenerator.from_pretrained(args.biggan_path or "biggan-deep-256", download=False)
        except Exception:
            return BigGANGenerator.from_config(BIGGAN_DEEP_256)
    raise SystemExit(f"unknown generator {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generators", nargs="+", default=["dcgan", "fourier"],
                        choices=["dcgan", "fourier", "biggan"])
    parser.add_argument("--encoder", choices=["efficientnet", "convnet"], default="efficientnet")
    parser.add_argument("--batch", type=int, default=8, help="trajectories optimised together")
    parser.add_argument("--steps", type=int, default=10, help="timed steps (after 2 warm-up steps)")
    parser.add_argument("--fourier-size", type=int, default=128)
    parser.add_argument("--biggan-path", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    encoder = (EfficientNetROIEncoder() if args.encoder == "efficientnet" else small_convnet()).to(device)
    rows = []
    for name in args.generators:
        gen = make_generator(name, args).to(device)
        kwargs = dict(lr=0.01, n_seeds=args.batch, top_k_classes=1, progress=False)
        classes = [0] if gen.is_conditional else None
        LatentOptimizer(steps=2, **kwargs).run(gen, encoder, ROIActivation(0), classes=classes)  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = LatentOptimizer(steps=args.steps, **kwargs).run(gen, encoder, ROIActivation(0), classes=classes)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        rows.append({
            "generator": name, "encoder": args.encoder, "device": str(device), "batch": args.batch,
            "image_size": list(gen.image_size), "steps": args.steps, "seconds": round(elapsed, 3),
            "steps_per_s": round(args.steps / elapsed, 3),
            "images_per_s": round(args.steps * args.batch / elapsed, 2),
            "threads": torch.get_num_threads(),
            "objective_first_last": [float(result.history[:, 0].mean()), float(result.history[:, -1].mean())],
        })
        print(json.dumps(rows[-1]))


if __name__ == "__main__":
    main()
