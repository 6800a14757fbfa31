"""Rendering one table cell for reading: ``won`` amounts, thousands separators, prefixes and suffixes."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from connectors.table_mapping import ColumnSpec

_NUMBER = re.compile(r"^-?\d[\d,]*(\.\d+)?$")


def is_number(value: str) -> bool:
    return bool(_NUMBER.match(value.strip()))


def format_cell(value: str, spec: ColumnSpec) -> str:
    """``8000`` with ``won`` → ``8,000원``; text that is not a number passes through unchanged."""
    text = " ".join(value.split())
    if not text:
        return ""
    match spec.format:
        case "won":
            amount = _grouped(text)
            text = f"{amount}원" if amount is not None else text
        case "number":
            text = _grouped(text) or text
        case "plain":
            pass
    return f"{spec.prefix}{text}{spec.suffix}"


def _grouped(text: str) -> str | None:
    if not is_number(text):
        return None
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return f"{number:,}"
