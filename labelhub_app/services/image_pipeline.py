"""Check and clean one uploaded image: the pure part of an upload (no database, store or Reflex).

`process_image` refuses what LabelHub cannot serve, each time with a message that names the file,
and returns the bytes to store, their hashes, a perceptual hash and JPEG thumbnails. The uploads
service does the I/O around it.

What is stored:
- A JPEG, PNG or WebP in a plain mode with no EXIF rotation to apply keeps its encoded pixels: the
  original bytes when they carry no metadata, otherwise the same bytes with the EXIF, XMP, IPTC and
  text segments (and anything after the end of the image) cut out. Lossless, no re-encode.
- Anything else is re-encoded from its decoded first frame: EXIF orientation applied, CMYK turned
  into RGB, 16-bit grey scaled to 8 bits. JPEG stays JPEG (quality 95) and WebP stays WebP
  (quality 95); PNG, GIF, TIFF and BMP become PNG (lossless, and every browser shows it).
- EXIF, XMP and IPTC are never kept (they carry GPS positions, camera serials and names). The ICC
  colour profile is kept whenever the colour space is unchanged.

Pillow is used with its global settings untouched: `ImageFile.LOAD_TRUNCATED_IMAGES` stays off, so a
cut-short file fails to decode, and `Image.MAX_IMAGE_PIXELS` stays at its default. Our own
`max_pixels` is checked from the header before any pixel is decoded; Pillow's own guard, which
refuses more than twice its default (about 179 megapixels) at open, is reported the same way.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from labelhub_app.errors import InvalidInput

NEAR_DUPLICATE_DISTANCE = 6
"""Perceptual-hash distance at or below which two images count as near duplicates."""

SUPPORTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP")
THUMBNAIL_MIME = "image/jpeg"

_SUPPORTED_TEXT = "JPEG, PNG, WebP, GIF, TIFF, BMP"
_MIME = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
}
_HUMAN_FORMAT = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "WEBP": "WebP",
    "GIF": "GIF",
    "TIFF": "TIFF",
    "BMP": "BMP",
}
_JPEG_QUALITY = 95
_WEBP_QUALITY = 95
_THUMBNAIL_QUALITY = 85
# The perceptual hash is taken from the image fitted to this many pixels, whatever thumbnail sizes
# are configured, so hashes stay comparable when the settings change.
_PHASH_SIDE = 256
# Thumbnails first shrink by a whole factor with a box filter (Image.reduce, very fast) while the
# remaining Lanczos step still shrinks at least this much: 640 -> 256 px takes 1.6 ms instead of
# 3.7 ms, 4000 -> 1024 px about 40 ms instead of 130 ms, with no visible difference.
_REDUCING_GAP = 1.25

# Modes each format's original bytes may be kept in; anything else is converted and re-encoded.
_KEPT_MODES = {
    "JPEG": frozenset({"L", "RGB"}),
    "PNG": frozenset({"1", "L", "LA", "P", "RGB", "RGBA"}),
    "WEBP": frozenset({"RGB", "RGBA"}),
}
_STORABLE_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})
_COLOUR_SPACE = {
    **dict.fromkeys(("1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N"), "grey"),
    **dict.fromkeys(("P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "YCbCr"), "rgb"),
    "CMYK": "cmyk",
}
# Errors Pillow raises on bad image data, besides its own.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


@dataclass(frozen=True)
class ProcessedImage:
    """One upload, checked and cleaned, ready to be stored."""

    stored_bytes: bytes
    """The cleaned image to store: orientation applied, no EXIF/XMP/IPTC, ICC profile kept."""
    stored_sha256: str
    """Hex SHA-256 of stored_bytes; the content-addressed object key is built from it."""
    upload_sha256: str
    """Hex SHA-256 of the bytes exactly as uploaded, for the exact-duplicate check."""
    width: int
    height: int
    format: str
    """Pillow's name for the stored file's format, e.g. "JPEG" or "PNG"."""
    mime: str
    phash: str
    """64-bit perceptual hash as 16 hex digits; compare with `hamming_distance`."""
    thumbnails: dict[int, bytes]
    """Max side in pixels -> encoded thumbnail. Never upscaled: a small image keeps its size."""
    thumbnail_mime: str


def process_image(
    data: bytes,
    file_name: str,
    *,
    max_pixels: int,
    max_side: int,
    max_bytes: int,
    thumbnail_sizes: tuple[int, ...],
) -> ProcessedImage:
    """Check an uploaded image and produce what to store for it.

    Raises InvalidInput, with a message naming `file_name`, for an empty or oversized file, one that
    is not a supported image, is damaged or cut short, has more than `max_pixels` pixels or a side
    longer than `max_side`, or uses a pixel format that cannot be shown sensibly.
    """
    if not data:
        raise InvalidInput(f"{file_name} is empty (0 bytes). Choose the image file again.")
    if len(data) > max_bytes:
        raise InvalidInput(
            f"{file_name} is {_megabytes(len(data))}; LabelHub accepts at most "
            f"{_megabytes(max_bytes)} per image. Compress or downscale it and upload again."
        )
    upload_sha256 = hashlib.sha256(data).hexdigest()
    image = _open(data, file_name, max_pixels=max_pixels)
    try:
        _check_size(image, file_name, max_pixels=max_pixels, max_side=max_side)
        _decode(image, file_name, max_pixels=max_pixels)
        stored_bytes, stored_format, picture, icc = _clean(image, data, file_name)
        thumbnails, phash = _thumbnails_and_phash(
            picture,
            thumbnail_sizes,
            icc=icc,
            stored_bytes=stored_bytes,
            stored_format=stored_format,
        )
        width, height = picture.size
    finally:
        image.close()
    stored_sha256 = (
        upload_sha256 if stored_bytes is data else hashlib.sha256(stored_bytes).hexdigest()
    )
    return ProcessedImage(
        stored_bytes=stored_bytes,
        stored_sha256=stored_sha256,
        upload_sha256=upload_sha256,
        width=width,
        height=height,
        format=stored_format,
        mime=_MIME[stored_format],
        phash=phash,
        thumbnails=thumbnails,
        thumbnail_mime=THUMBNAIL_MIME,
    )


def hamming_distance(phash_a: str, phash_b: str) -> int:
    """Number of differing bits between two perceptual hashes (16 hex digits each)."""
    if len(phash_a) != 16 or len(phash_b) != 16:
        raise ValueError(f"perceptual hashes must be 16 hex digits, got {phash_a!r}, {phash_b!r}")
    return (int(phash_a, 16) ^ int(phash_b, 16)).bit_count()


# --------------------------------------------------------------------------- checks


def _open(data: bytes, file_name: str, *, max_pixels: int) -> Image.Image:
    """Read the header only; name the problem when it is not a supported image."""
    try:
        return Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(file_name, max_pixels) from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput(_unreadable_message(data, file_name)) from exc
    except _DECODE_ERRORS as exc:
        raise InvalidInput(_damaged_message(file_name, _sniff_supported(data))) from exc


def _check_size(image: Image.Image, file_name: str, *, max_pixels: int, max_side: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidInput(_damaged_message(file_name, image.format))
    if width * height > max_pixels:
        raise _too_many_pixels(file_name, max_pixels, (width, height))
    if max(width, height) > max_side:
        raise InvalidInput(
            f"{file_name} is {width}x{height} pixels; LabelHub accepts at most {max_side} pixels "
            f"on a side. Downscale it and upload again."
        )


def _decode(image: Image.Image, file_name: str, *, max_pixels: int) -> None:
    """Decode every pixel of the first frame, so a damaged or cut-short file is refused now."""
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(file_name, max_pixels) from exc
    except _DECODE_ERRORS as exc:
        if isinstance(exc, OSError) and "not available" in str(exc):
            # e.g. a TIFF compressed with a codec this Pillow build lacks
            raise InvalidInput(
                f"{file_name} is a {_HUMAN_FORMAT.get(image.format or '', 'image')} file "
                f"stored in a variant LabelHub cannot decode. Save it as JPEG or PNG and upload "
                f"again."
            ) from exc
        raise InvalidInput(_damaged_message(file_name, image.format)) from exc


def _too_many_pixels(
    file_name: str, max_pixels: int, size: tuple[int, int] | None = None
) -> InvalidInput:
    limit = f"{max_pixels / 1e6:g} megapixels"
    if size is None:
        what = f"{file_name} has far more pixels than the {limit} LabelHub accepts"
    else:
        what = (
            f"{file_name} is {size[0]}x{size[1]} pixels ({size[0] * size[1] / 1e6:.1f} "
            f"megapixels), more than the {limit} LabelHub accepts"
        )
    return InvalidInput(
        f"{what}; it is refused as a possible decompression bomb. Downscale it and upload again."
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _damaged_message(file_name: str, image_format: str | None) -> str:
    kind = _HUMAN_FORMAT.get(image_format or "", "image")
    article = "an" if kind[0] in "AEIOU" else "a"
    return (
        f"{file_name} is {article} {kind} file that is damaged or cut short, so LabelHub cannot "
        f"read it. Upload the original file again."
    )


# Leading bytes of formats we do not accept, to tell the user what they sent.
_UNSUPPORTED_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"8BPS", 0, "Photoshop (PSD)"),
    (b"\x00\x00\x01\x00", 0, "Windows icon (ICO)"),
    (b"\x00\x00\x02\x00", 0, "Windows cursor (CUR)"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", 0, "JPEG 2000"),
    (b"\xff\x4f\xff\x51", 0, "JPEG 2000"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", 0, "JPEG XL"),
    (b"\xff\x0a", 0, "JPEG XL"),
    (b"%PDF", 0, "PDF"),
    (b"qoif", 0, "QOI"),
    (b"DDS ", 0, "DirectDraw Surface (DDS)"),
)
_HEIF_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"), "HEIC"),
    **dict.fromkeys((b"mif1", b"msf1"), "HEIF"),
    **dict.fromkeys((b"avif", b"avis"), "AVIF"),
}
_NETPBM = re.compile(rb"P[1-7]\s")


def _sniff_supported(data: bytes) -> str | None:
    """The supported format whose signature `data` starts with, if any."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if data.startswith(b"BM"):
        return "BMP"
    return None


def _sniff_unsupported(data: bytes) -> str | None:
    """A human name for a known image-like format we do not accept, if `data` is one."""
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return _HEIF_BRANDS[data[8:12]]
    for magic, offset, name in _UNSUPPORTED_MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return name
    if _NETPBM.match(data[:3]):
        return "Netpbm (PPM/PGM/PBM)"
    head = data[:1024].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG"
    return None


def _unreadable_message(data: bytes, file_name: str) -> str:
    supported = _sniff_supported(data)
    if supported is not None:
        return _damaged_message(file_name, supported)
    other = _sniff_unsupported(data)
    if other is not None:
        return (
            f"{file_name} is a {other} file, which LabelHub does not accept (supported: "
            f"{_SUPPORTED_TEXT}). Convert it to JPEG or PNG and upload again."
        )
    return f"{file_name} is not an image LabelHub can read (supported: {_SUPPORTED_TEXT})."


# --------------------------------------------------------------------------- cleaning


def _clean(
    image: Image.Image, data: bytes, file_name: str
) -> tuple[bytes, str, Image.Image, bytes | None]:
    """Return (stored bytes, stored format, decoded picture as stored, ICC profile to keep)."""
    source_format = "JPEG" if image.format == "MPO" else (image.format or "")
    orientation = _orientation(image)
    frames = 1 if source_format == "JPEG" else getattr(image, "n_frames", 1)
    icc = image.info.get("icc_profile") or None
    if (
        source_format in _KEPT_MODES
        and image.mode in _KEPT_MODES[source_format]
        and orientation == 1
        and frames == 1
    ):
        try:
            return _strip_metadata(data, source_format), source_format, image, icc
        except _Unparseable:
            pass  # an unusual but decodable layout: re-encode below instead

    picture = image
    if orientation != 1:
        picture = ImageOps.exif_transpose(picture)
    converted = _storable(picture, file_name)
    if _COLOUR_SPACE.get(converted.mode) != _COLOUR_SPACE.get(image.mode):
        icc = None
    picture = converted
    # Keep only what the encoders need: no EXIF, XMP, comments or text reach the stored file.
    picture.info = {k: picture.info[k] for k in ("transparency",) if k in picture.info}

    stored_format = source_format if source_format in ("JPEG", "WEBP") else "PNG"
    buffer = io.BytesIO()
    if stored_format == "JPEG":
        picture.save(buffer, "JPEG", quality=_JPEG_QUALITY, icc_profile=icc)
    elif stored_format == "WEBP":
        picture.save(buffer, "WEBP", quality=_WEBP_QUALITY, icc_profile=icc)
    else:
        picture.save(buffer, "PNG", optimize=False, icc_profile=icc)
    return buffer.getvalue(), stored_format, picture, icc


def _orientation(image: Image.Image) -> int:
    """EXIF orientation 1-8; 1 (as is) when absent, invalid or unreadable."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except (*_DECODE_ERRORS, TypeError, KeyError, UnicodeDecodeError):
        return 1  # malformed EXIF: it is dropped anyway
    return value if isinstance(value, int) and 2 <= value <= 8 else 1


def _storable(image: Image.Image, file_name: str) -> Image.Image:
    """Convert to a mode that the stored format and every browser handle."""
    mode = image.mode
    if mode in _STORABLE_MODES:
        return image
    if mode == "CMYK":
        return _cmyk_to_rgb(image)
    if mode in ("RGBX", "YCbCr"):
        return image.convert("RGB")
    if mode in ("RGBa", "PA"):
        return image.convert("RGBA")
    if mode == "La":
        return image.convert("LA")
    if mode == "I" or mode.startswith("I;16"):
        return _sixteen_bit_to_grey(image, file_name)
    raise _unsupported_mode(file_name, mode)


def _unsupported_mode(file_name: str, mode: str) -> InvalidInput:
    return InvalidInput(
        f"{file_name} uses a pixel format LabelHub cannot show (Pillow mode {mode!r}, e.g. "
        f"floating-point or Lab colour). Export it as 8-bit RGB or greyscale and upload again."
    )


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    """CMYK to RGB, through the embedded profile when there is one (Pillow's own is crude)."""
    icc = image.info.get("icc_profile")
    if icc:
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
        else:
            if converted is not None:
                return converted
    return image.convert("RGB")


def _sixteen_bit_to_grey(image: Image.Image, file_name: str) -> Image.Image:
    """Scale 16-bit grey (0-65535) to 8 bits (0-255), keeping the whole tonal range."""
    pixels = np.asarray(image)
    if pixels.size and (int(pixels.min()) < 0 or int(pixels.max()) > 0xFFFF):
        raise _unsupported_mode(file_name, image.mode)  # 32-bit data: no agreed 8-bit mapping
    scaled = (pixels.astype(np.uint32) * 255 + 32767) // 65535
    return Image.fromarray(scaled.astype(np.uint8))  # 2-D uint8: mode "L"


class _Unparseable(Exception):
    """The file's container layout is not one the byte-level metadata stripper understands."""


def _strip_metadata(data: bytes, image_format: str) -> bytes:
    """Drop metadata blocks without touching the encoded pixels; return `data` itself if none."""
    if image_format == "JPEG":
        return _strip_jpeg(data)
    if image_format == "PNG":
        return _strip_png(data)
    return _strip_webp(data)


# After the start of scan, the next marker is an 0xFF byte followed by anything except a stuffed
# zero, a restart marker or another fill 0xFF.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _strip_jpeg(data: bytes) -> bytes:
    """Remove APP1 (EXIF, XMP), APP13 (IPTC), the APP2 multi-picture index and any bytes after
    the end-of-image marker (phones append secondary images there, with their own EXIF)."""
    if not data.startswith(b"\xff\xd8"):
        raise _Unparseable
    kept = [data[:2]]
    changed = False
    pos = 2
    while True:
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise _Unparseable
        marker = data[pos + 1]
        if marker == 0xD9:  # end of image
            kept.append(data[pos : pos + 2])
            changed = changed or pos + 2 != len(data)
            break
        if marker in (0x00, 0x01, 0xFF) or 0xD0 <= marker <= 0xD8 or pos + 4 > len(data):
            raise _Unparseable
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if end > len(data) or end < pos + 4:
            raise _Unparseable
        if marker == 0xDA:  # start of scan: the entropy-coded data runs to the next marker
            found = _JPEG_NEXT_MARKER.search(data, end)
            if found is None:
                raise _Unparseable
            end = found.start()
        drop = marker in (0xE1, 0xED) or (marker == 0xE2 and data[pos + 4 : pos + 8] == b"MPF\0")
        if drop:
            changed = True
        else:
            kept.append(data[pos:end])
        pos = end
    return b"".join(kept) if changed else data


_PNG_DROPPED_CHUNKS = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"})


def _strip_png(data: bytes) -> bytes:
    """Remove EXIF and text chunks (ImageMagick writes EXIF, GPS included, as text) and any
    bytes after IEND."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise _Unparseable
    kept = [data[:8]]
    changed = False
    pos = 8
    while True:
        if pos + 12 > len(data):
            raise _Unparseable
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunk_type = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _Unparseable
        if chunk_type in _PNG_DROPPED_CHUNKS:
            changed = True
        else:
            kept.append(data[pos:end])
        pos = end
        if chunk_type == b"IEND":
            break
    changed = changed or pos != len(data)
    return b"".join(kept) if changed else data


_VP8X_EXIF_AND_XMP_FLAGS = 0x08 | 0x04


def _strip_webp(data: bytes) -> bytes:
    """Remove EXIF and XMP chunks (clearing their flags in VP8X) and any bytes after the RIFF."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _Unparseable
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data):
        raise _Unparseable
    kept: list[bytes] = []
    changed = riff_end != len(data)
    pos = 12
    while pos < riff_end:
        if pos + 8 > riff_end:
            raise _Unparseable
        fourcc = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        end = pos + 8 + size + (size & 1)
        if end > riff_end:
            raise _Unparseable
        chunk = data[pos:end]
        if fourcc in (b"EXIF", b"XMP "):
            changed = True
        else:
            if fourcc == b"VP8X" and size >= 1 and chunk[8] & _VP8X_EXIF_AND_XMP_FLAGS:
                chunk = chunk[:8] + bytes([chunk[8] & ~_VP8X_EXIF_AND_XMP_FLAGS]) + chunk[9:]
                changed = True
            kept.append(chunk)
        pos = end
    if not changed:
        return data
    body = b"".join(kept)
    return b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WEBP" + body


# --------------------------------------------------------------------------- thumbnails


def _thumbnails_and_phash(
    picture: Image.Image,
    sizes: tuple[int, ...],
    *,
    icc: bytes | None,
    stored_bytes: bytes,
    stored_format: str,
) -> tuple[dict[int, bytes], str]:
    """JPEG thumbnails (alpha flattened onto white) and the perceptual hash.

    Each size is resized from the previous, larger one (a chain, largest first), which is much
    cheaper than resizing every size from the full image. JPEG draft mode (decoding at 1/2-1/8
    scale) is not used: the full image is decoded anyway to check it, and reducing it costs less
    than a second, drafted decode.
    """
    width, height = picture.size
    longest = max(width, height)
    source = _resizable(picture)
    thumbnails: dict[int, bytes] = {}
    phash_source: Image.Image | None = None
    current = source
    for size in sorted({*sizes, _PHASH_SIDE}, reverse=True):
        if size < longest:
            scale = size / longest
            target = (max(1, round(width * scale)), max(1, round(height * scale)))
            current = current.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
        flat = _flatten(current)
        if size == _PHASH_SIDE:
            phash_source = flat
        if size not in sizes:
            continue
        if size >= longest and stored_format == "JPEG":
            thumbnails[size] = stored_bytes  # already a JPEG of this size: no re-encode
            continue
        buffer = io.BytesIO()
        flat.save(buffer, "JPEG", quality=_THUMBNAIL_QUALITY, icc_profile=icc)
        thumbnails[size] = buffer.getvalue()
    assert phash_source is not None
    return thumbnails, str(imagehash.phash(phash_source))


def _resizable(image: Image.Image) -> Image.Image:
    """Convert to L, RGB, LA or RGBA: modes that resize smoothly (a palette would not)."""
    mode = image.mode
    transparent = "transparency" in image.info
    if mode == "1":
        return image.convert("L")
    if mode == "P":
        has_alpha = transparent or (image.palette is not None and image.palette.mode == "RGBA")
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode in ("L", "RGB") and transparent:
        return image.convert("LA" if mode == "L" else "RGBA")
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """Composite any alpha onto white, since JPEG has none."""
    if image.mode not in ("LA", "RGBA"):
        return image
    colour = image.mode[:-1]
    background = Image.new(colour, image.size, 255 if colour == "L" else (255, 255, 255))
    background.paste(image.convert(colour), mask=image.getchannel("A"))
    return background
