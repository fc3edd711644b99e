"""Decoding QR codes from photo-like images with zxing-cpp, then verifying what was read."""

from __future__ import annotations

import zlib

import pytest

from app.qr import (
    AuthorityKey,
    CodeRecord,
    NoQrCodeFound,
    Outcome,
    QrDecodeError,
    QrIssuer,
    QrVerifier,
    decode_qr_photo,
)
from tests.unit.qr.photos import photograph, scene, to_jpeg, to_png

VIN = "1HGCM82633A004352"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> AuthorityKey:
    return AuthorityKey.load_or_create_embedded(tmp_path_factory.mktemp("qr"))


@pytest.fixture(scope="module")
def issued(key: AuthorityKey):  # type: ignore[no-untyped-def]
    return QrIssuer(key, "https://ledger.example").issue(VIN, code_id="VC-PHOTO0001")


CASES = {
    "plain, embedded in a scene": {},
    "rotated 17 degrees": {"angle": 17},
    "rotated 90 degrees": {"angle": 90},
    "upside down": {"angle": 180},
    "rotated 233 degrees": {"angle": 233},
    "scaled down to 45%": {"scale": 0.45},
    "scaled up 1.8x": {"scale": 1.8, "position": (50, 50), "canvas": (1800, 1400)},
    "blurred": {"blur": 2.0},
    "noisy": {"noise": 25.0},
    "dim and low contrast": {"brightness": 0.55, "contrast": 0.6},
    "perspective": {"perspective": 0.12},
    "everything": {
        "angle": 11,
        "scale": 0.8,
        "blur": 1.2,
        "noise": 12.0,
        "perspective": 0.08,
        "brightness": 0.8,
    },
}


# Every case as a JPEG (what phones send); a few as lossless PNG too.
PHOTO_CASES = [(case, "jpeg") for case in CASES] + [
    (case, "png") for case in ("rotated 17 degrees", "noisy", "everything")
]


@pytest.mark.parametrize(("case", "fmt"), PHOTO_CASES)
def test_photo_is_decoded(issued, case: str, fmt: str) -> None:  # type: ignore[no-untyped-def]
    photo = photograph(issued.png(), seed=zlib.crc32(case.encode()) % 1000, **CASES[case])  # type: ignore[arg-type]
    data = to_jpeg(photo) if fmt == "jpeg" else to_png(photo)
    assert decode_qr_photo(data) == issued.url


def test_photo_scan_then_verify(key: AuthorityKey, issued) -> None:  # type: ignore[no-untyped-def]
    photo = to_jpeg(photograph(issued.png(), angle=-23, blur=1.0, noise=10.0))
    verifier = QrVerifier.for_authority(key)
    ledger = {"VC-PHOTO0001": CodeRecord(VIN, revoked=False, payload_sha256=issued.payload_sha256)}
    assert verifier.verify_photo(photo, ledger.get).outcome is Outcome.VALID
    ledger["VC-PHOTO0001"] = CodeRecord(VIN, revoked=True)
    assert verifier.verify_photo(photo, ledger.get).outcome is Outcome.REVOKED


def test_photo_without_code_and_bad_uploads() -> None:
    with pytest.raises(NoQrCodeFound, match="no QR code found"):
        decode_qr_photo(to_jpeg(scene(3)))
    with pytest.raises(QrDecodeError, match="not a readable"):
        decode_qr_photo(b"GIF89a-but-not-really")
    with pytest.raises(QrDecodeError, match="empty"):
        decode_qr_photo(b"")


def test_svg_rendering_decodes_after_rasterising(issued) -> None:  # type: ignore[no-untyped-def]
    # Rasterise the SVG's path ourselves (no cairo here): parse the rectangles it draws.
    import re

    from PIL import Image, ImageDraw

    svg = issued.svg().decode()
    match = re.search(r'<path d="([^"]+)"', svg)
    assert match, svg[:200]
    path = match.group(1)
    size = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert size
    w, h = int(size.group(1)), int(size.group(2))
    scale = 10
    image = Image.new("L", (w * scale, h * scale), 255)
    draw = ImageDraw.Draw(image)
    rects = re.findall(r"M(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)H(\d+(?:\.\d+)?)V(\d+(?:\.\d+)?)H[\d.]+z", path)
    assert len(rects) > 500
    for x0, y0, x1, y1 in rects:
        box = [float(x0) * scale, float(y0) * scale, float(x1) * scale - 1, float(y1) * scale - 1]
        draw.rectangle(box, fill=0)
    assert decode_qr_photo(to_png(image)) == issued.url


async def test_async_photo_verify(key: AuthorityKey, issued) -> None:  # type: ignore[no-untyped-def]
    photo = to_jpeg(photograph(issued.png(), angle=40))

    async def lookup(code_id: str) -> CodeRecord | None:
        return CodeRecord(VIN, revoked=False) if code_id == "VC-PHOTO0001" else None

    verifier = QrVerifier.for_authority(key)
    assert (await verifier.averify_photo(photo, lookup)).outcome is Outcome.VALID
    assert (await verifier.averify_photo(b"junk", lookup)).outcome is Outcome.MALFORMED
