"""Whole conversations through parser and executor: bulky-waste pickups priced from the demo and the
national fee tables, complaints down both branches, and what the records keep (and hide)."""

from __future__ import annotations

import pytest

from assistant.core.clock import FakeClock
from assistant.dialogue.flows.fees import FeeTable, entry_of
from assistant.dialogue.flows.loader import FlowCatalog
from assistant.dialogue.flows.parser import RuleCommandParser
from assistant.dialogue.flows.records import BulkyWasteBooking, CivilComplaint, InMemoryCaseRecordStore
from assistant.dialogue.flows.validators import SlotValidators
from assistant.dialogue.pii import PiiRedactor
from tests.unit.dialogue.flows.flow_harness import Dialogue, build_executor

pytestmark = pytest.mark.anyio


async def test_bulky_waste_on_the_demo_table(dialogue: Dialogue, store: InMemoryCaseRecordStore) -> None:
    start = await dialogue.say("장롱 버리고 싶어요")
    assert start.prompt_text.endswith("어느 구에서 내놓으시나요? (예: 강남구)")
    ask_item = await dialogue.say("강남이요")
    assert ask_item.prompt_text == "어떤 물건을 버리시나요? (예: 장롱, 침대, 소파)"
    sizes = await dialogue.say("장롱")
    assert sizes.quick_replies == (
        "폭 90cm 미만 (6,000원)",
        "폭 90cm 이상 120cm 미만 (9,000원)",
        "폭 120cm 이상 180cm 미만 (13,000원)",
        "폭 180cm 이상 (18,000원)",
    )
    await dialogue.say("3번")
    faq = await dialogue.say("수수료는 어떻게 내나요?")
    assert dialogue.digressions == ["수수료는 어떻게 내나요?"]
    assert faq.prompt_text.endswith(
        "이어서 진행할게요.\n수거할 곳의 주소를 알려 주세요. (예: 강남구 테헤란로 123, 101동 1001호)"
    )
    await dialogue.say("강남구 테헤란로 123, 101동 1001호")
    await dialogue.say("다음 주 월요일")
    confirm = await dialogue.say("010-1234-5678")
    assert confirm.prompt_text == (
        "신청 내용을 확인해 주세요.\n- 자치구: 강남구\n- 품목: 장롱\n"
        "- 규격: 폭 120cm 이상 180cm 미만 (13,000원)\n"
        "- 수수료: 13,000원\n- 주소: 강남구 테헤란로 123, 101동 1001호\n- 수거일: 11월 30일(월)\n"
        "- 연락처: 010-1234-5678\n이대로 접수할까요?"
    )
    done = await dialogue.say("네")
    assert done.done and done.outcome == "completed"
    assert "접수번호: BW-20261125-0001\n수수료: 13,000원\n수거일: 11월 30일(월)" in done.prompt_text
    assert done.record == {
        "kind": "bulky_waste_booking",
        "reference": "BW-20261125-0001",
        "district": "강남구",
        "item": "장롱",
        "size": "폭 120cm 이상 180cm 미만",
        "fee_won": 13000,
        "pickup_date": "2026-11-30",
    }
    (booking,) = store.records
    assert isinstance(booking, BulkyWasteBooking)
    assert booking.contact.phone == "010-1234-5678"
    assert booking.contact.address == "강남구 테헤란로 123, 101동 1001호"
    assert "010-1234-5678" not in repr(booking) and "테헤란로" not in repr(booking)
    assert dialogue.state is not None and dialogue.state.slots["phone"] == "[전화번호]"


async def test_references_count_per_day(
    dialogue: Dialogue, executor: object, parser: RuleCommandParser
) -> None:
    for n in (1, 2):
        talk = Dialogue(dialogue.executor, parser, sender_id=f"web:{n}")
        done = await talk.say_all(
            "강남구 소파 버릴게요", "1인용", "강남구 테헤란로 5", "내일", "01011112222", "네"
        )
        assert done.record is not None and done.record["reference"] == f"BW-20261125-000{n}"
        assert done.record["fee_won"] == 4000


async def test_bulky_waste_on_the_national_table(
    flows: FlowCatalog,
    national_fees: FeeTable,
    clock: FakeClock,
    pii: PiiRedactor,
    store: InMemoryCaseRecordStore,
) -> None:
    validators = SlotValidators(clock=clock, pii=pii, items=national_fees)
    executor = build_executor(flows, validators, national_fees, store, clock)
    talk = Dialogue(executor, RuleCommandParser(flows, validators))
    sizes = await talk.say("강남구에서 장롱 버리려고요")
    # 강남구 lists 장롱 twice without a size: the fees themselves are the choices
    assert sizes.quick_replies == ("10,000원", "15,000원")
    await talk.say("15,000원")
    await talk.say_all("강남구 삼성로 5", "모레", "010-2222-3333")
    done = await talk.say("네 접수해 주세요")
    assert done.record is not None and done.record["fee_won"] == 15000 and done.record["size"] is None
    assert done.prompt_text.count("15,000원") == 1

    sofa = Dialogue(executor, RuleCommandParser(flows, validators))
    asked = await sofa.say_all("대형폐기물 수거 신청할게요", "양천구")
    assert asked.prompt_text.startswith("어떤 물건을")
    sizes = await sofa.say("장롱이요")
    assert "폭 90cm 미만 (7,000원)" in sizes.quick_replies
    await sofa.say("폭 90cm 미만")
    confirm = await sofa.say_all("양천구 목동동로 81", "11월 30일", "02-2620-3114")
    assert "- 수수료: 7,000원" in confirm.prompt_text


async def test_national_table_rows_come_from_the_connector(national_fees: FeeTable) -> None:
    assert "강남구" in national_fees.districts() and "해운대구" not in national_fees.districts()
    assert [e.fee_won for e in national_fees.entries("강남구", "장롱")] == [10000, 15000]
    assert national_fees.match_item("강남구", "소파", [["소파", "쇼파"]]).item == "쇼파"


async def test_a_district_without_fees_is_refused_until_a_human_is_offered(dialogue: Dialogue) -> None:
    await dialogue.say("대형폐기물 수거 신청할게요")
    refused = await dialogue.say("서초구")
    assert refused.prompt_text.startswith("서초구는 아직 안내할 수 있는 자료가 없어요.")
    await dialogue.say("서초구요")
    offer = await dialogue.say("서초")
    assert offer.prompt_text.endswith("상담원을 연결해 드릴까요?")
    handed = await dialogue.say("네")
    assert handed.handoff and handed.outcome == "handoff"


async def test_streetlight_complaint(dialogue: Dialogue, store: InMemoryCaseRecordStore) -> None:
    first = await dialogue.say("집 앞 가로등이 고장났어요")
    assert (
        first.prompt_text == "민원 신고를 접수할게요.\n"
        "가로등 기둥에 붙은 관리번호가 보이면 알려 주세요. 안 보이면 '없음'이라고 해 주세요."
    )
    await dialogue.say("A-1234")
    await dialogue.say("강남역 2번 출구 앞")
    await dialogue.say("밤새 불이 꺼져 있어서 어두워요")
    confirm = await dialogue.say("https://example.com/light.jpg")
    assert "- 위치: 강남역 2번 출구 앞\n- 내용: 밤새 불이 꺼져 있어서 어두워요" in confirm.prompt_text
    done = await dialogue.say("네")
    assert done.record == {
        "kind": "civil_complaint",
        "reference": "CP-20261125-0001",
        "complaint_type": "가로등 고장",
        "details": {"pole_number": "A-1234"},
        "has_photo": True,
    }
    (complaint,) = store.records
    assert isinstance(complaint, CivilComplaint) and complaint.contact.address == "강남역 2번 출구 앞"
    assert complaint.photo_url == "https://example.com/light.jpg"


async def test_parking_complaint_takes_the_other_branch(dialogue: Dialogue) -> None:
    ask_type = await dialogue.say("민원 신고하려고요")
    assert ask_type.quick_replies == ("불법 주정차", "가로등 고장")
    vehicle = await dialogue.say("1번")
    assert vehicle.prompt_text.startswith("차량 번호를 아시면")
    await dialogue.say("모르겠어요 없어요")
    await dialogue.say("서울 마포구 월드컵북로 21")
    await dialogue.say("소화전 앞에 트럭이 이틀째 서 있어요")
    confirm = await dialogue.say("없음")
    assert "- 사진: 없음" in confirm.prompt_text
    corrected = await dialogue.say("아니 위치는 마포구 월드컵북로 31로 바꿔줘")
    assert "- 위치: 마포구 월드컵북로 31" in corrected.prompt_text
    done = await dialogue.say("네")
    assert done.record is not None
    assert done.record["complaint_type"] == "불법 주정차" and done.record["details"] == {}
    assert dialogue.state is not None and "pole_number" not in dialogue.state.slots
    assert dialogue.state.slots["vehicle_number"] is None


def test_fee_rows_from_metadata_or_from_the_rendered_record(demo_fees: FeeTable) -> None:
    from assistant.core.knowledge import Document, DocumentId, Section

    def doc(title: str, text: str, **metadata: str) -> Document:
        return Document(
            document_id=DocumentId("d"),
            source="s",
            title=title,
            sections=(Section("", text),),
            fingerprint="f",
            origin="o",
            kind="record",
            metadata=metadata,
        )

    rendered = doc(
        "강남구 대형폐기물 수수료: 의자",
        "강남구 · 의자 · 사무용(바퀴·팔걸이) · 유료 · 3,000원",
        district="강남구",
    )
    entry = entry_of(rendered)
    assert entry is not None and (entry.item, entry.size, entry.fee_won) == (
        "의자",
        "사무용(바퀴·팔걸이)",
        3000,
    )
    free = entry_of(
        doc("강남구 대형폐기물 수수료: 선풍기", "강남구 · 선풍기 · 무료 · 0원", district="강남구")
    )
    assert free is not None and free.size == "" and free.fee_won == 0 and not free.paid
    explicit = entry_of(doc("아무 제목", "", district="종로구", item="책상", size="대", fee_won="7000"))
    assert explicit is not None and (explicit.district, explicit.item, explicit.fee_won) == (
        "종로구",
        "책상",
        7000,
    )
    assert entry_of(doc("제목 없음", "강남구 · 설명", district="강남구")) is None
    assert len(demo_fees) == 39 and demo_fees.districts() == {"강남구"}
