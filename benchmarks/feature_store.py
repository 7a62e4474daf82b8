"""Benchmark: feature extraction throughput on CPU and the feature store's read throughput.

For EfficientNet-Lite0 (the toolkit's offline network) and a ViT-B-32 CLIP
image tower (open_clip, random weights: the same arithmetic as the published
ones) it measures, on the same random images in one run:

- direct extraction (:func:`encoding.image_encoder.image_features`, no store);
- the first pass through a :class:`encoding.feature_store.FeatureStore`
  (extraction plus memory-mapped writes, checksums and chunk records);
- reading the finished entry back (open with every chunk verified, then the
  rows gathered), the repeat cost that the store replaces extraction with.

::

    python benchmarks/feature_store.py                       # 256 images at 224 px
    python benchmarks/feature_store.py --images 64 --networks lite0

Run it with nothing else on the machine; the table states the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import torch

from encoding.feature_store import ArrayStimuli, FeatureStore
from encoding.image_encoder import image_features


def _networks(names: list[str]):
    out = {}
    if "lite0" in names:
        from encoding.features.efficientnet import EfficientNetLite0Extractor

        out["EfficientNet-Lite0 (pool)"] = (EfficientNetLite0Extractor(input_size=224), {"layers": ["pool"]})
    if "vit-b-32" in names:
        from encoding.features import OpenCLIPExtractor

        torch.manual_seed(0)
        out["CLIP ViT-B-32 (embedding)"] = (OpenCLIPExtractor("ViT-B-32"), {"layers": ["embedding"],
                                                                            "pooling": "none"})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=256, help="random images (default 256)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels (default 224)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=64, help="store chunk size (default 64)")
    parser.add_argument("--networks", nargs="+", default=["lite0", "vit-b-32"], choices=["lite0", "vit-b-32"])
    args = parser.parse_args(argv)
    images = np.random.default_rng(0).random((args.images, args.size, args.size, 3), dtype=np.float32)
    source, ids = ArrayStimuli(images), np.arange(args.images)
    rows = []
    folder = tempfile.mkdtemp(prefix="feature-store-bench-")
    try:
        for label, (ext, kw) in _networks(args.networks).items():
            image_features(ext, images[: args.batch_size], kw, batch_size=args.batch_size)  # warm-up
            t = time.perf_counter()
            direct = image_features(ext, images, kw, batch_size=args.batch_size)
            t_direct = time.perf_counter() - t
            store = FeatureStore(os.path.join(folder, label.split()[0]), chunk_size=args.chunk)
            t = time.perf_counter()
            stored = store.features(source, ids, ext, kw, batch_size=args.batch_size, progress=False)
            t_store = time.perf_counter() - t
            reads = []
            for _ in range(3):
                t = time.perf_counter()
                again = store.features(source, ids, ext, kw, batch_size=args.batch_size, progress=False)
                block = np.concatenate(list(again.layer_features(ids).values()), axis=1)
                reads.append(time.perf_counter() - t)
            t_read = float(np.median(reads))
            err = float(np.abs(block - direct).max() / (np.abs(direct).max() + 1e-12))
            mb = stored.data.nbytes / 1e6
            rows += [
                (label, "direct extraction (peer)", args.images / t_direct, "", ""),
                (label, "store, first pass", args.images / t_store, f"{t_store / t_direct:.2f}x direct", ""),
                (label, "store, read (verified)", args.images / t_read, f"{t_direct / t_read:.0f}x faster",
                 f"{mb / t_read:.0f} MB/s, max rel diff {err:.1e}"),
            ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()
    print(f"{args.images} images of {args.size} px, batch {args.batch_size}, store chunks of {args.chunk}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average {load[0]:.2f}")
    print(f"{'network':<28}{'path':<28}{'images/s':>10}  {'vs direct':<16}notes")
    for label, path, rate, ratio, notes in rows:
        print(f"{label:<28}{path:<28}{rate:>10.1f}  {ratio:<16}{notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
