"""QR identity: issue (registrar) → PNG/SVG → a photo of it scanned → verified; re-issue revokes."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageFilter

from tests.unit.api.builders import BANK_A, DEALER, TA, Api, vin


def _photo_of(png: bytes) -> bytes:
    """The code as a phone would see it: scaled, rotated, blurred, on a noisy background, JPEG."""
    code = Image.open(io.BytesIO(png)).convert("RGB")
    code = code.resize((int(code.width * 1.3), int(code.height * 1.3)))
    code = code.rotate(17, expand=True, fillcolor=(235, 235, 230))
    rng = random.Random(7)
    scene = Image.new("RGB", (code.width + 400, code.height + 300))
    scene.putdata([tuple(rng.randint(90, 200) for _ in range(3)) for _ in range(scene.width * scene.height)])
    scene.paste(code, (180, 120))
    scene = scene.filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    scene.save(out, format="JPEG", quality=80)
    return out.getvalue()


def test_issue_render_scan_verify_and_revoke(api: Api) -> None:
    api.register(21)
    assert api.post(BANK_A, f"/vehicles/{vin(21)}/qr").status_code == 403
    issued = api.ok(api.post(TA, f"/vehicles/{vin(21)}/qr"), 201)
    assert issued["result"]["vin"] == vin(21) and issued["payload"].startswith("http")

    png = api.get(DEALER, f"/vehicles/{vin(21)}/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    svg = api.get(DEALER, f"/vehicles/{vin(21)}/qr.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content

    photo = _photo_of(png.content)
    scanned = api.client.post("/api/v1/qr/scan", files={"image": ("photo.jpg", photo, "image/jpeg")})
    verdict = api.ok(scanned)  # anonymous: a dealer's phone on the public page
    assert verdict["valid"] is True and verdict["outcome"] == "valid"
    assert verdict["vin"] == vin(21) and verdict["status"]["status"] == "REGISTERED"
    assert "owner" not in str(verdict).lower() and "Chen" not in str(verdict)

    reissued = api.ok(api.post(TA, f"/vehicles/{vin(21)}/qr"), 201)
    assert reissued["code_id"] != issued["code_id"]
    old = api.ok(api.client.post("/api/v1/qr/verify", json={"payload": issued["payload"]}))
    assert old["valid"] is False and old["outcome"] == "revoked" and old["signature_valid"] is True
    new = api.ok(api.post(DEALER, "/qr/verify", json={"payload": reissued["payload"]}))
    assert new["valid"] is True

    forged = reissued["payload"][:-3] + ("AAA" if not reissued["payload"].endswith("AAA") else "BBB")
    bad = api.ok(api.client.post("/api/v1/qr/verify", json={"payload": forged}))
    assert bad["valid"] is False and bad["outcome"] in ("invalid_signature", "malformed")

    blank = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(blank, format="PNG")
    none = api.client.post("/api/v1/qr/scan", files={"image": ("blank.png", blank.getvalue(), "image/png")})
    assert none.status_code == 400 and none.json()["error"]["details"][0]["field"] == "image"
