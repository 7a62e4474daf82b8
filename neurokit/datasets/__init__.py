"""Datasets on the fsaverage surface: readers of local copies of NSD and Algonauts 2023, and built-in images.

- :mod:`~neurokit.datasets.nsd` reads a local Natural Scenes Dataset copy
  (:class:`NSD`), vertex ranges streamed session by session;
  :mod:`~neurokit.datasets.nsd_layout` knows where NSD keeps its files,
  :mod:`~neurokit.datasets.nsd_design` holds its experimental design,
  :mod:`~neurokit.datasets.nsd_preparation` its standard preparation
  (z-scoring within sessions, averaging repeats, ncsnr) and
  :mod:`~neurokit.datasets.nsd_writer` writes trees the reader cannot tell
  from the public release.
- :mod:`~neurokit.datasets.algonauts` reads the Algonauts 2023 challenge data
  (:class:`Algonauts2023`), its pickled ROI mappings through a restricted unpickler.
- :mod:`~neurokit.datasets.photo_bank` collects distinct natural photographs
  into a cached bank with photo-disjoint splits and crops;
  :mod:`~neurokit.datasets.stimuli` draws labelled stimuli from it.
- :mod:`~neurokit.datasets.roots` resolves where a dataset's copy lives.
"""

from neurokit.datasets.algonauts import Algonauts2023, load_pickled_mapping
from neurokit.datasets.nsd import NSD, NSDResponses, ROIMeans
from neurokit.datasets.nsd_design import NSDDesign, read_design
from neurokit.datasets.nsd_layout import (
    COMPLETED_SESSIONS,
    N_STIMULI,
    ROI_FAMILIES,
    TRIALS_PER_SESSION,
    NSDLayout,
    read_ctab,
)
from neurokit.datasets.nsd_preparation import RepeatAverager, zscore_sessions
from neurokit.datasets.nsd_writer import NSDWriter, write_nsd_layout
from neurokit.datasets.photo_bank import (
    PHOTO_CATEGORIES,
    PHOTO_SOURCES,
    PhotoBank,
    build_photo_bank,
    fetch_photo_sources,
    load_photo_bank,
    photo_disjoint_split,
    sample_crops,
)
from neurokit.datasets.roots import dataset_root
from neurokit.datasets.stimuli import CATEGORIES, LABEL_DTYPE, load_embedded_stimuli

__all__ = [
    "CATEGORIES",
    "LABEL_DTYPE",
    "load_embedded_stimuli",
    "PHOTO_CATEGORIES",
    "PHOTO_SOURCES",
    "PhotoBank",
    "build_photo_bank",
    "fetch_photo_sources",
    "load_photo_bank",
    "photo_disjoint_split",
    "sample_crops",
    "Algonauts2023",
    "load_pickled_mapping",
    "NSD",
    "NSDResponses",
    "RepeatAverager",
    "zscore_sessions",
    "ROIMeans",
    "COMPLETED_SESSIONS",
    "N_STIMULI",
    "ROI_FAMILIES",
    "TRIALS_PER_SESSION",
    "NSDDesign",
    "NSDLayout",
    "NSDWriter",
    "read_ctab",
    "read_design",
    "write_nsd_layout",
    "dataset_root",
]
