"""QR codes of the check-in pages: server-made SVG (qrcode's SvgPathImage) and the kiosk's absolute URL."""

from __future__ import annotations

import io
from datetime import datetime

import qrcode
import qrcode.image.svg
from flask import Response, current_app, url_for

from checkin.tokens import next_rotation, valid_until

#: the quiet zone the QR specification asks for, in modules
BORDER = 4


def qr_svg(text: str) -> bytes:
    """The SVG document of a QR code holding `text` (error correction M: survives a scratched screen)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=BORDER, image_factory=qrcode.image.svg.SvgPathImage
    )
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()


def kiosk_url(token: str) -> str:
    """The absolute URL a kiosk QR holds: PUBLIC_BASE_URL when configured, else the host the kiosk was opened on."""
    path = url_for("checkin_links.kiosk_arrival", token=token)
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + path if base else url_for("checkin_links.kiosk_arrival", token=token, _external=True)


def rotating_svg_response(text: str, *, now: datetime) -> Response:
    """An SVG QR answer that tells the page's script when to fetch the next one (X-QR-Rotates-In, seconds)."""
    response = Response(qr_svg(text), mimetype="image/svg+xml")
    response.headers["X-QR-Rotates-In"] = f"{max((next_rotation(now) - now).total_seconds(), 0.0):.3f}"
    response.headers["X-QR-Valid-Until"] = valid_until(now).isoformat()
    response.headers["Cache-Control"] = "no-store"
    return response
