"""The photo bank: rcc reader, source readers, de-duplication, build/load, photo-disjoint split, crops, CLI."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neurokit.datasets import photo_bank as pb
from neurokit.datasets import (
    PHOTO_CATEGORIES,
    PHOTO_SOURCES,
    build_photo_bank,
    load_photo_bank,
    photo_disjoint_split,
    sample_crops,
)
from neurokit.exceptions import DataValidationError, FileFormatError, InvalidParameterError, UnsupportedFormatError

SOURCES = {s.name: s for s in PHOTO_SOURCES}


# ------------------------------------------------------------------------------------------- rcc
def _write_rcc(files: dict[str, tuple[bytes, int]], version: int = 3) -> bytes:
    """A minimal Qt rcc bundle: ``files`` maps '/a/b.png' to (content, flags) with flags 0, 1 (zlib) or 4 (zstd)."""
    tree: dict = {}
    for path, item in files.items():
        node = tree
        parts = path.strip("/").split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = item
    names, payload, nodes = bytearray(), bytearray(), []
    name_offsets: dict[str, int] = {}

    def name_offset(name: str) -> int:
        if name not in name_offsets:
            name_offsets[name] = len(names)
            names.extend(struct.pack(">HI", len(name), 0) + name.encode("utf-16-be"))
        return name_offsets[name]

    # breadth-first: each directory's children are contiguous, as rcc requires
    nodes.append(["", tree])
    queue = [0]
    node_records: dict[int, bytes] = {}
    while queue:
        index = queue.pop(0)
        name, content = nodes[index]
        noff = name_offset(name) if index else 0
        if isinstance(content, dict):
            first = len(nodes)
            for child in sorted(content):
                nodes.append([child, content[child]])
            queue.extend(range(first, len(nodes)))
            record = struct.pack(">IHII", noff, 2, len(content), first)
        else:
            data, flags = content
            blob = struct.pack(">I", len(data)) + zlib.compress(data) if flags & 1 else data
            record = struct.pack(">IHHHI", noff, flags, 0, 0, len(payload))
            payload.extend(struct.pack(">I", len(blob)) + blob)
        node_records[index] = record + (struct.pack(">Q", 0) if version >= 2 else b"")
    header_size = 24 if version >= 3 else 20
    data_off = header_size
    names_off = data_off + len(payload)
    tree_off = names_off + len(names)
    header = b"qres" + struct.pack(">IIII", version, tree_off, data_off, names_off)
    if version >= 3:
        header += struct.pack(">I", 1)
    return header + bytes(payload) + bytes(names) + b"".join(node_records[i] for i in range(len(nodes)))


@pytest.mark.parametrize("version", [1, 2, 3])
def test_read_rcc_nested_zlib_and_plain(version):
    files = {"/gcompris/a/one.txt": (b"hello" * 50, 1), "/gcompris/a/b/two.bin": (bytes(range(200)), 0),
             "/top.dat": (b"x", 0)}
    entries = pb.read_rcc(_write_rcc(files, version))
    assert {e.path: e.data for e in entries} == {p: d for p, (d, _f) in files.items()}


def test_read_rcc_errors():
    with pytest.raises(FileFormatError, match="qres"):
        pb.read_rcc(b"PK\x03\x04" + bytes(40), name="x.rcc")
    with pytest.raises(UnsupportedFormatError, match="zstd"):
        pb.read_rcc(_write_rcc({"/a.png": (b"abc", 4)}))
    with pytest.raises(FileFormatError, match="truncated"):
        pb.read_rcc(_write_rcc({"/a/b.png": (b"abc" * 10, 0)})[:-10], name="cut.rcc")


def _photo_bytes(seed: int, size: tuple[int, int] = (48, 64), fmt: str = "PNG", alpha: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: size[0], : size[1]]
    img = (rng.uniform(0, 255, 3) * np.sin(xx[..., None] / rng.uniform(3, 9) + yy[..., None] / 7) ** 2
           + rng.normal(0, 20, (*size, 3))).clip(0, 255).astype(np.uint8)
    if alpha:
        a = np.full(size, 255, np.uint8)
        a[:, : size[1] // 4] = 0  # a transparent left quarter
        img = np.dstack([img, a])
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, fmt)
    return buf.getvalue()


def test_gcompris_reader_takes_photo_folders_only(tmp_path):
    bundle = {
        "/gcompris/src/activities/categorization/resource/images/monuments/eiffelTower.webp": (
            _photo_bytes(1, fmt="WEBP"), 1),
        "/gcompris/src/activities/categorization/resource/images/renewable/solar3.webp": (
            _photo_bytes(2, fmt="WEBP"), 1),
        "/gcompris/src/activities/categorization/resource/images/numbers/numbers.webp": (
            _photo_bytes(3, fmt="WEBP"), 1),
        "/gcompris/src/activities/categorization/resource/images/monuments/README": (b"Copyright", 1),
    }
    folder = tmp_path / pb.GCOMPRIS_RCC
    folder.mkdir(parents=True)
    (folder / "categorization.rcc").write_bytes(_write_rcc(bundle))
    photos = list(SOURCES["gcompris"].reader(tmp_path))
    assert [(p.label, p.category) for p in photos] == [("eiffel tower", "place"), ("solar", "object")]
    assert photos[0].image.shape == (48, 64, 3) and photos[0].image.dtype == np.uint8
    assert photos[0].file.endswith("categorization.rcc:/gcompris/src/activities/categorization/resource/images/"
                                   "monuments/eiffelTower.webp")


# ------------------------------------------------------------------------------------- tuxpaint
def test_tuxpaint_reader_photos_labels_and_grey_background(tmp_path):
    stamps = tmp_path / pb.TUXPAINT_STAMPS
    for rel, data in {
        "animals/mammals/fox.png": _photo_bytes(4, alpha=True),
        "animals/mammals/cartoon/fox.png": _photo_bytes(5, alpha=True),
        "symbols/alphabets/a.png": _photo_bytes(6, alpha=True),
        "food/fruit/flat.png": None,  # a drawing: two flat colours
    }.items():
        (stamps / rel).parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            flat = np.zeros((40, 40, 4), np.uint8)
            flat[..., 3] = 255
            flat[:20, :, 0] = 250
            Image.fromarray(flat).save(stamps / rel)
        else:
            (stamps / rel).write_bytes(data)
    (stamps / "animals/mammals/fox.txt").write_text("A red fox.\nfr.utf8=Un renard.\n", encoding="utf-8")
    photos = list(SOURCES["tuxpaint"].reader(tmp_path))
    assert [(p.file, p.label, p.category) for p in photos] == [
        (f"{pb.TUXPAINT_STAMPS}/animals/mammals/fox.png", "a red fox", "animal")]
    np.testing.assert_array_equal(photos[0].image[:, :16], 128)  # transparent quarter -> mid-grey
    assert photos[0].image[:, 16:].std() > 10


def test_is_photographic():
    rng = np.random.default_rng(0)
    assert pb.is_photographic(rng.integers(0, 256, (50, 50, 3), dtype=np.uint8))
    assert not pb.is_photographic(np.full((50, 50, 4), 200, np.uint8))


def test_foolbox_labels_from_file_names(tmp_path):
    folder = tmp_path / pb.FOOLBOX_DATA
    folder.mkdir(parents=True)
    for name in ("imagenet_00_243.jpg", "cifar10_03_0.png", "cifar100_00_49.png", "fashionMNIST_00_9.png"):
        (folder / name).write_bytes(_photo_bytes(7, (32, 32), "PNG"))
    got = {p.file.rsplit("/", 1)[1]: (p.label, p.category) for p in SOURCES["foolbox"].reader(tmp_path)}
    assert got == {"imagenet_00_243.jpg": ("bull mastiff", "animal"), "cifar10_03_0.png": ("airplane", "object"),
                   "cifar100_00_49.png": ("mountain", "place")}


def test_category_tables_use_known_categories():
    values = [*pb.GCOMPRIS_LABELS.values(), *(c for d in pb.GCOMPRIS_FOLDERS.values() for c in d.values()),
              *pb.TUXPAINT_CATEGORIES.values(), *(c for _l, c in pb.OPENCV_PHOTOS.values()),
              *(c for _l, c in pb.MVTB_PHOTOS.values()), *(c for _l, c in pb.IMAGENET_CLASSES.values())]
    assert set(values) - {None} <= set(PHOTO_CATEGORIES)
    assert {"face", "body", "place"} <= set(PHOTO_CATEGORIES)
    assert len(pb.CIFAR100_CLASSES) == 100 and len(pb.CIFAR10_CLASSES) == 10


# --------------------------------------------------------------------------------- de-duplication
def test_find_duplicates_catches_resized_recompressed_copies_only():
    rng = np.random.default_rng(1)
    base = [np.asarray(Image.open(io.BytesIO(_photo_bytes(s, (96, 96))))) for s in range(6)]
    copy = np.asarray(Image.fromarray(base[2]).resize((80, 80)).resize((96, 96)))  # resampled
    buf = io.BytesIO()
    Image.fromarray(copy).save(buf, "JPEG", quality=60)
    copy = np.asarray(Image.open(buf))
    brighter = np.clip(base[4].astype(int) + 6, 0, 255).astype(np.uint8)
    noise = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    stack = np.stack([*base, copy, brighter, noise])
    np.testing.assert_array_equal(pb.find_duplicates(stack), [6, 7])
    np.testing.assert_array_equal(pb.find_duplicates(stack[:6]), [])
    sig = pb.photo_signature(stack)
    assert sig.shape == (9, 256)
    np.testing.assert_allclose(np.linalg.norm(sig, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(sig.sum(axis=1), 0.0, atol=1e-4)


# ----------------------------------------------------------------------------------- build, load
@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("nk-cache")


@pytest.fixture(scope="module")
def bank(cache):
    with pytest.warns(UserWarning, match="neurokit photo-bank fetch"):
        return load_photo_bank(32, cache_dir=cache)


def test_build_and_load_round_trip(bank, cache):
    folder = cache / "photo-bank"
    assert bank.path == folder / "photos-32.npy"
    assert bank.images.shape == (len(bank), 32, 32, 3) and bank.images.dtype == np.uint8
    assert not bank.images.flags.writeable
    assert set(bank.sources) == {"installed", "lfw"}  # what is there without the fetch
    assert "gcompris" in bank.missing and "tuxpaint" in bank.missing
    assert (bank.source == "lfw").sum() == 100 and (bank.original_size[bank.source == "lfw"] == 25).all()
    assert {"face", "body", "place"} <= set(bank.categories)
    meta = json.loads((folder / "photos-32.json").read_text())
    assert [p["id"] for p in meta["photos"]] == list(range(len(bank)))
    assert set(meta["photos"][0]) >= {"id", "source", "package", "package_version", "licence", "file", "label",
                                      "category", "original_size"}
    again = load_photo_bank(32, cache_dir=cache)
    np.testing.assert_array_equal(again.images, bank.images)
    assert again.path.stat().st_mtime_ns == bank.path.stat().st_mtime_ns  # not rebuilt
    table = bank.summary()
    assert "installed" in table and "lfw" in table and f"{len(bank)} distinct photographs" in table


def test_min_side_leaves_out_small_photos(tmp_path):
    small = build_photo_bank(32, min_side=26, cache_dir=tmp_path, progress=False)
    assert "lfw" not in small.sources and len(small) > 0


def test_rebuilt_when_sources_change(tmp_path):
    base = build_photo_bank(32, cache_dir=tmp_path, progress=False)
    src = tmp_path / "photo-bank" / "sources" / "foolbox"
    (src / "files" / pb.FOOLBOX_DATA).mkdir(parents=True)
    (src / "files" / pb.FOOLBOX_DATA / "imagenet_00_243.jpg").write_bytes(_photo_bytes(11, (64, 64), "JPEG"))
    (src / "source.json").write_text(json.dumps({"package": "foolbox", "origin": "pypi", "version": "0", "files": 1}))
    with pytest.warns(UserWarning, match="gcompris"):
        grown = load_photo_bank(32, cache_dir=tmp_path)
    assert len(grown) == len(base) + 1 and grown.sources[-1] == "foolbox"
    assert grown.label[grown.source == "foolbox"].tolist() == ["bull mastiff"]
    assert grown.package_version[grown.source == "foolbox"].tolist() == ["0"]
    before = grown.path.stat().st_mtime_ns
    forced = load_photo_bank(32, cache_dir=tmp_path, rebuild=True)
    assert forced.path.stat().st_mtime_ns > before and len(forced) == len(grown)


def test_fetch_rejects_unknown_sources(tmp_path):
    with pytest.raises(InvalidParameterError, match="names"):
        pb.fetch_photo_sources(["installed"], cache_dir=tmp_path)


def test_fetch_reports_present_sources_without_downloading(tmp_path):
    src = tmp_path / "photo-bank" / "sources" / "mvtb"
    src.mkdir(parents=True)
    (src / "source.json").write_text("{}")
    assert pb.fetch_photo_sources(["mvtb"], cache_dir=tmp_path) == {"mvtb": "present"}


# ---------------------------------------------------------------------------------- split, crops
def test_photo_disjoint_split_is_disjoint_and_stratified(bank):
    train, test = photo_disjoint_split(bank, 0.25, seed=3)
    assert len(np.intersect1d(train, test)) == 0
    np.testing.assert_array_equal(np.union1d(train, test), bank.ids)
    for cat in bank.categories:
        n_cat = int((bank.category == cat).sum())
        n_test = int((bank.category[test] == cat).sum())
        expected = min(max(round(0.25 * n_cat), 1), n_cat - 1) if n_cat >= 2 else round(0.25 * n_cat)
        assert n_test == expected, cat
    again = photo_disjoint_split(bank, 0.25, seed=3)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(photo_disjoint_split(bank, 0.25, seed=4)[1], test)
    _, flat_test = photo_disjoint_split(bank, 0.25, seed=3, stratify=False)
    assert len(flat_test) == round(0.25 * len(bank))


def test_no_test_crop_shares_a_photo_with_a_training_crop(bank):
    train, test = photo_disjoint_split(bank, 0.2, seed=0)
    _, train_labels = sample_crops(bank, train, 300, 16, seed=1)
    _, test_labels = sample_crops(bank, test, 100, 16, seed=2)
    assert set(train_labels["photo"]) <= set(train) and set(test_labels["photo"]) <= set(test)
    assert not set(train_labels["photo"]) & set(test_labels["photo"])


def test_sample_crops_cycles_photos_and_records_boxes(bank):
    ids = np.array([0, 5, 100, 101])
    images, labels = sample_crops(bank, ids, 10, 24, seed=5, jitter=0.0)
    assert images.shape == (10, 24, 24, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    counts = np.bincount(labels["photo"], minlength=102)[ids]
    assert counts.min() >= 2 and counts.max() <= 3
    np.testing.assert_array_equal(labels["category"], bank.category[labels["photo"]])
    np.testing.assert_array_equal(labels["is_face"], labels["category"] == "face")
    np.testing.assert_array_equal(labels["source"], bank.source[labels["photo"]])
    from skimage.transform import resize

    for img, lab in zip(images, labels):
        r, c, h, w = lab["box"]
        assert h == w and 0.6 * 32 - 1 <= h <= 32 and r + h <= 32 and c + w <= 32
        crop = bank.images[lab["photo"], r : r + h, c : c + w].astype(np.float32) / 255
        crop = crop[:, ::-1] if lab["flipped"] else crop
        np.testing.assert_allclose(img, np.clip(resize(crop, (24, 24), order=1, anti_aliasing=h > 24), 0, 1),
                                   atol=1e-5)


def test_sample_crops_deterministic_by_seed(bank):
    a, la = sample_crops(bank, bank.ids, 12, 16, seed=7)
    b, lb = sample_crops(bank, bank.ids, 12, 16, seed=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    c, _ = sample_crops(bank, bank.ids, 12, 16, seed=8)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"n": 0}, "n"), ({"size": -2}, "size"), ({"photo_ids": [10**6]}, "photo_ids"), ({"photo_ids": []}, "photo_ids"),
     ({"scale": (0.0, 1.0)}, "scale"), ({"jitter": 0.9}, "jitter")],
)
def test_sample_crops_errors_name_the_argument(bank, kwargs, argument):
    args = {"photo_ids": [0, 1], "n": 3, "size": 8, **kwargs}
    # a bad parameter is an InvalidParameterError, bad ids (data) a DataValidationError
    error = DataValidationError if argument == "photo_ids" else InvalidParameterError
    with pytest.raises(error, match=argument):
        sample_crops(bank, **args)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5, "0.2"])
def test_split_error_names_test_fraction(bank, fraction):
    with pytest.raises(InvalidParameterError, match="test_fraction"):
        photo_disjoint_split(bank, fraction)


def test_bad_bank_size_names_size(tmp_path):
    with pytest.raises(InvalidParameterError, match="size"):
        build_photo_bank(40, cache_dir=tmp_path)


# -------------------------------------------------------------------------------------------- CLI
def test_cli_info_prints_the_summary(bank, cache, capsys):
    from neurokit.cli import add_subcommand, main

    add_subcommand(pb.register)
    assert main(["photo-bank", "info", "--cache-dir", str(cache), "--size", "32"]) == 0
    out = capsys.readouterr().out
    assert "installed" in out and "lfw" in out and f"{len(bank)} distinct photographs of 32 x 32 px" in out
    assert "missing sources: gcompris" in out


# ------------------------------------------------------------------------------- the real bank
def _real_bank_header() -> dict | None:
    from neurokit.mesh.hierarchy import cache_root

    for root in (cache_root(), Path.home() / ".cache" / "neurokit"):
        path = root / "photo-bank" / "photos-128.json"
        if path.is_file():
            header = json.loads(path.read_text())
            if "gcompris" in header.get("sources", {}):
                return header
    return None


def test_real_bank_has_hundreds_of_photos_with_faces_bodies_places():
    header = _real_bank_header()
    if header is None:
        pytest.skip("no photo bank built from the Debian sources in the cache (run `neurokit photo-bank fetch` "
                    "and `neurokit photo-bank build`)")
    photos = header["photos"]
    counts = {c: sum(p["category"] == c for p in photos) for c in PHOTO_CATEGORIES}
    assert len({(p["source"], p["file"]) for p in photos}) == len(photos) >= 500
    assert counts["face"] >= 40 and counts["place"] >= 40, counts
    # bodies are the scarce category of these sources (about 20 photographs): see ARCHITECTURE
    assert counts["body"] >= 15, counts


def test_cli_fetch_reports_each_source(tmp_path, capsys):
    from neurokit.cli import add_subcommand, main

    add_subcommand(pb.register)
    (tmp_path / "photo-bank" / "sources" / "foolbox").mkdir(parents=True)
    (tmp_path / "photo-bank" / "sources" / "foolbox" / "source.json").write_text("{}")
    assert main(["photo-bank", "fetch", "foolbox", "--cache-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == ["foolbox", "present"]


def test_fetch_reports_a_debian_source_it_cannot_get(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get here
    report = pb.fetch_photo_sources(["gcompris"], cache_dir=tmp_path)
    assert report["gcompris"].startswith("unavailable: apt-get is not available")
    assert not (tmp_path / "photo-bank" / "sources" / "gcompris").exists()
    assert not list((tmp_path / "photo-bank" / "sources").iterdir())  # no temporary left behind


def test_the_cache_helpers_and_the_fingerprint(bank, cache, tmp_path):
    from neurokit.datasets.photo_bank.bank import bank_fingerprint, read_bank
    from neurokit.datasets.photo_bank.cache import available_sources, bank_dir, source_dir, source_record
    from neurokit.datasets.photo_bank.sources import photo_source, selection_tables

    assert bank_dir(cache) == cache / "photo-bank" and bank.path.parent == bank_dir(cache)
    assert source_dir(cache, "mvtb") == cache / "photo-bank" / "sources" / "mvtb"
    records, missing = available_sources(cache)
    assert {"installed", "lfw"} <= set(records) and all(s.origin != "installed" for s in missing)
    assert source_record(cache, photo_source("foolbox")) is None  # not fetched into this cache
    assert photo_source("gcompris").package == "gcompris-qt-data"
    with pytest.raises(InvalidParameterError, match="name"):
        photo_source("flickr")
    assert pb.GCOMPRIS_FOLDERS in selection_tables()
    again = read_bank(bank_dir(cache), 32, missing=bank.missing)
    np.testing.assert_array_equal(np.asarray(again.images), np.asarray(bank.images))
    header = json.loads((bank_dir(cache) / "photos-32.json").read_text())
    assert header["fingerprint"] == bank_fingerprint(records, 32, pb.DEFAULT_MIN_SIDE)
    assert bank_fingerprint(records, 32, pb.DEFAULT_MIN_SIDE + 1) != header["fingerprint"]


def test_fetch_keeps_only_the_files_the_reader_uses_and_replaces_an_earlier_fetch(tmp_path, monkeypatch):
    """A Debian source fetched through stand-ins for apt-get and dpkg-deb (no network, no root)."""
    import os
    import stat

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    photos = sorted(pb.OPENCV_PHOTOS)[:2]
    (tmp_path / "payload" / pb.OPENCV_DATA).mkdir(parents=True)
    for k, name in enumerate(photos):
        (tmp_path / "payload" / pb.OPENCV_DATA / name).write_bytes(_photo_bytes(k, (40, 48), "JPEG"))
    (tmp_path / "payload" / pb.OPENCV_DATA / "left01.jpg").write_bytes(b"a calibration board")
    scripts = {
        "apt-get": '#!/bin/sh\ntouch "$2_4.6.0+dfsg-12_all.deb"\n',
        "dpkg-deb": f'#!/bin/sh\ncp -r "{tmp_path / "payload"}"/. "$3"\n',
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod((bin_dir / name).stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cache = tmp_path / "cache"
    target = cache / "photo-bank" / "sources" / "opencv"
    (target / "files").mkdir(parents=True)
    (target / "files" / "stale.jpg").write_bytes(b"from an earlier fetch")
    assert pb.fetch_photo_sources(["opencv"], cache_dir=cache, force=True) == {"opencv": "fetched (4.6.0+dfsg-12, 2 files)"}
    kept = sorted(p.relative_to(target / "files").as_posix() for p in (target / "files").rglob("*") if p.is_file())
    assert kept == [f"{pb.OPENCV_DATA}/{name}" for name in photos]
    assert json.loads((target / "source.json").read_text())["version"] == "4.6.0+dfsg-12"
    assert sorted(p.name for p in target.parent.iterdir()) == ["opencv"], "no temporary or old folder left behind"
