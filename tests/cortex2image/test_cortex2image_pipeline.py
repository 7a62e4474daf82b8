"""Cortex2Image models, the Reconstructor (files, levels, samples, reranking, save/load) and the CLI.

Small untrained models at mesh level 2 keep these fast; learning is checked in
test_cortex2image_end_to_end.py.
"""

import json
import os
import shutil

import numpy as np
import pytest
import torch

from cortex2image import (
    ClassConditioner,
    Cortex2Detail,
    Cortex2Semantic,
    CortexTrunk,
    EfficientNetSemanticSpace,
    LinearImageEncoder,
    Reconstructor,
    kl_divergence,
)
from cortex2image.cli import contact_sheet, main as cli_main
from neurokit.exceptions import (
    CheckpointError,
    HemisphereMismatchError,
    InvalidParameterError,
    NonFiniteDataError,
    VertexCountError,
)
from neurokit.io import write_gifti, write_mgh
from neurokit.mesh.levels import n_vertices

LEVEL = 2
TRUNK = dict(coarse_level=1, channels=[8, 16], attention_dim=16, attention_depth=1, num_heads=2)


@pytest.fixture(scope="module")
def generator():
    from neurogen.generators import DCGANFaceGenerator

    return DCGANFaceGenerator.from_pretrained()


@pytest.fixture(scope="module")
def space():
    sp = EfficientNetSemanticSpace(input_size=32)
    sp.fit_center(np.random.default_rng(0).uniform(size=(4, 32, 32, 3)).astype(np.float32))
    return sp


@pytest.fixture(scope="module")
def model(generator, space):
    torch.manual_seed(0)
    sem = Cortex2Semantic(LEVEL, space.dim, **TRUNK)
    det = Cortex2Detail(LEVEL, 100, space.dim, **TRUNK)
    n = 2 * n_vertices(LEVEL)
    rng = np.random.default_rng(0)
    return Reconstructor(sem, det, generator, space, rng.normal(size=n), rng.uniform(0.5, 2, size=n),
                         info={"seed": 0})


def _responses(level, n=3, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 2 * n_vertices(level))).astype(np.float32)


def test_trunk_shapes_and_validation():
    trunk = CortexTrunk(LEVEL, **TRUNK)
    x = torch.randn(2, 2 * n_vertices(LEVEL), requires_grad=True)
    assert trunk(x).shape == (2, 16)
    assert trunk.tokens(x).shape == (2, 2 * n_vertices(1), 16)
    trunk(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with pytest.raises(VertexCountError):
        trunk(torch.randn(2, 100))
    with pytest.raises(InvalidParameterError):
        CortexTrunk(2, coarse_level=3)
    with pytest.raises(InvalidParameterError):
        CortexTrunk(2, coarse_level=1, channels=[8])
    assert CortexTrunk(**trunk.get_config()).get_config() == trunk.get_config()


def test_semantic_is_unit_norm_and_detail_heads(space):
    sem = Cortex2Semantic(LEVEL, space.dim, **TRUNK).eval()
    emb = sem(torch.randn(3, 2 * n_vertices(LEVEL)))
    assert emb.shape == (3, space.dim)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)
    det = Cortex2Detail(LEVEL, 100, space.dim, **TRUNK)
    mu, logvar = det(torch.randn(3, 2 * n_vertices(LEVEL)), emb)
    assert mu.shape == logvar.shape == (3, 100)
    assert (logvar >= -8).all() and (logvar <= 2).all()
    z = Cortex2Detail.reparameterize(mu, logvar, 4, torch.Generator().manual_seed(0))
    assert z.shape == (3, 4, 100)
    with pytest.raises(Exception):
        det(torch.randn(3, 2 * n_vertices(LEVEL)))  # semantic embedding missing


def test_kl_divergence_matches_torch_distributions():
    mu, logvar = torch.randn(4, 5), torch.randn(4, 5)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(4, 5), torch.ones(4, 5))
    assert torch.allclose(kl_divergence(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1), atol=1e-5)
    assert torch.allclose(kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_semantic_space_embeddings(space):
    imgs = np.random.default_rng(3).uniform(size=(5, 40, 40, 3)).astype(np.float32)
    emb = space.embed(imgs)
    assert emb.shape == (5, space.dim)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).requires_grad_(True)
    space.embed_torch(x).sum().backward()
    assert x.grad.abs().sum() > 0


def test_semantic_space_config_round_trip_and_old_form(space):
    from cortex2image.semantic import SEMANTIC_SPACES, semantic_space_config, semantic_space_from_config

    config = semantic_space_config(space)
    assert config == {"class": "efficientnet-lite0", "input_size": 32, "layer": "pool", "weights": "imagenet"}
    imgs = np.random.default_rng(4).uniform(size=(3, 32, 32, 3)).astype(np.float32)
    for description in (config, {"type": "efficientnet-lite0", "input_size": 32, "layer": "pool",
                                 "weights": "imagenet"}):  # the form written before the registry
        rebuilt = semantic_space_from_config(description)
        rebuilt.center = space.center
        assert isinstance(rebuilt, EfficientNetSemanticSpace) and np.array_equal(rebuilt.embed(imgs), space.embed(imgs))
    assert sorted(SEMANTIC_SPACES) == ["clip", "efficientnet-lite0"]
    for bad, match in [({"type": "vgg"}, "unknown semantic space 'vgg'"),
                       ({"class": "efficientnet-lite0", "size": 32}, "cannot rebuild")]:
        with pytest.raises(CheckpointError, match=match):
            semantic_space_from_config(bad)


def test_class_conditioner_picks_nearest_prototype():
    cond = ClassConditioner(torch.eye(3))
    assert cond(torch.tensor([[0.1, 0.9, 0.0], [2.0, 0.0, 0.1]])).tolist() == [1, 0]
    with pytest.raises(Exception):
        cond(torch.randn(2, 4))


def test_reconstruct_levels_samples_and_determinism(model):
    fine = _responses(3)
    rec = model.reconstruct(fine, n_samples=3, seed=5)
    assert rec.images.shape == (3, 64, 64, 3) and rec.samples.shape == (3, 3, 64, 64, 3)
    assert rec.images.min() >= 0 and rec.images.max() <= 1
    assert (rec.chosen == 0).all()
    # finer data are sliced: same result as giving the level-2 slice
    n2, n3 = n_vertices(2), n_vertices(3)
    sliced = np.concatenate([fine[:, :n2], fine[:, n3 : n3 + n2]], axis=1)
    assert np.array_equal(model.reconstruct(sliced, n_samples=3, seed=5).samples, rec.samples)
    again = model.reconstruct(fine, n_samples=3, seed=5)
    assert np.array_equal(again.samples, rec.samples)
    other = model.reconstruct(fine, n_samples=3, seed=6)
    assert np.array_equal(other.samples[:, 0], rec.samples[:, 0])  # sample 0 is the posterior mean
    assert not np.array_equal(other.samples[:, 1:], rec.samples[:, 1:])
    with pytest.raises(VertexCountError):
        model.reconstruct(_responses(1))
    bad = fine.copy()
    bad[0, 4] = np.nan
    with pytest.raises(NonFiniteDataError):
        model.reconstruct(bad)
    with pytest.raises(InvalidParameterError):
        model.reconstruct(fine, n_samples=0)


def test_reranking_chooses_best_predicted_correlation(model):
    responses = _responses(LEVEL, n=2)

    class Encoder:
        level_ = LEVEL

        def __call__(self, images):
            # predicted response = image brightness times a fixed pattern: the sample whose brightness
            # best matches the pattern's sign in the measured response wins
            b = images.reshape(len(images), -1).mean(1, keepdims=True)
            return b * np.linspace(-1, 1, 2 * n_vertices(LEVEL))[None] + np.arange(len(images))[:, None] * 1e-3

    rec = model.reconstruct(responses, n_samples=4, seed=0, rerank_encoder=Encoder())
    assert rec.rerank_scores.shape == (2, 4)
    assert np.array_equal(rec.chosen, rec.rerank_scores.argmax(1))
    assert np.array_equal(rec.images, rec.samples[np.arange(2), rec.chosen])


def test_save_load_identical_reconstructions(model, tmp_path):
    model.save(tmp_path / "model")
    loaded = Reconstructor.load(tmp_path / "model")
    x = _responses(LEVEL)
    a = model.reconstruct(x, n_samples=2, seed=3)
    b = loaded.reconstruct(x, n_samples=2, seed=3)
    assert np.array_equal(a.samples, b.samples)
    assert np.array_equal(a.semantic, b.semantic)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["config"]["kind"] == "cortex2image.Reconstructor"
    (tmp_path / "model.safetensors").write_bytes(b"corrupt")
    with pytest.raises(CheckpointError):
        Reconstructor.load(tmp_path / "model")


def test_a_model_saved_by_the_previous_version_loads(model, tmp_path):
    """Before the registries the space config had "type" and the generator description was describe()'s."""
    model.save(tmp_path / "model")
    doc = json.loads((tmp_path / "model.json").read_text())
    space = doc["config"]["space"]
    assert space.pop("class") == "efficientnet-lite0" and doc["config"]["generator"]["class"] == "DCGANFaceGenerator"
    doc["config"]["space"] = {"type": "efficientnet-lite0", **space}
    doc["config"]["generator"] = model.generator.describe()  # {"type": "DCGANFaceGenerator", ..., "weights": ...}
    (tmp_path / "model.json").write_text(json.dumps(doc))
    loaded = Reconstructor.load(tmp_path / "model")
    x = _responses(LEVEL)
    assert np.array_equal(model.reconstruct(x, n_samples=2, seed=3).samples,
                          loaded.reconstruct(x, n_samples=2, seed=3).samples)


def test_linear_image_encoder_fit_save_load(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.uniform(size=(24, 32, 32, 3)).astype(np.float32)
    imgs[:12] *= 0.3  # two brightness groups the responses follow
    pattern = rng.normal(size=2 * n_vertices(1))
    resp = imgs.mean((1, 2, 3))[:, None] * pattern[None] + 0.01 * rng.normal(size=(24, pattern.size))
    enc = LinearImageEncoder(layers=("stage2",), input_size=32).fit(imgs, resp.astype(np.float32))
    pred = enc.predict(imgs)
    assert pred.shape == resp.shape
    assert np.corrcoef(pred.ravel(), resp.ravel())[0, 1] > 0.8
    enc.save(tmp_path / "enc")
    assert np.allclose(LinearImageEncoder.load(tmp_path / "enc").predict(imgs[:3]), pred[:3], atol=1e-5)


def test_a_linear_image_encoder_file_of_the_previous_version_loads(tmp_path):
    """The file layout written before the refactor (tensors coef/intercept/feature_mean/feature_std, config with
    kind "cortex2image.LinearImageEncoder"), written here by hand, loads and predicts ``standardised features @
    coef.T + intercept``."""
    from neurokit.checkpoints import save_checkpoint

    rng = np.random.default_rng(1)
    imgs = rng.uniform(size=(3, 32, 32, 3)).astype(np.float32)
    n_targets = 2 * n_vertices(0)
    raw = LinearImageEncoder(layers=("stage2",), input_size=32).features(imgs)
    tensors = {"coef": rng.normal(size=(n_targets, raw.shape[1])).astype(np.float32),
               "intercept": rng.normal(size=n_targets).astype(np.float32),
               "feature_mean": raw.mean(0), "feature_std": raw.std(0) + 1.0}
    config = {"kind": "cortex2image.LinearImageEncoder", "layers": ["stage2"], "input_size": 32,
              "alphas": [0.1, 1.0], "level": 0}
    save_checkpoint(tmp_path / "old", tensors, config, mesh_level=0)
    enc = LinearImageEncoder.load(tmp_path / "old")
    assert enc.layers == ("stage2",) and enc.input_size == 32 and enc.alphas == (0.1, 1.0) and enc.level_ == 0
    x = (raw - tensors["feature_mean"]) / tensors["feature_std"]
    expected = (x @ tensors["coef"].T.astype(np.float64) + tensors["intercept"]).astype(np.float32)
    np.testing.assert_array_equal(enc.predict(imgs), expected)


def test_contact_sheet_layout():
    sheet = contact_sheet(np.zeros((2, 3, 8, 8, 3)), pad=2)
    assert sheet.shape == (2 * 10 + 2, 3 * 10 + 2, 3) and sheet.dtype == np.uint8
    assert sheet[0, 0, 0] == 255 and sheet[2, 2, 0] == 0


def _write_pair(folder, data, fmt):
    n = data.shape[1] // 2
    if fmt == "mgh":
        from neurokit.datasets import NSDWriter

        return NSDWriter(folder).write_betas_session(1, 1, data)
    left, right = folder / "lh.resp.func.gii", folder / "rh.resp.func.gii"
    write_gifti(left, data[:, :n])
    write_gifti(right, data[:, n:])
    return left, right


@pytest.mark.parametrize("fmt", ["mgh", "gifti"])
def test_cli_reconstructs_from_files(model, tmp_path, fmt):
    model.save(tmp_path / "model")
    left, right = _write_pair(tmp_path, _responses(3, n=2), fmt)
    out = tmp_path / "out"
    status = cli_main(["reconstruct", str(tmp_path / "model"), str(left), str(right), "--output", str(out),
                       "--samples", "2", "--seed", "1"])
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".neurokit-output.json", "contact_sheet.png", "reconstruction.json", "recon_0000.png", "recon_0001.png",
         "samples"])
    assert len(list((out / "samples").iterdir())) == 4
    doc = json.loads((out / "reconstruction.json").read_text())
    assert doc["n_inputs"] == 2 and doc["n_samples"] == 2 and doc["seed"] == 1
    from PIL import Image

    png = np.asarray(Image.open(out / "recon_0001.png"), dtype=np.float32) / 255
    expected = model.reconstruct((left, right), n_samples=2, seed=1).images[1]
    assert np.abs(png - expected).max() <= 1 / 255 + 1e-6
    # an existing output folder is not overwritten without --overwrite
    assert cli_main(["reconstruct", str(tmp_path / "model"), str(left), str(right), "--output", str(out)]) == 1


def test_cli_bad_files_write_nothing(model, tmp_path, capsys):
    model.save(tmp_path / "model")
    data = _responses(3, n=2)
    n = data.shape[1] // 2
    cases = {}
    import nibabel as nib

    short = data[:, : n - 5].T[:, None, None, :].astype(np.float32)  # not an fsaverage vertex count
    nib.MGHImage(short, np.eye(4)).to_filename(str(tmp_path / "lh.short.mgh"))
    write_mgh(tmp_path / "rh.short.mgh", data[:, n:])
    cases["vertex"] = (tmp_path / "lh.short.mgh", tmp_path / "rh.short.mgh", "vertices")
    nan = data.copy()
    nan[1, 7] = np.nan
    write_mgh(tmp_path / "lh.nan.mgh", nan[:, :n])
    write_mgh(tmp_path / "rh.nan.mgh", nan[:, n:])
    cases["nan"] = (tmp_path / "lh.nan.mgh", tmp_path / "rh.nan.mgh", "NaN")
    write_mgh(tmp_path / "lh.ok.mgh", data[:, :n])
    write_mgh(tmp_path / "rh.ok.mgh", data[:, n:])
    cases["order"] = (tmp_path / "rh.ok.mgh", tmp_path / "lh.ok.mgh", "swapped")
    for name, (left, right, words) in cases.items():
        out = tmp_path / f"out_{name}"
        status = cli_main(["reconstruct", str(tmp_path / "model"), str(left), str(right), "--output", str(out)])
        err = capsys.readouterr().err
        assert status == 1, name
        assert words in err, (name, err)
        assert not out.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith((".tmp-", ".old-"))]
    with pytest.raises(HemisphereMismatchError):
        model.reconstruct((tmp_path / "rh.ok.mgh", tmp_path / "lh.ok.mgh"))


def test_cli_overwrite_replaces_only_its_own_output(model, tmp_path, capsys):
    """--overwrite never replaces a user's folder or file; it does replace an earlier reconstruction."""
    model.save(tmp_path / "model")
    left, right = _write_pair(tmp_path, _responses(3, n=2), "gifti")
    base = ["reconstruct", str(tmp_path / "model"), str(left), str(right), "--overwrite", "--output"]
    user_folder = tmp_path / "papers"
    user_folder.mkdir()
    (user_folder / "draft.txt").write_text("mine")
    user_file = tmp_path / "notes.txt"
    user_file.write_text("also mine")
    for target, words in ((user_folder, "did not write"), (user_file, "not a folder")):
        assert cli_main([*base, str(target)]) == 1
        assert words in capsys.readouterr().err
    assert [p.name for p in user_folder.iterdir()] == ["draft.txt"] and user_file.read_text() == "also mine"
    out = tmp_path / "recon"
    assert cli_main([*base, str(out), "--seed", "1"]) == 0
    (out / "recon_0000.png").write_bytes(b"stale")
    assert cli_main([*base, str(out), "--seed", "2"]) == 0
    assert json.loads((out / "reconstruction.json").read_text())["seed"] == 2
    assert (out / "recon_0000.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".tmp-", ".old-"))]


def _cli_fuzz(model, tmp_path, capsys, n_inputs, seed):
    """``neurokit reconstruct`` on corrupted left-hemisphere files of the fuzz corpus (tests/fuzz_corpus.py).

    Each input either reconstructs (only when nibabel/numpy read the same bytes
    as a valid level-2 hemisphere) or exits with status 1 and an error naming the
    file; nothing is written when it fails. Returns the outcome counts.
    """
    from tests import fuzz_corpus

    model.save(tmp_path / "model")
    right = tmp_path / "rh.ok.mgh"
    write_mgh(right, _responses(LEVEL, n=fuzz_corpus.T)[:, n_vertices(LEVEL):])
    cases = [c for c in fuzz_corpus.generate(seed=seed, per_format=60) if c.ext in fuzz_corpus.SURFACE_EXTS]
    picked = np.random.default_rng(seed).choice(len(cases), size=n_inputs, replace=False)
    counts = {"reconstructed": 0, "refused": 0}
    for i in sorted(picked):
        case = cases[i]
        left = tmp_path / case.filename
        left.write_bytes(case.data)
        before = set(tmp_path.iterdir())
        out = tmp_path / "out"
        status = cli_main(["reconstruct", str(tmp_path / "model"), str(left), str(right), "--output", str(out)])
        err = capsys.readouterr().err
        reference = fuzz_corpus.reference_reading(case)
        if status == 0:
            assert reference is not None and reference.shape == (fuzz_corpus.T, fuzz_corpus.V), case.name
            assert np.isfinite(reference).all(), case.name
            shutil.rmtree(out)
            counts["reconstructed"] += 1
        else:
            assert status == 1 and str(left) in err, (case.name, err)
            assert set(tmp_path.iterdir()) == before, case.name  # nothing written, no temporary left behind
            counts["refused"] += 1
        left.unlink()
    return counts


@pytest.mark.filterwarnings("ignore:loadtxt")  # nibabel parsing an emptied ASCII GIfTI array
def test_cli_reconstruct_fuzz(model, tmp_path, capsys):
    counts = _cli_fuzz(model, tmp_path, capsys, n_inputs=20, seed=0)
    assert counts["refused"] > 0


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NEUROKIT_LONG_TESTS") != "1", reason="long: NEUROKIT_LONG_TESTS=1 (2 min)")
@pytest.mark.filterwarnings("ignore:loadtxt")
def test_cli_reconstruct_fuzz_more(model, tmp_path, capsys):
    counts = _cli_fuzz(model, tmp_path, capsys, n_inputs=100, seed=1)
    assert counts["refused"] > 0 and counts["reconstructed"] > 0


def test_fourier_generator_is_rebuilt_from_its_description():
    from cortex2image.reconstructor import generator_from_spec, generator_spec
    from neurogen.generators import FourierImage

    gen = FourierImage((24, 32), decay_power=1.5, decorrelate_colors=False)
    rebuilt = generator_from_spec(generator_spec(gen))
    assert rebuilt.describe() == gen.describe()
    z = gen.sample_latents(2, seed=0) * 50
    assert torch.equal(rebuilt(z), gen(z))
    with pytest.raises(CheckpointError):
        generator_from_spec({"type": "FourierImage"})


def test_detail_objective_skips_the_feature_network_at_zero_weight(space):
    from cortex2image.detail_objectives import DetailLoss, DetailObjective
    from neurogen.generators import FourierImage

    gen = FourierImage(16)
    det = Cortex2Detail(LEVEL, gen.latent_size, space.dim, **TRUNK)
    n_in = 2 * n_vertices(LEVEL)
    packed = torch.cat([torch.randn(3, n_in), torch.nn.functional.normalize(torch.randn(3, space.dim), dim=1)], 1)
    out = DetailObjective(det, gen, space, None, 8, n_in, features=False).train()(packed)
    assert out.shape == (3, 3 * 64 + space.dim + 1)
    assert torch.all(out[:, 3 * 64 : -1] == 0) and torch.all(out[:, -1] >= 0)  # KL per latent dimension
    loss = DetailLoss(3 * 64, 1.0, 0.0, 1e-4, 1)
    value = loss(out, torch.rand(3, 3 * 64 + space.dim))
    value.backward()
    assert torch.isfinite(value) and det.trunk.skip.weight.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def instance_model():
    """A Reconstructor on a small instance-conditioned generator, with its own rerank encoder."""
    from neurogen.generators import FeatureInversionGenerator

    torch.manual_seed(0)
    gen = FeatureInversionGenerator(image_size=32, z_dim=4, channels=(32, 16, 16, 8), cond_dim=16).eval()
    space = EfficientNetSemanticSpace(input_size=32, layer="pool")
    space.center = gen.instance_center.clone()
    sem = Cortex2Semantic(LEVEL, space.dim, **TRUNK)
    det = Cortex2Detail(LEVEL, gen.latent_size, space.dim, **TRUNK)
    with torch.no_grad():
        det.logvar.bias.fill_(1.0)  # wide posterior: samples differ visibly
    n = 2 * n_vertices(LEVEL)
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(24, 32, 32, 3)).astype(np.float32)
    encoder = LinearImageEncoder(layers=("pool",), input_size=32).fit(images, _responses(LEVEL, 24, seed=4))
    return Reconstructor(sem, det, gen, space, np.zeros(n), np.ones(n), rerank_encoder=encoder, info={"seed": 0})


def test_instance_conditioned_generator_takes_the_decoded_embedding(instance_model):
    from neurogen.generators import FeatureInversionGenerator

    x = _responses(LEVEL, 2)
    rec = instance_model.reconstruct(x, n_samples=1)
    with torch.no_grad():
        mu, _ = instance_model.detail(torch.from_numpy(x), torch.from_numpy(rec.semantic))
        expected = instance_model.generator(mu, torch.from_numpy(rec.semantic)).permute(0, 2, 3, 1).numpy()
    assert np.allclose(rec.images, expected, atol=1e-6)
    other = FeatureInversionGenerator(image_size=32, z_dim=4, channels=(32, 16, 16, 8), cond_dim=16)
    with pytest.raises(InvalidParameterError, match="instance features"):
        Reconstructor(instance_model.semantic, Cortex2Detail(LEVEL, other.latent_size, 16, **TRUNK), other,
                      EfficientNetSemanticSpace(input_size=32, layer="stage3"), np.zeros(2 * n_vertices(LEVEL)),
                      np.ones(2 * n_vertices(LEVEL)))


def test_reranking_is_the_default_and_more_samples_never_lower_the_kept_brain_correlation(instance_model):
    x = _responses(LEVEL, 5, seed=9)
    kept = []
    runs = {k: instance_model.reconstruct(x, n_samples=k, seed=2) for k in (2, 4, 8)}
    for k, rec in runs.items():
        assert rec.rerank_scores is not None and rec.rerank_scores.shape == (5, k)
        assert np.array_equal(rec.chosen, rec.rerank_scores.argmax(1))
        kept.append(rec.rerank_scores.max(1))
    # nested draws: the first samples are the same whatever the number of samples or the batching
    assert np.array_equal(runs[8].samples[:, :4], runs[4].samples)
    assert np.allclose(instance_model.reconstruct(x, n_samples=4, seed=2, batch_size=2).samples, runs[4].samples,
                       atol=1e-5)
    assert np.all(np.diff(np.stack(kept), axis=0) >= -1e-6)  # float noise of batched features only
    assert np.stack(kept)[-1].mean() > np.stack(kept)[0].mean()  # and here they raise it
    off = instance_model.reconstruct(x, n_samples=4, seed=2, rerank_encoder=False)
    assert off.rerank_scores is None and not off.chosen.any()


def test_rerank_encoder_is_saved_with_the_model(instance_model, tmp_path):
    path = instance_model.save(tmp_path / "model")
    loaded = Reconstructor.load(path, generator=instance_model.generator)
    x = _responses(LEVEL, 3)
    a, b = instance_model.reconstruct(x, n_samples=3), loaded.reconstruct(x, n_samples=3)
    assert np.array_equal(a.chosen, b.chosen) and np.allclose(a.rerank_scores, b.rerank_scores, atol=1e-6)


def test_the_reconstructor_file_keeps_the_previous_layout(instance_model, tmp_path):
    """What files of the previous version hold (and :meth:`Reconstructor.load` reads): the rerank encoder's
    tensors under ``rerank.`` and its config, kind ``cortex2image.LinearImageEncoder``, in the model's JSON."""
    from neurokit.checkpoints import load_checkpoint

    tensors, config = load_checkpoint(instance_model.save(tmp_path / "model"))
    assert config["kind"] == "cortex2image.Reconstructor"
    assert {k for k in tensors if k.startswith("rerank.")} == {"rerank.coef", "rerank.intercept",
                                                               "rerank.feature_mean", "rerank.feature_std"}
    assert set(config["rerank_encoder"]) == {"kind", "layers", "input_size", "alphas", "level"}
    assert config["rerank_encoder"]["kind"] == "cortex2image.LinearImageEncoder"


def test_latent_calibration_rescales_the_decoded_latent_and_is_saved(instance_model, tmp_path):
    m = instance_model
    dim = m.detail.latent_dim
    scale, shift = np.full(dim, 2.0, np.float32), np.linspace(-1, 1, dim).astype(np.float32)
    cal = Reconstructor(m.semantic, m.detail, m.generator, m.space, m.response_mean, m.response_std,
                        latent_calibration=(scale, shift))
    x = _responses(LEVEL, 2)
    rec = cal.reconstruct(x, n_samples=1)
    with torch.no_grad():
        sem = torch.from_numpy(rec.semantic)
        mu, _ = m.detail(torch.from_numpy(x), sem)
        expected = m.generator(mu * 2.0 + torch.from_numpy(shift), sem).permute(0, 2, 3, 1).numpy()
    assert np.allclose(rec.images, expected, atol=1e-6)
    assert not np.allclose(rec.images, m.reconstruct(x, n_samples=1).images)
    loaded = Reconstructor.load(cal.save(tmp_path / "cal"), generator=m.generator)
    assert np.array_equal(loaded.reconstruct(x, n_samples=1).images, rec.images)
    with pytest.raises(InvalidParameterError, match="latent_calibration"):
        Reconstructor(m.semantic, m.detail, m.generator, m.space, m.response_mean, m.response_std,
                      latent_calibration=(scale[:3], shift))


def test_at_level_slices_finer_data_and_refuses_coarser():
    from cortex2image.reconstructor import at_level
    from neurokit.surface_data import SurfaceData

    fine = SurfaceData.from_array(_responses(3, 2))
    coarse = at_level(fine, 2)
    assert coarse.level == 2 and np.array_equal(coarse.data, fine.to_level(2).data)
    assert at_level(fine, 3) is fine
    with pytest.raises(VertexCountError, match="the rerank encoder works at level 4"):
        at_level(fine, 4, "the rerank encoder")
