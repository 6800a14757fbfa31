"""SqlCaseRecordStore and SqlReferenceGenerator: bookings, complaints and their numbers in the database.

A record is split in two JSON columns: ``public`` is exactly its ``public_view()`` (what the citizen was
told and what dashboards may show); ``restricted`` is everything ``public_view`` leaves out (contact
phone and address, a complaint's free text and photo URL). Only staff APIs read ``restricted``; no log
line or error message quotes either (the engine hides bound parameters).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.core.errors import StorageError
from assistant.dialogue.flows.records import (
    BulkyWasteBooking,
    CaseRecord,
    CivilComplaint,
    RestrictedContact,
)
from assistant.sessions.sql_errors import storage_errors
from assistant.sessions.sql_schema import CASE_RECORDS, CASE_REFERENCE_COUNTERS

_BULKY = "bulky_waste_booking"
_COMPLAINT = "civil_complaint"


class SqlCaseRecordStore:
    """``CaseRecordStore`` on the ``case_records`` table. Like the in-memory store, ``add`` refuses a
    reference that exists already (``ValueError``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, record: CaseRecord) -> None:
        kind, public, restricted = encode_record(record)
        try:
            with storage_errors("case records"):
                async with self._engine.begin() as conn:
                    await conn.execute(
                        sa.insert(CASE_RECORDS).values(
                            reference=record.reference,
                            kind=kind,
                            created_at=record.created_at,
                            public=public,
                            restricted=restricted,
                        )
                    )
        except IntegrityError as exc:
            raise ValueError(f"reference {record.reference} exists already") from exc

    async def get(self, reference: str) -> CaseRecord | None:
        c = CASE_RECORDS.c
        with storage_errors("case records"):
            async with self._engine.begin() as conn:
                row = (
                    await conn.execute(
                        sa.select(c.kind, c.created_at, c.public, c.restricted).where(
                            c.reference == reference
                        )
                    )
                ).one_or_none()
        if row is None:
            return None
        return decode_record(row.kind, row.created_at, row.public, row.restricted)

    async def purge(self, older_than: datetime) -> int:
        """Delete records created before ``older_than`` (retention); returns how many. The reference
        counters stay: they hold no personal data and keep old numbers from being handed out again."""
        with storage_errors("case records"):
            async with self._engine.begin() as conn:
                deleted = await conn.execute(
                    sa.delete(CASE_RECORDS).where(CASE_RECORDS.c.created_at < older_than)
                )
        return int(deleted.rowcount)


class SqlReferenceGenerator:
    """``ReferenceGenerator`` over ``case_reference_counters``: ``{prefix}-{yyyymmdd}-{n:04d}``, counted
    per prefix and day by one atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING``, so numbers stay
    unique across restarts, workers and hosts sharing the database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def next_reference(self, prefix: str, day: date) -> str:
        counters = CASE_REFERENCE_COUNTERS
        with storage_errors("case references"):
            async with self._engine.begin() as conn:
                insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
                statement = (
                    insert(counters)
                    .values(prefix=prefix, day=day, last=1)
                    .on_conflict_do_update(
                        index_elements=["prefix", "day"], set_={"last": counters.c["last"] + 1}
                    )
                    .returning(counters.c["last"])
                )
                number = int((await conn.execute(statement)).scalar_one())
        return f"{prefix}-{day:%Y%m%d}-{number:04d}"


def encode_record(record: CaseRecord) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(kind, public, restricted)`` for the two JSON columns."""
    contact = {"phone": record.contact.phone, "address": record.contact.address}
    match record:
        case BulkyWasteBooking():
            return _BULKY, record.public_view(), {"contact": contact}
        case CivilComplaint():
            restricted = {
                "contact": contact,
                "description": record.description,
                "photo_url": record.photo_url,
            }
            return _COMPLAINT, record.public_view(), restricted


def decode_record(
    kind: str, created_at: datetime, public: dict[str, Any], restricted: dict[str, Any]
) -> CaseRecord:
    """The record ``encode_record`` split, whole again (with its ``RestrictedContact``)."""
    try:
        raw_contact = restricted["contact"]
        contact = RestrictedContact(phone=raw_contact["phone"], address=raw_contact["address"])
        match kind:
            case "bulky_waste_booking":
                return BulkyWasteBooking(
                    reference=public["reference"],
                    district=public["district"],
                    item=public["item"],
                    size=public["size"],
                    fee_won=int(public["fee_won"]),
                    pickup_date=date.fromisoformat(public["pickup_date"]),
                    created_at=created_at,
                    contact=contact,
                )
            case "civil_complaint":
                return CivilComplaint(
                    reference=public["reference"],
                    complaint_type=public["complaint_type"],
                    description=restricted["description"],
                    details={str(k): str(v) for k, v in public["details"].items()},
                    photo_url=restricted["photo_url"],
                    created_at=created_at,
                    contact=contact,
                )
            case _:
                raise StorageError(f"case record of unknown kind {kind!r}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Name the failure only: the values may be personal data.
        raise StorageError(f"a stored {kind} record is malformed ({type(exc).__name__})") from exc
