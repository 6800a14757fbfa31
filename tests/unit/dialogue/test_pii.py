"""PII redaction, the phone and address parser, their validators, and the redacting log filter."""

from __future__ import annotations

import io
import itertools
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.dialogue.pii import PiiKind, PiiRedactor, placeholder
from assistant.dialogue.pii_patterns import luhn_valid, rrn_birth_date, rrn_checksum_valid
from assistant.dialogue.redacting_log import PiiLogFilter

DATASET = Path(__file__).resolve().parents[3] / "evals" / "datasets" / "safety.jsonl"
ALL_KINDS: tuple[PiiKind, ...] = ("rrn", "phone", "card", "account", "email", "address")


@dataclass(frozen=True)
class Case:
    id: str
    utterance: str
    pii_kinds: frozenset[str]


def _cases() -> list[Case]:
    cases = []
    for line in DATASET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            cases.append(Case(row["id"], row["utterance"], frozenset(row.get("pii_kinds", []))))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def redactor() -> PiiRedactor:
    return PiiRedactor()


# --- the dataset ----------------------------------------------------------------------------------


def test_dataset_covers_every_kind() -> None:
    covered = set().union(*(c.pii_kinds for c in CASES))
    assert covered == set(ALL_KINDS)
    assert sum(1 for c in CASES if c.pii_kinds) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_dataset_case(redactor: PiiRedactor, case: Case) -> None:
    redaction = redactor.redact(case.utterance)
    assert redaction.kinds == case.pii_kinds, redaction
    for kind in case.pii_kinds:
        assert placeholder(kind) in redaction.text  # type: ignore[arg-type]
    if not case.pii_kinds:
        assert redaction.text == case.utterance


# --- what is redacted -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("주민번호 900101-1234568", "rrn", "900101-1234568"),
        ("주민번호 900101-1234567", "rrn", "900101-1234567"),  # bad checksum: post-2020 numbers have none
        ("0002293123456", "rrn", "0002293123456"),  # 2000-02-29, 2000s man
        ("외국인 950707 5123456", "rrn", "950707 5123456"),
        ("010.1234.5678", "phone", "010.1234.5678"),
        ("+82-10-1234-5678", "phone", "+82-10-1234-5678"),
        ("+82 2 123 4567", "phone", "+82 2 123 4567"),
        ("(02) 1234-5678", "phone", "(02) 1234-5678"),
        ("031-123-4567", "phone", "031-123-4567"),
        ("0505-123-4567", "phone", "0505-123-4567"),
        ("4111111111111111", "card", "4111111111111111"),
        ("3782-822463-10005", "card", "3782-822463-10005"),
        ("카카오뱅크 3333-01-1234567", "account", "3333-01-1234567"),
        ("계좌 110123456789 로 보내줘", "account", "110123456789"),
        ("a.b+c@mail.co.kr로", "email", "a.b+c@mail.co.kr"),
        ("중앙로123번길 45", "address", "45"),
        ("테헤란로 12길 34", "address", "12길 34"),
        ("부산 해운대구 우동 1408", "address", "1408"),
        ("신림동 1422-3", "address", "1422-3"),
        ("B동 1002호", "address", "B동 1002호"),
        ("우리 빌라 302호", "address", "302호"),
    ],
)
def test_each_kind_is_found_at_its_offsets(redactor: PiiRedactor, text: str, kind: str, value: str) -> None:
    found = redactor.find(text)
    assert [m.kind for m in found] == [kind]
    assert text[found[0].start : found[0].end] == value
    redacted = redactor.redact(text).text
    assert value not in redacted
    assert placeholder(found[0].kind) in redacted


@pytest.mark.parametrize(
    "text",
    [
        "수수료 8,000원",
        "2026-11-25까지",
        "2026.11.25",
        "11월 25일 오후 3시 30분",
        "14:30",
        "120 119 112 129 109",
        "1577-0199",
        "1588-1234",
        "버스 7016번 2호선",
        "100000-200000원 사이",
        "입금액 1000000000원",
        "2026-11-25-001 문서번호",
        "우편번호 04524",
        "버스로 30분",
        "키 170cm 몸무게 65kg",
        "점수가 3-2로 이겼어요",
        "운동 3-2로 이겼어요",
        "사거리 1-2번 출구",
        "테헤란로 12길",
        "지하철 1호선",
        "카드 4111111111111112",  # fails Luhn
        "9002301234567",  # no 30 February
    ],
)
def test_non_pii_numbers_survive(redactor: PiiRedactor, text: str) -> None:
    assert redactor.redact(text).text == text


def test_spans_do_not_overlap_and_are_ordered(redactor: PiiRedactor) -> None:
    text = "010-1234-5678, 4111 1111 1111 1111, hong@example.com, 역삼동 123-45, 900101-1234568"
    found = redactor.find(text)
    assert [m.kind for m in found] == ["phone", "card", "email", "address", "rrn"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    assert redactor.redact(text).text == "[전화번호], [카드번호], [이메일], 역삼동 [주소], [주민등록번호]"


def test_redaction_is_idempotent(redactor: PiiRedactor) -> None:
    once = redactor.redact_text("연락처 010-1234-5678, 주소 세종대로 110")
    assert redactor.redact_text(once) == once


# --- the parser -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("제 번호는 010 1234 5678이에요", "010-1234-5678"),
        ("01098765432로 연락 주세요", "010-9876-5432"),
        ("+82 10-2345-6789", "010-2345-6789"),
        ("+821023456789", "010-2345-6789"),
        ("집은 02-123-4567, 휴대폰은 010-1111-2222", "02-123-4567"),
        ("031 987 6543", "031-987-6543"),
        ("1577-0199로 전화해 보세요", None),
        ("120 다산콜", None),
        ("주민번호 900101-1234568", None),
        ("", None),
    ],
)
def test_extract_phone(redactor: PiiRedactor, text: str, phone: str | None) -> None:
    assert redactor.extract_phone(text) == phone


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("주소는 서울시 강남구 테헤란로 152입니다", "서울시 강남구 테헤란로 152"),
        ("고양시 일산동구 중앙로 1275번길 38-10 이에요", "고양시 일산동구 중앙로 1275번길 38-10"),
        ("올림픽로35길 10, 101동 202호", "올림픽로35길 10, 101동 202호"),
        ("래미안아파트 101동 1203호에 살아요", "래미안아파트 101동 1203호"),
        ("역삼동 123-45번지 앞", "역삼동 123-45번지"),
        ("서울 종로구 종로1가 54", "서울 종로구 종로1가 54"),
        ("불났어요 여기 마포구 월드컵로 212예요", "마포구 월드컵로 212"),
        ("버스로 30분 걸려요", None),
        ("강남구청이 어디예요?", None),
    ],
)
def test_extract_address(redactor: PiiRedactor, text: str, address: str | None) -> None:
    assert redactor.extract_address(text) == address


# --- validators -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("5500000000000004", True),
        ("378282246310005", True),
        ("4111111111111112", False),
        ("1234567812345678", False),
        ("", False),
        ("12a4", False),
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("digits", "born"),
    [
        ("9001011234568", "1990-01-01"),
        ("0002293123456", "2000-02-29"),
        ("0102293123456", None),  # 2001 is not a leap year
        ("0002291123456", None),  # 1900 is not a leap year either
        ("9513015123456", None),  # no 13th month
        ("9506157123456", "2095-06-15"),  # 7: a foreigner born in the 2000s
        ("9001019123456", None),  # 9 is not a 1-8 back digit
        ("900101123456", None),
    ],
)
def test_rrn_birth_date(digits: str, born: str | None) -> None:
    found = rrn_birth_date(digits)
    assert (found.isoformat() if found else None) == born


def test_rrn_checksum_is_informational(redactor: PiiRedactor) -> None:
    assert rrn_checksum_valid("9001011234568")
    assert not rrn_checksum_valid("9001011234567")
    assert redactor.redact("9001011234567").kinds == {"rrn"}


# --- generated numbers (property style, fixed seed) -----------------------------------------------


def _phones(rng: random.Random) -> Iterator[tuple[str, str]]:
    for _ in range(300):
        mid, last = f"{rng.randrange(10000):04d}", f"{rng.randrange(10000):04d}"
        expected = f"010-{mid}-{last}"
        form = rng.choice(["{p}-{m}-{l}", "{p}{m}{l}", "{p} {m} {l}", "+82 10 {m} {l}", "+82-10-{m}-{l}"])
        yield form.format(p="010", m=mid, l=last), expected


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError(body)


def test_generated_phone_numbers_are_found_and_normalised(redactor: PiiRedactor) -> None:
    rng = random.Random(20261125)
    for phone, expected in _phones(rng):
        before = rng.choice(["연락처는 ", "", "제 번호 "])
        after = rng.choice(["입니다", "로 전화 주세요", ""])
        text = f"{before}{phone}{after}"
        assert redactor.extract_phone(text) == expected, text
        redacted = redactor.redact(text)
        assert redacted.kinds == {"phone"}, text
        assert expected[-4:] not in redacted.text.replace("[전화번호]", ""), text


def test_generated_card_numbers_are_redacted_only_when_luhn_valid(redactor: PiiRedactor) -> None:
    rng = random.Random(7)
    for _ in range(300):
        body = rng.choice("3456") + "".join(rng.choice("0123456789") for _ in range(14))
        card = _luhn_complete(body)
        wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
        sep = rng.choice(["", "-", " "])
        grouped = sep.join(card[i : i + 4] for i in range(0, 16, 4))
        assert redactor.redact(f"카드 {grouped} 결제").kinds == {"card"}, grouped
        assert "card" not in redactor.redact(f"카드 {wrong} 결제").kinds, wrong


def test_generated_registration_numbers_are_redacted(redactor: PiiRedactor) -> None:
    rng = random.Random(11)
    for _ in range(200):
        year, month, day = rng.randrange(100), rng.randrange(1, 13), rng.randrange(1, 29)
        back = rng.choice("12345678") + "".join(rng.choice("0123456789") for _ in range(6))
        number = f"{year:02d}{month:02d}{day:02d}{rng.choice(['-', ' ', ''])}{back}"
        assert redactor.redact(f"주민번호 {number}").text == "주민번호 [주민등록번호]", number


# --- the log filter -------------------------------------------------------------------------------


@pytest.fixture
def captured(redactor: PiiRedactor) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s %(caller_phone)s"))
    handler.addFilter(PiiLogFilter(redactor))
    logger = logging.getLogger("tests.dialogue.pii")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_log_filter_redacts_message_args_and_extra(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info(
        "callback to %s at %s", "010-1234-5678", "세종대로 110", extra={"caller_phone": "01098765432"}
    )
    logger.info("formats first: 010-1234-%s", "5678", extra={"caller_phone": "-"})
    output = stream.getvalue()
    assert "1234" not in output
    assert "5678" not in output
    assert "98765432" not in output
    assert output.count("[전화번호]") == 3
    assert "세종대로 [주소]" in output


def test_log_filter_redacts_exceptions(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError("bad card 4111 1111 1111 1111")
    except ValueError:
        logger.exception("failed for %s", "hong@example.com", extra={"caller_phone": "-"})
    output = stream.getvalue()
    assert "4111" not in output
    assert "hong@example.com" not in output
    assert "[카드번호]" in output
    assert "Traceback" in output


def test_log_filter_survives_a_malformed_call(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("two %s %s", "010-1234-5678", extra={"caller_phone": "-"})
    output = stream.getvalue()
    assert "5678" not in output
    assert "[전화번호]" in output
