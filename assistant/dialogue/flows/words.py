"""The Korean words the rule-based command parser listens for, as data (a deployment may swap them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommandWords:
    """Words are compared folded (no spaces or punctuation). ``yes``/``no`` are whole answers or their
    beginnings; ``cancel`` and ``handoff`` are found anywhere in a short answer."""

    yes: tuple[str, ...] = (
        "네",
        "예",
        "응",
        "어",
        "넵",
        "넹",
        "맞아",
        "맞아요",
        "맞습니다",
        "맞네요",
        "좋아요",
        "좋습니다",
        "그래요",
        "그래",
        "그렇게해",
        "접수해",
        "신청해",
        "진행해",
        "ok",
        "오케이",
        "yes",
    )
    no: tuple[str, ...] = ("아니", "아뇨", "아니요", "아니오", "노", "no", "틀려", "틀렸", "잘못", "싫어")
    cancel: tuple[str, ...] = ("취소", "그만", "중단", "안할래", "안할게", "신청안할", "접수안할")
    handoff: tuple[str, ...] = (
        "상담원",
        "상담사",
        "사람이랑",
        "사람하고",
        "사람과",
        "사람바꿔",
        "사람연결",
        "직원연결",
        "직원이랑",
    )
    change_verbs: tuple[str, ...] = ("바꿔", "바꿀", "바꾸", "변경", "수정", "고쳐", "고칠", "정정")
    value_change_verbs: tuple[str, ...] = ("바꿔", "바꿀", "바꾸", "변경", "정정")
    """Verbs that correct without a label ("서초구로 바꿔줘"); not 고쳐, as in "가로등 고쳐 주세요"."""
    short_answer_chars: int = 15
