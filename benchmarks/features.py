"""Benchmark: EfficientNet-Lite0 feature extraction, folded vs literal network.

Times :meth:`EfficientNetLite0Extractor.extract` (numpy in, pooled features
out, the path the simulated cohort and the demo use) with the batch-norm
folded, channels-last inference path (``fuse=True``, the default) against
the literal conv -> batch norm -> 'same'-pad network (``fuse=False``, the
"before")::

    python benchmarks/features.py                      # 256 random images at 64 px
    python benchmarks/features.py --size 224 --images 64
    python benchmarks/features.py --threads 1

The two variants run in alternating rounds (so a machine whose load changes
affects both alike) and the median time per round is reported as images per
second, with the largest relative difference between the two variants'
features (it should stay below 1e-4).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from encoding.features.efficientnet import EfficientNetLite0Extractor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=256, help="number of random images (default 256)")
    parser.add_argument("--size", type=int, default=64, help="input size in pixels (default 64)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default 32)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per variant (default 3)")
    parser.add_argument("--layers", nargs="+", default=None, help="layers (default: the extractor's default layers)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.images < 1 or args.size < 32 or args.batch_size < 1 or args.rounds < 1:
        parser.error("--images, --batch-size and --rounds must be >= 1 and --size >= 32")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    images = rng.random((args.images, args.size, args.size, 3), dtype=np.float32)
    variants = {
        "literal (fuse=False)": EfficientNetLite0Extractor(input_size=args.size, fuse=False),
        "folded (fuse=True)": EfficientNetLite0Extractor(input_size=args.size, fuse=True),
    }
    layers = args.layers or list(next(iter(variants.values())).default_layers)
    kwargs = dict(layers=layers, batch_size=args.batch_size, progress=False)

    features = {name: ext.extract(images[: args.batch_size], **kwargs) for name, ext in variants.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, ext in variants.items():
            start = time.perf_counter()
            features[name] = ext.extract(images, **kwargs)
            times[name].append(time.perf_counter() - start)

    before, after = features.values()
    err = max(float(np.abs(before[k] - after[k]).max() / max(np.abs(before[k]).max(), 1e-12)) for k in layers)
    print(
        f"EfficientNet-Lite0 extract: {args.images} images, {args.size} px, batch {args.batch_size}, "
        f"layers {layers}, {torch.get_num_threads()} torch threads, median of {args.rounds} rounds"
    )
    rates = {}
    for name, ts in times.items():
        rates[name] = args.images / statistics.median(ts)
        print(f"  {name:22s} {rates[name]:8.1f} images/s  ({1000 / rates[name]:.2f} ms/image)")
    literal, folded = rates.values()
    print(f"  speed-up {folded / literal:.2f}x; max relative feature difference {err:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
