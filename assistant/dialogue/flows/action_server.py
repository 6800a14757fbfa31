"""ActionServerClient: runs actions on an external action server over the rasa-sdk custom-action protocol.

Request (``POST {url}/webhook``)::

    {"next_action": name, "sender_id": id, "version": "3.6.0", "domain": {},
     "tracker": {"sender_id": id, "conversation_id": id, "slots": {...}, "events": [],
                 "latest_message": {"text": ..., "intent": {}, "entities": []}, ...}}

Response: ``{"events": [{"event": "slot", "name": ..., "value": ...}, ...], "responses": [{"text": ...}]}``.
Slot events become the result's values and response texts its messages; other events are ignored.
rasa-sdk answers 400 (``ActionExecutionRejection``) or 404 (unknown action) with ``{"error", "action_name"}``.
Personal slots are sent as placeholders unless ``share_pii`` (a trusted server that books on our behalf).
This is the one module of the flows that imports httpx.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from assistant.core.errors import UpstreamError
from assistant.dialogue.flows.actions import ActionCall, ActionResult
from assistant.dialogue.flows.state import SlotValue

RASA_VERSION = "3.6.0"
"""The Rasa version we claim; rasa-sdk compares major.minor with its own and only warns on a mismatch."""


class ActionServerClient:
    """An ``Action`` for every name: posts the call to ``{base_url}/webhook``."""

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        share_pii: bool = False,
        rasa_version: str = RASA_VERSION,
    ) -> None:
        self._url = base_url.rstrip("/") + "/webhook"
        self._client = client
        self._share_pii = share_pii
        self._version = rasa_version
        self._log = logging.getLogger(__name__)

    def request_body(self, call: ActionCall) -> dict[str, Any]:
        """The rasa-sdk request for ``call`` (public for tests and debugging)."""
        slots = {
            name: "[개인정보]"
            if name in call.pii_slots and value is not None and not self._share_pii
            else value
            for name, value in call.slots.items()
        }
        return {
            "next_action": call.name,
            "sender_id": call.sender_id,
            "tracker": {
                "sender_id": call.sender_id,
                "conversation_id": call.sender_id,
                "slots": {name: _wire(value) for name, value in slots.items()},
                "latest_message": {"text": call.latest_text, "intent": {}, "entities": []},
                "latest_event_time": None,
                "followup_action": None,
                "paused": False,
                "events": [],
                "latest_input_channel": None,
                "active_loop": {},
                "latest_action": {},
            },
            "domain": {},
            "version": self._version,
        }

    async def run(self, call: ActionCall) -> ActionResult:
        try:
            response = await self._client.post(self._url, json=self.request_body(call))
        except httpx.HTTPError as exc:
            raise UpstreamError(f"action server: {type(exc).__name__}", retryable=True) from exc
        if response.status_code != 200:
            self._log.warning("action server answered %s to %s", response.status_code, call.name)
            raise UpstreamError(
                f"action server answered {response.status_code} to {call.name}: {_error_of(response)}",
                retryable=response.status_code >= 500,
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamError(f"action server sent no JSON for {call.name}") from exc
        if not isinstance(body, Mapping):
            raise UpstreamError(f"action server sent a {type(body).__name__} for {call.name}")
        return _result_of(body)


def _wire(value: SlotValue) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _error_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("error", body)) if isinstance(body, Mapping) else str(body)[:200]


def _result_of(body: Mapping[str, Any]) -> ActionResult:
    values: dict[str, SlotValue] = {}
    for event in body.get("events") or []:
        if isinstance(event, Mapping) and event.get("event") == "slot" and isinstance(event.get("name"), str):
            values[event["name"]] = _slot_value(event.get("value"))
    messages = tuple(
        text
        for response in body.get("responses") or []
        if isinstance(response, Mapping) and isinstance(text := response.get("text"), str) and text
    )
    return ActionResult(values=values, messages=messages)


def _slot_value(value: Any) -> SlotValue:
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return str(value)
