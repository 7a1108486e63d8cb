"""The image pipeline: what uploads store, and what they refuse. Every image is built here."""

from __future__ import annotations

import hashlib
import io
import itertools
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile

from labelhub_app.errors import InvalidInput
from labelhub_app.services.image_pipeline import (
    NEAR_DUPLICATE_DISTANCE,
    ProcessedImage,
    hamming_distance,
    process_image,
)
from tests.images import broken_jpeg, make_image, make_jpeg, make_png

LIMITS = {
    "max_pixels": 50_000_000,
    "max_side": 20_000,
    "max_bytes": 50 * 1024 * 1024,
    "thumbnail_sizes": (256, 1024),
}


def process(data: bytes, file_name: str = "photo.jpg", **overrides: object) -> ProcessedImage:
    return process_image(data, file_name, **{**LIMITS, **overrides})  # type: ignore[arg-type]


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Artist] = "Jane Doe"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {1: "N", 2: (52.0, 22.0, 1.5), 3: "E", 4: (4.0, 53.0, 0.0)}
    )
    return exif


def assert_no_metadata(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert dict(exif) == {}
    assert "xmp" not in image.info
    assert b"Jane Doe" not in data
    assert b"PhoneCo" not in data


def png_with_size_in_header(width: int, height: int) -> bytes:
    """A tiny real PNG whose IHDR claims another size (CRC fixed): a decompression bomb's header."""
    data = bytearray(encode(Image.new("L", (16, 16)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:20] = width.to_bytes(4, "big")
    data[20:24] = height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


# --------------------------------------------------------------------------- what is stored


def test_plain_jpeg_is_stored_untouched_with_thumbnails_and_hashes() -> None:
    data = make_jpeg(640, 480, seed=1)

    result = process(data)

    assert result.stored_bytes == data
    assert result.upload_sha256 == hashlib.sha256(data).hexdigest()
    assert result.stored_sha256 == result.upload_sha256
    assert (result.width, result.height, result.format, result.mime) == (
        640,
        480,
        "JPEG",
        "image/jpeg",
    )
    assert len(result.phash) == 16
    int(result.phash, 16)
    assert result.thumbnail_mime == "image/jpeg"
    assert set(result.thumbnails) == {256, 1024}
    small = decode(result.thumbnails[256])
    assert (small.format, small.size) == ("JPEG", (256, 192))
    assert decode(result.thumbnails[1024]).size == (640, 480)  # never upscaled


@pytest.mark.parametrize(
    ("size", "sizes", "expected"),
    [
        ((100, 50), (256, 1024), {256: (100, 50), 1024: (100, 50)}),
        ((2000, 1000), (256, 1024), {256: (256, 128), 1024: (1024, 512)}),
        ((300, 1200), (128, 512, 2048), {128: (32, 128), 512: (128, 512), 2048: (300, 1200)}),
    ],
)
def test_thumbnails_fit_each_size_and_are_never_upscaled(
    size: tuple[int, int], sizes: tuple[int, ...], expected: dict[int, tuple[int, int]]
) -> None:
    result = process(make_jpeg(*size, seed=2), thumbnail_sizes=sizes)

    assert {s: decode(t).size for s, t in result.thumbnails.items()} == expected
    assert all(decode(t).format == "JPEG" for t in result.thumbnails.values())


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG", quality=95)


def png_16_bit() -> bytes:
    ramp = np.array([[0, 257 * 100, 32768, 65535]], dtype=np.uint16).repeat(8, axis=0)
    return encode(Image.fromarray(ramp), "PNG")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (32, 24), colour) for colour in ("red", "lime", "blue")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def palette_png_with_transparency() -> bytes:
    image = Image.new("P", (40, 30), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (0, 0, 20, 30))  # left half opaque blue, right half transparent
    return encode(image, "PNG", transparency=0)


@pytest.mark.parametrize(
    ("name", "build", "stored_format", "stored_mode", "size"),
    [
        ("cmyk.jpg", cmyk_jpeg, "JPEG", "RGB", (64, 48)),
        (
            "grey.jpg",
            lambda: encode(make_image(60, 40).convert("L"), "JPEG"),
            "JPEG",
            "L",
            (60, 40),
        ),
        ("rgb.png", lambda: make_png(80, 60), "PNG", "RGB", (80, 60)),
        ("palette.png", lambda: make_png(80, 60, mode="P"), "PNG", "P", (80, 60)),
        ("palette_alpha.png", palette_png_with_transparency, "PNG", "P", (40, 30)),
        ("sixteen.png", png_16_bit, "PNG", "L", (4, 8)),
        ("rgba.png", lambda: make_png(80, 60, mode="RGBA"), "PNG", "RGBA", (80, 60)),
        ("la.png", lambda: make_png(80, 60, mode="LA"), "PNG", "LA", (80, 60)),
        ("grey.png", lambda: make_png(80, 60, mode="L"), "PNG", "L", (80, 60)),
        ("bilevel.png", lambda: make_png(80, 60, mode="1"), "PNG", "1", (80, 60)),
        ("anim.gif", animated_gif, "PNG", "P", (32, 24)),
        (
            "lossy.webp",
            lambda: encode(make_image(80, 60), "WEBP", quality=80),
            "WEBP",
            "RGB",
            (80, 60),
        ),
        (
            "alpha.webp",
            lambda: encode(decode(make_png(80, 60, mode="RGBA")), "WEBP"),
            "WEBP",
            "RGBA",
            (80, 60),
        ),
        ("scan.tif", lambda: encode(make_image(80, 60), "TIFF"), "PNG", "RGB", (80, 60)),
        (
            "bilevel.tif",
            lambda: encode(make_image(80, 60).convert("1"), "TIFF"),
            "PNG",
            "1",
            (80, 60),
        ),
        (
            "cmyk.tif",
            lambda: encode(make_image(80, 60).convert("CMYK"), "TIFF"),
            "PNG",
            "RGB",
            (80, 60),
        ),
        (
            "sixteen.tif",
            lambda: encode(Image.new("I;16", (30, 20), 40000), "TIFF"),
            "PNG",
            "L",
            (30, 20),
        ),
        ("paint.bmp", lambda: encode(make_image(80, 60), "BMP"), "PNG", "RGB", (80, 60)),
    ],
)
def test_each_supported_format_and_mode_is_stored_sensibly(
    name: str, build, stored_format: str, stored_mode: str, size: tuple[int, int]
) -> None:
    result = process(build(), name)

    stored = decode(result.stored_bytes)
    assert (result.format, stored.format) == (stored_format, stored_format)
    assert stored.mode == stored_mode
    assert (result.width, result.height) == size == stored.size
    assert result.mime == Image.MIME[stored_format]
    assert result.stored_sha256 == hashlib.sha256(result.stored_bytes).hexdigest()
    for thumbnail in result.thumbnails.values():
        assert decode(thumbnail).size == size


def test_cmyk_jpeg_becomes_rgb_with_the_same_colour() -> None:
    stored = decode(process(cmyk_jpeg(), "cmyk.jpg").stored_bytes)

    red, green, blue = stored.getpixel((32, 24))
    assert red > 230 and green < 25 and blue < 25


def test_sixteen_bit_grey_is_scaled_to_eight_bits_not_clipped() -> None:
    stored = decode(process(png_16_bit(), "depth.png").stored_bytes)

    assert [stored.getpixel((x, 0)) for x in range(4)] == [0, 100, 128, 255]


def test_animated_gif_keeps_its_first_frame() -> None:
    stored = decode(process(animated_gif(), "anim.gif").stored_bytes)

    assert stored.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    assert getattr(stored, "n_frames", 1) == 1


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("rgba.png", lambda: make_png(80, 60, mode="RGBA")),
        ("la.png", lambda: make_png(80, 60, mode="LA")),
        ("palette_alpha.png", palette_png_with_transparency),
        ("alpha.webp", lambda: encode(decode(make_png(80, 60, mode="RGBA")), "WEBP", quality=80)),
    ],
)
def test_alpha_is_kept_when_stored_and_flattened_onto_white_in_thumbnails(name: str, build) -> None:
    data = build()
    result = process(data, name)

    stored = decode(result.stored_bytes).convert("RGBA")
    original = decode(data).convert("RGBA")
    assert stored.getchannel("A").getextrema() == original.getchannel("A").getextrema()
    assert stored.getchannel("A").getextrema()[0] == 0
    thumbnail = decode(result.thumbnails[256]).convert("RGB")
    x, y = thumbnail.width - 1, thumbnail.height // 2  # right edge: fully transparent in all cases
    assert min(thumbnail.getpixel((x, y))) > 245


# --------------------------------------------------------------------------- metadata


def test_exif_orientation_is_applied_and_exif_dropped() -> None:
    image = Image.new("RGB", (40, 20), "red")
    image.paste((0, 0, 255), (20, 0, 40, 20))  # left half red, right half blue
    data = encode(image, "JPEG", quality=95, exif=gps_exif(orientation=6).tobytes())

    result = process(data)

    stored = decode(result.stored_bytes)
    assert (result.width, result.height, stored.size) == (20, 40, (20, 40))
    assert result.format == "JPEG"
    # Orientation 6 means "rotate 90° clockwise to display": the left edge ends up on top.
    top, bottom = stored.getpixel((10, 5)), stored.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    assert_no_metadata(result.stored_bytes)
    assert "exif" not in stored.info
    assert decode(result.thumbnails[256]).size == (20, 40)


def test_orientation_keeps_the_icc_profile() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(make_image(40, 20), "JPEG", icc_profile=icc, exif=gps_exif(8).tobytes())

    result = process(data)

    assert (result.width, result.height) == (20, 40)
    assert decode(result.stored_bytes).info.get("icc_profile") == icc
    assert_no_metadata(result.stored_bytes)


@pytest.mark.parametrize("progressive", [False, True])
def test_gps_is_stripped_from_a_jpeg_without_touching_its_pixels(progressive: bool) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        make_image(200, 120, seed=3),
        "JPEG",
        quality=90,
        progressive=progressive,
        exif=gps_exif(orientation=1).tobytes(),
        xmp=b"<x:xmpmeta>Jane Doe</x:xmpmeta>",
        icc_profile=icc,
        restart_marker_rows=1,
    )
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    result = process(data + b"trailing bytes after the image")

    assert_no_metadata(result.stored_bytes)
    assert Image.open(io.BytesIO(result.stored_bytes)).getexif().get_ifd(0x8825) == {}
    assert result.stored_bytes.endswith(b"\xff\xd9")
    assert result.stored_sha256 != result.upload_sha256
    assert decode(result.stored_bytes).info.get("icc_profile") == icc
    # Lossless: the encoded pixels were not re-encoded.
    assert decode(result.stored_bytes).tobytes() == decode(data).tobytes()
    assert len(result.stored_bytes) < len(data)


def test_multi_picture_jpeg_keeps_only_the_main_image() -> None:
    main, second = make_image(60, 40, seed=4), make_image(60, 40, seed=5)
    data = encode(main, "MPO", save_all=True, append_images=[second], exif=gps_exif().tobytes())
    assert Image.open(io.BytesIO(data)).format == "MPO"

    result = process(data)

    stored = decode(result.stored_bytes)
    assert (result.format, stored.format, getattr(stored, "n_frames", 1)) == ("JPEG", "JPEG", 1)
    assert stored.tobytes() == decode(data).tobytes()
    assert b"MPF\x00" not in result.stored_bytes
    assert_no_metadata(result.stored_bytes)


def test_exif_and_text_are_stripped_from_a_png_losslessly() -> None:
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Author", "Jane Doe")
    data = encode(make_image(50, 40), "PNG", exif=gps_exif().tobytes(), pnginfo=text)

    result = process(data, "shot.png")

    assert result.format == "PNG"
    assert_no_metadata(result.stored_bytes)
    assert decode(result.stored_bytes).tobytes() == decode(data).tobytes()
    idat = data.index(b"IDAT") - 4
    assert data[idat : data.index(b"IEND")] in result.stored_bytes  # compressed pixels as sent


def test_exif_and_xmp_are_stripped_from_a_webp_losslessly() -> None:
    data = encode(
        make_image(50, 40),
        "WEBP",
        quality=80,
        exif=gps_exif().tobytes(),
        xmp=b"<x:xmpmeta>Jane Doe</x:xmpmeta>",
    )
    assert b"Jane Doe" in data

    result = process(data, "shot.webp")

    assert result.format == "WEBP"
    assert_no_metadata(result.stored_bytes)
    assert decode(result.stored_bytes).tobytes() == decode(data).tobytes()


# --------------------------------------------------------------------------- refusals


def refusal(data: bytes, file_name: str, **overrides: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        process(data, file_name, **overrides)
    assert file_name in caught.value.message
    return caught.value.message


def test_truncated_jpeg_is_refused_naming_the_file() -> None:
    message = refusal(broken_jpeg(), "holiday.jpg")
    assert "damaged or cut short" in message


def test_loading_truncated_images_stays_disabled() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_png_is_refused() -> None:
    data = bytearray(make_png(64, 48))
    start = data.index(b"IDAT") + 4
    data[start + 10 : start + 40] = bytes(30)  # keeps the header, breaks the compressed pixels

    assert "damaged or cut short" in refusal(bytes(data), "scan.png")


def test_text_file_is_refused_as_not_an_image() -> None:
    message = refusal(b"name,label\ncat.jpg,cat\n", "labels.csv")
    assert message == (
        "labels.csv is not an image LabelHub can read (supported: JPEG, PNG, WebP, GIF, TIFF, BMP)."
    )


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (encode(Image.new("RGB", (32, 32)), "ICO"), "ICO"),
        (encode(Image.new("RGB", (32, 32)), "PPM"), "PPM"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "HEIC"),
    ],
)
def test_image_in_an_unsupported_format_is_refused_by_name(data: bytes, named: str) -> None:
    message = refusal(data, "picture.img")
    assert named in message
    assert "JPEG, PNG, WebP, GIF, TIFF, BMP" in message


def test_empty_file_is_refused() -> None:
    assert "empty" in refusal(b"", "nothing.jpg")


def test_file_over_the_byte_limit_is_refused() -> None:
    data = make_jpeg(64, 48)
    assert "MB" in refusal(data, "big.jpg", max_bytes=len(data) - 1)
    assert process(data, max_bytes=len(data)).width == 64


def test_decompression_bomb_is_refused_before_any_pixel_is_allocated() -> None:
    bomb = png_with_size_in_header(30_000, 30_000)

    tracemalloc.start()
    try:
        message = refusal(bomb, "bomb.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert "decompression bomb" in message
    assert peak < 5_000_000


def test_image_over_max_pixels_is_refused_from_its_header() -> None:
    # 8000x8000 is under Pillow's own guard: our check must catch it, before decoding (decoding
    # this file would fail as damaged instead, its pixel data being for 16x16).
    message = refusal(png_with_size_in_header(8000, 8000), "huge.png")
    assert "8000x8000" in message
    assert "decompression bomb" in message


def test_image_with_a_side_over_max_side_is_refused() -> None:
    message = refusal(make_jpeg(300, 10), "strip.jpg", max_side=200)
    assert "200 pixels on a side" in message
    assert process(make_jpeg(200, 10), max_side=200).width == 200


def test_floating_point_image_is_refused_as_an_unsupported_mode() -> None:
    data = encode(Image.new("F", (20, 10), 0.5), "TIFF")
    assert "pixel format" in refusal(data, "depth.tif")


# --------------------------------------------------------------------------- perceptual hash


def test_recompressed_or_resized_copy_is_a_near_duplicate() -> None:
    original = make_image(640, 480, seed=7)
    data = encode(original, "JPEG", quality=92)
    copies = [
        encode(original, "JPEG", quality=60),
        encode(original.resize((576, 432)), "JPEG", quality=85),
        encode(original.resize((320, 240)), "PNG"),
    ]

    phash = process(data).phash
    for copy in copies:
        assert hamming_distance(phash, process(copy).phash) <= NEAR_DUPLICATE_DISTANCE


def test_different_images_are_far_apart() -> None:
    phashes = [process(make_jpeg(320, 240, seed=seed)).phash for seed in range(12)]

    distances = [hamming_distance(a, b) for a, b in itertools.combinations(phashes, 2)]
    assert min(distances) > 2 * NEAR_DUPLICATE_DISTANCE


def test_hamming_distance_counts_differing_bits() -> None:
    assert hamming_distance("0" * 16, "0" * 16) == 0
    assert hamming_distance("0" * 16, "f" * 16) == 64
    assert hamming_distance("8000000000000001", "0000000000000000") == 2
    with pytest.raises(ValueError):
        hamming_distance("abc", "0" * 16)
