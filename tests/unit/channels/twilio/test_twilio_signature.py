"""X-Twilio-Signature: Twilio's published vectors through our URL rebuilding, and 403s over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from assistant.core.errors import InvalidInbound
from channels.twilio.config import TwilioChannelConfig
from channels.twilio.signature import InboundRequest, PublicUrlResolver, TwilioSignatureVerifier
from channels.twilio.wire import FormPairs
from tests.unit.channels.twilio.twilio_channel_doubles import (
    ScriptedDialogue,
    make_harness,
    parse_twiml,
    phone_config,
)

VECTORS = (
    Path(__file__).resolve().parents[4].parent / "shared/protocols/twilio/twilio_signature_test_vectors.json"
)
PROXY_PEER = "10.0.0.7"


def _vectors() -> dict[str, Any]:
    if not VECTORS.is_file():
        pytest.skip("../shared/protocols/twilio is not present")
    return json.loads(VECTORS.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _case_form(case: dict[str, Any], cases: list[dict[str, Any]]) -> FormPairs:
    if "params_multi" in case:
        return tuple((name, value) for name, value in case["params_multi"])
    if "body" in case:
        return ()
    params = cases[0]["params"] if case["params"] == "same as case 0" else case["params"]
    return tuple(params.items())


def _split(url: str) -> tuple[str, str, str]:
    scheme, rest = url.split("://", 1)
    host, slash, path = rest.partition("/")
    return scheme, host, slash + path


def _ways_to_arrive(url: str, body: bytes) -> dict[str, tuple[PublicUrlResolver, InboundRequest]]:
    """The same signed request as seen directly, behind a trusted proxy, and with a public base URL."""
    scheme, host, path = _split(url)
    bare_host = host.split(":")[0]
    direct = InboundRequest(scheme, host, path, {}, "198.51.100.4", body)
    proxied = InboundRequest(
        "http",
        "10.0.0.2:8000",
        path,
        {"x-forwarded-proto": scheme, "x-forwarded-host": bare_host, "x-forwarded-port": "443"},
        PROXY_PEER,
        body,
    )
    inner = InboundRequest("http", "127.0.0.1:8000", path, {}, "127.0.0.1", body)
    proxies = TwilioChannelConfig(trusted_proxies=("10.0.0.0/24",)).proxy_networks()
    return {
        "direct": (PublicUrlResolver(None, ()), direct),
        "trusted proxy": (PublicUrlResolver(None, proxies), proxied),
        "public base url": (PublicUrlResolver(f"{scheme}://{bare_host}", ()), inner),
    }


def test_twilio_published_vectors_validate_through_url_rebuilding() -> None:
    vectors = _vectors()
    token = SecretStr(vectors["auth_token"])
    cases: list[dict[str, Any]] = vectors["cases"]
    checked = 0
    for case in cases:
        form = _case_form(case, cases)
        body = case.get("body", "").encode("utf-8")
        for resolver, request in _ways_to_arrive(case["url"], body).values():
            signed = InboundRequest(
                request.scheme,
                request.host,
                request.path_and_query,
                {**request.headers, "x-twilio-signature": case["expected"]},
                request.peer,
                request.body,
            )
            verifier = TwilioSignatureVerifier(token, resolver)
            verifier.verify(signed, form)  # raises when the rebuilt URL or the signature is wrong
            checked += 1
            tampered_form = (*form, ("Digits", "9")) if form else form
            tampered_body = body.replace(b"true", b"false")
            tampered = InboundRequest(
                signed.scheme, signed.host, signed.path_and_query, signed.headers, signed.peer, tampered_body
            )
            with pytest.raises(InvalidInbound):
                verifier.verify(tampered, tampered_form)
    assert checked == 3 * len(cases)


def test_forwarded_headers_from_an_untrusted_peer_are_ignored() -> None:
    proxies = TwilioChannelConfig(trusted_proxies=("10.0.0.0/24",)).proxy_networks()
    resolver = PublicUrlResolver(None, proxies)
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "voice.example.go.kr"}
    outsider = InboundRequest("http", "10.0.0.2:8000", "/twilio/voice/gather", headers, "203.0.113.50", b"")
    insider = InboundRequest("http", "10.0.0.2:8000", "/twilio/voice/gather", headers, "10.0.0.9", b"")
    assert resolver.resolve(outsider) == "http://10.0.0.2:8000/twilio/voice/gather"
    assert resolver.resolve(insider) == "https://voice.example.go.kr/twilio/voice/gather"


def test_forwarded_port_and_first_hop_values() -> None:
    resolver = PublicUrlResolver(None, TwilioChannelConfig(trusted_proxies=("10.0.0.1",)).proxy_networks())
    headers = {
        "x-forwarded-proto": "https, http",
        "x-forwarded-host": "voice.example.go.kr, lb.internal",
        "x-forwarded-port": "8443",
    }
    request = InboundRequest("http", "app:8000", "/twilio/voice/answer?turn=x", headers, "10.0.0.1", b"")
    assert resolver.resolve(request) == "https://voice.example.go.kr:8443/twilio/voice/answer?turn=x"


def test_malformed_forwarded_headers_from_a_trusted_proxy_are_rejected() -> None:
    resolver = PublicUrlResolver(None, TwilioChannelConfig(trusted_proxies=("10.0.0.1",)).proxy_networks())
    request = InboundRequest(
        "http",
        "app",
        "/x",
        {"x-forwarded-host": "evil.example/path", "x-forwarded-proto": "https"},
        "10.0.0.1",
        b"",
    )
    with pytest.raises(InvalidInbound):
        resolver.resolve(request)


def test_a_missing_signature_is_rejected() -> None:
    verifier = TwilioSignatureVerifier(SecretStr("t"), PublicUrlResolver(None, ()))
    with pytest.raises(InvalidInbound, match="missing"):
        verifier.verify(InboundRequest("http", "h", "/", {}, None, b""), (("CallSid", "CA1"),))


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    with pytest.raises(ValueError, match="CIDR"):
        TwilioChannelConfig(trusted_proxies=("proxy.internal",))


INCOMING = "/twilio/voice/incoming"


@pytest.mark.anyio
async def test_a_tampered_request_gets_403_without_a_stack_trace() -> None:
    phone = make_harness(ScriptedDialogue())
    try:
        good = await phone.post(INCOMING)
        signature = phone.sign(phone.base + INCOMING, {"CallSid": "CA-other"})
        tampered = await phone.post(INCOMING, signature=signature)
        unsigned = await phone.post(INCOMING, signature="")
    finally:
        await phone.aclose()
    assert good.status_code == 200
    assert tampered.status_code == 403
    assert unsigned.status_code == 403
    assert "Traceback" not in tampered.text
    assert len(phone.dialogue.events) == 1  # only the good request reached the dialogue


@pytest.mark.anyio
async def test_proxy_headers_count_only_from_a_trusted_proxy() -> None:
    public = "https://voice.example.go.kr" + INCOMING
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "voice.example.go.kr"}
    untrusted = make_harness(
        ScriptedDialogue(), phone_config(trusted_proxies=("10.0.0.0/24",)), peer="192.0.2.1"
    )
    trusted = make_harness(
        ScriptedDialogue(), phone_config(trusted_proxies=("10.0.0.0/24",)), peer=PROXY_PEER
    )
    try:
        wrong_url = await untrusted.post(INCOMING, signed_url=public, headers=forwarded)
        right_url = await trusted.post(INCOMING, signed_url=public, headers=forwarded)
        internal_url = await trusted.post(INCOMING, headers=forwarded)
    finally:
        await untrusted.aclose()
        await trusted.aclose()
    assert wrong_url.status_code == 403
    assert right_url.status_code == 200
    parse_twiml(right_url.text)
    assert internal_url.status_code == 403


@pytest.mark.anyio
async def test_public_base_url_wins_over_forwarded_headers_and_the_request_url() -> None:
    config = phone_config(public_base_url="https://phone.dasan.example/", trusted_proxies=(PROXY_PEER,))
    phone = make_harness(ScriptedDialogue(), config, peer=PROXY_PEER)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "other.example"}
    try:
        by_public = await phone.post(
            INCOMING, signed_url="https://phone.dasan.example" + INCOMING, headers=forwarded
        )
        by_forwarded = await phone.post(
            INCOMING, signed_url="https://other.example" + INCOMING, headers=forwarded
        )
        by_request = await phone.post(INCOMING)
    finally:
        await phone.aclose()
    assert by_public.status_code == 200
    assert by_forwarded.status_code == 403
    assert by_request.status_code == 403
    gather = parse_twiml(by_public.text).find("Gather")
    assert gather is not None
    assert gather.get("action") == "https://phone.dasan.example/twilio/voice/gather"
