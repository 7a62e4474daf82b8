"""NIfTI volumes and their projection onto the fsaverage surface.

Projection uses :func:`nilearn.surface.vol_to_surf` between nilearn's bundled
fsaverage5 pial and white surfaces, so it runs offline; coarser levels are
then obtained by slicing (the hierarchy is nested). The volume must be in the
MNI space fsaverage is aligned to (e.g. NSD's ``MNI`` betas, not
``func1pt8mm`` subject space, which needs the subject's own surfaces).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurokit.exceptions import (
    DataValidationError,
    MeshUnavailableError,
    UnsupportedFormatError,
)
from neurokit.io.containers import (
    NIFTI_HEADER_BYTES,
    existing_file,
    is_gzip_name,
    nifti_header,
    read_gzip,
    reading,
    scan_gzip,
)
from neurokit.mesh.levels import check_level, n_vertices
from neurokit.surface_data import SurfaceData
from neurokit.validation import check_int, check_option, check_real

__all__ = ["VOLUME_FORMATS", "read_volume", "project_volume_to_surface"]

#: File name endings :func:`read_volume` understands.
VOLUME_FORMATS: tuple[str, ...] = (".nii", ".nii.gz")


def read_volume(path: str | os.PathLike, *, load_data: bool = True) -> Any:
    """Read a NIfTI-1/2 volume with validation.

    Parameters
    ----------
    path : str or path-like
        A ``.nii`` or ``.nii.gz`` file.
    load_data : bool, default True
        Read the voxel data now (so a truncated or corrupt file fails here,
        naming the file, rather than later). With ``False`` the header is
        checked against the file's size (a ``.nii.gz`` is decompressed once,
        in constant memory, to check its CRC and length) and the data stay
        on disk (lazily loaded by nibabel).

    Returns
    -------
    nibabel.Nifti1Image or nibabel.Nifti2Image
        3-D ``(x, y, z)`` or 4-D ``(x, y, z, t)``.

    Raises
    ------
    DatasetNotFoundError
        If the file does not exist.
    UnsupportedFormatError
        If the name does not end in ``.nii`` or ``.nii.gz``.
    FileFormatError
        If the file is truncated or corrupt.
    DataValidationError
        If the image is not 3-D or 4-D.
    """
    import nibabel as nib

    path = Path(os.fspath(path))
    if not path.name.lower().endswith(VOLUME_FORMATS):
        raise UnsupportedFormatError(
            f"{path}: unsupported volume format; supported endings are {', '.join(VOLUME_FORMATS)}"
        )
    path = existing_file(path, "NIfTI")
    if is_gzip_name(path) and load_data:
        raw = read_gzip(path)  # to the end: CRC and length checked
        hdr = nifti_header(path, raw[:NIFTI_HEADER_BYTES], len(raw))
        cls = nib.Nifti2Image if isinstance(hdr, nib.Nifti2Header) else nib.Nifti1Image
        with reading(path, "NIfTI"):
            img = cls.from_bytes(raw)
    else:
        if is_gzip_name(path):
            head, size = scan_gzip(path, NIFTI_HEADER_BYTES)  # the whole stream, in constant memory
        else:
            with open(path, "rb") as fh:
                head, size = fh.read(NIFTI_HEADER_BYTES), os.fstat(fh.fileno()).st_size
        nifti_header(path, head, size)
        with reading(path, "NIfTI"):
            img = nib.load(str(path))
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise UnsupportedFormatError(f"{path}: not a NIfTI image ({type(img).__name__})")
    if load_data:
        with reading(path, "NIfTI"):
            data = np.asanyarray(img.dataobj)
            img = type(img)(data, img.affine, img.header)
    if len(img.shape) not in (3, 4):
        raise DataValidationError(f"{path}: expected a 3-D or 4-D volume, got shape {img.shape}")
    return img


def project_volume_to_surface(
    img: str | os.PathLike | Any,
    level: int = 5,
    *,
    radius: float = 3.0,
    interpolation: Literal["linear", "nearest"] = "linear",
    kind: Literal["auto", "line", "ball", "depth"] = "auto",
    n_samples: int | None = None,
    mask_img: Any = None,
    allow_nan: bool = False,
) -> SurfaceData:
    """Sample an MNI-space volume on both fsaverage hemispheres.

    Parameters
    ----------
    img : path or nibabel image
        A 3-D or 4-D NIfTI volume (path, or an in-memory image) in MNI space.
    level : int, default 5
        Mesh level 0..5 of the result; fsaverage5 (10,242 vertices per
        hemisphere) is sampled, then sliced to ``level``.
    radius : float, default 3.0
        Sampling radius in millimetres (see :func:`nilearn.surface.vol_to_surf`).
    interpolation : {'linear', 'nearest'}, default 'linear'
        Voxel interpolation (use 'nearest' for label volumes).
    kind : {'auto', 'line', 'ball', 'depth'}, default 'auto'
        Sampling strategy of ``vol_to_surf``; with ``'auto'`` nilearn samples
        along the line between the white and pial surfaces.
    n_samples : int, optional
        Points sampled per vertex (nilearn's default when ``None``).
    mask_img : nibabel image, optional
        Voxels outside the mask are ignored.
    allow_nan : bool, default False
        Accept NaN/inf in the result (vertices that see no voxel of a masked
        or partial field of view) instead of raising.

    Returns
    -------
    SurfaceData
        One sample per volume (4-D volumes give ``t`` samples).

    Raises
    ------
    MeshUnavailableError
        If ``level`` is above 5 (finer surfaces are not bundled offline).
    NonFiniteDataError
        If the projection contains NaN/inf and ``allow_nan`` is false.
    """
    from nilearn.datasets import load_fsaverage
    from nilearn.surface import vol_to_surf

    level = check_level(level)
    radius = check_real(radius, "radius", minimum=0.0, include_minimum=False)
    check_option(interpolation, "interpolation", ("linear", "nearest"))
    check_option(kind, "kind", ("auto", "line", "ball", "depth"))
    n_samples = check_int(n_samples, "n_samples", minimum=1, allow_none=True)
    if level > 5:
        raise MeshUnavailableError(
            f"level {level}: only fsaverage5 pial/white surfaces are available offline; project at level 5 "
            "and upsample with neurokit.mesh, or project with the user's FreeSurfer fsaverage surfaces"
        )
    if isinstance(img, (str, os.PathLike)):
        source = os.fspath(img)
        img = read_volume(img)
    else:
        source = "<volume>"
        if not hasattr(img, "affine") or not hasattr(img, "shape"):
            raise DataValidationError(f"img: expected a NIfTI path or a nibabel image, got {type(img).__name__}")
        if len(img.shape) not in (3, 4):
            raise DataValidationError(f"img: expected a 3-D or 4-D volume, got shape {img.shape}")
    fsaverage = load_fsaverage("fsaverage5")
    hemis = []
    for hemi in ("left", "right"):
        values = vol_to_surf(
            img,
            fsaverage["pial"].parts[hemi],
            radius=radius,
            interpolation=interpolation,
            kind=kind,
            n_samples=n_samples,
            mask_img=mask_img,
            inner_mesh=fsaverage["white_matter"].parts[hemi],
        )
        values = np.asarray(values, dtype=np.float32)
        values = values[None, :] if values.ndim == 1 else values.T
        hemis.append(values[:, : n_vertices(level)])
    return SurfaceData.from_hemispheres(
        hemis[0], hemis[1], source=f"{source} projected to fsaverage{level if level else ''} (level {level})",
        allow_nan=allow_nan, meta={"projected_from": source},
    )
