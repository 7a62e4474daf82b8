"""Datasets: the NSD reader and NSD-layout writer, the Algonauts 2023 reader, the photo bank and embedded stimuli."""

from neurokit.datasets.algonauts import Algonauts2023, load_pickled_mapping
from neurokit.datasets.nsd import (
    NSD,
    NSDResponses,
    RepeatAverager,
    ROIMeans,
    zscore_sessions,
)
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
from neurokit.datasets.stimuli import CATEGORIES, LABEL_DTYPE, load_embedded_stimuli
from neurokit.datasets.nsd_layout import (
    COMPLETED_SESSIONS,
    N_STIMULI,
    ROI_FAMILIES,
    TRIALS_PER_SESSION,
    NSDDesign,
    NSDLayout,
    NSDWriter,
    read_ctab,
    read_design,
    write_nsd_layout,
)

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
]
