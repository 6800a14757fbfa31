"""Server-rendered pages (Jinja, autoescaped) and the page assets, with the security headers they need.

The pages load only ``/copilot/static/*`` (CSP ``default-src 'self'``: no inline script or style),
and the script writes every text with ``textContent``.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_HERE = Path(__file__).parent
STATIC_PREFIX = "/copilot/static"
ASSET_NAMES = ("copilot.js", "copilot.css")

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Every page and API answer of the copilot carries these (API answers: all but the CSP)."""

API_HEADERS = {k: v for k, v in PAGE_HEADERS.items() if k != "Content-Security-Policy"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


class PageRenderer:
    """Renders ``templates/*.html`` and serves ``static/*`` (read once, at construction)."""

    def __init__(self, templates: Path = _HERE / "templates", static: Path = _HERE / "static") -> None:
        self._env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=select_autoescape(("html",)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._assets: dict[str, Asset] = {}
        for name in ASSET_NAMES:
            body = (static / name).read_bytes()
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if media.startswith("text/") or media.endswith("javascript"):
                media += "; charset=utf-8"
            self._assets[name] = Asset(body, media, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')

    def asset_url(self, name: str) -> str:
        """The asset's URL with its content hash, so a new release is never served from a cache."""
        return f"{STATIC_PREFIX}/{name}?v={self._assets[name].etag.strip(chr(34))}"

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self._env.get_template(template).render(
            css=self.asset_url("copilot.css"), js=self.asset_url("copilot.js"), **context
        )
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)

    def asset(self, name: str, request: Request) -> Response:
        found = self._assets.get(name)
        if found is None:
            return Response(status_code=404)
        headers = {
            "ETag": found.etag,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)
