"""Avatars: any image in, a small WebP out; anything else refused."""

import io

from PIL import Image, ImageOps, UnidentifiedImageError


class InvalidAvatar(ValueError):
    """An upload that is not an image we can use; its message says why."""


def reencode_avatar(stream, *, size, max_bytes, max_pixels):
    """Return the uploaded image resized to fit size x size and encoded as WebP."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidAvatar(f"That image is over {max_bytes // (1024 * 1024)} MB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            # Checked before decoding, so a small file cannot expand into gigabytes.
            if image.width * image.height > max_pixels:
                raise InvalidAvatar("That image has too many pixels.")
            return _fit_and_encode(image, size)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError):
        raise InvalidAvatar("That file is not an image we can read.") from None


def _fit_and_encode(image, size):
    image = ImageOps.exif_transpose(image)
    image.thumbnail((size, size))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    image.save(out, "WEBP", quality=85)
    return out.getvalue()
