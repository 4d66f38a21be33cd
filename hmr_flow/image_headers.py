"""The format and pixel size of an image file, read from its header without decoding it.

Every format the pinned OpenCV (opencv-python-headless 5.x) decodes is recognised by its signature, as
OpenCV's own decoders recognise it, and its size read where that decoder reads it: JPEG (start-of-frame),
PNG (``IHDR``), BMP, WebP (``VP8``/``VP8L``/``VP8X``), TIFF and BigTIFF (the first directory's
``ImageWidth``/``ImageLength``), GIF (the logical screen), PBM/PGM/PPM/PAM/PFM (the text header), Sun
raster, Radiance HDR (the resolution line), JPEG 2000 (``ihdr`` box and the codestream's ``SIZ`` marker)
and AVIF (the ``ispe`` properties). :func:`hmr_flow.images.read_rgb` refuses a file whose format is not
one of these, or whose header gives no size, before OpenCV sees it: so its pixel limit holds for every
file it decodes (a few hundred bytes can claim 20000 × 20000 pixels, which a decoder would allocate).
"""

from __future__ import annotations

import re

_JPEG_START = b"\xff\xd8"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K_SIGNATURE = b"\xff\x4f\xff\x51"
#: JPEG start-of-frame markers (they hold the image size): C0–CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: The formats :func:`image_format` recognises, as named in messages.
FORMATS = ("JPEG", "PNG", "BMP", "WebP", "TIFF", "GIF", "PNM", "PFM", "Sun raster", "HDR", "JPEG 2000", "AVIF")


def _u16(data: bytes, at: int, order: str = "big") -> int:
    return int.from_bytes(data[at : at + 2], order)


def _u32(data: bytes, at: int, order: str = "big") -> int:
    return int.from_bytes(data[at : at + 4], order)


def image_format(data: bytes) -> str | None:
    """The format (a name of :data:`FORMATS`) of the image file whose bytes start with ``data``, by its
    signature; ``None`` for anything else."""
    if data.startswith(_JPEG_START):
        return "JPEG"
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"BM"):
        return "BMP"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if len(data) > 2 and data[0:1] == b"P" and data[1:2] in b"1234567" and data[2:3].isspace():
        return "PNM"
    if data[:2] in (b"PF", b"Pf") and data[2:3].isspace():
        return "PFM"
    if data.startswith(b"\x59\xa6\x6a\x95"):
        return "Sun raster"
    if data.startswith((b"#?RADIANCE", b"#?RGBE")):
        return "HDR"
    if data.startswith((_JP2_SIGNATURE, _J2K_SIGNATURE)):
        return "JPEG 2000"
    if data[4:8] == b"ftyp" and any(brand in data[8 : _u32(data, 0)] for brand in (b"avif", b"avis")):
        return "AVIF"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:  # stray bytes between segments: on to the next marker, as libjpeg does
            at = data.find(b"\xff", at)
            if at < 0:
                return None
            continue
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            at += 2
        elif marker in _JPEG_FRAMES:  # length (2), precision (1), height (2), width (2)
            return _u16(data, at + 7), _u16(data, at + 5)
        else:
            at += 2 + _u16(data, at + 2)
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:  # 24-bit canvas width-1, height-1
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L" and len(data) >= 25:  # 14-bit width-1, height-1 after the signature byte
        bits = _u32(data, 21, "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30:  # key frame: 14-bit width and height after the start code
        return _u16(data, 26, "little") & 0x3FFF, _u16(data, 28, "little") & 0x3FFF
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 26:
        return None
    if _u32(data, 14, "little") == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        return _u16(data, 18, "little"), _u16(data, 20, "little")
    width = int.from_bytes(data[18:22], "little", signed=True)
    return abs(width), abs(int.from_bytes(data[22:26], "little", signed=True))  # negative height: top-down


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """``ImageWidth`` (256) and ``ImageLength`` (257) of the first directory (what OpenCV decodes)."""
    order = "little" if data[:2] == b"II" else "big"
    big = _u16(data, 2, order) == 43
    if big:  # BigTIFF: 8-byte offsets and counts, 20-byte entries
        at, count_size, entry_size, value_at = int.from_bytes(data[8:16], order), 8, 20, 12
    else:
        at, count_size, entry_size, value_at = _u32(data, 4, order), 2, 12, 8
    count = int.from_bytes(data[at : at + count_size], order)
    sizes = {}
    for i in range(min(count, 4096)):
        entry = at + count_size + i * entry_size
        if entry + entry_size > len(data):
            return None
        tag, kind = _u16(data, entry, order), _u16(data, entry + 2, order)
        if tag in (256, 257):
            width = {3: 2, 4: 4, 16: 8}.get(kind)  # SHORT, LONG, LONG8
            if width is None:
                return None
            sizes[tag] = int.from_bytes(data[entry + value_at : entry + value_at + width], order)
    return (sizes[256], sizes[257]) if len(sizes) == 2 else None


def _pnm_size(data: bytes) -> tuple[int, int] | None:
    """PBM/PGM/PPM/PFM: width and height are the first two numbers after the magic (``#`` comments skipped);
    PAM (``P7``): its ``WIDTH`` and ``HEIGHT`` lines."""
    head = data[:4096]
    if head.startswith(b"P7"):
        width, height = re.search(rb"\nWIDTH\s+(\d+)", head), re.search(rb"\nHEIGHT\s+(\d+)", head)
        return (int(width[1]), int(height[1])) if width and height else None
    text = re.sub(rb"#[^\n]*", b" ", head[2:])
    numbers = re.match(rb"\s*(\d+)\s+(\d+)", text)
    return (int(numbers[1]), int(numbers[2])) if numbers else None


def _hdr_size(data: bytes) -> tuple[int, int] | None:
    """Radiance HDR: the resolution line after the blank line ending the header (``-Y 512 +X 768``)."""
    end = data.find(b"\n\n", 0, 65536)
    if end < 0:
        return None
    line = re.match(rb"\s*([-+][XY])\s+(\d+)\s+([-+][XY])\s+(\d+)", data[end + 2 : end + 130])
    if not line:
        return None
    axes = {line[1][1:]: int(line[2]), line[3][1:]: int(line[4])}
    return (axes[b"X"], axes[b"Y"]) if set(axes) == {b"X", b"Y"} else None


def _jpeg2000_size(data: bytes) -> tuple[int, int] | None:
    """The larger of the JP2 ``ihdr`` box and the codestream's ``SIZ`` marker (what the decoder allocates)."""
    sizes = []
    box = data.find(b"ihdr")
    if box >= 0 and box + 12 <= len(data):
        sizes.append((_u32(data, box + 8), _u32(data, box + 4)))
    siz = data.find(_J2K_SIGNATURE)
    if siz >= 0 and siz + 24 <= len(data):
        sizes.append((_u32(data, siz + 8) - _u32(data, siz + 16), _u32(data, siz + 12) - _u32(data, siz + 20)))
    return max(sizes, key=lambda s: s[0] * s[1]) if sizes else None


def _avif_size(data: bytes) -> tuple[int, int] | None:
    """The largest ``ispe`` (image spatial extents) property: the primary image, or the grid it tiles."""
    sizes = [(_u32(data, m.end() + 4), _u32(data, m.end() + 8)) for m in re.finditer(b"ispe", data)
             if m.end() + 12 <= len(data)]
    return max(sizes, key=lambda s: s[0] * s[1]) if sizes else None


_SIZE_READERS = {
    "JPEG": _jpeg_size,
    "PNG": lambda data: (_u32(data, 16), _u32(data, 20)) if data[12:16] == b"IHDR" and len(data) >= 24 else None,
    "BMP": _bmp_size,
    "WebP": _webp_size,
    "TIFF": _tiff_size,
    "GIF": lambda data: (_u16(data, 6, "little"), _u16(data, 8, "little")) if len(data) >= 10 else None,
    "PNM": _pnm_size,
    "PFM": _pnm_size,
    "Sun raster": lambda data: (_u32(data, 4), _u32(data, 8)) if len(data) >= 12 else None,
    "HDR": _hdr_size,
    "JPEG 2000": _jpeg2000_size,
    "AVIF": _avif_size,
}


def header_size(data: bytes) -> tuple[int, int] | None:
    """``(W, H)`` pixels as the header of the image file ``data`` claims, without decoding it; ``None`` for
    a format :func:`image_format` does not know or a header cut short."""
    kind = image_format(data)
    if kind is None:
        return None
    try:
        return _SIZE_READERS[kind](data)
    except (IndexError, ValueError):
        return None
