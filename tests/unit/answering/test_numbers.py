"""Numbers in Korean text: normalisation, presence and amount-to-qualifier binding."""

from __future__ import annotations

import pytest

from assistant.answering.numbers import quantities, unsupported_quantities

BIKE = (
    "일일권은 1시간권 1,000원, 2시간권 2,000원입니다. 정기권은 1시간권 기준으로 7일 3,000원, "
    "30일 5,000원, 180일 15,000원, 365일 30,000원입니다."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8,000원", [("8000", "원")]),
        ("8000 원", [("8000", "원")]),
        ("34만 원", [("340000", "원")]),
        ("3천 원", [("3000", "원")]),
        ("만 65세 이상, 29살", [("65", "세"), ("29", "세")]),
        ("전화(1599-0903)나 02-120", [("1599-0903", "tel"), ("02-120", "tel")]),
        ("12개월, 20%, 4.5cm", [("12", "개월"), ("20", "%"), ("4.5", "cm")]),
    ],
)
def test_quantities_are_normalised(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(q.key, q.unit) for q in quantities(text)] == expected


def test_a_number_must_appear_in_the_source() -> None:
    assert unsupported_quantities(
        "창구에서는 1통에 500원이에요.", "창구 발급 수수료는 1통에 400원입니다."
    ) == ["500원"]
    assert unsupported_quantities("1통에 400원이에요.", "창구 발급 수수료는 1통에 400원입니다.") == []
    assert unsupported_quantities("월 최대 34만 원이에요.", "월 최대 약 340,000원입니다.") == []
    assert unsupported_quantities("1588-0903으로 전화하세요.", "전화(1599-0903)로 예약") == ["1588-0903"]


def test_units_must_agree_when_both_are_written() -> None:
    assert unsupported_quantities("14일 안에 하세요.", "14개월 이내") == ["14일"]
    assert unsupported_quantities("14일 안에 하세요.", "신고 기한은 14 일입니다") == []


@pytest.mark.parametrize(
    ("sentence", "problem"),
    [
        ("30일 정기권은 5,000원이에요.", None),
        ("2시간권은 2000원이에요.", None),
        ("365일권은 3만 원이에요.", None),
        ("30일 정기권은 3,000원이에요.", "30일 … 3,000원"),
        ("1시간권은 2,000원이에요.", "1시간 … 2,000원"),
    ],
)
def test_an_amount_keeps_its_qualifier(sentence: str, problem: str | None) -> None:
    assert unsupported_quantities(sentence, BIKE) == ([problem] if problem else [])


def test_an_unqualified_amount_cannot_take_a_qualifier_bound_elsewhere() -> None:
    card = "30일권은 62,000원, 따릉이까지 포함하면 65,000원입니다."
    assert unsupported_quantities("30일권은 65,000원이에요.", card) == ["30일 … 65,000원"]
    assert unsupported_quantities("따릉이까지 포함하면 65,000원이에요.", card) == []
    passport = "10년 복수여권(58면) 수수료는 53,000원입니다."
    assert unsupported_quantities("10년 복수여권은 53,000원이에요.", passport) == []
