"""What flows create: bulky-waste bookings and complaints, their reference numbers and the store they go to.

Personal data (phone, address, a complaint's location) sits only in a record's ``contact``: a
``RestrictedContact`` that never shows in ``repr`` or in the record's ``public_view``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class RestrictedContact:
    """Personal details of a record: read them on purpose (``phone``, ``address``); never logged."""

    phone: str | None = None
    address: str | None = None

    def __repr__(self) -> str:
        return "RestrictedContact(<restricted>)"


@dataclass(frozen=True, slots=True)
class BulkyWasteBooking:
    """A bulky-waste pickup booking priced from the district's fee table."""

    reference: str
    district: str
    item: str
    size: str | None
    fee_won: int
    pickup_date: date
    created_at: datetime
    contact: RestrictedContact

    def public_view(self) -> dict[str, Any]:
        return {
            "kind": "bulky_waste_booking",
            "reference": self.reference,
            "district": self.district,
            "item": self.item,
            "size": self.size,
            "fee_won": self.fee_won,
            "pickup_date": self.pickup_date.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class CivilComplaint:
    """A complaint (illegal parking, a broken street light) and where it is."""

    reference: str
    complaint_type: str
    description: str
    details: Mapping[str, str]
    photo_url: str | None
    created_at: datetime
    contact: RestrictedContact

    def public_view(self) -> dict[str, Any]:
        return {
            "kind": "civil_complaint",
            "reference": self.reference,
            "complaint_type": self.complaint_type,
            "details": dict(self.details),
            "has_photo": self.photo_url is not None,
        }


CaseRecord = BulkyWasteBooking | CivilComplaint


class CaseRecordStore(Protocol):
    """Where bookings and complaints are kept (in memory here; SQL in the app)."""

    async def add(self, record: CaseRecord) -> None: ...

    async def get(self, reference: str) -> CaseRecord | None: ...


class InMemoryCaseRecordStore:
    """A dict of records by reference; refuses a reference twice."""

    def __init__(self) -> None:
        self._records: dict[str, CaseRecord] = {}

    async def add(self, record: CaseRecord) -> None:
        if record.reference in self._records:
            raise ValueError(f"reference {record.reference} exists already")
        self._records[record.reference] = record

    async def get(self, reference: str) -> CaseRecord | None:
        return self._records.get(reference)

    @property
    def records(self) -> tuple[CaseRecord, ...]:
        return tuple(self._records.values())


class ReferenceGenerator(Protocol):
    """Hands out reference numbers such as ``BW-20261125-0001``."""

    async def next_reference(self, prefix: str, day: date) -> str: ...


class DailySequenceReferences:
    """``{prefix}-{yyyymmdd}-{n:04d}``, counting from 1 per prefix and day (in process)."""

    def __init__(self) -> None:
        self._counts: defaultdict[tuple[str, date], int] = defaultdict(int)
        self._lock = asyncio.Lock()

    async def next_reference(self, prefix: str, day: date) -> str:
        async with self._lock:
            self._counts[prefix, day] += 1
            return f"{prefix}-{day:%Y%m%d}-{self._counts[prefix, day]:04d}"
