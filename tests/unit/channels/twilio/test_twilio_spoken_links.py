"""Web and e-mail addresses out of spoken text without a broken sentence ("신청은 에서 하시면 돼요"), over
real answer sentences of the sample FAQ: as written (three carry a bare domain in parentheses), and with
the record's own URL where an answer would cite it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from channels.twilio.spoken import ear_sentences, speakable
from channels.twilio.spoken_links import fit_particle, without_addresses

FAQ = Path(__file__).resolve().parents[4] / "connectors" / "sample_knowledge" / "faq.jsonl"
ADDRESS = re.compile(r"https?://|www\.|\.(?:kr|com)\b|@")
DANGLING_PARTICLE = re.compile(r"(?:^|[\s,])(?:에서|에|을|를|으로|로|이|가|은|는|과|와)(?=[\s.,!?]|$)")


def faq_answers() -> dict[str, str]:
    records = (json.loads(line) for line in FAQ.read_text(encoding="utf-8").splitlines() if line.strip())
    return {record["id"]: record["answer"] for record in records}


def faq_urls() -> dict[str, str]:
    records = (json.loads(line) for line in FAQ.read_text(encoding="utf-8").splitlines() if line.strip())
    return {record["id"]: record["url"] for record in records}


# (FAQ id, a sentence of its answer, the same sentence with the record's URL where an answer could cite
# it, or None when the sentence already carries an address, and what the caller should hear)
PENSION = "기초연금은 주소지 주민센터, 가까운 국민연금공단 지사, 또는 "
SIGN_LANGUAGE = "문자 상담은 휴대전화 문자나 채팅으로 문의를 남기면 답변을 받을 수 있습니다."
QR = "대여소에 있는 자전거의 QR코드를 "

# (FAQ id, a sentence of its answer, the same sentence with the record's URL where an answer could cite
# it, or None when the sentence already carries an address, and what the caller should hear)
CASES: list[tuple[str, str, str | None, str]] = [
    (
        "faq-resident-copy-online",
        "네, 정부24(gov.kr)에서 본인 인증을 하면 주민등록 등본과 초본을 수수료 없이 발급받을 수 있습니다.",
        None,
        "네, 정부24에서 본인 인증을 하면 주민등록 등본과 초본을 수수료 없이 발급받을 수 있습니다.",
    ),
    (
        "faq-subway-lost-item",
        "습득된 물건은 노선별 유실물센터로 옮겨지고, "
        "경찰청 유실물 통합포털(lost112.go.kr)에서 검색할 수 있습니다.",
        None,
        "습득된 물건은 노선별 유실물센터로 옮겨지고, 경찰청 유실물 통합포털에서 검색할 수 있습니다.",
    ),
    (
        "faq-pet-lost",
        "먼저 잃어버린 장소 주변과 가까운 동물병원에 알리고, "
        "동물보호관리시스템(animal.go.kr)에 분실 신고를 해 주세요.",
        None,
        "먼저 잃어버린 장소 주변과 가까운 동물병원에 알리고, 동물보호관리시스템에 분실 신고를 해 주세요.",
    ),
    (
        "faq-basic-pension-apply",
        PENSION + "복지로 누리집에서 온라인으로 신청할 수 있습니다.",
        PENSION + "https://www.bokjiro.go.kr 에서 온라인으로 신청할 수 있습니다.",
        PENSION + "홈페이지에서 온라인으로 신청할 수 있습니다.",
    ),
    (
        "faq-basic-pension-apply",
        PENSION + "복지로 누리집에서 온라인으로 신청할 수 있습니다.",
        PENSION + "복지로 누리집 https://www.bokjiro.go.kr에서 온라인으로 신청할 수 있습니다.",
        PENSION + "복지로 누리집에서 온라인으로 신청할 수 있습니다.",
    ),
    (
        "faq-120-sign-language-text",
        "이용 방법과 운영 시간은 120 홈페이지에서 확인해 주세요.",
        "이용 방법과 운영 시간은 120 홈페이지(https://120dasan.or.kr)에서 확인해 주세요.",
        "이용 방법과 운영 시간은 일이공 홈페이지에서 확인해 주세요.",
    ),
    (
        "faq-120-sign-language-text",
        "수어 영상상담은 영상통화나 120 홈페이지를 통해 수어 상담사와 연결되고, " + SIGN_LANGUAGE,
        "수어 영상상담은 영상통화나 https://120dasan.or.kr을 통해 수어 상담사와 연결되고, " + SIGN_LANGUAGE,
        "수어 영상상담은 영상통화나 홈페이지를 통해 수어 상담사와 연결되고, " + SIGN_LANGUAGE,
    ),
    (
        "faq-illegal-parking-report",
        "불법 주정차는 행정안전부의 안전신문고 앱이나 누리집에서 신고할 수 있습니다.",
        "불법 주정차는 행정안전부의 안전신문고 앱이나 www.safetyreport.go.kr에서 신고할 수 있습니다.",
        "불법 주정차는 행정안전부의 안전신문고 앱이나 홈페이지에서 신고할 수 있습니다.",
    ),
    (
        "faq-basic-pension-amount",
        "올해 정확한 금액은 국민연금공단(1355)이나 기초연금 누리집에서 확인해 주세요.",
        "올해 정확한 금액은 국민연금공단(1355)이나 https://basicpension.mohw.go.kr 로 확인해 주세요.",
        "올해 정확한 금액은 국민연금공단(1355)이나 홈페이지로 확인해 주세요.",
    ),
    (
        "faq-ddareungi-rent",
        QR + "앱으로 찍으면 잠금이 풀리고 바로 탈 수 있습니다.",
        QR + "앱 https://www.bikeseoul.com 으로 찍으면 잠금이 풀리고 바로 탈 수 있습니다.",
        QR + "앱으로 찍으면 잠금이 풀리고 바로 탈 수 있습니다.",
    ),
]


@pytest.mark.parametrize(("faq_id", "sentence", "addressed", "heard"), CASES)
def test_real_answer_sentences_with_addresses_stay_whole(
    faq_id: str, sentence: str, addressed: str | None, heard: str
) -> None:
    assert sentence in faq_answers()[faq_id]  # a real sentence of that answer
    text = addressed if addressed is not None else sentence
    if addressed is not None:
        host = re.sub(r"^https?://(?:www\.)?", "", faq_urls()[faq_id])
        assert host in addressed  # the record's own site
    spoken = speakable(text)
    assert spoken == heard
    assert not ADDRESS.search(spoken)
    assert not DANGLING_PARTICLE.search(spoken), spoken


def test_the_sample_faq_sentences_with_a_domain_are_all_covered() -> None:
    with_domain = {
        sentence
        for answer in faq_answers().values()
        for sentence in re.split(r"(?<=[.!?])\s+", answer)
        if ADDRESS.search(sentence)
    }
    assert with_domain == {sentence for _, sentence, addressed, _ in CASES if addressed is None}


@pytest.mark.parametrize(
    ("text", "heard"),
    [
        ("신청은 https://www.gov.kr 에서 하시면 돼요.", "신청은 홈페이지에서 하시면 돼요."),
        ("신청은 https://www.gov.kr에서 하시면 돼요.", "신청은 홈페이지에서 하시면 돼요."),
        ("자세한 내용은 https://www.seoul.go.kr 을 참고하세요.", "자세한 내용은 홈페이지를 참고하세요."),
        ("www.bikeseoul.com과 앱에서 빌릴 수 있어요.", "홈페이지와 앱에서 빌릴 수 있어요."),
        ("자세한 내용은 https://www.seoul.go.kr", "자세한 내용은 홈페이지에서 확인해 주세요."),
        ("정부24: https://www.gov.kr", "정부24."),
        ("누리집 주소는 https://www.gov.kr입니다. 전화는 120이에요.", "전화는 일이공이에요."),
        ("문의는 help@seoul.go.kr로 보내 주세요.", "문의는 이메일로 보내 주세요."),
        ("전자우편 help@seoul.go.kr 으로 보내 주세요.", "전자우편으로 보내 주세요."),
        ("여권은 구청에서 만들어요.\nhttps://www.passport.go.kr", "여권은 구청에서 만들어요."),
        ("정부24 (https://www.gov.kr/portal?x=1) 에서 신청하세요.", "정부24에서 신청하세요."),
    ],
)
def test_addresses_are_rephrased_or_dropped_naturally(text: str, heard: str) -> None:
    assert speakable(text) == heard


def test_text_without_addresses_is_untouched() -> None:
    text = "수수료는 1.5배, 예: 3.14km 구간은 8,000원이에요. 이메일 접수는 하지 않아요."
    assert without_addresses(text) == text


@pytest.mark.parametrize(
    ("particle", "word", "fitted"),
    [
        ("을", "홈페이지", "를"),
        ("를", "누리집", "을"),
        ("로", "누리집", "으로"),
        ("으로", "이메일", "로"),  # ㄹ takes 로
        ("이", "복지로", "가"),
        ("와", "앱", "과"),
        ("에서", "홈페이지", "에서"),
        ("을", "ETAX", "을"),  # not Hangul: left as written
    ],
)
def test_particles_fit_the_word_they_follow(particle: str, word: str, fitted: str) -> None:
    assert fit_particle(particle, word) == fitted


def test_an_answer_with_a_link_is_spoken_in_whole_sentences() -> None:
    answer = (
        "주민등록등본은 정부24(https://www.gov.kr)에서 무료로 발급받을 수 있어요[1]. "
        "신청은 https://www.gov.kr 에서 하시면 돼요."
    )
    assert ear_sentences(answer, 300) == (
        "주민등록등본은 정부24에서 무료로 발급받을 수 있어요.",
        "신청은 홈페이지에서 하시면 돼요.",
    )
