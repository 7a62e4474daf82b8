"""Cortex2Image on CPU (or GPU): generator and decoder training throughput, reconstruction time per image.

Measures, on random responses and random images (the numbers do not depend
on the data), side by side in one run:

* generator training throughput (images/s): one step of the toolkit's
  :class:`neurogen.generators.FeatureInversionGenerator` objective (decoder,
  z-encoder and the Lite0 perceptual loss; what ``neurokit train-generator``
  runs) beside a forward + backward pass of the IC-GAN generator at the same
  64 px (:class:`neurogen.generators.ICGANGenerator`, the published
  ``icgan_biggan_imagenet_res64`` architecture, random weights), the peer a
  user would otherwise train;
* semantic-stage training throughput (samples/s) of :class:`cortex2image.Cortex2Semantic`;
* detail-stage training throughput (samples/s): :class:`Cortex2Detail` by
  latent regression (the default with the packaged generator) beside the
  same model trained through the frozen 32 px Fourier generator (the old
  default, pixel loss);
* reconstruction time per image (ms) of :meth:`Reconstructor.reconstruct`
  with the packaged generator, ``--samples`` samples per input and
  reranking by the subject encoder, beside ``--samples 1`` without reranking.

Usage::

    python benchmarks/cortex2image.py --level 4 --batch-size 32 --steps 5 [--json out.json]
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
    parser.add_argument("--level", type=int, default=4, help="model mesh level (default 4)")
    parser.add_argument("--coarse-level", type=int, default=1)
    parser.add_argument("--channels", type=int, nargs="+", default=None)
    parser.add_argument("--attention-dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per stage")
    parser.add_argument("--n-images", type=int, default=16, help="inputs reconstructed in the timing")
    parser.add_argument("--samples", type=int, default=8, help="samples per input (reranked)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)

    # this script's own name would shadow the cortex2image package when run as a file
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.modules.pop("cortex2image", None) if getattr(sys.modules.get("cortex2image"), "__file__", "") == __file__ else None
    from cortex2image import Cortex2Detail, Cortex2Semantic, EfficientNetSemanticSpace, LinearImageEncoder, Reconstructor
    from cortex2image.detail_objectives import DetailLoss, DetailObjective, LatentObjective, latent_nll
    from neurogen.generator_training import GeneratorObjective
    from neurogen.generators import FeatureInversionGenerator, FourierImage, ICGANGenerator
    from neurogen.generators.icgan import PUBLISHED_ARCHITECTURES
    from neurokit.mesh.levels import n_vertices

    dev = torch.device(args.device)
    torch.manual_seed(0)
    n_in = 2 * n_vertices(args.level)
    channels = args.channels or [min(8 * 2**k, 256) for k in range(args.level - args.coarse_level + 1)]
    trunk = dict(coarse_level=args.coarse_level, channels=channels, attention_dim=args.attention_dim,
                 attention_depth=1, num_heads=4)
    b = args.batch_size

    def timed(step, per_step: int = b) -> float:
        step()  # warm-up (operator caches, allocator)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return args.steps * per_step / (time.perf_counter() - t0)

    # generator training: ours beside IC-GAN's 64 px generator
    generator = FeatureInversionGenerator.load().to(dev)
    objective = GeneratorObjective(generator).train()
    opt_g = torch.optim.AdamW([p for p in generator.parameters() if p.requires_grad], lr=1e-4)
    photos = torch.randint(0, 256, (b, 3, 64, 64), dtype=torch.uint8, device=dev)

    def generator_step() -> None:
        opt_g.zero_grad()
        objective(photos).sum(1).mean().backward()
        opt_g.step()

    gen_rate = timed(generator_step)
    generator.eval()
    icgan = ICGANGenerator.from_config(PUBLISHED_ARCHITECTURES["icgan_biggan_imagenet_res64"]).to(dev).train()
    ib = max(1, b // 8)  # IC-GAN is ~12x larger: a smaller batch keeps the run short
    z_ic, h_ic = icgan.sample_latents(ib, seed=0), torch.randn(ib, icgan.instance_dim, device=dev)

    def icgan_step() -> None:
        icgan.zero_grad()
        icgan(z_ic, h_ic).mean().backward()

    icgan_rate = timed(icgan_step, ib)
    del icgan

    space = EfficientNetSemanticSpace(input_size=64)
    space.center = generator.instance_center.detach().cpu().clone()
    space.to(dev)
    semantic = Cortex2Semantic(args.level, space.dim, **trunk).to(dev).train()
    opt = torch.optim.AdamW(semantic.parameters(), lr=1e-3)
    x = torch.randn(b, n_in, device=dev)
    y = torch.nn.functional.normalize(torch.randn(b, space.dim, device=dev), dim=1)

    def semantic_step() -> None:
        opt.zero_grad()
        torch.nn.functional.mse_loss(semantic(x), y).backward()
        opt.step()

    sem_rate = timed(semantic_step)
    packed = torch.cat([x, y], dim=1)

    detail = Cortex2Detail(args.level, generator.latent_size, space.dim, **trunk).to(dev)
    latent_objective = LatentObjective(detail, n_in).train()
    opt_d = torch.optim.AdamW(detail.parameters(), lr=1e-3)
    latents = torch.randn(b, generator.latent_size, device=dev)

    def latent_step() -> None:
        opt_d.zero_grad()
        latent_nll(latent_objective(packed), latents).backward()
        opt_d.step()

    latent_rate = timed(latent_step)

    fourier = FourierImage(32).to(dev)
    through = Cortex2Detail(args.level, fourier.latent_size, space.dim, **trunk).to(dev)
    through_objective = DetailObjective(through, fourier, space, None, 32, n_in, features=False).to(dev).train()
    loss = DetailLoss(3 * 32 * 32, 1.0, 0.0, 1e-4, 10)
    opt_t = torch.optim.AdamW(through.parameters(), lr=1e-3)
    target = torch.cat([torch.rand(b, 3 * 32 * 32, device=dev), y], dim=1)

    def through_step() -> None:
        opt_t.zero_grad()
        loss(through_objective(packed), target).backward()
        opt_t.step()

    through_rate = timed(through_step)

    rng = np.random.default_rng(0)
    encoder = LinearImageEncoder(input_size=64).fit(rng.uniform(size=(64, 64, 64, 3)).astype(np.float32),
                                                    rng.normal(size=(64, n_in)).astype(np.float32))
    model = Reconstructor(semantic.eval(), detail.eval(), generator, space, np.zeros(n_in), np.ones(n_in),
                          rerank_encoder=encoder)
    responses = rng.normal(size=(args.n_images, n_in)).astype(np.float32)

    def per_image(**kw) -> float:
        model.reconstruct(responses[:2], **kw)
        t0 = time.perf_counter()
        model.reconstruct(responses, seed=0, **kw)
        return 1000 * (time.perf_counter() - t0) / args.n_images

    result = {
        "device": str(dev),
        "torch_threads": torch.get_num_threads(),
        "level": args.level,
        "channels": channels,
        "batch_size": b,
        "generator_train_images_per_s": round(gen_rate, 2),
        "icgan64_forward_backward_images_per_s": round(icgan_rate, 2),
        "semantic_train_samples_per_s": round(sem_rate, 2),
        "detail_train_samples_per_s_latent_regression": round(latent_rate, 2),
        "detail_train_samples_per_s_through_fourier_generator": round(through_rate, 2),
        f"reconstruction_ms_per_image_{args.samples}_samples_reranked": round(per_image(n_samples=args.samples), 2),
        "reconstruction_ms_per_image_1_sample": round(per_image(n_samples=1, rerank_encoder=False), 2),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        from neurokit.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
