"""The page's files: static assets held in memory with content-hash versions, the rendered chat page,
and the security and cache headers they are served with.

Decision: the page references every asset as ``/web/static/NAME?v=HASH``; a request carrying the
current hash is cached for a year (``immutable``), any other is revalidated (``no-cache`` + ETag), so
a deploy never serves a stale script next to a new page. ES module imports between scripts carry no
hash and are therefore revalidated: cheap 304s on a handful of small files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATE_DIR = PACKAGE_DIR / "templates"
STATIC_PREFIX = "/web/static/"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file as served: its bytes, media type and content hash (the ``v`` of its URL and its ETag)."""

    name: str
    body: bytes
    media_type: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def url(self) -> str:
        return f"{STATIC_PREFIX}{self.name}?v={self.version}"


def load_assets(directory: Path = STATIC_DIR) -> dict[str, Asset]:
    """Every servable file directly in ``directory`` (by name; nothing else is reachable)."""
    assets: dict[str, Asset] = {}
    for path in sorted(directory.iterdir()):
        media_type = _TYPES.get(path.suffix)
        if path.is_file() and media_type is not None:
            body = path.read_bytes()
            assets[path.name] = Asset(path.name, body, media_type, _digest(body))
    return assets


def render_page(
    assets: dict[str, Asset], *, poll_ms: int, fast_poll_ms: int, template: str = "chat.html"
) -> Asset:
    """The chat page, rendered once (it has no per-request content)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    html = environment.get_template(template).render(
        asset={name: asset.url for name, asset in assets.items()},
        poll_ms=poll_ms,
        fast_poll_ms=fast_poll_ms,
    )
    body = html.encode("utf-8")
    return Asset(template, body, _TYPES[".html"], _digest(body))


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]
