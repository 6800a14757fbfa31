"""Contract suites for ``CaseRecordStore`` and ``ReferenceGenerator``: in memory, on SQLite and on the real
PostgreSQL. Records round-trip whole (their ``RestrictedContact`` included) while the public column holds
only ``public_view()``; references count per prefix and day, stay unique when generators race, and go
on counting after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.dialogue.flows.records import (
    BulkyWasteBooking,
    CaseRecordStore,
    CivilComplaint,
    DailySequenceReferences,
    InMemoryCaseRecordStore,
    ReferenceGenerator,
    RestrictedContact,
)
from assistant.dialogue.flows.sql_records import SqlCaseRecordStore, SqlReferenceGenerator
from assistant.sessions.sql_engine import create_session_engine
from assistant.sessions.sql_schema import CASE_RECORDS
from tests.contract.sql_backends import SQL_BACKENDS, postgres_database, sql_database, sqlite_database

pytestmark = pytest.mark.anyio

KINDS = ["memory", *SQL_BACKENDS]
CREATED = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
PHONE, ADDRESS = "010-1234-5678", "서울특별시 마포구 월드컵북로 12, 302호"


def booking(reference: str = "BW-20260302-0001", **contact: str | None) -> BulkyWasteBooking:
    return BulkyWasteBooking(
        reference=reference,
        district="마포구",
        item="장롱",
        size="폭 120cm 이상",
        fee_won=15_000,
        pickup_date=date(2026, 3, 6),
        created_at=CREATED,
        contact=RestrictedContact(**contact) if contact else RestrictedContact(phone=PHONE, address=ADDRESS),
    )


def complaint(reference: str = "CP-20260302-0001", photo_url: str | None = None) -> CivilComplaint:
    return CivilComplaint(
        reference=reference,
        complaint_type="가로등 고장",
        description="밤마다 깜빡거려요. 010-9876-5432로 연락 주세요",
        details={"pole_number": "마포-1234"},
        photo_url=photo_url,
        created_at=CREATED,
        contact=RestrictedContact(address="합정역 7번 출구 앞"),
    )


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CaseRecordStore]:
    if request.param == "memory":
        yield InMemoryCaseRecordStore()
        return
    async with sql_database(request.param, tmp_path) as engine:
        yield SqlCaseRecordStore(engine)


@pytest.fixture(params=KINDS)
async def references(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReferenceGenerator]:
    if request.param == "memory":
        yield DailySequenceReferences()
        return
    async with sql_database(request.param, tmp_path) as engine:
        yield SqlReferenceGenerator(engine)


# ── records ─────────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "record",
    [
        booking(),
        booking("BW-20260302-0002", phone=None, address=None),
        booking("BW-20260302-0003", phone=PHONE),
        complaint(),
        complaint("CP-20260302-0002", photo_url="https://example.org/p/1.jpg"),
    ],
    ids=["booking", "booking-no-contact", "booking-phone-only", "complaint", "complaint-photo"],
)
async def test_records_round_trip_with_their_contact(store: CaseRecordStore, record: object) -> None:
    assert isinstance(record, BulkyWasteBooking | CivilComplaint)

    await store.add(record)

    loaded = await store.get(record.reference)
    assert loaded == record
    assert loaded is not None and loaded.contact.phone == record.contact.phone
    assert loaded.contact.address == record.contact.address
    assert await store.get("BW-20260302-9999") is None


async def test_a_reference_is_stored_once(store: CaseRecordStore) -> None:
    await store.add(booking())

    with pytest.raises(ValueError, match="BW-20260302-0001 exists already"):
        await store.add(booking(phone="010-0000-0000"))
    loaded = await store.get("BW-20260302-0001")
    assert loaded is not None and loaded.contact.phone == PHONE


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_the_public_column_holds_only_the_public_view(backend: str, tmp_path: Path) -> None:
    async with sql_database(backend, tmp_path) as engine:
        store = SqlCaseRecordStore(engine)
        records = [booking(), complaint(photo_url="https://example.org/p/1.jpg")]
        for record in records:
            await store.add(record)

        async with engine.connect() as conn:
            rows = (await conn.execute(sa.select(CASE_RECORDS).order_by(CASE_RECORDS.c.reference))).all()

    assert [(row.kind, row.public) for row in rows] == [
        ("bulky_waste_booking", records[0].public_view()),
        ("civil_complaint", records[1].public_view()),
    ]
    public_text = str([row.public for row in rows])
    for personal in (PHONE, ADDRESS, "합정역", "010-9876-5432", "example.org"):
        assert personal not in public_text
    assert rows[0].restricted["contact"] == {"phone": PHONE, "address": ADDRESS}


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_purge_deletes_records_created_before_the_cutoff(backend: str, tmp_path: Path) -> None:
    async with sql_database(backend, tmp_path) as engine:
        store = SqlCaseRecordStore(engine)
        await store.add(booking())
        later = complaint()
        await store.add(CivilComplaint(**{**_fields(later), "created_at": datetime(2027, 1, 1, tzinfo=UTC)}))

        assert await store.purge(datetime(2026, 6, 1, tzinfo=UTC)) == 1
        assert await store.purge(datetime(2026, 6, 1, tzinfo=UTC)) == 0
        assert await store.get("BW-20260302-0001") is None
        assert await store.get("CP-20260302-0001") is not None


def _fields(record: CivilComplaint) -> dict[str, object]:
    return {name: getattr(record, name) for name in CivilComplaint.__slots__}


# ── references ──────────────────────────────────────────────────────────────────────────────────────────


async def test_references_count_per_prefix_and_day(references: ReferenceGenerator) -> None:
    day, next_day = date(2026, 3, 2), date(2026, 3, 3)

    got = [
        await references.next_reference("BW", day),
        await references.next_reference("BW", day),
        await references.next_reference("CP", day),
        await references.next_reference("BW", next_day),
        await references.next_reference("BW", day),
    ]

    assert got == [
        "BW-20260302-0001",
        "BW-20260302-0002",
        "CP-20260302-0001",
        "BW-20260303-0001",
        "BW-20260302-0003",
    ]


async def test_racing_references_are_unique_and_gapless(references: ReferenceGenerator) -> None:
    day = date(2026, 3, 2)

    got = await asyncio.gather(*(references.next_reference("BW", day) for _ in range(20)))

    assert sorted(got) == [f"BW-20260302-{n:04d}" for n in range(1, 21)]


async def test_sql_references_survive_a_restart_on_sqlite(tmp_path: Path) -> None:
    day = date(2026, 3, 2)
    async with sqlite_database(tmp_path / "dasan.sqlite3") as (engine, url):
        assert await SqlReferenceGenerator(engine).next_reference("BW", day) == "BW-20260302-0001"
    restarted = create_session_engine(url)
    try:
        assert await SqlReferenceGenerator(restarted).next_reference("BW", day) == "BW-20260302-0002"
    finally:
        await restarted.dispose()


async def test_sql_references_are_unique_across_processes_on_postgresql() -> None:
    """Two engines (two workers' connection pools) racing on one counter."""
    day = date(2026, 3, 2)
    async with postgres_database() as (first, url, schema):
        second: AsyncEngine = create_session_engine(url, schema=schema)
        try:
            generators = [SqlReferenceGenerator(first), SqlReferenceGenerator(second)]
            got = await asyncio.gather(*(generators[i % 2].next_reference("CP", day) for i in range(30)))
        finally:
            await second.dispose()

    assert sorted(got) == [f"CP-20260302-{n:04d}" for n in range(1, 31)]
