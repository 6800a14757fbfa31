"""``X-Twilio-Signature`` checks against the public URL Twilio called, rebuilt behind proxies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import parse_qs

from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from assistant.core.errors import InvalidInbound
from channels.twilio.config import ProxyNetwork
from channels.twilio.wire import FormPairs

SIGNATURE_HEADER = "x-twilio-signature"
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """What signature checking needs of an HTTP request, independent of the web framework.

    ``path_and_query`` is the raw (still percent-encoded) path and query; ``headers`` have
    lower-case names; ``peer`` is the TCP peer's address.
    """

    scheme: str
    host: str
    path_and_query: str
    headers: Mapping[str, str]
    peer: str | None
    body: bytes

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.path_and_query}"

    @property
    def query(self) -> str:
        return self.path_and_query.partition("?")[2]


class PublicUrlResolver:
    """Rebuilds the URL Twilio signed: ``public_base_url`` when configured (it wins), else
    ``X-Forwarded-Proto/Host/Port`` from a trusted proxy, else the URL the server saw."""

    def __init__(self, public_base_url: str | None, trusted_proxies: Sequence[ProxyNetwork]) -> None:
        self._base = public_base_url.rstrip("/") if public_base_url else None
        self._proxies = tuple(trusted_proxies)

    def resolve(self, request: InboundRequest) -> str:
        if self._base is not None:
            return self._base + request.path_and_query
        if not self._trusted(request.peer):
            return request.url
        headers = request.headers
        scheme = (_first(headers.get("x-forwarded-proto")) or request.scheme).lower()
        host = _first(headers.get("x-forwarded-host")) or request.host
        port = _first(headers.get("x-forwarded-port"))
        parsed = _HOST.match(host)
        if scheme not in _DEFAULT_PORTS or parsed is None or (port and not port.isdigit()):
            raise InvalidInbound("malformed X-Forwarded-* headers from a trusted proxy")
        if port and parsed[2] is None and port != _DEFAULT_PORTS[scheme]:
            host = f"{host}:{port}"
        return f"{scheme}://{host}{request.path_and_query}"

    def _trusted(self, peer: str | None) -> bool:
        if not peer or not self._proxies:
            return False
        try:
            address = ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._proxies)


class TwilioSignatureVerifier:
    """Checks a webhook's signature with the SDK's ``RequestValidator``; failure is ``InvalidInbound``."""

    def __init__(self, auth_token: SecretStr, resolver: PublicUrlResolver) -> None:
        self._validator = RequestValidator(auth_token.get_secret_value())
        self._resolver = resolver

    def verify(self, request: InboundRequest, form: FormPairs) -> None:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            raise InvalidInbound("missing X-Twilio-Signature")
        url = self._resolver.resolve(request)
        params: object
        if "bodySHA256" in parse_qs(request.query):
            try:
                params = request.body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInbound("webhook body is not UTF-8") from exc
        else:
            params = _MultiParams(form)
        if not self._validator.validate(url, params, signature):
            raise InvalidInbound("X-Twilio-Signature does not match")


class _MultiParams:
    """Form fields with repeats, in the ``getall`` shape ``RequestValidator`` understands."""

    def __init__(self, pairs: FormPairs) -> None:
        self._pairs = pairs

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._pairs))

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]


def _first(value: str | None) -> str:
    """The client-most entry of a comma-separated forwarded header."""
    return value.split(",")[0].strip() if value else ""
