"""Surface-mesh convolutional encoder: image -> frozen backbone tokens -> mesh queries -> MeshConv decoder.

:class:`SurfaceMeshEncoder` predicts one response per fsaverage vertex of both
hemispheres from an image:

1. a frozen EfficientNet-Lite0 (its differentiable torch path) turns the image
   into *tokens*: each requested feature map flattened to ``h * w`` tokens
   (a vector layer such as ``'pool'`` is one token); every token is
   standardised per channel with fixed statistics of the training images
   (linear, so features the responses are linear in stay linear), projected
   to ``dim`` with a per-layer linear map, plus a learned per-layer
   embedding and a projection of fixed 2-D sine/cosine features of the
   token's position in the image;
2. a sigmoid cross-attention readout (:class:`kernels.SigmoidCrossAttention`,
   Ramapuram et al. 2024): one learned query per vertex of a coarse mesh level
   (both hemispheres), made of a learned embedding plus fixed features of the
   vertex's sphere coordinates and hemisphere, attends to the image tokens
   (QK-norm, bias ``-log n``), followed by a residual GELU MLP;
3. a MeshConv decoder (:mod:`neurokit.nn`) unpools level by level to the
   target level (``unpool -> MeshConv -> norm -> GELU`` per level), and a
   per-vertex linear readout (:class:`neurokit.nn.VertexReadout`) of the
   decoder channels and of the query features interpolated to the target
   level (:class:`neurokit.nn.MeshUpsample`, a linear skip path) gives every
   vertex its own tuning;
4. a per-vertex receptive-field readout: every feature map average-pooled to
   a ``spatial_grid x spatial_grid`` grid and projected to
   ``spatial_channels`` channels by a shared map, each vertex weighting every
   cell and channel (the full-rank form of the factorized "where x what"
   readout of Klindt et al. 2017). Coarse queries cannot resolve a
   retinotopic map whose receptive fields change from vertex to vertex;
   this path gives early visual cortex its receptive fields at the full
   resolution of the target mesh.

Training alternates (variable projection): after ``joint_epochs`` epochs in
which everything is trained by gradient, the per-vertex readouts are frozen
and re-solved in closed form (per-vertex ridge, penalty chosen on held-out
images; :meth:`MeshReadout.refit_readout`) at the start of every epoch, while
the gradient steps train the shared part (token projections, queries,
attention, decoder) against those ridge readouts. Per-vertex weights fitted
by SGD overfit the noise of every vertex and hand that noise to the shared
part; the closed-form readout does not.

The module is differentiable from pixels to vertices (``forward(images)``),
so a generator can follow its gradient. It also has the scikit-learn face of
the other encoders -- ``fit(images, Y)``, ``predict(images)`` and
``score(images, Y)`` (Pearson r per vertex) -- so it can be a source model of
:class:`encoding.ensemble.PersonalizedEnsembleEncoder`. ``fit`` computes the
frozen backbone tokens once and trains only the readout and decoder with
:class:`neurokit.training.Trainer`. Weights are saved with
:mod:`neurokit.checkpoints` (safetensors + JSON); the backbone's pretrained
weights are not copied into the checkpoint (they come from the installed
package, named in the config).

The package keeps one concept per module:

- :mod:`~encoding.mesh_encoder.positions`: the fixed position features
  (:func:`sphere_features`, :func:`image_position_features`);
- :mod:`~encoding.mesh_encoder.readout`: the trainable network
  :class:`MeshReadout`;
- :mod:`~encoding.mesh_encoder.vertex_ridge`: the per-vertex ridge solver over
  streamed Gram matrices with the 1-ring pooled penalty choice, as plain
  functions (:func:`solve_vertex_ridge`);
- :mod:`~encoding.mesh_encoder.estimator`: :class:`SurfaceMeshEncoder`, its
  parameter table, training loop and persistence.
"""

from encoding.mesh_encoder.estimator import DEFAULT_TOKEN_LAYERS, LEGACY_CHECKPOINT_CLASS, SurfaceMeshEncoder
from encoding.mesh_encoder.positions import image_position_features, sphere_features
from encoding.mesh_encoder.readout import READOUT_GAIN, MeshReadout
from encoding.mesh_encoder.vertex_ridge import solve_vertex_ridge

__all__ = [
    "SurfaceMeshEncoder",
    "MeshReadout",
    "sphere_features",
    "image_position_features",
    "solve_vertex_ridge",
    "READOUT_GAIN",
    "DEFAULT_TOKEN_LAYERS",
    "LEGACY_CHECKPOINT_CLASS",
]
