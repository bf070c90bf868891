"""Security headers on every response: CSP, nosniff, Referrer-Policy, HSTS over https."""
from __future__ import annotations

from flask import Flask, Response, current_app

# No inline script or style anywhere: every script and style sheet is a file under static/.
# img-src allows data: for the blank favicon; the enrolment QR code is inline SVG markup.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    """Add the headers to every response Flask makes (the banner fast path sets its own)."""
    app.after_request(_secure)


def _secure(resp: Response) -> Response:
    headers = resp.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if resp.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config["PUBLIC_URL"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return resp
