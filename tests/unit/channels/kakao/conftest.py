"""Fixtures for the Kakao channel tests: the asyncio backend and the shared protocol samples."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.channels.kakao.kakao_doubles import REAL_PAYLOAD, SHARED_KAKAO, V1_DOCS_PAYLOAD, shared_json


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def real_payload() -> dict[str, Any]:
    """The captured (sanitised) SkillPayload with a callbackUrl; skipped where ../shared is absent."""
    if not (SHARED_KAKAO / REAL_PAYLOAD).exists():
        pytest.skip("../shared/protocols/kakao is not present")
    return shared_json(REAL_PAYLOAD)


@pytest.fixture
def v1_payload() -> dict[str, Any]:
    """The v1 docs example (lang "kr", user.type "talk_user_id"); skipped where ../shared is absent."""
    if not (SHARED_KAKAO / V1_DOCS_PAYLOAD).exists():
        pytest.skip("../shared/protocols/kakao is not present")
    return shared_json(V1_DOCS_PAYLOAD)
