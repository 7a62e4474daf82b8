"""MeshConv forward + backward throughput: stacked single-product layer vs a per-operator, per-sample baseline.

Usage::

    python benchmarks/meshconv.py [--levels 5 6] [--batch 16] [--channels 32] [--repeats 5] [--device cpu]

The baseline is the straightforward implementation: each of the three sparse
operators applied separately to each sample's (V, C) channel group with
``torch.sparse.mm`` (autograd through COO), then the same channel mixing.
Both compute the same function; the script checks that before timing.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from neurokit.mesh.operators import mesh_operators
from neurokit.nn import MeshConv


class NaiveMeshConv(nn.Module):
    """Reference: loops over operators and samples, one sparse product each."""

    def __init__(self, conv: MeshConv, ops) -> None:
        super().__init__()
        self.conv = conv
        self.ops = [[getattr(o, n).coalesce() for n in ("laplacian", "ew_derivative", "ns_derivative")] for o in ops]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, n = x.shape
        v = n // len(self.ops)
        outs = []
        for s in range(b):
            hemis = []
            for h, ops in enumerate(self.ops):
                f = x[s, :, h * v : (h + 1) * v].t()  # (V, C)
                terms = [f] + [torch.sparse.mm(op, f) for op in ops]
                feats = torch.stack(terms, dim=-1).reshape(v, 4 * c)
                hemis.append(feats @ self.conv.weight.reshape(self.conv.out_channels, 4 * c).t() + self.conv.bias)
            outs.append(torch.cat(hemis).t())
        return torch.stack(outs)


def bench(layer: nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Median seconds of one forward + backward."""
    times = []
    for i in range(repeats + 1):
        x.grad = None
        if x.is_cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        layer(x).square().mean().backward()
        if x.is_cuda:
            torch.cuda.synchronize()
        if i:  # first call is warm-up
            times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--levels", type=int, nargs="+", default=[5, 6])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    dev = torch.device(a.device)
    print(f"device {dev}, threads {torch.get_num_threads()}, batch {a.batch}, {a.channels}->{a.channels} channels, both hemispheres")
    print(f"{'level':>5} {'vertices':>9} {'ours ms':>9} {'naive ms':>9} {'speed-up':>8} {'ours samples/s':>15}")
    for level in a.levels:
        ops = [mesh_operators(level, h) for h in ("left", "right")]
        conv = MeshConv(a.channels, a.channels, operators=ops, level=level).to(dev)
        naive = NaiveMeshConv(conv, ops)
        naive.ops = [[m.to(dev) for m in hemi] for hemi in naive.ops]
        x = torch.randn(a.batch, a.channels, conv.n_vertices, device=dev, requires_grad=True)
        with torch.no_grad():
            torch.testing.assert_close(naive(x), conv(x), rtol=1e-3, atol=1e-3)
        ours, ref = bench(conv, x, a.repeats), bench(naive, x, a.repeats)
        print(f"{level:>5} {conv.n_vertices:>9,} {ours * 1e3:>9.1f} {ref * 1e3:>9.1f} {ref / ours:>7.1f}x {a.batch / ours:>15.1f}")


if __name__ == "__main__":
    main()
