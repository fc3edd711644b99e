"""The phone-photo maker of the QR tests: one copy, kept with the QR bench (scripts/bench/qr_photos.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[3] / "scripts" / "bench" / "qr_photos.py"
_SPEC = importlib.util.spec_from_file_location("qr_photos", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
_MODULE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_MODULE)

photograph = _MODULE.photograph
scene = _MODULE.scene
to_jpeg = _MODULE.to_jpeg
to_png = _MODULE.to_png
