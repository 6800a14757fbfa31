"""CSV files in every encoding Korean public data ships in decode to the same documents."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from connectors.encoding import decode_text
from connectors.folder import FolderConnector

TABLE = "자치구,품목,수수료\r\n강남구,장롱,8000\r\n마포구,냉장고,12000\r\n"


@pytest.mark.parametrize(
    ("encoding", "prefix", "detected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8"),
        ("cp949", b"", "cp949"),
        ("euc-kr", b"", "cp949"),
    ],
    ids=["utf-8", "utf-8-bom", "cp949", "euc-kr"],
)
def test_each_encoding_decodes_to_the_same_text(encoding: str, prefix: bytes, detected: str) -> None:
    decoded = decode_text(prefix + TABLE.encode(encoding))

    assert decoded is not None
    assert decoded.text == TABLE
    assert decoded.encoding == detected


def test_cp949_only_syllables_decode() -> None:
    # 똠 and 햏 are outside EUC-KR's 2,350 syllables; CP949 has them.
    decoded = decode_text("똠얌꿍,햏\n".encode("cp949"))

    assert decoded is not None
    assert decoded.text == "똠얌꿍,햏\n"


def test_undecodable_bytes_give_none() -> None:
    assert decode_text(bytes(range(128, 256)) * 4) is None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949", "euc-kr"])
def test_folder_scan_reads_every_encoding_alike(tmp_path: Path, scan, encoding: str) -> None:
    (tmp_path / "fees.csv").write_bytes(TABLE.encode(encoding))

    result = scan(FolderConnector(tmp_path))

    assert result.problems == []
    texts = [d.sections[0].text for d in result.documents]
    assert texts == [
        "자치구: 강남구 · 품목: 장롱 · 수수료: 8000",
        "자치구: 마포구 · 품목: 냉장고 · 수수료: 12000",
    ]


def test_undecodable_file_is_a_problem_naming_it_and_the_scan_goes_on(tmp_path: Path, scan) -> None:
    (tmp_path / "a_broken.csv").write_bytes(bytes(range(128, 256)) * 4)
    (tmp_path / "b_good.csv").write_text(TABLE, encoding="utf-8")

    result = scan(FolderConnector(tmp_path))

    assert [p.location for p in result.problems] == ["a_broken.csv"]
    assert "cannot decode" in result.problems[0].reason
    assert [d.origin for d in result.documents] == ["b_good.csv", "b_good.csv"]
