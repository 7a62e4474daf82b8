"""Cortex2Image on CPU (or GPU): training throughput and reconstruction time per image.

Measures, on random responses and random images (the numbers do not depend
on the data):

* semantic-stage training throughput (samples/s): forward + backward + AdamW
  step of :class:`cortex2image.Cortex2Semantic`;
* detail-stage training throughput (samples/s): :class:`Cortex2Detail` through
  the frozen generator (``--generator fourier``, the offline default: 32 x 32
  :class:`neurogen.generators.FourierImage`, pixel loss only; or ``dcgan``:
  the packaged face DCGAN with the EfficientNet-Lite0 feature loss);
* reconstruction time per image (ms) of :meth:`Reconstructor.reconstruct`
  with ``--samples`` samples per input.

Usage::

    python benchmarks/cortex2image.py --level 3 --batch-size 32 --steps 5 [--generator dcgan] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, default=3, help="model mesh level (default 3)")
    parser.add_argument("--coarse-level", type=int, default=1)
    parser.add_argument("--channels", type=int, nargs="+", default=None)
    parser.add_argument("--attention-dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per stage")
    parser.add_argument("--n-images", type=int, default=16, help="inputs reconstructed in the timing")
    parser.add_argument("--samples", type=int, default=4, help="samples per input")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--generator", choices=("fourier", "dcgan"), default="fourier")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)

    # this script's own name would shadow the cortex2image package when run as a file
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.modules.pop("cortex2image", None) if getattr(sys.modules.get("cortex2image"), "__file__", "") == __file__ else None
    from cortex2image import Cortex2Detail, Cortex2Semantic, EfficientNetSemanticSpace, Reconstructor
    from cortex2image.training import _DetailLoss, _DetailObjective
    from neurogen.generators import DCGANFaceGenerator, FourierImage
    from neurokit.mesh.levels import n_vertices

    dev = torch.device(args.device)
    torch.manual_seed(0)
    n_in = 2 * n_vertices(args.level)
    channels = args.channels or [min(8 * 2**k, 256) for k in range(args.level - args.coarse_level + 1)]
    trunk = dict(coarse_level=args.coarse_level, channels=channels, attention_dim=args.attention_dim,
                 attention_depth=1, num_heads=4)
    space = EfficientNetSemanticSpace(input_size=args.image_size)
    space.to(dev)
    if args.generator == "dcgan":
        generator, feature_weight = DCGANFaceGenerator.from_pretrained().to(dev), 1.0
    else:
        generator, feature_weight = FourierImage(32).to(dev), 0.0
    b = args.batch_size

    def timed(step) -> float:
        step()  # warm-up (operator caches, allocator)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return args.steps * b / (time.perf_counter() - t0)

    semantic = Cortex2Semantic(args.level, space.dim, **trunk).to(dev).train()
    opt = torch.optim.AdamW(semantic.parameters(), lr=1e-3)
    x = torch.randn(b, n_in, device=dev)
    y = torch.nn.functional.normalize(torch.randn(b, space.dim, device=dev), dim=1)

    def semantic_step() -> None:
        opt.zero_grad()
        torch.nn.functional.mse_loss(semantic(x), y).backward()
        opt.step()

    sem_rate = timed(semantic_step)

    detail = Cortex2Detail(args.level, generator.latent_size, space.dim, **trunk).to(dev)
    objective = _DetailObjective(detail, generator, space, None, 32, n_in, features=feature_weight > 0)
    objective = objective.to(dev).train()
    loss = _DetailLoss(3 * 32 * 32, 1.0, feature_weight, 1e-4, 10)
    opt_d = torch.optim.AdamW(detail.parameters(), lr=1e-3)
    packed = torch.cat([x, y], dim=1)
    target = torch.cat([torch.rand(b, 3 * 32 * 32, device=dev), y], dim=1)

    def detail_step() -> None:
        opt_d.zero_grad()
        loss(objective(packed), target).backward()
        opt_d.step()

    det_rate = timed(detail_step)

    model = Reconstructor(semantic.eval(), detail.eval(), generator, space, np.zeros(n_in), np.ones(n_in))
    responses = np.random.default_rng(0).normal(size=(args.n_images, n_in)).astype(np.float32)
    model.reconstruct(responses[:2], n_samples=args.samples)
    t0 = time.perf_counter()
    model.reconstruct(responses, n_samples=args.samples, seed=0)
    per_image = (time.perf_counter() - t0) / args.n_images

    result = {
        "device": str(dev),
        "torch_threads": torch.get_num_threads(),
        "level": args.level,
        "generator": args.generator,
        "channels": channels,
        "batch_size": b,
        "semantic_train_samples_per_s": round(sem_rate, 2),
        "detail_train_samples_per_s": round(det_rate, 2),
        "reconstruction_ms_per_image": round(1000 * per_image, 2),
        "samples_per_image": args.samples,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        from neurokit.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
