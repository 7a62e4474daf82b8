"""Seeded corpus of corrupted surface and volume files for the reader fuzz tests.

Small valid files are written in memory with nibabel and numpy (MGH, MGZ,
GIfTI in its three encodings, ``.gii.gz``, ``.npy`` v1/v2, NIfTI-1/2, ``.nii.gz``),
then broken in every way a disk, a download or a user can break them: bit flips
(anywhere and in the header), truncations, zero/huge/negative dimensions,
unknown encodings and data types, gzip CRC/length/trailer damage and deflate
bit flips, files renamed to another format, NaN/inf values, wrong vertex
counts and the wrong hemisphere's label.

:func:`reference_reading` is the oracle: it reads the same bytes strictly with
Python's ``gzip`` (which checks CRC and length), nibabel and numpy, after
checking that the header's declared data fit in the bytes present, and returns
the values a reader must produce, or ``None`` when the container is corrupt
(then a reader must refuse it).
"""

from __future__ import annotations

import gzip
import io
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import nibabel as nib
import numpy as np

LEVEL = 2
V = 162  # vertices per hemisphere at LEVEL
T = 3  # samples
SURFACE_EXTS = (".mgh", ".mgz", ".gii", ".gii.gz", ".npy")
VOLUME_EXTS = (".nii", ".nii.gz")


@dataclass(frozen=True)
class Case:
    """One corpus input: file bytes, the name to store them under and how they were made."""

    name: str  # e.g. "mgz/gzip-crc/3"
    ext: str  # one of SURFACE_EXTS + VOLUME_EXTS (the file name's ending)
    data: bytes
    hemi: str = "lh"  # hemisphere token put in the file name

    @property
    def filename(self) -> str:
        stem = re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-")
        return f"{self.hemi}.{stem}{self.ext}"


# ------------------------------------------------------------------------------ valid sources
def random_values(rng: np.random.Generator, n_vertices: int = V, n_samples: int = T) -> np.ndarray:
    return rng.normal(size=(n_samples, n_vertices)).astype(np.float32)


def mgh_bytes(values: np.ndarray, dtype: str = "float32") -> bytes:
    """MGH file (NSD's ``(V, 1, 1, T)`` layout) of ``values`` (n_samples, n_vertices)."""
    volume = np.ascontiguousarray(values.T[:, None, None, :]).astype(dtype)
    if volume.shape[3] == 1:
        volume = volume[..., 0]  # nibabel writes a single frame as (V, 1, 1)
    return nib.MGHImage(volume, np.eye(4)).to_bytes()


def gifti_bytes(values: np.ndarray, encoding: str = "GIFTI_ENCODING_B64GZ",
                structure: str | None = "CortexLeft") -> bytes:
    """GIfTI file with one float32 data array per sample."""
    darrays = [nib.gifti.GiftiDataArray(row, intent="NIFTI_INTENT_NONE", datatype="NIFTI_TYPE_FLOAT32",
                                        encoding=encoding) for row in values]
    meta = nib.gifti.GiftiMetaData({"AnatomicalStructurePrimary": structure} if structure else {})
    return nib.gifti.GiftiImage(darrays=darrays, meta=meta).to_bytes()


def npy_bytes(values: np.ndarray, version: tuple[int, int] = (1, 0)) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(values), version=version, allow_pickle=False)
    return buf.getvalue()


def nifti_bytes(volume: np.ndarray, version: int = 1) -> bytes:
    cls = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    return cls(volume, np.eye(4)).to_bytes()


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def valid_sources(seed: int = 0) -> dict[str, list[tuple[str, bytes]]]:
    """Small valid files of every format, by file ending: ``{ext: [(label, bytes), ...]}``."""
    rng = np.random.default_rng(seed)
    vals = random_values(rng)
    one = random_values(rng, n_samples=1)
    mgh = [("f4", mgh_bytes(vals)), ("f4-one", mgh_bytes(one)),
           ("i4", mgh_bytes(np.round(vals * 100), "int32")), ("u1", mgh_bytes(np.abs(vals) * 40, "uint8")),
           ("i2", mgh_bytes(np.round(vals * 100), "int16")),
           ("labels", mgh_bytes(rng.integers(0, 5, size=(1, V)), "int32"))]  # one integer frame, as ROI labels
    gii = [("b64gz", gifti_bytes(vals)), ("b64", gifti_bytes(vals, "GIFTI_ENCODING_B64BIN")),
           ("ascii", gifti_bytes(one, "GIFTI_ENCODING_ASCII")), ("nolabel", gifti_bytes(vals, structure=None))]
    npy = [("v1-2d", npy_bytes(vals)), ("v1-1d", npy_bytes(one[0])), ("v2-2d", npy_bytes(vals, (2, 0))),
           ("f8", npy_bytes(vals.astype(np.float64))), ("i2", npy_bytes(np.round(vals * 100).astype(np.int16)))]
    vol = rng.normal(size=(5, 4, 3, 2)).astype(np.float32)
    nii = [("n1-f4", nifti_bytes(vol)), ("n2-f4", nifti_bytes(vol, 2)),
           ("n1-i2", nifti_bytes(np.round(vol[..., 0] * 100).astype(np.int16))),
           # big enough that nibabel stops reading a .nii.gz before its gzip trailer
           ("n1-big", nifti_bytes(rng.normal(size=(24, 24, 24)).astype(np.float32)))]
    return {
        ".mgh": mgh,
        ".mgz": [(label, _gz(b)) for label, b in mgh],
        ".gii": gii,
        ".gii.gz": [(label, _gz(b)) for label, b in gii],
        ".npy": npy,
        ".nii": nii,
        ".nii.gz": [(label, _gz(b)) for label, b in nii],
    }


# ------------------------------------------------------------------------------ mutations
def _flip(data: bytes, rng: np.random.Generator, lo: int, hi: int, n_bits: int) -> bytes:
    out = bytearray(data)
    hi = max(min(hi, len(out)), lo + 1)
    for _ in range(n_bits):
        pos = int(rng.integers(lo, hi))
        out[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def _header_size(ext: str, raw: bytes) -> int:
    """Bytes of the (uncompressed) header, where header flips are aimed."""
    if ext.startswith(".mgh") or ext.startswith(".mgz"):
        return 284
    if ext.startswith(".nii"):
        return 540 if raw[:4] == struct.pack("<i", 540) else 348
    if ext == ".npy":
        return raw.index(b"\n") + 1
    return min(len(raw), 700)  # GIfTI: the XML declaration, metadata and the first DataArray's attributes


def _set_mgh_dims(raw: bytes, dims: tuple[int, int, int, int]) -> bytes:
    return raw[:4] + struct.pack(">4i", *dims) + raw[20:]


def _set_mgh_type(raw: bytes, code: int) -> bytes:
    return raw[:20] + struct.pack(">i", code) + raw[24:]


def _set_nifti_dims(raw: bytes, dims: list[int]) -> bytes:
    if raw[:4] == struct.pack("<i", 540):  # NIfTI-2: dim[8] int64 at offset 16
        return raw[:16] + struct.pack("<8q", *dims) + raw[80:]
    return raw[:40] + struct.pack("<8h", *dims) + raw[56:]


def _set_nifti_datatype(raw: bytes, code: int) -> bytes:
    if raw[:4] == struct.pack("<i", 540):
        return raw[:12] + struct.pack("<h", code) + raw[14:]
    return raw[:70] + struct.pack("<h", code) + raw[72:]


def _set_npy_header(raw: bytes, header: str) -> bytes:
    """Replace the header dict of a v1 ``.npy`` (padded so the data stay aligned)."""
    end = raw.index(b"\n") + 1
    body = header.encode("latin1")
    total = 10 + len(body) + 1
    pad = (-total) % 64
    h = body + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + raw[end:]


def _structural(ext: str, raw: bytes) -> Iterator[tuple[str, bytes]]:
    """Header edits of one uncompressed source: dimensions, data types, encodings."""
    if ext == ".mgh":
        n = struct.unpack(">4i", raw[4:20])
        for tag, dims in [("zero", (0, 1, 1, n[3])), ("zero-frames", (n[0], 1, 1, 0)), ("neg", (-n[0], 1, 1, n[3])),
                          ("neg-frames", (n[0], 1, 1, -3)), ("huge", (2**31 - 1, 1, 1, n[3])),
                          ("huge-all", (32767, 32767, 32767, 32767)), ("more", (n[0] + 1, 1, 1, n[3])),
                          ("fewer", (n[0] - 1, 1, 1, n[3]))]:
            yield f"dims-{tag}", _set_mgh_dims(raw, dims)
        for code in (2, 5, 7, -1, 99):
            yield f"type-{code}", _set_mgh_type(raw, code)
        yield "version-0", struct.pack(">i", 0) + raw[4:]
    elif ext.startswith(".nii"):
        two = raw[:4] == struct.pack("<i", 540)
        fmt = "<8q" if two else "<8h"
        dims = list(struct.unpack(fmt, raw[16:80] if two else raw[40:56]))
        big = 2**40 if two else 32767
        for tag, new in [("zero", [dims[0], 0] + dims[2:]), ("neg", [dims[0], -5] + dims[2:]),
                         ("ndim-0", [0] + dims[1:]), ("ndim-9", [9] + dims[1:]), ("ndim-neg", [-1] + dims[1:]),
                         ("huge", [dims[0], big] + dims[2:]), ("huge-all", [dims[0]] + [big] * 7),
                         ("more", [dims[0], dims[1] + 1] + dims[2:])]:
            yield f"dims-{tag}", _set_nifti_dims(raw, new)
        for code in (0, 3, 999, -4):
            yield f"datatype-{code}", _set_nifti_datatype(raw, code)
        off = 168 if two else 108  # vox_offset: int64 in NIfTI-2, float32 in NIfTI-1
        values = [("vox-huge", 10**12), ("vox-neg", -352)] + ([] if two else [("vox-nan", float("nan"))])
        for tag, value in values:
            packed = struct.pack("<q", value) if two else struct.pack("<f", value)
            yield f"offset-{tag}", raw[:off] + packed + raw[off + len(packed):]
        yield "magic", raw.replace(b"n+1\x00", b"n+9\x00").replace(b"n+2\x00", b"n+9\x00")
    elif ext == ".npy" and raw[6:8] == b"\x01\x00":
        header = raw[10 : raw.index(b"\n")].decode("latin1").strip()
        shape = re.search(r"'shape': \(([^)]*)\)", header).group(1)
        first = shape.split(",")[0]
        for tag, new in [("zero", "(0, " + shape.split(",", 1)[-1] + ")" if "," in shape else "(0,)"),
                         ("neg", f"(-{first}, 5)"), ("huge", "(3, 10000000000)"), ("huge-1d", "(10000000000000,)"),
                         ("overflow", "(99999999999999999999, 2)"), ("more", f"({int(first) + 1}, {V})"),
                         ("float", "(3.5, 2)")]:
            yield f"shape-{tag}", _set_npy_header(raw, re.sub(r"'shape': \([^)]*\)", f"'shape': {new}", header))
        for descr in ("<f3", "|O", "|V4", ">f4", "<U4", "<c8", "zz"):
            yield f"descr-{descr}", _set_npy_header(raw, re.sub(r"'descr': '[^']*'", f"'descr': '{descr}'", header))
        yield "fortran", _set_npy_header(raw, header.replace("False", "True"))
        yield "header-junk", _set_npy_header(raw, header[:-3] + "(, }")
        yield "header-nondict", _set_npy_header(raw, "[1, 2, 3]")
        yield "header-call", _set_npy_header(raw, "__import__('os')")
        yield "header-deep", _set_npy_header(raw, "(" * 60 + ")" * 60)
        yield "magic", b"\x93NUMPZ" + raw[6:]
        yield "version-9", raw[:6] + b"\x09\x00" + raw[8:]
    elif ext == ".gii":
        text = raw
        for old, new, tag in [
            (b'encoding="UTF-8"', b'encoding="TTF-8"', "xml-encoding"),
            (b'encoding="UTF-8"', b'encoding="UTF-32"', "xml-utf32"),
            (b'Encoding="', b'Encoding="Bogus', "array-encoding"),
            (b'DataType="NIFTI_TYPE_FLOAT32"', b'DataType="NIFTI_TYPE_FLOAT99"', "datatype"),
            (b'Intent="NIFTI_INTENT_NONE"', b'Intent="NIFTI_INTENT_WHATEVER"', "intent"),
            (b'Intent="NIFTI_INTENT_NONE"', b'Intent="NIFTI_INTENT_POINTSET"', "mesh-intent"),
            (b'Dim0="162"', b'Dim0="0"', "dim-zero"), (b'Dim0="162"', b'Dim0="-162"', "dim-neg"),
            (b'Dim0="162"', b'Dim0="99999999999"', "dim-huge"), (b'Dim0="162"', b'Dim0="161"', "dim-fewer"),
            (b'Dim0="162"', b'Dim0="x"', "dim-text"), (b'Dimensionality="1"', b'Dimensionality="7"', "ndim"),
            (b'Endian="LittleEndian"', b'Endian="MiddleEndian"', "endian"),
            (b"<DataArray", b"<DataArrey", "tag"), (b"</GIFTI>", b"", "unclosed"),
            (b"CortexLeft", b"CortexRight", "swapped-hemi"),
        ]:
            if old in text:
                yield f"xml-{tag}", text.replace(old, new, 1)
        # data held outside the file
        m = re.search(rb'Encoding="([A-Za-z0-9]+)"', text)
        if m:
            ext_data = re.sub(rb"<Data>[^<]*</Data>", b"<Data></Data>", text)
            ext_data = ext_data.replace(m.group(0), b'Encoding="ExternalFileBinary" ExternalFileName="x.bin" '
                                        b'ExternalFileOffset="0"')
            yield "external", ext_data
        yield "empty-data", re.sub(rb"<Data>[^<]*</Data>", b"<Data></Data>", text, count=1)
        yield "bad-base64", re.sub(rb"<Data>([^<]{0,8})", rb"<Data>!!!!\1", text, count=1)


def _gzip_mutations(gz: bytes, rng: np.random.Generator, n: int) -> Iterator[tuple[str, bytes]]:
    for i in range(max(1, n // 6)):
        crc = bytearray(gz)
        crc[-8 + int(rng.integers(0, 4))] ^= 1 << int(rng.integers(0, 8))
        yield f"gzip-crc/{i}", bytes(crc)
        size = bytearray(gz)
        size[-4 + int(rng.integers(0, 4))] ^= 1 << int(rng.integers(0, 8))
        yield f"gzip-isize/{i}", bytes(size)
        yield f"gzip-cut-trailer/{i}", gz[: len(gz) - int(rng.integers(1, 9))]
        yield f"gzip-deflate-flip/{i}", _flip(gz, rng, 10, len(gz) - 8, int(rng.integers(1, 4)))
        yield f"gzip-garbage-after/{i}", gz + bytes(rng.integers(0, 256, size=int(rng.integers(1, 30)), dtype=np.uint8))
        yield f"gzip-header-flip/{i}", _flip(gz, rng, 0, 10, 1)
    yield "gzip-cut-second-member", gz + b"\x1f\x8b"
    yield "gzip-not-gzip", gz[10:]


def _surface_variants(ext: str, rng: np.random.Generator) -> Iterator[tuple[str, bytes]]:
    """Valid containers whose contents a checking reader must refuse: NaN/inf, wrong counts, no vertices."""
    vals = random_values(rng)
    nan, inf = vals.copy(), vals.copy()
    nan[1, 5] = np.nan
    inf[0, 7] = -np.inf
    wrong = [("count-161", random_values(rng, 161)), ("count-163", random_values(rng, 163)),
             ("count-both", random_values(rng, 2 * V)), ("count-10242", random_values(rng, 10242, 1)),
             ("count-1", random_values(rng, 1))]
    base = ext.replace(".gz", "").replace(".mgz", ".mgh")
    make = {".mgh": mgh_bytes, ".gii": gifti_bytes, ".npy": npy_bytes}[base]
    for tag, v in [("nan", nan), ("inf", inf), *wrong]:
        raw = make(v)
        yield f"values-{tag}", _gz(raw) if ext.endswith(("gz", ".mgz")) else raw
    if base == ".npy":
        for tag, v in [("0d", np.float32(3)), ("3d", vals.reshape(3, 2, 81)), ("empty", np.zeros((0, V), np.float32)),
                       ("bool", vals > 0), ("complex", vals.astype(np.complex64)), ("str", np.array(["a", "b"]))]:
            yield f"values-{tag}", npy_bytes(v)


def generate(seed: int = 0, per_format: int = 160) -> list[Case]:
    """The corpus: about ``per_format`` corrupted inputs per file ending, seeded.

    Parameters
    ----------
    seed : int
        Seed of every random choice (positions of flips and cuts).
    per_format : int
        Rough number of inputs per ending; the structural, gzip and value
        cases come first, random bit flips and truncations fill the rest.

    Returns
    -------
    list of Case
        Each a corrupted (or valid but unacceptable) input; the unmodified
        sources come first, tagged ``.../valid``.
    """
    rng = np.random.default_rng(seed)
    sources = valid_sources(seed)
    cases: list[Case] = []
    all_raw = [(e, b) for e, items in sources.items() for _, b in items]
    for ext, items in sources.items():
        start = len(cases)
        compressed = ext.endswith(".gz") or ext == ".mgz"
        for label, data in items:
            cases.append(Case(f"{ext[1:]}/{label}/valid", ext, data))
            raw = gzip.decompress(data) if compressed else data
            for tag, mutated in _structural(ext.replace(".gz", "").replace(".mgz", ".mgh"), raw):
                cases.append(Case(f"{ext[1:]}/{label}/{tag}", ext, _gz(mutated) if compressed else mutated))
            if compressed:
                for tag, mutated in _gzip_mutations(data, rng, 12):
                    cases.append(Case(f"{ext[1:]}/{label}/{tag}", ext, mutated))
        if ext in SURFACE_EXTS:
            for tag, data in _surface_variants(ext, rng):
                cases.append(Case(f"{ext[1:]}/{tag}", ext, data))
        if ext == ".gii" or ext == ".gii.gz":
            data = gifti_bytes(random_values(rng), structure="CortexRight")
            cases.append(Case(f"{ext[1:]}/swapped-label", ext, _gz(data) if compressed else data))
        # renamed: another format's bytes under this name
        for other_ext, other in all_raw[:: max(1, len(all_raw) // 8)]:
            if other_ext != ext:
                cases.append(Case(f"{ext[1:]}/renamed-from-{other_ext[1:]}", ext, other))
        cases.append(Case(f"{ext[1:]}/empty-file", ext, b""))
        cases.append(Case(f"{ext[1:]}/text-file", ext, b"hello, this is not a data file\n"))
        # random bit flips and truncations of the (stored) bytes until per_format
        i = 0
        while len(cases) - start < per_format:
            label, data = items[i % len(items)]
            raw = gzip.decompress(data) if compressed else data
            hsize = _header_size(ext, raw)
            kind = i % 4
            if kind == 0:
                mutated = _flip(data, rng, 0, len(data), int(rng.integers(1, 5)))
                tag = "flip-any"
            elif kind == 1 and not compressed:
                mutated = _flip(data, rng, 0, hsize, int(rng.integers(1, 3)))
                tag = "flip-header"
            elif kind == 1:
                mutated = _gz(_flip(raw, rng, 0, hsize, int(rng.integers(1, 3))))
                tag = "flip-header-inner"
            elif kind == 2:
                cut = int(rng.integers(0, len(data)))
                mutated, tag = data[:cut], f"cut-{cut}"
            else:
                cut = int(rng.integers(0, len(raw)))
                mutated = _gz(raw[:cut]) if compressed else raw[: max(0, len(raw) - int(rng.integers(1, 64)))]
                tag = f"cut-inner-{cut}" if compressed else "cut-tail"
            cases.append(Case(f"{ext[1:]}/{label}/{tag}/{i}", ext, mutated))
            i += 1
    return cases


# ------------------------------------------------------------------------------ the oracle
def _strict_bytes(case: Case) -> bytes | None:
    """The uncompressed bytes, or None when the gzip layer is corrupt (CRC, length, trailer, garbage)."""
    if not (case.ext.endswith(".gz") or case.ext == ".mgz"):
        return case.data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(case.data)) as fh:
            return fh.read()
    except Exception:
        return None


def _reference_mgh(raw: bytes) -> np.ndarray | None:
    if len(raw) < 284:
        return None
    version, *dims = struct.unpack(">5i", raw[:20])
    code = struct.unpack(">i", raw[20:24])[0]
    itemsize = {0: 1, 1: 4, 3: 4, 4: 2}.get(code)
    if version != 1 or itemsize is None or min(dims) < 1:
        return None
    if 284 + int(np.prod(dims, dtype=object)) * itemsize > len(raw):
        return None
    data = np.asanyarray(nib.MGHImage.from_bytes(raw).dataobj)
    if data.ndim == 3:
        data = data[..., None]
    return data.reshape(-1, data.shape[3], order="F").T.astype(np.float32)


def _reference_gifti(raw: bytes) -> np.ndarray | None:
    if b"ExternalFileBinary" in raw:
        return None
    img = nib.gifti.GiftiImage.from_bytes(raw)
    samples = []
    for d in img.darrays:
        if nib.nifti1.intent_codes.niistring[d.intent] in ("NIFTI_INTENT_POINTSET", "NIFTI_INTENT_TRIANGLE"):
            return None
        values = np.asarray(d.data)
        if values.ndim not in (1, 2) or values.size != int(np.prod(d.dims)):
            return None
        samples.append(values[None, :] if values.ndim == 1 else values.T)
    if not samples or len({s.shape[1] for s in samples}) != 1:
        return None
    return np.concatenate(samples).astype(np.float32)


def _reference_npy(raw: bytes) -> np.ndarray | None:
    f = io.BytesIO(raw)
    version = np.lib.format.read_magic(f)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(f)
    if dtype.hasobject or min(shape, default=1) < 0:
        return None
    if f.tell() + int(np.prod(shape, dtype=object)) * dtype.itemsize > len(raw):
        return None
    values = np.load(io.BytesIO(raw), allow_pickle=False)
    if values.dtype.kind not in "fiub" or values.ndim not in (1, 2):
        return None
    return np.asarray(values[None, :] if values.ndim == 1 else values, dtype=np.float32)


def _reference_nifti(raw: bytes) -> np.ndarray | None:
    two = raw[:4] == struct.pack("<i", 540)
    hdr = (nib.Nifti2Header if two else nib.Nifti1Header).from_fileobj(io.BytesIO(raw), check=False)
    if int(hdr["sizeof_hdr"]) != hdr.sizeof_hdr or bytes(hdr["magic"]) != (b"n+2\0" if two else b"n+1\0"):
        return None
    dims = [int(d) for d in hdr["dim"]]
    offset = float(hdr["vox_offset"])
    if not 3 <= dims[0] <= 4 or min(dims[1 : dims[0] + 1]) < 1 or not hdr.sizeof_hdr + 4 <= offset < len(raw):
        return None
    itemsize = hdr.get_data_dtype().itemsize  # raises on an unknown datatype code
    if int(offset) + int(np.prod(dims[1 : dims[0] + 1], dtype=object)) * itemsize > len(raw):
        return None
    img = (nib.Nifti2Image if two else nib.Nifti1Image).from_bytes(raw)
    return np.asanyarray(img.dataobj)


def reference_reading(case: Case) -> np.ndarray | None:
    """What nibabel/numpy read from the same bytes, strictly; None when the container is corrupt.

    Surface formats give ``(n_samples, n_vertices)`` float32 (as the toolkit's
    readers lay them out); NIfTI gives the voxel array as nibabel scales it.
    """
    raw = _strict_bytes(case)
    if raw is None:
        return None
    base = case.ext.replace(".gz", "").replace(".mgz", ".mgh")
    reader = {".mgh": _reference_mgh, ".gii": _reference_gifti, ".npy": _reference_npy, ".nii": _reference_nifti}[base]
    try:
        return reader(raw)
    except MemoryError:
        return None
    except Exception:
        return None
