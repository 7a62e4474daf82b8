"""Per-vertex linear readout: one set of channel weights for every vertex.

A :class:`MeshConv` shares its weights across vertices, so on its own a mesh
decoder can only express tuning that varies smoothly over the cortex. The
readout gives every vertex its own linear map from the decoder's channels to
its response,

    y[b, v] = sum_c x[b, c, v] * weight[v, c] + bias[v],

which is what lets neighbouring vertices have different tuning at a cost of
``channels + 1`` parameters per vertex (``C * V`` instead of the
``n_features * V`` of a ridge encoder).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from neurokit.exceptions import DataValidationError
from neurokit.nn._layout import check_input
from neurokit.validation import check_int, check_option, check_real


class VertexReadout(nn.Module):
    """Per-vertex linear map from ``channels`` features to one response.

    Parameters
    ----------
    channels : int
        Input channels per vertex.
    n_vertices : int
        Vertices of the input (hemispheres concatenated, left first).
    bias : bool
        Learn a per-vertex bias.
    init : {"normal", "zeros"}
        ``"normal"``: weights from N(0, 1 / channels) (unit-variance inputs
        give unit-variance outputs); ``"zeros"``: start from a zero map (the
        prediction starts at the bias, e.g. the target mean).
    gain : float
        The map uses ``gain * weight`` and ``gain * bias``. Every per-vertex
        weight sees the gradient of one vertex only, so it needs many small
        optimizer steps to reach its value; with Adam, ``gain`` multiplies
        the effective learning rate of these parameters by ``gain`` without a
        separate parameter group.

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (n_vertices, channels)
        Stored weights (the effective weights are ``gain * weight``).
    bias : torch.nn.Parameter of shape (n_vertices,) or None
        Initialised to zero.

    Notes
    -----
    Input ``(batch, channels, n_vertices)``, output ``(batch, n_vertices)``.
    The product runs on the vertex-major ``(n_vertices, batch, channels)``
    layout that :class:`MeshConv` and :class:`MeshUnpool` produce, as one
    batched matrix product (no copy of the input when it is such a view).
    """

    def __init__(self, channels: int, n_vertices: int, bias: bool = True, init: str = "normal",
                 gain: float = 1.0) -> None:
        super().__init__()
        channels = check_int(channels, "VertexReadout: channels", minimum=1)
        n_vertices = check_int(n_vertices, "VertexReadout: n_vertices", minimum=1)
        init = check_option(init, "VertexReadout: init", ("normal", "zeros"))
        gain = check_real(gain, "VertexReadout: gain", minimum=0, include_minimum=False)
        self.channels, self.n_vertices, self.init, self.gain = channels, n_vertices, init, gain
        self.weight = nn.Parameter(torch.empty(n_vertices, channels))
        self.bias = nn.Parameter(torch.zeros(n_vertices)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weights from N(0, 1 / channels) (effective; or zeros, see ``init``), zero bias."""
        if self.init == "zeros":
            nn.init.zeros_(self.weight)
        else:
            nn.init.normal_(self.weight, std=1.0 / math.sqrt(self.channels) / self.gain)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Read out ``x`` of shape (batch, channels, n_vertices) -> (batch, n_vertices)."""
        check_input(x, self.channels, self.n_vertices, "VertexReadout")
        vbc = x.permute(2, 0, 1)  # (V, B, C); a view of vertex-major storage
        y = torch.bmm(vbc, (self.gain * self.weight).to(x.dtype).unsqueeze(-1)).squeeze(-1).t()  # (B, V)
        if self.bias is not None:
            y = y + (self.gain * self.bias).to(x.dtype)
        return y

    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        """Read out features shared by every vertex: ``x`` of shape (batch, channels) -> (batch, n_vertices).

        The same as ``forward(x[:, :, None].expand(-1, -1, n_vertices))``
        without materialising the expanded input: one matrix product.
        """
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != self.channels:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise DataValidationError(f"VertexReadout: expected shared features of shape (batch, {self.channels}), got {shape}")
        y = x @ (self.gain * self.weight).to(x.dtype).t()
        if self.bias is not None:
            y = y + (self.gain * self.bias).to(x.dtype)
        return y

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, n_vertices={self.n_vertices}, bias={self.bias is not None}, "
                f"init={self.init!r}, gain={self.gain}")
