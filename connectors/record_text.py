"""Records without a prose field, rendered as readable ``key: value`` text with a guessed title."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from connectors.cell_format import is_number

_TITLE_HINTS = ("title", "name", "제목", "명칭", "이름")
_NOT_NAME_HINTS = ("상태", "구분", "코드", "status", "type", "code")


def render_pairs(values: Mapping[str, str], *, separator: str = " · ", skip: Collection[str] = ()) -> str:
    """``key: value`` for every non-empty value, in the record's order."""
    return separator.join(
        f"{key}: {' '.join(value.split())}" for key, value in values.items() if value and key not in skip
    )


def guess_title_field(values: Mapping[str, str]) -> str | None:
    """The field most likely to name the record: ``*title*``, then ``*name*``, then ``*_NM``/``*명``,
    then the first short non-numeric value. ``parking_name`` wins over ``que_status_nm``."""
    filled = [key for key, value in values.items() if value]
    for hint in _TITLE_HINTS:
        for key in filled:
            if hint in key.lower():
                return key
    for key in filled:
        lowered = key.lower()
        named = lowered.endswith("nm") or key.endswith("명")
        if named and not any(h in lowered for h in _NOT_NAME_HINTS):
            return key
    for key in filled:
        value = values[key]
        if not is_number(value) and len(value) <= 100:
            return key
    return None
