"""Qt's binary resource bundles (``.rcc``): the files inside them, decompressed (GCompris ships its photographs so)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from neurokit.exceptions import FileFormatError, UnsupportedFormatError

__all__ = ["RccEntry", "read_rcc"]


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
