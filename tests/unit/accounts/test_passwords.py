"""Argon2Passwords and the password policy: real argon2id (cheap costs except where the default is the
point), verification, rehash detection, the dummy verify and the worker-thread bound."""

from __future__ import annotations

import asyncio
import time

import pytest

from assistant.accounts.passwords import MAX_PASSWORD_CHARS, Argon2Passwords, check_password_policy
from assistant.accounts.ports import MIN_PASSWORD_CHARS, WeakPassword

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def cheap(**overrides: int) -> Argon2Passwords:
    costs = {"time_cost": 1, "memory_cost_kib": 1024, "parallelism": 1} | overrides
    return Argon2Passwords(**costs)


async def test_hash_and_verify() -> None:
    passwords = cheap()
    stored = await passwords.hash("비밀번호는 길게 써요")

    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert await passwords.verify(stored, "비밀번호는 길게 써요")
    assert not await passwords.verify(stored, "비밀번호는 길게 써요 ")
    assert not await passwords.verify("not a hash", "anything")
    assert await passwords.hash("same password 1") != await passwords.hash("same password 1")  # salted


async def test_the_default_is_rfc_9106_low_memory() -> None:
    stored = await Argon2Passwords().hash("correct horse 1")

    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


async def test_needs_rehash_when_the_parameters_changed() -> None:
    stored = await cheap().hash("correct horse 1")

    assert not cheap().needs_rehash(stored)
    assert cheap(time_cost=2).needs_rehash(stored)
    assert cheap(memory_cost_kib=2048).needs_rehash(stored)
    assert cheap().needs_rehash("$2b$12$not-argon2")


async def test_the_dummy_verify_fails_and_costs_like_a_real_one() -> None:
    passwords = cheap(time_cost=4, memory_cost_kib=8192)
    stored = await passwords.hash("correct horse 1")
    await passwords.verify_dummy("warm up")  # the dummy hash is made once, on first use
    real, dummy = [], []
    for _ in range(7):  # interleaved, and the fastest of each: robust to a busy machine
        started = time.perf_counter()
        await passwords.verify(stored, "wrong password")
        real.append(time.perf_counter() - started)
        started = time.perf_counter()
        await passwords.verify_dummy("wrong password")
        dummy.append(time.perf_counter() - started)

    assert 0.5 < min(dummy) / min(real) < 2.0


async def test_hashing_runs_off_the_event_loop() -> None:
    passwords = cheap(time_cost=3, memory_cost_kib=4096)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    await asyncio.gather(*(passwords.hash(f"password number {i}") for i in range(6)))
    ticking.cancel()

    assert ticks > 6  # the loop kept running while the hashes were computed


@pytest.mark.parametrize(
    ("name", "password", "problem"),
    [
        ("kim", "x" * (MIN_PASSWORD_CHARS - 1), "too short"),
        ("kim", "x" * (MAX_PASSWORD_CHARS + 1), "too long"),
        ("kim", " " * MIN_PASSWORD_CHARS, "only spaces"),
        ("kim.agent.1", "KIM.AGENT.1", "account name"),
        ("kim.agent.1", " kim.agent.1 ", "account name"),
    ],
)
def test_the_policy_names_the_problem(name: str, password: str, problem: str) -> None:
    with pytest.raises(WeakPassword, match=problem):
        check_password_policy(name, password)


def test_the_policy_accepts_long_passwords_in_any_script() -> None:
    check_password_policy("kim", "x" * MIN_PASSWORD_CHARS)
    check_password_policy("kim", "내 비밀번호는 정말 길어요")
    check_password_policy("kim", "x" * MAX_PASSWORD_CHARS)
