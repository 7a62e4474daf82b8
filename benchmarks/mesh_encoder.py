"""SurfaceMeshEncoder training throughput (images per second) on precomputed backbone tokens.

Usage::

    python benchmarks/mesh_encoder.py [--target-level 5] [--query-level 2] [--batch 32] [--steps 5] [--device cpu]

Times optimizer steps (forward + backward + AdamW) of the trainable readout and
decoder on random packed tokens, which is what ``SurfaceMeshEncoder.fit``
runs after computing the frozen backbone tokens once, and the closed-form
per-vertex readout refit that ``fit`` runs at the start of every alternating
epoch and at the end (``--refit-images``).
"""

from __future__ import annotations

import argparse
import time

import torch

from encoding.mesh_encoder import SurfaceMeshEncoder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target-level", type=int, default=5)
    p.add_argument("--query-level", type=int, default=2)
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--refit-images", type=int, default=64)
    p.add_argument("--alpha-smoothing", type=int, default=2, help="1-ring pooling rounds of the penalty choice")
    p.add_argument("--max-gram-gb", type=float, default=2.0, help="refit memory cap; below the need, spans")
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    enc = SurfaceMeshEncoder(target_level=a.target_level, query_level=a.query_level, image_size=a.image_size,
                             weights=None, progress=False).build()
    head = enc.readout_.to(a.device)
    n_packed = sum(head.sizes)
    x = torch.randn(a.batch, n_packed, device=a.device)
    y = torch.randn(a.batch, head.n_outputs, device=a.device)
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3)
    times = []
    for i in range(a.steps + 1):
        t = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.mse_loss(head(x), y).backward()
        opt.step()
        if x.is_cuda:
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - t)
    step = sorted(times)[len(times) // 2]
    print(f"device {a.device}, threads {torch.get_num_threads()}, levels {a.query_level}->{a.target_level}, "
          f"batch {a.batch}, trainable parameters {enc.n_trainable_parameters():,}")
    print(f"step {step * 1e3:.1f} ms, {a.batch / step:.1f} images/s")
    if a.refit_images:
        xs = torch.randn(a.refit_images, n_packed, device=a.device)
        ys = torch.randn(a.refit_images, head.n_outputs, device=a.device)
        t = time.perf_counter()
        n_val = max(2, a.refit_images // 8)
        head.refit_readout(xs, ys, xs[:n_val], ys[:n_val], alpha_smoothing=a.alpha_smoothing,
                           max_gram_bytes=int(a.max_gram_gb * 1024**3))
        dt = time.perf_counter() - t
        print(f"readout refit (alpha_smoothing {a.alpha_smoothing}, cap {a.max_gram_gb:g} GB): {dt:.1f} s for "
              f"{a.refit_images} images ({a.refit_images / dt:.1f} images/s)")


if __name__ == "__main__":
    main()
