# %% [markdown]
# # A personalized encoder for a new subject from a few hundred images
#
# Gu et al. (Communications Biology 2022) build a new subject's encoding model
# from other, deeply sampled subjects' encoders: each existing encoder predicts
# the responses to the new subject's images, and the new model is, per target,
# an intercept plus one weight per existing encoder, fitted on only ~300
# image-response pairs. On fsaverage every subject shares the vertex space, so
# the same idea works per vertex.
#
# This notebook does it from the Python API on the embedded default data,
# offline:
#
# 1. simulate an NSD-like cohort with known ground truth and write it in the
#    NSD layout; read it back with the NSD reader, as one would the real data;
# 2. fit a ridge encoder (EfficientNet-Lite0 features -> every vertex) per
#    source subject;
# 3. fit the new subject's personalized ensemble on a few of its images and
#    compare it with a ridge encoder trained on all of its images, and with
#    ridge on the same few images;
# 4. map the accuracy on the inflated cortex.
#
# Set `NEUROKIT_NOTEBOOK_SMALL=1` for a quick run.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from encoding import PersonalizedEnsembleEncoder, RidgeEncoder, simulate_cohort
from encoding.feature_store import FeatureStore
from encoding.features import DEFAULT_FEATURES, default_extractor
from encoding.from_nsd import nsd_image_features
from neurokit.datasets import NSD
from neurokit.metrics import noise_normalized_accuracy, pearson_r
from neurokit.plotting import plot_surface_map

SMALL = os.environ.get("NEUROKIT_NOTEBOOK_SMALL") == "1"
if SMALL:
    COHORT = dict(n_subjects=3, n_images=120, n_shared=30, level=4)
    N_FEW = 60
else:
    COHORT = dict(n_subjects=6, n_images=500, n_shared=100, level=5)
    N_FEW = 300
print("small run" if SMALL else "full run", COHORT, "few images:", N_FEW)

# %% [markdown]
# ## 1. A simulated cohort in the NSD layout
#
# `simulate_cohort` places NSD-named ROIs on fsaverage, gives every subject a
# ground-truth brain that no model of the toolkit shares (a second-order-contrast
# model of V1-hV4 and nonlinear read-outs of EfficientNet-Lite2, with private
# tuning per subject) and noisy single trials with 3 repeats per image, on crops
# of the photo bank's photographs (the shared test images come from photographs
# no training image was cut from). `write` lays it
# out like NSD (design `.mat`, per-session `.mgh` betas, ROI labels, stimulus
# `.hdf5`), so `neurokit.datasets.NSD` reads it like the real dataset.

# %%
cohort = simulate_cohort(seed=0, progress=False, **COHORT)
root = Path(tempfile.mkdtemp(prefix="nsd-sim-"))
cohort.write(root, progress=False)
nsd = NSD(root)
subjects = nsd.subjects
new = subjects[-1]
print("subjects:", subjects, "-> new subject:", new)
print("files:", sorted(p.name for p in (root / "nsddata_betas/ppdata/subj01/fsaverage/betas_fithrf_GLMdenoise_RR").iterdir())[:4], "...")

# %% [markdown]
# ## 2. Features and a ridge encoder per source subject
#
# Responses are z-scored per vertex within each session and averaged over an
# image's repeats; the shared images are the test set (as NSD's shared1000).
# `RidgeEncoder` chooses one regularisation per vertex by generalised
# cross-validation.

# %%
# the toolkit's default features (EfficientNet-Lite0), not the simulated brain's
extractor, kw = default_extractor(96), DEFAULT_FEATURES
all_ids = np.unique(np.concatenate([nsd.image_ids(s) for s in subjects]))
# Computed once per extractor, setting and stimulus file, then read from the feature store
# (in the toolkit's cache; resumable if interrupted, verified on every read).
X_all = nsd_image_features(nsd, all_ids, extractor, kw, image_size=96, batch_size=64, store=FeatureStore())
features = dict(zip(all_ids.tolist(), X_all))


def design(ids):
    return np.stack([features[i] for i in ids.tolist()])


data, encoders = {}, {}
for s in subjects:
    resp = nsd.responses(s)
    test = np.isin(resp.nsd_ids, nsd.shared1000)
    data[s] = (resp, test)
    if s != new:
        encoders[s] = RidgeEncoder().fit(design(resp.nsd_ids[~test]), resp.data[~test])
print({s: f"{int((~t).sum())} train / {int(t.sum())} test images" for s, (r, t) in data.items()})

# %% [markdown]
# ## 3. The new subject: personalized ensemble vs full data vs few data

# %%
resp, test = data[new]
train_idx = np.flatnonzero(~test)
few = np.sort(np.random.default_rng(0).choice(train_idx, N_FEW, replace=False))
X, Y = design(resp.nsd_ids), resp.data

ensemble = PersonalizedEnsembleEncoder(list(encoders.values())).fit(X[few], Y[few])
models = {
    "personalized ensemble": ensemble,
    f"ridge, all {train_idx.size} images": RidgeEncoder().fit(X[train_idx], Y[train_idx]),
    f"ridge, same {N_FEW} images": RidgeEncoder().fit(X[few], Y[few]),
}
visual = nsd.roi_mask(new, ["prf-visualrois", "floc-faces", "floc-bodies", "floc-places"], nsd.file_level(new))
rois = ["V1v", "hV4", "OFA", "FFA-1", "EBA", "PPA"]
masks = {roi: nsd.roi_mask(new, roi, nsd.file_level(new)) for roi in rois}
accuracy, roi_r = {}, {}
for name, model in models.items():
    pred = model.predict(X[test])
    r = pearson_r(Y[test], pred)
    accuracy[name] = noise_normalized_accuracy(r, resp.noise_ceiling)
    roi_r[name] = [np.corrcoef(Y[test][:, m].mean(1), pred[:, m].mean(1))[0, 1] for m in masks.values()]
    print(f"{name:28s} median % of noise ceiling (visual ROIs): {np.nanmedian(accuracy[name][visual]):5.1f}   "
          f"mean ROI-mean r: {np.mean(roi_r[name]):.3f}")
print("ensemble weights of the first visual vertex:", np.round(ensemble.coef_[np.flatnonzero(visual)[0]], 2))

# %%
fig, ax = plt.subplots(figsize=(8, 3))
width = 0.27
for k, (name, values) in enumerate(roi_r.items()):
    ax.bar(np.arange(len(rois)) + (k - 1) * width, values, width, label=name)
ax.set_xticks(np.arange(len(rois)), rois)
ax.set_ylabel("held-out r (ROI mean)")
ax.set_ylim(max(0, min(min(v) for v in roi_r.values()) - 0.1), 1)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 4. Where the personalized encoder is accurate
#
# Noise-normalised accuracy (r^2 as a percentage of each vertex's noise
# ceiling) on the inflated cortex, ventral view; vertices whose noise ceiling
# is under 5 % are left blank.

# %%
values = np.where(resp.noise_ceiling >= 5, np.nan_to_num(accuracy["personalized ensemble"]), 0.0)
fig = plot_surface_map(values, view="ventral", cmap="hot", vmin=0, vmax=100,
                       title="personalized ensemble: % of noise ceiling")
fig
