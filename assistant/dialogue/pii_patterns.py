"""Korean PII patterns and their validators (Luhn, resident-registration dates), compiled on demand.

Every pattern runs on the original text, so match offsets are offsets into it. Decisions:

* Phone numbers start with a Korean area or mobile prefix (``010``, ``02``, ``031``, ``070``,
  ``050x``, or ``+82``). Short service numbers (112, 119, 120, 129) and business numbers
  (``1577-0199``, ``1588-xxxx``) are not personal and are left alone.
* A resident registration number (and a foreigner's) is 6 + 7 digits whose back half starts
  with 1–8 and whose front half is a real date in the century that digit names. The checksum is
  not required: numbers issued since October 2020 do not satisfy it.
* A card number is 13–19 digits, contiguous or in 4-4-4-4(-3) / 4-6-5 groups, and must pass Luhn.
* An account number is 10–14 digits in two to four hyphenated groups, or 10–14 digits after a
  banking word (계좌, 입금, 은행 …). Numbers followed by a unit (원, 명, 개 …) are amounts or counts.
  A hyphenated 사업자등록번호 (3-2-5) has this shape too and is redacted with it.
* Addresses: the detailed part only (building number, 지번, 동/호), so the district survives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_UNITS = (
    "원|만|천|억|백|달러|불|엔|유로|개월|개|명|인분|인|건|번째|번(?!지)|회|차|년|월|일|시간|시|분|초|"
    "살|세|층|평|호선|호기|호점|km|킬로|미터|m(?![a-z])|cm|mm|kg|g(?![a-z])|리터|%|퍼센트|배|대|마리|권|장|"
    "잔|병|그릇|통|박스|톤|가지|곳|군데|쪽|줄|편|정거장|정류장|째|등|위|점|도|주|쯤|정도|여"
)
_NOT_A_UNIT = rf"(?!\d)(?!(?:{_UNITS}))"
_NUMBER_END = r"(?!\d)(?!-\d)"
_NUMBER_START = r"(?<!\d)(?<!\d-)(?<![+])"

_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_RRN = rf"{_NUMBER_START}(?P<front>\d{{6}})(?:-|[ \t])?(?P<back>[1-8]\d{{6}}){_NUMBER_END}"
_CARD = (
    rf"{_NUMBER_START}(?:"
    r"\d{4}(?P<s1>[- ])\d{4}(?P=s1)\d{4}(?P=s1)\d{4}(?:(?P=s1)\d{3})?"
    r"|\d{4}(?P<s2>[- ])\d{6}(?P=s2)\d{4,5}"
    r"|\d{13,19}"
    rf"){_NUMBER_END}"
)
_PHONE = (
    r"(?<!\d)(?<!\d-)(?:"
    r"(?:\+|00)\s?82[-.\s]?(?:\(0\)\s?)?(?P<intl>1[016789]|2|[3-6][1-5]|70|50[2-8])"
    r"|\(?(?P<dom>01[016789]|02|0[3-6][1-5]|070|050[2-8]?)\)?"
    r")[-.\s]?(?P<mid>\d{3,4})[-.\s]?(?P<last>\d{4})"
    rf"{_NUMBER_END}"
)
_ACCOUNT_GROUPED = rf"(?<![\d.,:/])(?<!\d-)\d{{2,7}}(?:-\d{{2,7}}){{1,3}}{_NUMBER_END}{_NOT_A_UNIT}"
_BANK_WORDS = (
    "계좌|통장|입금|송금|이체|환불|은행|뱅크|농협|신협|새마을금고|우체국|수협|"
    "신한|국민|우리|하나|기업|카카오|토스"
)
_ACCOUNT_AFTER_BANK_WORD = (
    rf"(?:{_BANK_WORDS})[^\d\n]{{0,15}}?"
    r"(?P<number>(?<!\d)(?:\d{10,14}|\d{2,7}(?:[ -]\d{2,7}){1,3}))"
    rf"{_NUMBER_END}{_NOT_A_UNIT}"
)

_ADMIN_TOKEN = (
    r"(?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주)"
    r"(?:특별시|광역시|특별자치시|특별자치도|도|시)?"
    r"|[가-힣]{1,8}(?:특별시|광역시|특별자치시|특별자치도|도|시|군|구|읍|면)"
)
_ROAD = (
    r"(?P<road>[가-힣A-Za-z0-9]{0,15}[가-힣A-Za-z0-9](?<!으)(?:대로|로|길))[ \t]?"
    r"(?P<detail>\d{1,4}(?:번길|가길|길)[ \t]?\d{1,4}(?:-\d{1,4})?|\d{1,4}(?:-\d{1,4})?)"
    rf"{_NOT_A_UNIT}(?!가|동|호|길)(?![-.,:/]\d)"
)
_JIBUN = (
    r"(?P<area>[가-힣]{1,10}(?:\d{0,2}(?:동|리)|\d{1,2}가))[ \t]?"
    r"(?P<detail>산[ \t]?\d{1,4}(?:-\d{1,4})?(?:[ \t]?번지)?"
    r"|\d{1,4}-\d{1,4}(?:[ \t]?번지)?|\d{1,4}[ \t]?번지)"
    rf"{_NOT_A_UNIT}"
)
_JIBUN_AFTER_DISTRICT = (
    rf"(?:{_ADMIN_TOKEN})[ \t]+"
    r"(?P<area>[가-힣]{1,8}(?:\d{0,2}(?:동|리)|\d{1,2}가))[ \t]?(?P<detail>\d{1,4})"
    rf"{_NOT_A_UNIT}(?![-.,:/]\d)"
)
_COMMON_WORDS_ENDING_IN_DONG = (
    "운동",
    "활동",
    "이동",
    "행동",
    "자동",
    "노동",
    "감동",
    "소동",
    "변동",
    "작동",
    "공동",
    "연동",
    "출동",
    "충동",
    "진동",
    "발동",
    "파동",
    "폭동",
    "선동",
    "협동",
    "가동",
    "난동",
    "유동",
    "수동",
    "능동",
    "언동",
)
_UNIT_IN_BUILDING = r"(?<![\d])(?:\d{1,4}|[A-Za-z])[ \t]?동[ \t,]{0,2}\d{1,5}[ \t]?호(?!선|기|점|차|텔)"
_BUILDING_WORDS = "아파트|빌라|맨션|오피스텔|원룸|주택|하우스|타워|빌딩|연립|다세대"
_ROOM_IN_BUILDING = rf"(?:{_BUILDING_WORDS})[ \t]?(?P<room>\d{{1,5}}[ \t]?호)(?!선|기|점|차|텔)"
_BUILDING_BRANDS = "래미안|자이|푸르지오|힐스테이트|아이파크|더샵|캐슬"
_BUILDING_NAME = rf"[가-힣A-Za-z0-9]{{0,12}}(?:{_BUILDING_WORDS}|{_BUILDING_BRANDS})"


@dataclass(frozen=True, slots=True)
class PiiPatterns:
    """The compiled patterns; build with ``compile_pii_patterns()`` (once, in a constructor)."""

    email: re.Pattern[str]
    rrn: re.Pattern[str]
    card: re.Pattern[str]
    phone: re.Pattern[str]
    account_grouped: re.Pattern[str]
    account_after_bank_word: re.Pattern[str]
    unit_in_building: re.Pattern[str]
    room_in_building: re.Pattern[str]
    road: re.Pattern[str]
    jibun: re.Pattern[str]
    jibun_after_district: re.Pattern[str]
    admin_token_before: re.Pattern[str]
    building_name_before: re.Pattern[str]
    unit_in_building_after: re.Pattern[str]


def compile_pii_patterns() -> PiiPatterns:
    return PiiPatterns(
        email=re.compile(_EMAIL),
        rrn=re.compile(_RRN),
        card=re.compile(_CARD),
        phone=re.compile(_PHONE),
        account_grouped=re.compile(_ACCOUNT_GROUPED),
        account_after_bank_word=re.compile(_ACCOUNT_AFTER_BANK_WORD),
        unit_in_building=re.compile(_UNIT_IN_BUILDING),
        room_in_building=re.compile(_ROOM_IN_BUILDING),
        road=re.compile(_ROAD),
        jibun=re.compile(_JIBUN),
        jibun_after_district=re.compile(_JIBUN_AFTER_DISTRICT),
        admin_token_before=re.compile(rf"(?:^|(?<=\s))(?:{_ADMIN_TOKEN})[ \t]*$"),
        building_name_before=re.compile(rf"(?:^|(?<=\s))(?:{_BUILDING_NAME})[ \t]*$"),
        unit_in_building_after=re.compile(rf"^[ \t]*,?[ \t]*(?:{_BUILDING_NAME})?[ \t]*{_UNIT_IN_BUILDING}"),
    )


def is_common_word(area: str) -> bool:
    """Whether a lot-address area token is really an everyday word (운동, 이동 …), not a 동."""
    return area.endswith(_COMMON_WORDS_ENDING_IN_DONG)


def digits_of(text: str) -> str:
    """Only the digits of ``text``, as ASCII."""
    return "".join(str(int(c)) for c in text if c.isdigit())


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn check (card numbers)."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def rrn_birth_date(digits: str) -> date | None:
    """The birth date a 13-digit resident (or foreigner) registration number encodes, if real.

    The 7th digit names sex and century: 1, 2, 5, 6 → 1900s; 3, 4, 7, 8 → 2000s (5–8: foreigners).
    """
    if len(digits) != 13 or not digits.isdigit() or digits[6] not in "12345678":
        return None
    century = 1900 if digits[6] in "1256" else 2000
    try:
        return date(century + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None


def rrn_checksum_valid(digits: str) -> bool:
    """The pre-October-2020 check digit. Informational only: newer numbers do not satisfy it."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(digits[:12], weights, strict=True))
    return (11 - total % 11) % 10 == int(digits[12])
