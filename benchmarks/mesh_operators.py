"""Benchmark: building and loading the MeshConv operators per fsaverage level.

For each level it times, in a fresh temporary cache:

* ``mesh``  - building the hemisphere mesh (topology + positions);
* ``build`` - computing every operator (Laplacian, mass, gradient, direction
  fields, F2V, the two derivatives) and writing the cache file;
* ``load``  - reading them back from the disk cache into torch tensors;
* ``apply`` - one stacked ``[I; L; D_EW; D_NS]`` sparse product on 64 channels;

and reports peak traced Python memory (tracemalloc, numpy buffers included) of
the build, plus the cache file size. Levels 6 and 7 use a FreeSurfer
``fsaverage`` directory if ``NEUROKIT_FREESURFER_DIR`` names one, otherwise the
subdivided sphere.

Usage::

    python benchmarks/mesh_operators.py --levels 5 6 7
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import torch

from neurokit.mesh import hierarchy, operators
from neurokit.mesh.levels import n_vertices


def bench_level(level: int, cache: Path, hemi: str = "left", channels: int = 64) -> dict[str, float]:
    """Time one level; returns seconds and megabytes."""
    hierarchy.clear_cache()
    operators.clear_cache()
    t0 = time.perf_counter()
    mesh = hierarchy.fsaverage_hemisphere(level, hemi, cache_dir=cache)
    t_mesh = time.perf_counter() - t0

    tracemalloc.start()
    t0 = time.perf_counter()
    operators.mesh_operators(level, hemi, cache_dir=cache)
    t_build = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    operators.clear_cache()
    t0 = time.perf_counter()
    ops = operators.mesh_operators(level, hemi, cache_dir=cache)
    t_load = time.perf_counter() - t0

    stacked = ops.stacked_operator()
    x = torch.randn(ops.n_vertices, channels)
    torch.sparse.mm(stacked, x)  # warm-up
    t0 = time.perf_counter()
    repeats = 5
    for _ in range(repeats):
        torch.sparse.mm(stacked, x)
    t_apply = (time.perf_counter() - t0) / repeats

    size = operators.operators_cache_path(mesh, cache).stat().st_size
    return {
        "level": level,
        "vertices": n_vertices(level),
        "source": mesh.source,
        "mesh_s": t_mesh,
        "build_s": t_build,
        "peak_mb": peak / 2**20,
        "load_s": t_load,
        "apply_ms": 1e3 * t_apply,
        "file_mb": size / 2**20,
    }


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[5, 6, 7], help="mesh levels to time (0..7)")
    parser.add_argument("--channels", type=int, default=64, help="channels for the sparse product timing")
    args = parser.parse_args(argv)
    rows = []
    header = (
        f"{'level':>5} {'vertices':>9} {'source':>12} {'mesh s':>7} {'build s':>8} {'peak MB':>8} "
        f"{'load s':>7} {'apply ms':>9} {'file MB':>8}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="neurokit-bench-") as tmp:
        for level in args.levels:
            r = bench_level(level, Path(tmp), channels=args.channels)
            rows.append(r)
            print(
                f"{r['level']:>5} {r['vertices']:>9,} {r['source']:>12} {r['mesh_s']:>7.2f} {r['build_s']:>8.2f} "
                f"{r['peak_mb']:>8.0f} {r['load_s']:>7.3f} {r['apply_ms']:>9.2f} {r['file_mb']:>8.1f}",
                flush=True,
            )
    return rows


if __name__ == "__main__":
    main()
