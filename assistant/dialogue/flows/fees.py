"""The bulky-waste fee table, read from the documents of the tabular connector (one record per row).

A record's fields come from its metadata when the mapping puts them there (``item``, ``size``,
``fee_won``, ``paid``), else from the record as the shipped ``mapping.yaml`` renders it: the title
ends in ``: {품목}`` and the text is ``자치구 · 품목 · [규격 · ]유무료 · 수수료`` (an empty 규격 is left out).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.core.knowledge import Document, SourceProblem
from assistant.dialogue.flows.item_names import match_name
from assistant.dialogue.flows.templates import format_won
from assistant.dialogue.flows.validators import ItemMatch

_WON = re.compile(r"^(\d[\d,]*)\s*원$")
_PAID_WORDS = {"유료": True, "무료": False}


class DocumentSource(Protocol):
    """What the fee table reads: any connector (``FolderConnector`` over the fee CSV)."""

    def scan(self) -> AsyncIterator[Document | SourceProblem]: ...


@dataclass(frozen=True, slots=True)
class FeeEntry:
    """One row: what disposing of ``item`` of ``size`` costs in ``district`` (``size`` may be empty)."""

    district: str
    item: str
    size: str
    fee_won: int
    paid: bool = True
    province: str | None = None

    @property
    def label(self) -> str:
        """How the row reads as a choice: "폭 90cm 미만 (6,000원)", or the fee alone without a size."""
        return f"{self.size} ({format_won(self.fee_won)})" if self.size else format_won(self.fee_won)


class FeeTable:
    """Fees by district and item; also the ``ItemCatalog`` the item slot is validated against."""

    def __init__(self, entries: Iterable[FeeEntry]) -> None:
        self._by_district: dict[str, dict[str, list[FeeEntry]]] = defaultdict(lambda: defaultdict(list))
        for entry in entries:
            rows = self._by_district[entry.district][entry.item]
            if not any(row.label == entry.label for row in rows):
                rows.append(entry)

    @classmethod
    async def from_connector(
        cls, source: DocumentSource, *, province: str | None = "서울특별시", separator: str = " · "
    ) -> FeeTable:
        """Read every record of ``source``. Records of another province are left out (a record without a
        province is kept); records that are not fee rows, and problems, are logged and skipped."""
        log = logging.getLogger(__name__)
        entries: list[FeeEntry] = []
        async for item in source.scan():
            if isinstance(item, SourceProblem):
                log.warning("fee table: %s", item)
                continue
            entry = entry_of(item, separator)
            if entry is None:
                log.debug("fee table: %s is not a fee row", item.document_id)
            elif province is None or entry.province in (None, province):
                entries.append(entry)
        return cls(entries)

    def __len__(self) -> int:
        return sum(len(rows) for items in self._by_district.values() for rows in items.values())

    def districts(self) -> frozenset[str]:
        return frozenset(self._by_district)

    def items(self, district: str) -> tuple[str, ...]:
        return tuple(sorted(self._by_district.get(district, {})))

    def match_item(self, district: str, text: str, synonyms: Sequence[Sequence[str]] = ()) -> ItemMatch:
        found = match_name(text, self.items(district), synonyms)
        return ItemMatch(found.item, found.candidates)

    def entries(self, district: str, item: str) -> tuple[FeeEntry, ...]:
        """The rows of an item, cheapest first."""
        rows = self._by_district.get(district, {}).get(item, [])
        return tuple(sorted(rows, key=lambda row: (row.fee_won, row.size)))

    def entry(self, district: str, item: str, label: str | None) -> FeeEntry | None:
        """The row a size choice names (``label``); with one row, that row whatever the label."""
        rows = self.entries(district, item)
        if len(rows) == 1 and label in (None, rows[0].label):
            return rows[0]
        return next((row for row in rows if row.label == label), None)


def entry_of(document: Document, separator: str = " · ") -> FeeEntry | None:
    """The fee row a record holds, or ``None`` when it is not one."""
    meta = document.metadata
    district = meta.get("district")
    if document.kind != "record" or not district:
        return None
    if "item" in meta and "fee_won" in meta:
        fee = _amount(meta["fee_won"])
        if fee is None:
            return None
        paid = _PAID_WORDS.get(meta.get("paid", ""), fee > 0)
        return FeeEntry(district, meta["item"], meta.get("size", ""), fee, paid, meta.get("province"))
    if ": " not in document.title or not document.sections:
        return None
    item = document.title.rsplit(": ", 1)[1].strip()
    parts = [part.strip() for part in document.sections[0].text.split(separator)]
    parts = [part for part in parts if part]
    if item not in parts or len(parts) < 3:
        return None
    amount = _amount(parts[-1])
    paid_word = _PAID_WORDS.get(parts[-2])
    if amount is None or paid_word is None:
        return None
    size = separator.join(parts[parts.index(item) + 1 : -2])
    return FeeEntry(district, item, size, amount, paid_word, meta.get("province"))


def _amount(text: str) -> int | None:
    text = text.strip()
    if text == "무료":
        return 0
    found = _WON.match(text) or re.match(r"^(\d[\d,]*)$", text)
    return int(found.group(1).replace(",", "")) if found else None
