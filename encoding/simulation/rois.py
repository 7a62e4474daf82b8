"""NSD-named regions of interest and a retinotopic map on fsaverage5.

Geometry comes from the fsaverage5 surfaces nilearn ships: ROI centres are the
pial vertices nearest to literature coordinates in MNI305 space (fsaverage's
space), and extents are disks of geodesic radius on the FreeSurfer sphere
(radius 100 mm, so distances are "sphere millimetres", close to cortical
millimetres on average). Early visual areas come from a retinotopic template
laid along the calcarine sulcus: eccentricity grows anteriorly from the
occipital pole (log-like cortical magnification), and bands of increasing
distance from the calcarine fundus are V1, V2, V3 (dorsal = lower visual
field, ventral = upper visual field) and hV4 (ventral only), with polar angle
mirrored at each border as in human retinotopic maps.

Subjects differ by shifted ROI centres, rescaled radii and a shifted and
rotated retinotopic template (:class:`Anatomy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from neurokit.exceptions import MeshUnavailableError

SPHERE_RADIUS = 100.0
"""Radius of the FreeSurfer sphere, in mm."""

EARLY_AREAS: tuple[str, ...] = ("V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "hV4")
CATEGORY_ROIS: dict[str, tuple[str, ...]] = {
    "floc-faces": ("OFA", "FFA-1", "FFA-2"),
    "floc-bodies": ("EBA", "FBA-1"),
    "floc-places": ("OPA", "PPA", "RSC"),
}
ROI_FAMILY_NAMES: dict[str, tuple[str, ...]] = {
    "prf-visualrois": EARLY_AREAS,
    **CATEGORY_ROIS,
    "nsdgeneral": ("nsdgeneral",),
}
"""Every ROI label family of a simulated subject and its names (1-based label values)."""

ROI_CATEGORY: dict[str, str] = {
    "OFA": "face", "FFA-1": "face", "FFA-2": "face",
    "EBA": "body", "FBA-1": "body",
    "OPA": "place", "PPA": "place", "RSC": "place",
}  # fmt: skip

#: Approximate centres (left hemisphere, MNI305 mm; x is mirrored for the right)
#: and radii (sphere mm) of the category-selective regions.
ROI_CENTRES_MNI: dict[str, tuple[tuple[float, float, float], float]] = {
    "OFA": ((-40.0, -80.0, -8.0), 8.0),
    "FFA-1": ((-40.0, -62.0, -16.0), 7.0),
    "FFA-2": ((-40.0, -46.0, -20.0), 7.0),
    "EBA": ((-47.0, -72.0, 4.0), 10.0),
    "FBA-1": ((-42.0, -54.0, -14.0), 6.0),
    "OPA": ((-34.0, -84.0, 22.0), 8.0),
    "PPA": ((-26.0, -46.0, -8.0), 9.0),
    "RSC": ((-14.0, -56.0, 10.0), 7.0),
}

#: Landmarks of the retinotopic template (left hemisphere, MNI305 mm).
OCCIPITAL_POLE_MNI = (-8.0, -102.0, 2.0)
CALCARINE_ANTERIOR_MNI = (-6.0, -72.0, 6.0)
CUNEUS_MNI = (-8.0, -90.0, 24.0)

#: Retinotopic template: extent along the calcarine (mm), band half-widths (mm)
#: of V1 (each side), V2, V3 and hV4, eccentricity at the pole and at the
#: anterior end (in image half-widths), pRF size scale per area.
TEMPLATE_LENGTH = 70.0
BAND_WIDTHS = {"V1": 13.0, "V2": 10.0, "V3": 9.0, "hV4": 10.0}
ECC_FOVEA, ECC_MAX = 0.06, 2.2
PRF_SCALE = {"V1": 1.0, "V2": 1.4, "V3": 1.8, "hV4": 2.6}


@lru_cache(maxsize=1)
def fsaverage5_geometry() -> dict[str, dict[str, np.ndarray]]:
    """Sphere and pial coordinates of nilearn's fsaverage5, per hemisphere ('left', 'right').

    Returns
    -------
    dict
        ``{'left': {'sphere': (10242, 3), 'pial': (10242, 3)}, 'right': {...}}``
        in mm.
    """
    try:
        from nilearn import datasets

        mesh = datasets.load_fsaverage("fsaverage5")
    except Exception as err:  # pragma: no cover - nilearn ships fsaverage5 in its wheel
        raise MeshUnavailableError(f"cannot load nilearn's bundled fsaverage5 surfaces ({err})") from err
    out = {}
    for hemi in ("left", "right"):
        out[hemi] = {
            kind: np.asarray(mesh[kind].parts[hemi].coordinates, dtype=np.float64) for kind in ("sphere", "pial")
        }
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _mirror(coord: tuple[float, float, float], hemi: str) -> np.ndarray:
    c = np.array(coord, dtype=np.float64)
    if hemi == "right":
        c[0] = -c[0]
    return c


def nearest_vertex(pial: np.ndarray, coord: np.ndarray) -> int:
    """Index of the pial vertex nearest to ``coord`` (mm)."""
    return int(np.argmin(((pial - coord) ** 2).sum(1)))


def _tangent(origin: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Unit tangent vector at unit vector ``origin`` pointing toward unit vector ``target``."""
    t = target - origin * (origin @ target)
    return t / np.linalg.norm(t)


def _move(origin: np.ndarray, direction: np.ndarray, distance_mm: float) -> np.ndarray:
    """Walk ``distance_mm`` along the great circle from unit ``origin`` in tangent ``direction``."""
    angle = distance_mm / SPHERE_RADIUS
    return np.cos(angle) * origin + np.sin(angle) * direction


def local_coordinates(
    points: np.ndarray, origin: np.ndarray, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthal-equidistant coordinates (mm) of unit ``points`` around unit ``origin``.

    ``u`` and ``v`` are orthonormal tangent vectors at ``origin``; returns the
    components of the geodesic displacement along them.
    """
    cos = np.clip(points @ origin, -1.0, 1.0)
    dist = np.arccos(cos) * SPHERE_RADIUS
    tang = points - cos[:, None] * origin
    norm = np.linalg.norm(tang, axis=1)
    norm[norm == 0] = 1.0
    return dist * (tang @ u) / norm, dist * (tang @ v) / norm


@dataclass
class Anatomy:
    """One subject's ROI placement on one hemisphere of fsaverage5.

    Attributes
    ----------
    hemi : {'left', 'right'}
    pole, u, v : ndarray of shape (3,)
        Unit origin of the retinotopic template on the sphere and its tangent
        axes (u: anterior along the calcarine, v: dorsal).
    centres : dict of str to ndarray of shape (3,)
        Unit sphere centre of each category ROI.
    radii : dict of str to float
        Geodesic radius of each category ROI (sphere mm).
    """

    hemi: str
    pole: np.ndarray
    u: np.ndarray
    v: np.ndarray
    centres: dict[str, np.ndarray]
    radii: dict[str, float]

    @classmethod
    def template(cls, hemi: str) -> "Anatomy":
        """The group (atlas) placement on ``hemi``."""
        geo = fsaverage5_geometry()[hemi]
        sphere, pial = _unit(geo["sphere"]), geo["pial"]
        pole = sphere[nearest_vertex(pial, _mirror(OCCIPITAL_POLE_MNI, hemi))]
        ant = sphere[nearest_vertex(pial, _mirror(CALCARINE_ANTERIOR_MNI, hemi))]
        dorsal = sphere[nearest_vertex(pial, _mirror(CUNEUS_MNI, hemi))]
        u = _tangent(pole, ant)
        v = np.cross(pole, u)
        if v @ _tangent(pole, dorsal) < 0:
            v = -v
        centres = {
            name: sphere[nearest_vertex(pial, _mirror(coord, hemi))] for name, (coord, _r) in ROI_CENTRES_MNI.items()
        }
        radii = {name: r for name, (_c, r) in ROI_CENTRES_MNI.items()}
        return cls(hemi, pole, u, v, centres, radii)

    def perturbed(self, rng: np.random.Generator, shift_mm: float = 3.0, radius_jitter: float = 0.15,
                  rotation_deg: float = 6.0, displacement: float = 0.0) -> "Anatomy":
        """An individual's placement: centres moved by ~``shift_mm``, radii and template jittered.

        ``displacement > 0`` moves every category ROI further, by ``displacement``
        times its radius in a random direction (an individual whose ROIs lie
        outside the group's), on top of the jitter.
        """

        def shift(p: np.ndarray, extra_mm: float = 0.0) -> np.ndarray:
            a, b = _tangent_basis(p)
            d = rng.normal(0.0, shift_mm, size=2)
            if extra_mm:
                angle = rng.uniform(0.0, 2 * np.pi)
                d = d + extra_mm * np.array([np.cos(angle), np.sin(angle)])
            return _unit(_move(p, _unit(d[0] * a + d[1] * b), float(np.hypot(*d))))

        pole = shift(self.pole)
        u = self.u - pole * (pole @ self.u)
        u = _unit(u)
        w = np.cross(pole, u)
        angle = np.deg2rad(rng.normal(0.0, rotation_deg))
        u, w = np.cos(angle) * u + np.sin(angle) * w, -np.sin(angle) * u + np.cos(angle) * w
        v = w if w @ self.v > 0 else -w
        centres = {k: shift(c, displacement * self.radii[k]) for k, c in self.centres.items()}
        radii = {k: float(r * np.exp(rng.normal(0.0, radius_jitter))) for k, r in self.radii.items()}
        return Anatomy(self.hemi, pole, u, v, centres, radii)

    # -- maps -------------------------------------------------------------------------------
    def retinotopy(self, sphere_unit: np.ndarray) -> dict[str, np.ndarray]:
        """Early-visual labels and population receptive fields of every vertex.

        Parameters
        ----------
        sphere_unit : ndarray of shape (n_vertices, 3)
            Unit sphere positions.

        Returns
        -------
        dict with
            ``area`` (int array, index into :data:`EARLY_AREAS` or -1),
            ``x``, ``y`` (pRF centre in image half-widths; x to the right,
            y up), ``sigma`` (pRF size, image half-widths), ``coverage``
            (fraction of the pRF inside the image is computed elsewhere).
        """
        a, b = local_coordinates(sphere_unit, self.pole, self.u, self.v)
        n = a.shape[0]
        area = np.full(n, -1, dtype=np.int64)
        along = np.clip(a, 0.0, None)
        inside_len = (a > -6.0) & (a < TEMPLATE_LENGTH)
        # eccentricity: exponential cortical magnification
        lam = TEMPLATE_LENGTH / np.log(ECC_MAX / ECC_FOVEA + 1.0)
        ecc = ECC_FOVEA * (np.exp(along / lam) - 1.0) + ECC_FOVEA * 0.5
        w1, w2, w3, w4 = (BAND_WIDTHS[k] for k in ("V1", "V2", "V3", "hV4"))
        # bands taper toward the pole, as the foveal confluence is compressed
        taper = 0.55 + 0.45 * np.clip(along / 25.0, 0.0, 1.0)
        d = np.abs(b) / taper
        dorsal = b > 0
        theta = np.zeros(n)  # angle from the horizontal meridian, 0..pi/2
        size_scale = np.ones(n)
        edges = np.cumsum([w1, w2, w3])
        for k, (lo, hi, name) in enumerate(((0.0, edges[0], "V1"), (edges[0], edges[1], "V2"), (edges[1], edges[2], "V3"))):
            m = inside_len & (d >= lo) & (d < hi)
            frac = (d[m] - lo) / (hi - lo)
            # polar angle mirrors at each border: V1 HM->VM, V2 VM->HM, V3 HM->VM
            theta[m] = (np.pi / 2) * (frac if k != 1 else 1.0 - frac)
            area[m & ~dorsal] = EARLY_AREAS.index(f"{name}v")
            area[m & dorsal] = EARLY_AREAS.index(f"{name}d")
            size_scale[m] = PRF_SCALE[name]
        m4 = inside_len & ~dorsal & (d >= edges[2]) & (d < edges[2] + w4) & (along < 0.7 * TEMPLATE_LENGTH)
        theta[m4] = (np.pi / 2) * (1.0 - (d[m4] - edges[2]) / w4)
        area[m4] = EARLY_AREAS.index("hV4")
        size_scale[m4] = PRF_SCALE["hV4"]
        # ventral cortex -> upper visual field; left hemisphere -> right visual field
        sign_y = np.where(dorsal, -1.0, 1.0)
        sign_x = 1.0 if self.hemi == "left" else -1.0
        x = sign_x * ecc * np.cos(theta)
        y = sign_y * ecc * np.sin(theta)
        sigma = (0.04 + 0.12 * ecc) * size_scale
        return {"area": area, "x": x, "y": y, "sigma": sigma, "eccentricity": ecc}

    def category_distance(self, sphere_unit: np.ndarray) -> dict[str, np.ndarray]:
        """Geodesic distance (sphere mm) of every vertex to each category ROI centre."""
        return {
            name: np.arccos(np.clip(sphere_unit @ c, -1.0, 1.0)) * SPHERE_RADIUS for name, c in self.centres.items()
        }


def _tangent_basis(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([0.0, 0.0, 1.0]) if abs(p[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    a = _unit(np.cross(p, helper))
    return a, np.cross(p, a)
