# %% [markdown]
# # Cortex2Image on a simulated subject: images back from fMRI files
#
# Cortex2Image (Gu et al., MIDL 2023) reconstructs a seen image from the brain
# response in two stages: **Cortex2Semantic** decodes an embedding of the image
# in a semantic feature space, and **Cortex2Detail** decodes a distribution over
# a frozen generator's latent, trained through the generator with a pixel loss
# (plus, for GANs, a feature loss) and a KL term. This notebook runs it offline:
#
# 1. simulate an NSD-like subject whose ground-truth encoder is known and write
#    its fMRI betas in the NSD layout (`.mgh` files on fsaverage);
# 2. train a `Reconstructor` from that tree with `train_reconstructor` (the
#    shared images are held out as the test set);
# 3. write the held-out responses to `.mgh` files and reconstruct the test
#    images **from the files**;
# 4. compare with the seen images: PixCorr, SSIM and brain correlation against
#    a shuffled-pairs baseline, and two-way identification of the decoded
#    semantic embeddings.
#
# The generator is the generator-free `neurogen.FourierImage` at 32 x 32: its
# latent is the image in a decorrelated Fourier basis, so decoding it from the
# brain is a low-level image reconstruction. No pretrained generator of natural
# scenes ships with the installed packages (the packaged DCGAN only draws
# faces); with BigGAN or IC-GAN installed, pass it as `generator=` instead.
#
# Set `NEUROKIT_NOTEBOOK_SMALL=1` for a quick run (a minute or two on a CPU).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from cortex2image import LinearImageEncoder, Reconstructor, score_reconstructions, train_reconstructor
from encoding import simulate_cohort
from neurokit.datasets import NSD, NSDWriter
from neurokit.metrics import two_way_identification

SMALL = os.environ.get("NEUROKIT_NOTEBOOK_SMALL") == "1"
if SMALL:
    COHORT = dict(n_subjects=1, n_images=160, n_shared=32, level=4, image_size=64)
    TRAIN = dict(level=3, semantic_epochs=8, detail_epochs=10,
                 trunk=dict(coarse_level=1, channels=[8, 16, 32], attention_dim=32, attention_depth=1, num_heads=4))
else:
    COHORT = dict(n_subjects=1, n_images=750, n_shared=150, level=5, image_size=64)
    TRAIN = dict(level=4, semantic_epochs=40, detail_epochs=60,
                 trunk=dict(coarse_level=1, channels=[8, 16, 32, 64], attention_dim=64, attention_depth=1,
                            num_heads=4))
SUBJECT = 1
WORK = Path("cortex2image_outputs")
print("small run" if SMALL else "full run", COHORT, TRAIN)

# %% [markdown]
# ## 1. A simulated subject, written as NSD files
#
# Early visual areas (V1-hV4) have retinotopic population receptive fields on a
# 4 x 4 grid of EfficientNet-Lite0 features, higher areas are tuned to the
# image's late features: coarse layout and semantics are both in the response.

# %%
cohort = simulate_cohort(seed=0, progress=False, **COHORT)
root = WORK / "nsd"
cohort.write(root, progress=False)
print(f"{len(cohort.images)} stimuli, {cohort.n_vertices} vertices (fsaverage level {cohort.level}) written to {root}")

# %% [markdown]
# ## 2. Training
#
# `train_reconstructor` reads the betas (z-scored per session, averaged over
# repeats), trains on the images outside the shared set (10% for validation)
# and returns the shared images' responses as the test set.

# %%
model, test = train_reconstructor(root, SUBJECT, image_size=64, semantic_dropout=0.2, val_fraction=0.1,
                                  patience=None, progress=False, seed=0, **TRAIN)
detail_loss = [e["train_loss"] for e in model.info["history"]["detail"]["epochs"]]
print(f"model level {model.level}; detail loss {detail_loss[0]:.4f} -> {detail_loss[-1]:.4f}")
model.save(WORK / "model")

# %% [markdown]
# ## 3. Reconstruction from files
#
# The held-out responses go to `{lh,rh}.betas_session01.mgh` in a new NSD-layout
# folder; the saved model is loaded back and reconstructs from those two paths
# (data finer than the model are sliced to its mesh level).

# %%
left, right = NSDWriter(WORK / "test_betas").write_betas_session(SUBJECT, 1, test["responses"])
loaded = Reconstructor.load(WORK / "model")
rec = loaded.reconstruct((left, right), n_samples=4, seed=0)
print(left.name, right.name, "->", rec.images.shape)

# %%
n_show = 8
fig, axes = plt.subplots(2, n_show, figsize=(1.4 * n_show, 3))
for j in range(n_show):
    axes[0, j].imshow(test["images"][j])
    axes[1, j].imshow(rec.images[j])
    for ax in axes[:, j]:
        ax.set_axis_off()
axes[0, 0].set_title("seen", loc="left", fontsize=9)
axes[1, 0].set_title("reconstructed", loc="left", fontsize=9)
plt.show()

# %% [markdown]
# ## 4. Metrics
#
# Brain correlation needs an image -> response encoder: a ridge on
# EfficientNet-Lite0 features fit on the training images' normalised responses.
# Every metric comes with the same metric on shuffled (image, reconstruction)
# pairs; a reconstruction carries image-specific information only if it beats that.

# %%
reader = NSD(root)
resp = reader.responses(SUBJECT, progress=False)
train_ids = np.asarray(model.info["train_nsd_ids"])
rows = np.searchsorted(resp.nsd_ids, train_ids)
encoder = LinearImageEncoder(layers=("stage3", "pool"), input_size=64).fit(
    reader.images(train_ids, size=64), model.normalize(resp.to_surface(fill=0.0).data[rows]))
scores = score_reconstructions(test["images"], rec.images, encoder=encoder,
                               measured=model.normalize(test["responses"]))
print(scores.table())
decoded = loaded.decode_semantic((left, right))
ident = two_way_identification(decoded, loaded.space.embed(test["images"])).mean
print(f"semantic two-way identification: {ident:.1%} (chance 50%)")
