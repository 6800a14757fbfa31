"""Cross-site request refusal for state-changing requests (CSRF), on top of the SameSite=Strict cookie.

A request may change state only when the browser says it comes from this origin: an ``Origin`` header
equal to the request's own origin (or a trusted one), and, when present, ``Sec-Fetch-Site:
same-origin``. A request with neither header is refused: every browser this page supports sends
``Origin`` on POST, so only a non-browser client omits both, and those have no business here.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit


def _host(netloc: str) -> str:
    """The host with a default port (80, 443) dropped, lowercase."""
    host = netloc.strip().lower()
    for default in (":80", ":443"):
        if host.endswith(default):
            return host[: -len(default)]
    return host


def _origin_host(origin: str) -> str | None:
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        return None
    if parts.username is not None or parts.query or parts.fragment:
        return None
    return _host(parts.netloc)


def is_same_origin(headers: Mapping[str, str], *, host: str, trusted: tuple[str, ...] = ()) -> bool:
    """True when ``headers`` (lowercase names) show a same-origin browser request to ``host`` (the
    request's ``Host``) or to one of the ``trusted`` origins.

    Schemes are not compared: behind a TLS-terminating proxy the app sees ``http`` while the browser
    sends ``Origin: https://…``. A browser labels an http↔https request ``Sec-Fetch-Site: cross-site``
    anyway, which is refused.
    """
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() != "same-origin":
        return False
    origin = headers.get("origin")
    if origin is None:
        return fetch_site is not None
    given = _origin_host(origin)
    if given is None:
        return False
    allowed = {_host(host)} | {h for t in trusted if (h := _origin_host(t)) is not None}
    return given in allowed
