"""Draw a QR code as PNG or SVG.

Error-correction level Q (25% of codewords recoverable) by default: the code is meant to be
photographed on a windscreen sticker or a printed certificate, so smudges and glare are expected.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


def _make(content: str, *, error_correction: str, box_size: int, border: int) -> qrcode.QRCode:
    if not content:
        raise ValueError("content: empty")
    try:
        level = _LEVELS[error_correction]
    except KeyError:
        raise ValueError(f"error_correction: {error_correction!r} is not one of L, M, Q, H") from None
    if box_size < 1 or border < 0:
        raise ValueError("box_size must be >= 1 and border >= 0")
    qr = qrcode.QRCode(error_correction=level, box_size=box_size, border=border)
    qr.add_data(content)
    qr.make(fit=True)
    return qr


def render_png(content: str, *, error_correction: str = "Q", box_size: int = 8, border: int = 4) -> bytes:
    """PNG bytes (1-bit black on white); the quiet zone of ``border`` modules is included."""
    qr = _make(content, error_correction=error_correction, box_size=box_size, border=border)
    image = qr.make_image(image_factory=PilImage)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def render_svg(content: str, *, error_correction: str = "Q", box_size: int = 10, border: int = 4) -> bytes:
    """A standalone SVG document (one path, scalable; sizes in mm as qrcode writes them)."""
    qr = _make(content, error_correction=error_correction, box_size=box_size, border=border)
    image = qr.make_image(image_factory=SvgPathImage)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def qr_version(content: str, *, error_correction: str = "Q") -> int:
    """The QR symbol version (1-40) the content needs: a size check for payload changes."""
    return int(_make(content, error_correction=error_correction, box_size=1, border=0).version)
