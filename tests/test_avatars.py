"""Avatar re-encoding: any image we accept comes out as a small WebP; the rest is refused."""

import io
import subprocess
import sys

import pytest
from PIL import Image

from chatapp.avatars import InvalidAvatar, readable_size, reencode_avatar

LIMITS = {"size": 300, "max_bytes": 5 * 1024 * 1024, "max_pixels": 40_000_000}


def image_bytes(width, height, image_format="PNG", mode="RGB", color="teal", **save_options):
    """The bytes of an image made by Pillow."""
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, image_format, **save_options)
    return out.getvalue()


def reencode(data, **limits):
    """Re-encode the bytes as an upload, and open the result with Pillow."""
    webp = reencode_avatar(io.BytesIO(data), **{**LIMITS, **limits})
    return Image.open(io.BytesIO(webp))


@pytest.mark.parametrize(
    ("size", "fitted"),
    [
        ((1000, 500), (300, 150)),
        ((500, 1000), (150, 300)),
        ((900, 900), (300, 300)),
        ((301, 300), (300, 299)),
        ((120, 80), (120, 80)),
        ((1, 1), (1, 1)),
    ],
)
def test_an_image_is_fitted_into_the_square_keeping_its_shape(size, fitted):
    image = reencode(image_bytes(*size))
    assert image.format == "WEBP"
    assert image.size == fitted


def test_the_square_size_is_configurable():
    assert reencode(image_bytes(1000, 500), size=64).size == (64, 32)


@pytest.mark.parametrize(
    ("image_format", "mode", "color", "mode_out"),
    [
        ("PNG", "RGBA", (255, 0, 0, 100), "RGBA"),
        ("PNG", "LA", (128, 100), "RGBA"),
        ("PNG", "L", 128, "RGB"),
        ("PNG", "1", 1, "RGB"),
        ("PNG", "I;16", 30000, "RGB"),
        ("JPEG", "CMYK", (0, 255, 255, 0), "RGB"),
        ("TIFF", "F", 0.5, "RGB"),
    ],
)
def test_every_colour_mode_becomes_rgb_or_rgba(image_format, mode, color, mode_out):
    assert reencode(image_bytes(40, 20, image_format, mode, color)).mode == mode_out


def test_a_transparent_gif_keeps_its_transparency():
    frame = Image.new("P", (40, 20), 0)
    out = io.BytesIO()
    frame.save(out, "GIF", transparency=0)
    image = reencode(out.getvalue())
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0


def test_an_animated_gif_becomes_its_first_frame():
    frames = [Image.new("RGB", (40, 20), color) for color in ("red", "blue", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = reencode(out.getvalue()).convert("RGB")
    assert getattr(image, "n_frames", 1) == 1
    red, _, blue = image.getpixel((20, 10))
    assert red > 200 and blue < 60


def test_exif_orientation_is_applied():
    sideways = Image.new("RGB", (200, 100), "blue")
    sideways.paste("red", (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 8  # turn 90 degrees anticlockwise to see it upright
    out = io.BytesIO()
    sideways.save(out, "JPEG", exif=exif)
    image = reencode(out.getvalue()).convert("RGB")
    assert image.size == (100, 200)
    top, bottom = image.getpixel((50, 20)), image.getpixel((50, 180))
    assert top[2] > 200 and top[0] < 60
    assert bottom[0] > 200 and bottom[2] < 60


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"just some text, named like a picture\n",
        image_bytes(400, 400)[:200],
        image_bytes(40, 20, "EPS", "L"),
        image_bytes(40, 20, "PDF"),
        image_bytes(40, 20, "ICO"),
        image_bytes(40, 20, "PPM"),
    ],
    ids=["empty", "text", "truncated", "eps", "pdf", "ico", "ppm"],
)
def test_what_is_not_an_accepted_image_is_refused(data):
    with pytest.raises(InvalidAvatar, match="not an image we can read"):
        reencode(data)


def test_a_file_over_the_byte_limit_is_refused_before_it_is_opened():
    data = image_bytes(100, 100, "BMP")
    with pytest.raises(InvalidAvatar, match=r"^That image is over 1 KB\.$"):
        reencode(data, max_bytes=1024)
    assert reencode(data, max_bytes=len(data)).size == (100, 100)


@pytest.mark.parametrize(
    ("size", "said"),
    [
        (5 * 1024 * 1024, "5 MB"),
        (1536 * 1024, "1.5 MB"),
        (1024, "1 KB"),
        (2000, "2 KB"),
        (900, "900 bytes"),
    ],
)
def test_sizes_are_said_as_people_say_them(size, said):
    assert readable_size(size) == said


def test_an_image_over_the_pixel_limit_is_refused():
    with pytest.raises(InvalidAvatar, match="too many pixels"):
        reencode(image_bytes(101, 100), max_pixels=100 * 100)
    assert reencode(image_bytes(100, 100), max_pixels=100 * 100).size == (100, 100)


def test_a_decompression_bomb_is_refused_for_its_pixels():
    # 200 million pixels in about 25 KB: Pillow's own guard trips before our check.
    bomb = image_bytes(20_000, 10_000, "PNG", "1", 0)
    assert len(bomb) < 100_000
    with pytest.raises(InvalidAvatar, match="too many pixels"):
        reencode(bomb)


IMPORTS_AFTER_START = """
import io, sys
from PIL import Image
from chatapp import create_app
create_app({"TESTING": True, "SECRET_KEY": "-", "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "LOG_DIR": sys.argv[1]})
from chatapp.avatars import READABLE_FORMATS, reencode_avatar
before = set(sys.modules)
for name in READABLE_FORMATS:
    image = io.BytesIO()
    Image.new("RGB", (8, 8)).save(image, name)
    image.seek(0)
    reencode_avatar(image, size=300, max_bytes=1 << 20, max_pixels=1 << 20)
print(sorted(set(sys.modules) - before))
"""


def test_decoding_an_avatar_imports_nothing_once_the_app_is_made(tmp_path):
    # Avatars are decoded in gevent's thread pool, where two imports at once can deadlock.
    command = [sys.executable, "-c", IMPORTS_AFTER_START, str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
