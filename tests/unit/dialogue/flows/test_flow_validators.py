"""Slot validators: districts, Korean dates on a fake clock, phone and address via the PII parser, URLs,
choices, items from the fee table, free text and skipping optional slots."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant.core.clock import FakeClock
from assistant.dialogue.flows.choices import Choice, match_choice, ordinal_index
from assistant.dialogue.flows.dates import KoreanDates, korean_date
from assistant.dialogue.flows.districts import SeoulDistricts
from assistant.dialogue.flows.spec import CollectStep, Validation
from assistant.dialogue.flows.validators import Invalid, SlotValidators, Valid


def step(type_: str, *, optional: bool = False, **validation: object) -> CollectStep:
    return CollectStep.model_validate(
        {
            "id": "slot",
            "collect": "slot",
            "label": "값",
            "prompt": "값을 알려 주세요.",
            "optional": optional,
            "validation": Validation.model_validate({"type": type_, **validation}),
        }
    )


def value_of(validators: SlotValidators, s: CollectStep, text: str, **slots: object) -> object:
    outcome = validators.validate(s, text, slots)  # type: ignore[arg-type]
    assert isinstance(outcome, Valid), f"{text!r} was refused: {outcome}"
    return outcome.value


def refused(validators: SlotValidators, s: CollectStep, text: str, **slots: object) -> Invalid:
    outcome = validators.validate(s, text, slots)  # type: ignore[arg-type]
    assert isinstance(outcome, Invalid), f"{text!r} was accepted as {outcome}"
    return outcome


# -- districts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("강남구", "강남구"),
        ("강남", "강남구"),
        ("강남이요", "강남구"),
        ("서울시 강남구에 살아요", "강남구"),
        ("서울강남구", "강남구"),
        ("중구", "중구"),
        ("중", "중구"),
        ("서울 중구요", "중구"),
        ("중랑구", "중랑구"),
        ("동대문", "동대문구"),
        ("서대문구청 근처", "서대문구"),
        ("영등포에서 버려요", "영등포구"),
    ],
)
def test_district_accepts_the_korean_variants(validators: SlotValidators, text: str, district: str) -> None:
    assert value_of(validators, step("district"), text) == district


@pytest.mark.parametrize("text", ["부산", "해운대구", "강남대로", "노원역", "입구로", "몰라요", "강동원"])
def test_district_refuses_what_is_not_a_seoul_district(validators: SlotValidators, text: str) -> None:
    refused(validators, step("district"), text)


def test_two_districts_are_refused_with_both_offered(validators: SlotValidators) -> None:
    outcome = refused(validators, step("district"), "강남구나 서초구")
    assert outcome.suggestions == ("강남구", "서초구")


def test_the_districts_are_the_25_of_seoul() -> None:
    names = SeoulDistricts().names
    assert len(names) == len(set(names)) == 25
    assert all(name.endswith("구") for name in names)


def test_require_catalog_refuses_a_district_without_fees(validators: SlotValidators) -> None:
    outcome = refused(validators, step("district", require_catalog=True), "서초구")
    assert outcome.reason is not None and "서초구" in outcome.reason
    assert value_of(validators, step("district", require_catalog=True), "강남") == "강남구"


# -- dates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("오늘", "2026-11-25"),
        ("내일", "2026-11-26"),
        ("내일이요", "2026-11-26"),
        ("모레", "2026-11-27"),
        ("내일모레", "2026-11-27"),
        ("글피", "2026-11-28"),
        ("다음 주 월요일", "2026-11-30"),
        ("다음주 월요일", "2026-11-30"),
        ("담주 화요일에요", "2026-12-01"),
        ("다다음 주 월요일", "2026-12-07"),
        ("이번 주 금요일", "2026-11-27"),
        ("금요일", "2026-11-27"),
        ("수요일", "2026-11-25"),
        ("11월 30일", "2026-11-30"),
        ("12월 3일 오전", "2026-12-03"),
        ("1월 5일", "2027-01-05"),
        ("2026-12-01", "2026-12-01"),
        ("2026.12.02", "2026-12-02"),
        ("2026년 12월 4일", "2026-12-04"),
        ("12/10", "2026-12-10"),
        ("3일 뒤", "2026-11-28"),
        ("이틀 후", "2026-11-27"),
        ("일주일 뒤", "2026-12-02"),
        ("2주 후", "2026-12-09"),
        ("30일", "2026-11-30"),
        ("3일", "2026-12-03"),
    ],
)
def test_dates_in_korean(validators: SlotValidators, text: str, iso: str) -> None:
    assert value_of(validators, step("date"), text) == iso


def test_dates_follow_the_seoul_day_not_the_utc_day(clock: FakeClock, validators: SlotValidators) -> None:
    clock.advance(timedelta(hours=15))  # 2026-11-25 16:00 UTC is already the 26th in Seoul
    assert value_of(validators, step("date"), "오늘") == "2026-11-26"


@pytest.mark.parametrize("text", ["어제", "11월 20일", "이번 주 월요일", "2026-11-24"])
def test_past_dates_are_refused(validators: SlotValidators, text: str) -> None:
    assert refused(validators, step("date"), text).reason == "이미 지난 날짜예요."


def test_dates_outside_the_window_are_refused_naming_the_limit(validators: SlotValidators) -> None:
    window = step("date", min_days_ahead=1, max_days_ahead=30)
    assert refused(validators, window, "오늘").reason == "11월 26일(목)부터 고를 수 있어요."
    assert refused(validators, window, "1월 5일").reason == "12월 25일(금)까지만 고를 수 있어요."
    assert value_of(validators, window, "내일") == "2026-11-26"


@pytest.mark.parametrize("text", ["언젠가", "2월 30일", "다음 주", "13월 1일"])
def test_impossible_or_vague_dates_are_refused(validators: SlotValidators, text: str) -> None:
    refused(validators, step("date"), text)


def test_dates_read_in_korean(clock: FakeClock) -> None:
    today = KoreanDates(clock).today()
    assert korean_date(today, today) == "11월 25일(수)"
    assert korean_date(today.replace(year=2027, month=1, day=4), today) == "2027년 1월 4일(월)"


# -- phone, address, url, text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("010-1234-5678", "010-1234-5678"),
        ("01012345678", "010-1234-5678"),
        ("010 9876 5432요", "010-9876-5432"),
        ("제 번호는 +82 10-1111-2222예요", "010-1111-2222"),
        ("02-123-4567", "02-123-4567"),
    ],
)
def test_phone_numbers_come_from_the_pii_parser(validators: SlotValidators, text: str, phone: str) -> None:
    assert value_of(validators, step("phone"), text) == phone


@pytest.mark.parametrize("text", ["120", "1588-1234", "모르겠어요", "010-12"])
def test_what_is_not_a_personal_phone_number_is_refused(validators: SlotValidators, text: str) -> None:
    refused(validators, step("phone"), text)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("서울 강남구 테헤란로 123", "서울 강남구 테헤란로 123"),
        ("주소는 강남구 테헤란로 123, 101동 1001호예요", "강남구 테헤란로 123, 101동 1001호"),
        ("역삼동 123-4번지", "역삼동 123-4번지"),
    ],
)
def test_addresses_come_from_the_pii_parser(validators: SlotValidators, text: str, address: str) -> None:
    assert value_of(validators, step("address"), text) == address


def test_a_place_is_an_address_only_where_allowed(validators: SlotValidators) -> None:
    refused(validators, step("address"), "강남역 2번 출구 앞")
    assert (
        value_of(validators, step("address", allow_place=True), "강남역  2번 출구 앞") == "강남역 2번 출구 앞"
    )


def test_urls(validators: SlotValidators) -> None:
    url = step("url")
    assert value_of(validators, url, "사진은 https://example.com/a.jpg 여기요") == "https://example.com/a.jpg"
    refused(validators, url, "example.com/a.jpg")
    refused(validators, url, "http://localhost")


def test_text_is_trimmed_and_its_length_checked(validators: SlotValidators) -> None:
    text = step("text", min_length=5, max_length=20)
    assert value_of(validators, text, "  차가   이틀째 서 있어요 ") == "차가 이틀째 서 있어요"
    assert refused(validators, text, "차").reason == "조금 더 자세히 말씀해 주세요."
    assert refused(validators, text, "가" * 21).reason == "20자 이내로 줄여 주세요."


@pytest.mark.parametrize("text", ["없어요", "없음", "사진은 없어요", "건너뛰기", "패스"])
def test_optional_slots_are_skipped_with_a_no(validators: SlotValidators, text: str) -> None:
    assert value_of(validators, step("url", optional=True), text) is None
    refused(validators, step("url"), text)


# -- choices and items -----------------------------------------------------------------------------------

CHOICES = (Choice("불법 주정차", ("불법주차", "주차")), Choice("가로등 고장", ("가로등",)))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("불법 주정차", "불법 주정차"),
        ("불법주정차요", "불법 주정차"),
        ("주차", "불법 주정차"),
        ("가로등이 안 켜져요", "가로등 고장"),
        ("2", "가로등 고장"),
        ("1번", "불법 주정차"),
        ("두 번째요", "가로등 고장"),
        ("첫번째", "불법 주정차"),
        ("마지막", "가로등 고장"),
    ],
)
def test_choices_by_words_aliases_and_numbers(text: str, value: str) -> None:
    picked = match_choice(text, CHOICES)
    assert picked is not None and picked.value == value


def test_choice_out_of_range_or_unknown_is_refused(validators: SlotValidators) -> None:
    assert ordinal_index("3번", 2) is None
    choice = step("choice", options=[{"value": "불법 주정차"}, {"value": "가로등 고장"}])
    outcome = refused(validators, choice, "쓰레기 무단투기")
    assert outcome.suggestions == ("불법 주정차", "가로등 고장")


def test_choices_can_come_from_a_slot(validators: SlotValidators) -> None:
    sizes = step("choice", options_from="sizes")
    listed = ("폭 90cm 미만 (6,000원)", "폭 90cm 이상 120cm 미만 (9,000원)")
    assert value_of(validators, sizes, "90cm 미만", sizes=listed) == listed[0]
    assert value_of(validators, sizes, "9000원짜리", sizes=listed) == listed[1]
    assert value_of(validators, sizes, "2번", sizes=listed) == listed[1]


SYNONYMS = [["소파", "쇼파"], ["텔레비전", "TV", "티비"], ["장롱", "장농", "옷장"]]


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("장롱", "장롱"),
        ("장롱 하나요", "장롱"),
        ("장농", "장롱"),
        ("옷장이요", "장롱"),
        ("쇼파", "소파"),
        ("티비", "TV"),
        ("냉장", "냉장고"),
        ("책쌍", "책상"),
    ],
)
def test_items_match_the_fee_table_loosely(validators: SlotValidators, text: str, item: str) -> None:
    items = step("item", scope="district", synonyms=SYNONYMS)
    assert value_of(validators, items, text, district="강남구") == item


def test_an_unclear_item_is_refused_with_candidates(validators: SlotValidators) -> None:
    items = step("item", scope="district", synonyms=SYNONYMS)
    assert set(refused(validators, items, "침대 매트리스", district="강남구").suggestions) == {
        "침대",
        "매트리스",
    }
    assert refused(validators, items, "우주선", district="강남구").suggestions == ()
    assert refused(validators, items, "장롱").reason == "먼저 자치구를 알려 주세요."


def test_extract_finds_values_inside_a_sentence(validators: SlotValidators) -> None:
    text = "강남구 테헤란로 123 앞에 있는 장롱 버리고 싶어요, 010-1234-5678"
    assert validators.extract(step("district"), text, {}) == "강남구"
    assert validators.extract(step("item", scope="district"), text, {"district": "강남구"}) == "장롱"
    assert validators.extract(step("address"), text, {}) == "강남구 테헤란로 123"
    assert validators.extract(step("phone"), text, {}) == "010-1234-5678"
    assert validators.extract(step("text"), text, {}) is None


def test_validated_values_validate_to_themselves(validators: SlotValidators) -> None:
    """A command source may send the normalised value back (an LLM, a prefill): it must pass unchanged."""
    cases = [
        (step("district"), "강남구"),
        (step("date"), "2026-11-30"),
        (step("phone"), "010-1234-5678"),
        (step("address"), "강남구 테헤란로 123, 101동 1001호"),
        (step("item", scope="district"), "장롱"),
    ]
    for s, value in cases:
        assert value_of(validators, s, value, district="강남구") == value
