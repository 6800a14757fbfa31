"""CSV/TSV shapes: CRLF, padded headers, quoted multi-line fields, ragged rows, empty files."""

from __future__ import annotations

from pathlib import Path

from connectors.folder import FolderConnector
from connectors.table_mapping import TableMapping, TableMappings


def test_crlf_padded_header_and_bom_match_a_mapping(tmp_path: Path, scan) -> None:
    (tmp_path / "centres.csv").write_bytes(
        (
            "\ufeff연번,시군구,읍면동,주    소\r\n1,종로구,사직동주민센터,서울특별시 종로구 경희궁1길 15 \r\n"
        ).encode()
    )
    mapping = TableMapping(
        match=("centres.csv",),
        mode="rows",
        columns=({"column": "읍면동"}, {"column": "주 소", "label": "주소"}),  # type: ignore[arg-type]
        district_column=" 시군구 ",
        title="{읍면동}",
    )

    result = scan(FolderConnector(tmp_path, mappings=TableMappings(mappings=(mapping,))))

    assert result.problems == []
    [doc] = result.documents
    assert doc.title == "사직동주민센터"
    assert doc.sections[0].text == "사직동주민센터 · 주소: 서울특별시 종로구 경희궁1길 15"
    assert doc.metadata["district"] == "종로구"


def test_padded_header_displays_without_padding_by_default(tmp_path: Path, scan) -> None:
    (tmp_path / "centres.csv").write_text("읍면동,주    소\n사직동주민센터,경희궁1길 15\n", encoding="utf-8")

    [doc] = scan(FolderConnector(tmp_path)).documents

    assert doc.sections[0].text == "읍면동: 사직동주민센터 · 주소: 경희궁1길 15"


def test_quoted_multiline_field_stays_one_row(tmp_path: Path, scan) -> None:
    (tmp_path / "guide.csv").write_bytes(
        b"cate2,paragraph\r\n"
        b'"\xec\x9d\x98\xec\x9d\x98","first line\r\nsecond, with comma\r\n""quoted"""\r\n'
        b"next,tail\r\n"
    )

    result = scan(FolderConnector(tmp_path))

    assert result.problems == []
    assert [d.sections[0].text for d in result.documents] == [
        'first line\nsecond, with comma\n"quoted"',
        "tail",
    ]
    assert result.documents[0].sections[0].heading == "의의"


def test_row_with_wrong_field_count_is_a_problem_and_the_rest_continues(tmp_path: Path, scan) -> None:
    (tmp_path / "fees.csv").write_text(
        "자치구,품목,수수료\n강남구,장롱,8000\n마포구,냉장고\n서초구,소파,5000,extra\n용산구,책상,3000,,\n",
        encoding="utf-8",
    )

    result = scan(FolderConnector(tmp_path))

    assert [(p.location, p.row) for p in result.problems] == [("fees.csv", 2), ("fees.csv", 3)]
    assert "expected 3 fields as in the header, found 2" in result.problems[0].reason
    assert "line 3" in result.problems[0].reason
    # A trailing empty field is tolerated (spreadsheet exports add them).
    assert [d.title for d in result.documents] == ["강남구", "용산구"]


def test_empty_and_header_only_files_are_problems(tmp_path: Path, scan) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "blank.tsv").write_bytes(b"\xef\xbb\xbf \r\n")
    (tmp_path / "header_only.csv").write_text("a,b\n", encoding="utf-8")

    result = scan(FolderConnector(tmp_path))

    assert result.documents == []
    reasons = {p.location: p.reason for p in result.problems}
    assert reasons == {
        "blank.tsv": "the file is empty",
        "empty.csv": "the file is empty",
        "header_only.csv": "the file has a header but no data rows",
    }


def test_tsv_is_split_on_tabs(tmp_path: Path, scan) -> None:
    (tmp_path / "codes.tsv").write_text(
        "CODE\tMESSAGE\nINFO-200\t해당하는 데이터가 없습니다.\n", encoding="utf-8"
    )

    [doc] = scan(FolderConnector(tmp_path)).documents

    assert doc.sections[0].text == "CODE: INFO-200 · MESSAGE: 해당하는 데이터가 없습니다."


def test_unparseable_csv_keeps_earlier_rows_and_names_the_line(tmp_path: Path, scan) -> None:
    huge = "x" * 140_000  # over the csv module's field size limit
    (tmp_path / "big.csv").write_text(f"name,value\nok,1\nbig,{huge}\nafter,2\n", encoding="utf-8")

    result = scan(FolderConnector(tmp_path))

    assert [d.title for d in result.documents] == ["ok"]
    [problem] = result.problems
    assert problem.location == "big.csv"
    assert "malformed CSV at line 3" in problem.reason
    assert "rest of the file was skipped" in problem.reason
