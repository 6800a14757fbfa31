"""Seoul's 25 autonomous districts (자치구), found in text as "강남구", "강남" or "서울시 강남구에 살아요"."""

from __future__ import annotations

import re

SEOUL_DISTRICTS = (
    "종로구",
    "중구",
    "용산구",
    "성동구",
    "광진구",
    "동대문구",
    "중랑구",
    "성북구",
    "강북구",
    "도봉구",
    "노원구",
    "은평구",
    "서대문구",
    "마포구",
    "양천구",
    "강서구",
    "구로구",
    "금천구",
    "영등포구",
    "동작구",
    "관악구",
    "서초구",
    "강남구",
    "송파구",
    "강동구",
)

_PARTICLES = "에서|에|이요|요|이에요|예요|에요|입니다|은|는|이|가|쪽|으로|로|이고|고|도"


class SeoulDistricts:
    """Finds district names in text. A bare stem ("강남") counts only as a word of its own (followed by
    구, a particle or nothing), so "강남대로" or "노원역" do not; the one-syllable "중" only alone."""

    def __init__(self) -> None:
        stems = sorted((d[:-1] for d in SEOUL_DISTRICTS if len(d) > 2), key=len, reverse=True)
        self._pattern = re.compile(
            r"(?:(?<![가-힣])|(?<=서울)|(?<=시))"
            rf"(?P<stem>{'|'.join(stems)}|중(?=구))"
            rf"(?:구|(?=(?:{_PARTICLES}))|(?![가-힣]))"
        )

    @property
    def names(self) -> tuple[str, ...]:
        return SEOUL_DISTRICTS

    def find(self, text: str) -> tuple[str, ...]:
        """Every distinct district named in ``text``, in order."""
        found: list[str] = []
        compact = text.strip()
        if compact in {"중", "중구"}:
            return ("중구",)
        for match in self._pattern.finditer(compact):
            name = match.group("stem") + "구"
            if name not in found:
                found.append(name)
        return tuple(found)

    def canonical(self, text: str) -> str | None:
        """The one district ``text`` names, or ``None`` (none, or several)."""
        found = self.find(text)
        return found[0] if len(found) == 1 else None
