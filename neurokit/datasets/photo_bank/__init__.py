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
in :mod:`~neurokit.datasets.photo_bank.sources` map folders and labels to categories).

Modules, one concept each: :mod:`~.rcc` (Qt resource bundles),
:mod:`~.sources` (the sources, their readers and selection tables),
:mod:`~.cache` (where the bank and its sources live in the cache),
:mod:`~.fetch` (downloading sources), :mod:`~.bank` (the stored bank,
:class:`PhotoBank`), :mod:`~.build` (building and loading it),
:mod:`~.splits` (photo-disjoint splits and crops) and :mod:`~.cli`
(``neurokit photo-bank``). Every public name is importable from this package.
"""

from neurokit.datasets.photo_bank.bank import BANK_FORMAT, DEFAULT_MIN_SIDE, PhotoBank
from neurokit.datasets.photo_bank.build import build_photo_bank, find_duplicates, load_photo_bank, photo_signature
from neurokit.datasets.photo_bank.cache import FETCH_COMMAND
from neurokit.datasets.photo_bank.cli import register
from neurokit.datasets.photo_bank.fetch import fetch_photo_sources
from neurokit.datasets.photo_bank.rcc import RccEntry, read_rcc
from neurokit.datasets.photo_bank.sources import (
    CIFAR10_CLASSES,
    CIFAR100_CLASSES,
    FOOLBOX_DATA,
    GCOMPRIS_FOLDERS,
    GCOMPRIS_LABELS,
    GCOMPRIS_RCC,
    IMAGENET_CLASSES,
    MVTB_IMAGES,
    MVTB_PHOTOS,
    OPENCV_DATA,
    OPENCV_PHOTOS,
    PHOTO_CATEGORIES,
    PHOTO_SOURCES,
    TUXPAINT_CATEGORIES,
    TUXPAINT_STAMPS,
    PhotoSource,
    SourcePhoto,
    is_photographic,
)
from neurokit.datasets.photo_bank.splits import LABEL_DTYPE, photo_disjoint_split, sample_crops

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
    "BANK_FORMAT",
    "DEFAULT_MIN_SIDE",
    "FETCH_COMMAND",
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
