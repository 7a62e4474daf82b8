"""MeshConv forward + backward throughput against two simpler implementations.

Usage::

    python benchmarks/meshconv.py [--levels 5 6] [--batch 16] [--channels 32] [--repeats 5] [--device cpu]

Implementations timed (all compute the same function; the script checks that
before timing):

* ``ours``: :class:`neurokit.nn.MeshConv` (vertex-major layout, scipy CSR
  product on CPU, mixing as accumulated GEMMs, hand-written backward);
* ``stacked``: the previous layer: one torch CSR product of the stacked
  ``(3 N, N)`` operator, concatenated ``(B, N, 4 C)`` features, ``linear``,
  autograd backward;
* ``naive``: the straightforward baseline: each of the three sparse operators
  applied separately to each sample's (V, C) channel group with
  ``torch.sparse.mm`` (autograd through COO), then the same channel mixing.
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


class _CsrMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, matrix, matrix_t):
        ctx.matrix_t = matrix_t
        return matrix @ x

    @staticmethod
    def backward(ctx, grad):
        return ctx.matrix_t @ grad.contiguous(), None, None


class StackedCsrMeshConv(nn.Module):
    """The previous MeshConv: one torch CSR product for all operators, then concatenated features."""

    def __init__(self, conv: MeshConv) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, n = x.shape
        cols = x.permute(2, 0, 1).reshape(n, b * c)
        ops = _CsrMatmul.apply(cols.contiguous(), self.conv.operator, self.conv.operator_t).view(3, n, b, c)
        feats = torch.cat([cols.view(1, n, b, c), ops], dim=0).permute(2, 1, 3, 0).reshape(b, n, 4 * c)
        out = nn.functional.linear(feats, self.conv.weight.reshape(self.conv.out_channels, 4 * c), self.conv.bias)
        return out.transpose(1, 2)


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
    p.add_argument("--skip-naive", action="store_true", help="do not time the (slow) naive baseline")
    a = p.parse_args()
    dev = torch.device(a.device)
    print(f"device {dev}, threads {torch.get_num_threads()}, batch {a.batch}, {a.channels}->{a.channels} channels, both hemispheres")
    print(f"{'level':>5} {'vertices':>9} {'ours ms':>9} {'stacked ms':>10} {'naive ms':>9} "
          f"{'vs stacked':>10} {'vs naive':>8} {'ours samples/s':>15}")
    for level in a.levels:
        ops = [mesh_operators(level, h) for h in ("left", "right")]
        conv = MeshConv(a.channels, a.channels, operators=ops, level=level).to(dev)
        naive = NaiveMeshConv(conv, ops)
        naive.ops = [[m.to(dev) for m in hemi] for hemi in naive.ops]
        stacked = StackedCsrMeshConv(conv)
        x = torch.randn(a.batch, a.channels, conv.n_vertices, device=dev, requires_grad=True)
        with torch.no_grad():
            torch.testing.assert_close(naive(x), conv(x), rtol=1e-3, atol=1e-3)
            torch.testing.assert_close(stacked(x), conv(x), rtol=1e-3, atol=1e-3)
        ours, old = bench(conv, x, a.repeats), bench(stacked, x, a.repeats)
        ref = bench(naive, x, a.repeats) if not a.skip_naive else float("nan")
        print(f"{level:>5} {conv.n_vertices:>9,} {ours * 1e3:>9.1f} {old * 1e3:>10.1f} {ref * 1e3:>9.1f} "
              f"{old / ours:>9.1f}x {ref / ours:>7.1f}x {a.batch / ours:>15.1f}")


if __name__ == "__main__":
    main()
