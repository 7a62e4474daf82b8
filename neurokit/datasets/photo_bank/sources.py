"""The photo bank's sources: where each finds its photographs, which it keeps, and how it labels them.

Each source of :data:`PHOTO_SOURCES` has a reader that yields
:class:`SourcePhoto` records from its files (a downloaded package's folder,
or the installed scikit-image, scikit-learn and matplotlib) and, for a
downloaded source, the list of files to keep. The tables below choose the
photographs (folders, file names, labels) and give each one category of
:data:`PHOTO_CATEGORIES`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.datasets.photo_bank.rcc import read_rcc
from neurokit.exceptions import FileFormatError
from neurokit.validation import check_option

__all__ = [
    "PHOTO_CATEGORIES",
    "PHOTO_SOURCES",
    "PhotoSource",
    "SourcePhoto",
    "IMAGE_SUFFIXES",
    "is_photographic",
    "photo_source",
    "selection_tables",
    "GCOMPRIS_RCC",
    "GCOMPRIS_FOLDERS",
    "GCOMPRIS_LABELS",
    "TUXPAINT_STAMPS",
    "TUXPAINT_CATEGORIES",
    "OPENCV_DATA",
    "OPENCV_PHOTOS",
    "MVTB_IMAGES",
    "MVTB_PHOTOS",
    "FOOLBOX_DATA",
    "IMAGENET_CLASSES",
    "CIFAR10_CLASSES",
    "CIFAR100_CLASSES",
]

PHOTO_CATEGORIES: tuple[str, ...] = ("face", "body", "place", "animal", "food", "plant", "object")
"""Categories of the bank's photographs. ``face``: a face fills much of the
picture; ``body``: whole people or body parts (hands) without a dominant face;
``place``: scenes, landscapes, buildings, monuments, rooms; ``plant``: flowers,
trees, mushrooms; ``object``: everything else (tools, vehicles, household things)."""


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

IMAGE_SUFFIXES: tuple[str, ...] = (".webp", ".jpg", ".jpeg", ".png")
"""File endings of the images the readers (and the wheel extraction of :mod:`.fetch`) take."""


def _read_gcompris(root: Path) -> Iterator[SourcePhoto]:
    for bundle, folders in GCOMPRIS_FOLDERS.items():
        path = root / GCOMPRIS_RCC / bundle
        if not path.is_file():
            continue
        for entry in read_rcc(path.read_bytes(), name=str(path)):
            inner = entry.path.removeprefix("/gcompris/src/activities/")
            folder, _, filename = inner.rpartition("/")
            stem, dot, suffix = filename.rpartition(".")
            if not dot or f".{suffix.lower()}" not in IMAGE_SUFFIXES:
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


def photo_source(name: str) -> PhotoSource:
    """The source of :data:`PHOTO_SOURCES` called ``name``."""
    return _BY_NAME[check_option(name, "name", _BY_NAME)]


def selection_tables() -> list[Any]:
    """The tables that choose and label the photographs of every source, as the bank's fingerprint records them.

    A change to any of them changes :func:`~neurokit.datasets.photo_bank.bank.bank_fingerprint`,
    so a cached bank built with other tables is rebuilt.
    """
    return [GCOMPRIS_FOLDERS, GCOMPRIS_LABELS, TUXPAINT_CATEGORIES, OPENCV_PHOTOS, MVTB_PHOTOS,
            {str(k): v for k, v in IMAGENET_CLASSES.items()}, _CIFAR_CATEGORY, _SKIMAGE_PHOTOS]
