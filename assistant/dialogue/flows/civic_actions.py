"""The in-process actions of the shipped flows: pricing and booking bulky-waste pickups, filing complaints.

Slots they read: ``district``, ``item``, ``size``, ``address``, ``pickup_date``, ``phone`` (bulky waste);
``complaint_type``, ``location``, ``description``, ``photo_url`` and the optional ``vehicle_number`` /
``pole_number`` (complaints). Personal values go only into a record's ``RestrictedContact``.
"""

from __future__ import annotations

from collections.abc import Mapping

from assistant.core.clock import Clock
from assistant.core.errors import UpstreamError
from assistant.dialogue.flows.actions import Action, ActionCall, ActionResult
from assistant.dialogue.flows.dates import KST, parse_iso_day
from assistant.dialogue.flows.fees import FeeEntry, FeeTable
from assistant.dialogue.flows.records import (
    BulkyWasteBooking,
    CaseRecordStore,
    CivilComplaint,
    ReferenceGenerator,
    RestrictedContact,
)
from assistant.dialogue.flows.state import SlotValue

BULKY_WASTE_PREFIX = "BW"
COMPLAINT_PREFIX = "CP"
_COMPLAINT_DETAILS = ("vehicle_number", "pole_number")


def _text(slots: Mapping[str, SlotValue], name: str) -> str:
    value = slots.get(name)
    if not isinstance(value, str) or not value:
        raise UpstreamError(f"the action needs the slot {name!r}")
    return value


def _optional_text(slots: Mapping[str, SlotValue], name: str) -> str | None:
    value = slots.get(name)
    return value if isinstance(value, str) and value else None


class LookupBulkyWasteSizes:
    """``size_options``: the item's rows in the district as choices (one row is chosen without asking)."""

    def __init__(self, fees: FeeTable) -> None:
        self._fees = fees

    async def run(self, call: ActionCall) -> ActionResult:
        rows = self._fees.entries(_text(call.slots, "district"), _text(call.slots, "item"))
        return ActionResult(values={"size_options": tuple(row.label for row in rows)})


class QuoteBulkyWasteFee:
    """``fee_won``: what the chosen item and size cost in the district."""

    def __init__(self, fees: FeeTable) -> None:
        self._fees = fees

    async def run(self, call: ActionCall) -> ActionResult:
        return ActionResult(values={"fee_won": _entry(self._fees, call.slots).fee_won})


class BookBulkyWaste:
    """Books the pickup: prices it from the fee table, numbers it ``BW-yyyymmdd-nnnn`` and stores it."""

    def __init__(
        self, fees: FeeTable, store: CaseRecordStore, references: ReferenceGenerator, clock: Clock
    ) -> None:
        self._fees = fees
        self._store = store
        self._references = references
        self._clock = clock

    async def run(self, call: ActionCall) -> ActionResult:
        slots = call.slots
        entry = _entry(self._fees, slots)
        pickup = parse_iso_day(_text(slots, "pickup_date"))
        if pickup is None:
            raise UpstreamError("the pickup date is not an ISO date")
        now = self._clock.now()
        reference = await self._references.next_reference(BULKY_WASTE_PREFIX, now.astimezone(KST).date())
        booking = BulkyWasteBooking(
            reference=reference,
            district=entry.district,
            item=entry.item,
            size=entry.size or None,
            fee_won=entry.fee_won,
            pickup_date=pickup,
            created_at=now,
            contact=RestrictedContact(phone=_text(slots, "phone"), address=_text(slots, "address")),
        )
        await self._store.add(booking)
        return ActionResult(
            values={"reference": reference, "fee_won": entry.fee_won}, record=booking.public_view()
        )


class FileComplaint:
    """Files the complaint, numbered ``CP-yyyymmdd-nnnn``; its location is kept as restricted contact."""

    def __init__(self, store: CaseRecordStore, references: ReferenceGenerator, clock: Clock) -> None:
        self._store = store
        self._references = references
        self._clock = clock

    async def run(self, call: ActionCall) -> ActionResult:
        slots = call.slots
        now = self._clock.now()
        reference = await self._references.next_reference(COMPLAINT_PREFIX, now.astimezone(KST).date())
        details = {name: value for name in _COMPLAINT_DETAILS if (value := _optional_text(slots, name))}
        complaint = CivilComplaint(
            reference=reference,
            complaint_type=_text(slots, "complaint_type"),
            description=_text(slots, "description"),
            details=details,
            photo_url=_optional_text(slots, "photo_url"),
            created_at=now,
            contact=RestrictedContact(address=_text(slots, "location")),
        )
        await self._store.add(complaint)
        return ActionResult(values={"reference": reference}, record=complaint.public_view())


def civic_actions(
    fees: FeeTable, store: CaseRecordStore, references: ReferenceGenerator, clock: Clock
) -> dict[str, Action]:
    """The actions the shipped flows name, by name."""
    return {
        "lookup_bulky_waste_sizes": LookupBulkyWasteSizes(fees),
        "quote_bulky_waste_fee": QuoteBulkyWasteFee(fees),
        "book_bulky_waste": BookBulkyWaste(fees, store, references, clock),
        "file_complaint": FileComplaint(store, references, clock),
    }


def _entry(fees: FeeTable, slots: Mapping[str, SlotValue]) -> FeeEntry:
    district, item = _text(slots, "district"), _text(slots, "item")
    entry = fees.entry(district, item, _optional_text(slots, "size"))
    if entry is None:
        raise UpstreamError(f"the fee table has no row for {district} {item}")
    return entry
