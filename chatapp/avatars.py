"""Avatars: any image in, a small WebP out; anything else refused."""

import functools
import io

from PIL import Image, ImageOps, UnidentifiedImageError

# The formats the upload form names; anything else (EPS would run Ghostscript) is refused.
READABLE_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
TOO_MANY_PIXELS = "That image has too many pixels."


def init_app(app):
    """Load Pillow's image plugins and codecs now, before any avatar is decoded."""
    load_codecs()


@functools.cache
def load_codecs():
    """Re-encode a tiny image once, so that every module it needs is imported here.

    Pillow imports its plugins on first use, and avatars are decoded in gevent's thread
    pool, where the import lock is a gevent lock: two threads importing at once can
    deadlock, and the upload waits forever.
    """
    Image.init()
    png = io.BytesIO()
    Image.new("RGB", (1, 1)).save(png, "PNG")
    webp = reencode_avatar(io.BytesIO(png.getvalue()), size=1, max_bytes=1 << 20, max_pixels=1)
    reencode_avatar(io.BytesIO(webp), size=1, max_bytes=1 << 20, max_pixels=1)


class InvalidAvatar(ValueError):
    """An upload that is not an image we can use; its message says why."""


def reencode_avatar(stream, *, size, max_bytes, max_pixels):
    """Return the uploaded image resized to fit size x size and encoded as WebP."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidAvatar(f"That image is over {readable_size(max_bytes)}.")
    try:
        with Image.open(io.BytesIO(data), formats=READABLE_FORMATS) as image:
            # Checked before decoding, so a small file cannot expand into gigabytes.
            if image.width * image.height > max_pixels:
                raise InvalidAvatar(TOO_MANY_PIXELS)
            # A JPEG can be decoded at 1/2, 1/4 or 1/8 of its size: no larger than needed.
            image.draft("RGB", (size, size))
            return _fit_and_encode(image, size)
    except Image.DecompressionBombError:
        raise InvalidAvatar(TOO_MANY_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise InvalidAvatar("That file is not an image we can read.") from None


def readable_size(size):
    """A byte count as people write it: 5 MB, 1.5 KB, 900 bytes."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{round(size / scale, 1):g} {unit}"
    return f"{size} bytes"


def _fit_and_encode(image, size):
    image = ImageOps.exif_transpose(image)
    image.thumbnail((size, size))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    image.save(out, "WEBP", quality=85)
    return out.getvalue()
