"""Stage ``cortex2image``: Cortex2Image trained for the new subject on ``--c2i-world-seeds`` worlds, its test
images reconstructed from its fMRI files and scored beside every baseline, and the offline generator's quality
(report sections 4 and 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cortex2image.demo.runner import DemoRun, Stage
from cortex2image.demo.settings import C2I_TRAINING, metric_network_files

__all__ = ["STAGE", "FIGURE_IMAGES", "GENERATOR_Z_DRAWS", "stage_cortex2image", "cortex2image_section"]


def _c2i_world(run: DemoRun, nsd_root: Path, folder: Path, training_dir: Path) -> dict[str, Any]:
    """Train Cortex2Image for the new subject of one world (an NSD tree), reconstruct its test images from MGH
    files, write them (PNG + index) and score them beside every baseline (:mod:`cortex2image.evaluation`)."""
    from cortex2image.cli import write_reconstruction
    from cortex2image.evaluation import evaluate_from_nsd
    from cortex2image.metrics import feature_identification
    from cortex2image.training import train_reconstructor
    from neurokit.datasets import NSD
    from neurokit.io import write_surface_data
    from neurokit.surface_data import SurfaceData

    s, subject = run.settings, run.target_subject
    nsd = run.nsd() if nsd_root == run.nsd_root else NSD(nsd_root)
    model, test = train_reconstructor(
        nsd, subject, level=4, image_size=s.image_size, semantic_epochs=s.c2i_epochs,
        detail_epochs=s.c2i_epochs, semantic_dropout=0.2, val_fraction=0.1, patience=5, seed=s.seed,
        progress=s.progress, device=s.device, run_dir=training_dir,
        trunk=dict(coarse_level=1, channels=[8, 16, 32, 64], attention_dim=64, attention_depth=1, num_heads=4),
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model")
    # The test responses as the files a user would hand over (left and right hemisphere MGH).
    lh, rh = folder / "test-responses" / "lh.test.mgh", folder / "test-responses" / "rh.test.mgh"
    lh.parent.mkdir(parents=True, exist_ok=True)
    write_surface_data(SurfaceData.from_array(test["responses"], source="test responses"), lh, rh)
    result = model.reconstruct((lh, rh), n_samples=s.c2i_samples, seed=s.seed)
    write_reconstruction(result, folder / "reconstructions", overwrite=True, record={"subject": subject, "shuffle_seed": s.seed},
                         nsd_ids=test["nsd_ids"])
    # brain correlation by an encoder: the subject's ridge encoder (stage encoders; in another world fitted here
    # the same way, on the same stimuli's features)
    if nsd_root == run.nsd_root:
        ridge = run.encoder(subject)
    else:
        from cortex2image.world_claims import RIDGE_ALPHAS
        from encoding.ridge import RidgeEncoder

        resp = nsd.responses(subject)
        ridge = RidgeEncoder(alphas=RIDGE_ALPHAS).fit(run.features_of(resp.nsd_ids[~resp.shared]),
                                                      resp.data[~resp.shared])
    encoder = run.image_encoder(ridge).predict
    evaluation, images = evaluate_from_nsd(result.images, test["nsd_ids"], nsd, subject, encoder=encoder,
                                           metric_networks=metric_network_files(s), seed=s.seed, device=s.device)
    # Two-way identification in the decoder's own semantic space: decoded embedding vs the seen image's.
    semantic_true = model.space.embed(test["images"])
    perm = np.asarray(evaluation.details["shuffled_permutation"])
    return {
        "n_train_and_validation": int(len(nsd.image_ids(subject)) - len(test["images"])),
        "n_test": int(len(test["images"])),
        "evaluation": evaluation.to_dict(n_boot=s.n_boot),
        "semantic_identification": float(feature_identification(semantic_true, result.semantic).mean()),
        "semantic_identification_shuffled": float(feature_identification(semantic_true, result.semantic[perm]).mean()),
        "figure_images": {k: images[k] for k in ("reconstruction", "nearest_neighbour", "ridge_pixels")},
        "seen": test["images"],
        "generator": model.generator,
    }


def stage_cortex2image(run: DemoRun) -> dict[str, Any]:
    """Cortex2Image for the new subject on ``--c2i-world-seeds`` worlds, scored beside its baselines, and its claims.

    The main world is read from the demo's NSD tree (its reconstructions, written under
    ``<output>/cortex2image/reconstructions`` with their NSD ids, can be rescored from that folder and the NSD
    root alone: :func:`cortex2image.evaluation.evaluate_reconstruction_folder`); each further world
    (:meth:`encoding.simulation.Cohort.replicate`, seeds ``seed + 1, ...``) is written as an NSD tree in the
    stage folder, measured the same way, and its tree removed; every finished world is stored, so an
    interrupted run resumes at the next one.
    """
    import shutil

    from cortex2image.evaluation import reconstruction_claims

    s, subject = run.settings, run.target_subject
    # Checkpoints every epoch: an interrupted run resumes at its last finished epoch. The folders are
    # keyed by the training settings; folders of other settings (and with --force, these) go first.
    fingerprint = s.fingerprint(*C2I_TRAINING)
    for old in run.stage_dir.glob("cortex2image-training-*"):
        if s.force or not old.name.startswith(f"cortex2image-training-{fingerprint}"):
            shutil.rmtree(old)
    main = _c2i_world(run, run.nsd_root, run.root / "cortex2image",
                      run.stage_dir / f"cortex2image-training-{fingerprint}")
    figure_images, seen = main.pop("figure_images"), main.pop("seen")
    _reconstruction_figure(run, seen, figure_images)
    generator = _generator_quality(run, main.pop("generator"), seen)
    seeds = [s.seed + k for k in range(s.c2i_world_seeds)]
    worlds = {str(s.seed): main}
    for seed in seeds[1:]:
        unit = f"world{seed}"
        cached = run.load_stage("cortex2image", unit=unit)
        if cached is None:
            folder = run.stage_dir / f"cortex2image-{unit}"
            if folder.exists():
                shutil.rmtree(folder)
            run.cohort().replicate(seed, progress=s.progress).write(folder / "nsd", progress=s.progress)
            cached = _c2i_world(run, folder / "nsd", folder,
                                run.stage_dir / f"cortex2image-training-{fingerprint}-{unit}")
            for key in ("figure_images", "seen", "generator"):
                cached.pop(key)
            shutil.rmtree(folder / "nsd")
            run.save_stage("cortex2image", cached, unit=unit)
        else:
            run.log(f"[demo] cortex2image: reusing world seed {seed}")
        worlds[str(seed)] = cached
    claims = reconstruction_claims([w["evaluation"]["distributions"] for w in worlds.values()], seeds,
                                   subject=subject, n_test=main["n_test"])
    return {"subject": subject, "world_seeds": seeds, **main, "generator": generator,
            "worlds": {k: v for k, v in worlds.items() if k != str(s.seed)},
            "claims": [c.to_dict() for c in claims]}


#: Test images in the reconstruction figure (chosen at random with the demo's seed).
FIGURE_IMAGES = 12
#: Prior draws of the detail noise per image in the generator figure.
GENERATOR_Z_DRAWS = 3


def _generator_quality(run: DemoRun, gen: Any, seen: np.ndarray) -> dict[str, Any]:
    """The reconstructions' generator on the main world's test images (photographs it never saw), and a figure.

    Measured: :func:`neurogen.generator_training.generator_quality` (regeneration from each image's own
    features beside another image's features and the mean image), plus the figure: seen image, regenerated,
    and :data:`GENERATOR_Z_DRAWS` draws of the detail noise ``z`` from the prior.
    """
    import torch
    from matplotlib.figure import Figure

    from neurogen.generator_training import generator_quality
    from neurokit.plotting import save_figure

    x = torch.from_numpy(np.ascontiguousarray(seen.transpose(0, 3, 1, 2))).float()
    quality = generator_quality(gen, x, seed=run.settings.seed)
    n = min(8, len(seen))
    pick = np.sort(np.random.default_rng(run.settings.seed + 1).choice(len(seen), n, replace=False))
    with torch.no_grad():
        xb = x[pick]
        h = gen.instance_features(xb)
        mu, _ = gen.encode(xb)
        rows = [("seen", xb), ("regenerated from its features", gen(mu, h))]
        rows += [(f"prior z draw {k + 1}", gen(gen.sample_noise(mu, seed=run.settings.seed + k), h))
                 for k in range(GENERATOR_Z_DRAWS)]
    fig = Figure(figsize=(1.3 * n, 1.4 * len(rows)), constrained_layout=True)
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, (label, imgs) in enumerate(rows):
        for j in range(n):
            axes[i, j].imshow(np.clip(imgs[j].permute(1, 2, 0).numpy(), 0.0, 1.0))
            axes[i, j].set_axis_off()
        axes[i, 0].set_title(label, fontsize=9, loc="left")
    save_figure(fig, run.figure("generator.png"))
    info = gen.info
    epochs = info.get("history", {}).get("epochs", [])
    return {"weights": gen.source, "command": info.get("command"), "training": info.get("training"),
            "left_out_photos": info.get("data", {}).get("left_out", {}).get("n_photos"),
            "train_loss": [e["train_loss"] for e in epochs], "val_score": [e["val_score"] for e in epochs],
            "quality_on_test_images": quality,
            "quality_on_left_out_photos": info.get("quality_on_left_out_photos")}


def _generator_section(run: DemoRun, report: Any) -> None:
    """Section 5: the offline generator's training and its regeneration of the test images."""
    g = run.results["cortex2image"]["generator"]
    sec = report.section("5. The offline generator: EfficientNet-Lite0 feature inversion trained on the photo bank")
    sec.text("No installed package carries the weights of a natural-image generator, so the toolkit trains its own "
             "(neurogen.FeatureInversionGenerator: a conditional VAE that regenerates an image from its Lite0 "
             "instance feature h, its Lite0 stage-3 map on a 4 x 4 grid and a detail noise z; pixel, perceptual and "
             "feature losses; conditioning augmentation) and ships the weights. Command: "
             f"`{g['command']}`; {g['left_out_photos']} photographs, those of the simulated world's test images, "
             f"were left out of its training. Training loss by epoch: "
             + ", ".join(f"{v:.3f}" for v in g["train_loss"]) + "; validation score (minus the loss on crops of "
             "held-out photographs, higher is better): " + ", ".join(f"{v:.3f}" for v in g["val_score"]) + ".")
    q = g["quality_on_test_images"]
    rows = [[label, q[key]["pixel_mse"], q[key]["pixcorr"], q[key]["instance_identification"]]
            for key, label in (("generator", "own features, posterior-mean z"), ("prior_z", "own features, prior z"),
                               ("shuffled_features", "another test image's features"),
                               ("mean_image", "mean test image"))]
    sec.table(f"regenerating the {q['n_images']} test images (photographs the generator never saw) from their true "
              "features", ["input", "pixel MSE", "PixCorr", "Lite0 instance 2-way identification"], rows)
    sec.text(f"Pixel standard deviation across prior draws of z: {q['z_diversity']:.4f}.")
    sec.figure(run.figure("generator.png"), "test images, regenerated from their own features, and draws of z")


def _reconstruction_figure(run: DemoRun, seen: np.ndarray, images: dict[str, np.ndarray]) -> Path:
    """Seen image, reconstruction, nearest-neighbour retrieval and ridge to pixels for random test images."""
    from matplotlib.figure import Figure

    from cortex2image.evaluation import METHOD_LABELS
    from neurokit.plotting import save_figure

    n = min(FIGURE_IMAGES, len(seen))
    pick = np.sort(np.random.default_rng(run.settings.seed).choice(len(seen), n, replace=False))
    rows = [("seen", seen)] + [(METHOD_LABELS[k], v) for k, v in images.items()]
    fig = Figure(figsize=(1.3 * n, 1.4 * len(rows)), constrained_layout=True)
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, (label, imgs) in enumerate(rows):
        for j, k in enumerate(pick):
            axes[i, j].imshow(np.clip(imgs[k], 0.0, 1.0))
            axes[i, j].set_axis_off()
        axes[i, 0].set_title(label, fontsize=9, loc="left")
    path = run.figure("reconstructions.png")
    return save_figure(fig, path)


def _reconstruction_section(run: DemoRun, report: Any) -> None:
    """Section 4: the reconstruction metrics beside every baseline, over the world seeds, and a figure."""
    from cortex2image.evaluation import BASELINES, METHOD_LABELS, baseline_verdict, metric_table

    res, subject = run.results["cortex2image"], run.target_subject
    worlds = [res["evaluation"]] + [w["evaluation"] for w in res["worlds"].values()]
    dists = [w["distributions"] for w in worlds]
    sec = report.section(f"4. Cortex2Image: subject {subject}'s test images reconstructed from its fMRI files")
    sec.text("Cortex2Semantic (MeshConv trunk + sigmoid-attention blocks -> the generator's instance feature h, "
             "EfficientNet-Lite0's centred pooled embedding) and Cortex2Detail (the same kind of trunk -> a Gaussian "
             "over the generator's latent: Lite0 stage-3 features on a 4 x 4 grid and detail noise, regressed onto "
             "the seen images' posterior latents, best validation epoch kept, decoded latents calibrated) were "
             f"trained at fsaverage level 4 on the subject's {res['n_train_and_validation']} non-shared images; "
             f"the {res['n_test']} shared test images (from photographs no training image was cut from) were then "
             "reconstructed from the test responses written as lh/rh MGH files by the toolkit's own "
             "instance-conditioned generator (section 5), drawing "
             f"{run.settings.c2i_samples} samples per image and keeping the one whose response, predicted by the "
             "subject's encoder fit on the training images, correlates best with the measured one. "
             "Every metric is shown beside four "
             "baselines on the same test images: the " + ", ".join(METHOD_LABELS[b] for b in BASELINES) + " "
             "(the training image whose measured response correlates best with the test response; a linear map "
             "from responses to pixels; the reconstructions paired with the wrong test images). Identification "
             "is two-way, in EfficientNet-Lite2 pooled features (the simulated brain's network, not the decoder's "
             "semantic space); brain correlation (ground truth) compares the subject's noise-free response to each "
             "image with its response to the seen image.")
    header, rows = metric_table(dists)
    seeds = res["world_seeds"]
    sec.table(f"reconstruction metrics, mean over {res['n_test']} test images with 95 % bootstrap CIs "
              f"({len(seeds)} world seed(s): {', '.join(map(str, seeds))})", header, rows)
    header, rows = metric_table(dists, differences=True)
    sec.table("paired differences, reconstruction minus each baseline, on the same test images and resamples "
              "(95 % bootstrap CIs; for a distance, negative favours the reconstruction)", header, rows)
    sec.text(baseline_verdict(dists, worlds[0]["higher_is_better"]))
    sec.text(f"Two-way identification in the decoder's own semantic space (decoded embedding vs the seen image's, "
             f"main world): {res['semantic_identification']:.3f} (shuffled pairs "
             f"{res['semantic_identification_shuffled']:.3f}).")
    sec.figure(run.figure("reconstructions.png"),
               f"{min(FIGURE_IMAGES, res['n_test'])} test images chosen at random (seed {run.settings.seed}): seen "
               "image, reconstruction, nearest-neighbour retrieval, ridge to pixels")


def cortex2image_section(run: DemoRun, report: Any) -> None:
    """Sections 4 (the reconstructions beside their baselines) and 5 (the generator, when it was measured)."""
    _reconstruction_section(run, report)
    if "generator" in run.results["cortex2image"]:
        _generator_section(run, report)


STAGE = Stage("cortex2image", stage_cortex2image, cortex2image_section)
