"""Turn a rendered QR code into something like a phone photo, with pillow and numpy.

The one copy: the benchmark uses it and the QR tests load it from here (tests/unit/qr/photos.py), since
benches import only the product and their own helpers, never the tests.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter


def to_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def to_jpeg(image: Image.Image, quality: int = 70) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def scene(seed: int, size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """A cluttered background: gradient, random shapes and text-like strokes."""
    rng = np.random.default_rng(seed)
    w, h = size
    gradient = np.linspace(60, 200, w, dtype=np.float32)[None, :, None] * np.ones((h, 1, 3), np.float32)
    tint = rng.uniform(0.7, 1.1, size=(1, 1, 3)).astype(np.float32)
    base = Image.fromarray(np.clip(gradient * tint, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(base)
    for _ in range(60):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.rectangle([x, y, x + int(rng.integers(5, 120)), y + int(rng.integers(2, 40))], fill=color)
    return base


def photograph(
    qr_png: bytes,
    *,
    seed: int = 1,
    angle: float = 0.0,
    scale: float = 1.0,
    blur: float = 0.0,
    noise: float = 0.0,
    brightness: float = 1.0,
    contrast: float = 1.0,
    perspective: float = 0.0,
    position: tuple[int, int] = (300, 200),
    canvas: tuple[int, int] = (1600, 1200),
) -> Image.Image:
    rng = np.random.default_rng(seed)
    code = Image.open(io.BytesIO(qr_png)).convert("RGB")
    if scale != 1.0:
        code = code.resize((int(code.width * scale), int(code.height * scale)), Image.Resampling.BILINEAR)
    if perspective:
        w, h = code.size
        d = perspective * w
        # Map the square onto a trapezoid (the camera looks at the sticker from one side).
        src: list[tuple[float, float]] = [(0, 0), (w, 0), (w, h), (0, h)]
        dst: list[tuple[float, float]] = [(d, d * 0.5), (w - d * 0.2, 0), (w, h), (0, h - d * 0.4)]
        coeffs = _perspective_coeffs(dst, src)
        code = code.transform(
            (w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor="white"
        )
    if angle:
        code = code.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC, fillcolor="white")
    photo = scene(seed, canvas)
    photo.paste(code, position)
    if blur:
        photo = photo.filter(ImageFilter.GaussianBlur(blur))
    if brightness != 1.0:
        photo = ImageEnhance.Brightness(photo).enhance(brightness)
    if contrast != 1.0:
        photo = ImageEnhance.Contrast(photo).enhance(contrast)
    if noise:
        arr = np.asarray(photo, dtype=np.float32)
        arr += rng.normal(0, noise, arr.shape)
        photo = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return photo


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    rows = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = np.array([c for pair in dst for c in pair], dtype=np.float64)
    return list(np.linalg.solve(a, b))
