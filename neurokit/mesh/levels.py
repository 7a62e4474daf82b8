"""Vertex-count arithmetic of the nested fsaverage icosahedron hierarchy.

Level ``k`` has ``10 * 4**k + 2`` vertices per hemisphere: 12, 42, 162, 642,
2,562, 10,242 (fsaverage5), 40,962 (fsaverage6) and 163,842 (fsaverage).
The levels are nested, so the first ``n_vertices(k)`` vertices of any finer
level *are* level ``k``.
"""

from __future__ import annotations

from neurokit.exceptions import VertexCountError
from neurokit.validation import is_integer

MAX_LEVEL = 7
LEVELS = tuple(range(MAX_LEVEL + 1))
HEMISPHERES = ("left", "right")


def n_vertices(level: int) -> int:
    """Number of vertices of one hemisphere at ``level`` (``10 * 4**level + 2``)."""
    check_level(level)
    return 10 * 4**level + 2


def check_level(level: int, name: str = "level") -> int:
    """Return ``level`` as an int, or raise if it is not in 0..7.

    An integer is anything :func:`neurokit.validation.is_integer` accepts
    (``__index__``, not a bool).

    Raises
    ------
    VertexCountError
        If ``level`` is not an integer in 0..7 (a level names a vertex count).
    """
    if not is_integer(level):
        raise VertexCountError(f"{name} must be an integer in 0..{MAX_LEVEL}, got {level!r}")
    level = int(level.__index__())
    if not 0 <= level <= MAX_LEVEL:
        raise VertexCountError(f"{name} must be in 0..{MAX_LEVEL}, got {level}")
    return level


def level_from_n_vertices(n: int, *, both_hemispheres: bool = False, what: str = "data") -> int:
    """Infer the mesh level from a vertex count.

    Parameters
    ----------
    n : int
        Number of vertices (of one hemisphere, or of both when
        ``both_hemispheres`` is true).
    both_hemispheres : bool
        Whether ``n`` counts left and right together.
    what : str
        Name of the thing being checked, used in the error message (a file
        name, an argument name).

    Raises
    ------
    VertexCountError
        If ``n`` is not an fsaverage vertex count.
    """
    level = _match_level(n, both_hemispheres)
    if level is not None:
        return level
    valid = ", ".join(f"{(2 if both_hemispheres else 1) * (10 * 4**k + 2):,}" for k in LEVELS)
    scope = "both hemispheres" if both_hemispheres else "one hemisphere"
    raise VertexCountError(
        f"{what}: {n:,} vertices is not an fsaverage vertex count for {scope}; expected one of {valid}"
    )


def layout_from_n_vertices(n: int, *, what: str = "data") -> tuple[int, bool]:
    """Infer the level of a vertex axis that holds one hemisphere or both (left first).

    Parameters
    ----------
    n : int
        Length of the vertex axis.
    what : str
        Name of the thing being checked, used in the error message.

    Returns
    -------
    level : int
    both_hemispheres : bool
        Whether ``n`` is ``2 * n_vertices(level)``. No count is both one
        hemisphere's and two hemispheres', so the answer is unique.

    Raises
    ------
    VertexCountError
        If ``n`` is neither one hemisphere's nor both hemispheres' count.
    """
    for both in (False, True):
        level = _match_level(n, both)
        if level is not None:
            return level, both
    raise VertexCountError(
        f"{what}: the last axis has {n:,} vertices, which is neither one hemisphere "
        f"({', '.join(f'{10 * 4**k + 2:,}' for k in LEVELS)}) nor both of an fsaverage level"
    )


def _match_level(n: int, both_hemispheres: bool) -> int | None:
    """The level whose vertex count (per hemisphere, or for both) is ``n``, or None."""
    per_hemi = n // 2 if both_hemispheres else n
    for level in LEVELS:
        if 10 * 4**level + 2 == per_hemi and (not both_hemispheres or n % 2 == 0):
            return level
    return None


__all__ = ["HEMISPHERES", "LEVELS", "MAX_LEVEL", "check_level", "layout_from_n_vertices", "level_from_n_vertices",
           "n_vertices"]
