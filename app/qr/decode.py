"""Read a QR code from an uploaded photo with zxing-cpp.

Photos are not generated images: they are rotated, perspective-skewed, blurred, noisy, too large
or too dark. zxing-cpp already searches all orientations, inverted codes and downscaled copies with
a local-average binarizer, which in our tests (tests/unit/qr/test_photo_decode.py) read every
rotated, scaled, blurred, noisy, dim and skewed photo on the first pass. We apply EXIF
orientation, work in grayscale at most 2000 px wide, and keep one fallback pass (autocontrast and
a global-histogram binarizer) for washed-out images.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
_WORK_EDGE = 2000  # decode on at most ~2000 px on the long edge: faster, and zxing copes
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class QrDecodeError(ValueError):
    """The upload is not a readable image, or no QR code could be found in it."""


class NoQrCodeFound(QrDecodeError):
    pass


def _open(image_bytes: bytes) -> Image.Image:
    if not image_bytes:
        raise QrDecodeError("image: empty upload")
    if len(image_bytes) > MAX_UPLOAD_BYTES:
        raise QrDecodeError(f"image: {len(image_bytes)} bytes is over the {MAX_UPLOAD_BYTES} byte limit")
    try:
        image = Image.open(io.BytesIO(image_bytes))
        if image.width * image.height > MAX_PIXELS:
            raise QrDecodeError(f"image: {image.width}x{image.height} pixels is too large")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise QrDecodeError(f"image: not a readable PNG/JPEG/WebP image ({exc})") from None
    return ImageOps.exif_transpose(image) or image


def _candidates(image: Image.Image) -> Iterator[tuple[str, Image.Image, zxingcpp.Binarizer]]:
    gray = image.convert("L")
    if max(gray.size) > _WORK_EDGE:
        gray.thumbnail((_WORK_EDGE, _WORK_EDGE), Image.Resampling.LANCZOS)
    yield "gray", gray, zxingcpp.Binarizer.LocalAverage
    # Safety net for flat, washed-out photos: stretch the histogram and binarize globally.
    yield "autocontrast", ImageOps.autocontrast(gray, cutoff=1), zxingcpp.Binarizer.GlobalHistogram


def decode_qr_codes(image_bytes: bytes) -> list[str]:
    """Every QR code text found in the image (first pass that finds any wins)."""
    image = _open(image_bytes)
    for name, candidate, binarizer in _candidates(image):
        found = zxingcpp.read_barcodes(candidate, formats=_QR_ONLY, binarizer=binarizer, try_rotate=True)
        texts = [b.text for b in found if b.valid and b.text]
        if texts:
            log.debug("QR found by the %s pass", name)
            return texts
    return []


def decode_qr_photo(image_bytes: bytes) -> str:
    """The text of the one QR code in a photo; :class:`NoQrCodeFound` if there is none."""
    texts = decode_qr_codes(image_bytes)
    if not texts:
        raise NoQrCodeFound(
            "image: no QR code found (try a sharper, closer photo with the whole code visible)"
        )
    if len(set(texts)) > 1:
        log.info("photo holds %d different QR codes; using the first", len(set(texts)))
    return texts[0]
