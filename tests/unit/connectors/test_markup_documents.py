"""Markdown, text and HTML: one document per file, sections split at headings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connectors.folder import FolderConnector

MARKDOWN = """---
category: 복지
updated_at: 2024-05-01
---
머리말 문단입니다.

# 기초생활보장

## 지원 대상
소득인정액이 기준 이하인 가구.

```bash
# 이 줄은 제목이 아닙니다
```

## 신청 방법   ##
주민센터에 방문 신청합니다.
"""

HTML = """<!doctype html><html><head><title> 대형폐기물 배출 안내 </title>
<style>p { color: red }</style><script>alert("x")</script></head>
<body><nav><a href="/">홈</a> 메뉴</nav>
<p>서론입니다.</p>
<h1>배출 <em>방법</em></h1><p>구청에 신고합니다.</p><ul><li>스티커 부착</li><li>지정 장소 배출</li></ul>
<h2>수수료</h2><table><tr><td>장롱</td><td>8,000원</td></tr></table>
<h4>참고</h4><p>문의: 120</p>
</body></html>"""


def test_markdown_splits_at_headings_outside_code_fences(tmp_path: Path, scan) -> None:
    (tmp_path / "guide.md").write_text(MARKDOWN, encoding="utf-8")

    [doc] = scan(FolderConnector(tmp_path, source="s")).documents

    assert doc.document_id == "s/guide.md"
    assert doc.title == "기초생활보장"
    assert [s.heading for s in doc.sections] == ["", "지원 대상", "신청 방법"]
    assert doc.sections[0].text == "머리말 문단입니다."
    assert "# 이 줄은 제목이 아닙니다" in doc.sections[1].text
    assert doc.sections[2].text == "주민센터에 방문 신청합니다."
    assert doc.category == "복지"
    assert doc.updated_at == datetime(2024, 4, 30, 15, 0, tzinfo=UTC)


def test_markdown_without_h1_is_titled_by_its_stem(tmp_path: Path, scan) -> None:
    (tmp_path / "05_의료급여.markdown").write_text("의료급여 안내\n\n## 대상\n수급자", encoding="utf-8")

    [doc] = scan(FolderConnector(tmp_path)).documents

    assert doc.title == "05_의료급여"
    assert [(s.heading, s.text) for s in doc.sections] == [("", "의료급여 안내"), ("대상", "수급자")]


def test_text_file_is_one_section(tmp_path: Path, scan) -> None:
    (tmp_path / "공지.txt").write_bytes("첫 줄\r\n\r\n\r\n\r\n둘째   줄\r\n".encode("cp949"))

    [doc] = scan(FolderConnector(tmp_path)).documents

    assert doc.title == "공지"
    assert [(s.heading, s.text) for s in doc.sections] == [("", "첫 줄\n\n둘째 줄")]


def test_html_drops_scripts_styles_and_nav_and_splits_at_h1_to_h3(tmp_path: Path, scan) -> None:
    (tmp_path / "page.html").write_text(HTML, encoding="utf-8")

    [doc] = scan(FolderConnector(tmp_path)).documents

    assert doc.title == "대형폐기물 배출 안내"
    assert [s.heading for s in doc.sections] == ["", "배출 방법", "수수료"]
    assert doc.sections[0].text == "서론입니다."
    assert doc.sections[1].text == "구청에 신고합니다.\n스티커 부착\n지정 장소 배출"
    assert "장롱" in doc.sections[2].text
    assert "8,000원" in doc.sections[2].text
    assert "참고" in doc.sections[2].text  # h4 does not start a section
    everything = " ".join(s.text for s in doc.sections)
    assert "alert" not in everything
    assert "color" not in everything
    assert "메뉴" not in everything


def test_html_without_title_uses_h1_then_stem(tmp_path: Path, scan) -> None:
    (tmp_path / "a.htm").write_text("<h1>제목</h1><p>본문</p>", encoding="utf-8")
    (tmp_path / "b.html").write_text("<p>본문만</p>", encoding="utf-8")

    docs = scan(FolderConnector(tmp_path)).documents

    assert [d.title for d in docs] == ["제목", "b"]


def test_files_without_text_are_problems(tmp_path: Path, scan) -> None:
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "headings_only.md").write_text("# 제목\n## 소제목\n", encoding="utf-8")
    (tmp_path / "scripts_only.html").write_text("<script>x()</script>", encoding="utf-8")

    result = scan(FolderConnector(tmp_path))

    assert result.documents == []
    assert {p.location: p.reason for p in result.problems} == {
        "empty.md": "the file is empty",
        "headings_only.md": "the file has no text",
        "scripts_only.html": "the file has no text",
    }
