"""Rows become documents: text and rows modes, rendering, ids, fingerprints, filters and duplicates."""

from __future__ import annotations

from pathlib import Path

from connectors.folder import FolderConnector
from connectors.table_mapping import TableMappings, load_table_mappings

DEMO = (
    "자치구,품목,규격,유무료,수수료\n"
    "강남구,장롱,폭 1m 이상,유료,8000\n"
    "강남구,장롱,폭 1m 미만,유료,5000\n"
    "마포구,소파,1인용,유료,3000\n"
)

GUIDE = (
    "cate2,paragraph\n"
    "공유재산의 의의,지방자치단체가 소유하는 재산을 공유재산이라고 합니다.\n"
    "사용허가,행정재산은 허가를 받아 사용할 수 있습니다.\n"
    "공유재산의 의의,같은 제목의 두 번째 단락입니다.\n"
    ",제목이 없는 단락입니다.\n"
)


def _demo_folder(tmp_path: Path, text: str = DEMO) -> Path:
    folder = tmp_path / "sample"
    folder.mkdir(exist_ok=True)
    (folder / "bulky_waste_fees_demo.csv").write_text(text, encoding="utf-8")
    return folder


def test_rows_mode_renders_the_demo_fee_table(tmp_path: Path, scan, shipped_mapping: Path) -> None:
    connector = FolderConnector(_demo_folder(tmp_path), mappings=load_table_mappings(shipped_mapping))

    result = scan(connector)

    assert result.problems == []
    first = result.documents[0]
    assert first.sections[0].text == "강남구 · 장롱 · 폭 1m 이상 · 유료 · 8,000원"
    assert first.sections[0].heading == ""
    assert first.kind == "record"
    assert first.title == "강남구 대형폐기물 수수료: 장롱"
    assert first.category == "대형폐기물 수수료"
    assert first.metadata["district"] == "강남구"
    assert first.document_id == "sample/bulky_waste_fees_demo.csv#강남구|장롱|폭 1m 이상"
    assert first.origin == "bulky_waste_fees_demo.csv"
    assert first.source == "sample"


def test_text_mode_keeps_ids_unique_when_a_heading_repeats(
    tmp_path: Path, scan, shipped_mapping: Path
) -> None:
    folder = tmp_path / "easylaw"
    folder.mkdir()
    (folder / "공유재산 이용자.csv").write_text(GUIDE, encoding="utf-8-sig")

    result = scan(FolderConnector(folder, mappings=load_table_mappings(shipped_mapping)))

    docs = result.documents
    assert [d.document_id for d in docs] == [
        "easylaw/공유재산 이용자.csv#공유재산의 의의",
        "easylaw/공유재산 이용자.csv#사용허가",
        "easylaw/공유재산 이용자.csv#공유재산의 의의@3",
        "easylaw/공유재산 이용자.csv#4",
    ]
    assert {d.title for d in docs} == {"공유재산 이용자"}
    assert len(docs[1].sections) == 1
    assert (docs[1].sections[0].heading, docs[1].sections[0].text) == (
        "사용허가",
        "행정재산은 허가를 받아 사용할 수 있습니다.",
    )
    assert docs[1].kind == "prose"
    assert docs[1].category == "공유재산 이용자"


def test_without_a_mapping_a_prose_column_means_text_mode(tmp_path: Path, scan) -> None:
    (tmp_path / "faq.csv").write_text(
        "번호,질문,답변\n1,여권은 어디서?,구청 민원실에서 발급합니다.\n", encoding="utf-8"
    )

    [doc] = scan(FolderConnector(tmp_path)).documents

    assert doc.kind == "prose"
    assert doc.sections[0].heading == "여권은 어디서?"
    assert doc.sections[0].text == "구청 민원실에서 발급합니다."
    assert doc.title == "faq"


def test_without_a_mapping_long_values_mean_text_mode(tmp_path: Path, scan) -> None:
    long_text = "가" * 300
    (tmp_path / "notes.csv").write_text(f"주제,설명글\n안내,{long_text}\n", encoding="utf-8")

    [doc] = scan(FolderConnector(tmp_path)).documents

    assert (doc.sections[0].heading, doc.sections[0].text) == ("안내", long_text)


def test_without_a_mapping_short_columns_mean_labelled_records(tmp_path: Path, scan) -> None:
    (tmp_path / "stations.csv").write_text("연번,호선,역명,전화\n1,2,시청,\n", encoding="utf-8")

    [doc] = scan(FolderConnector(tmp_path)).documents

    assert doc.kind == "record"
    assert doc.sections[0].text == "연번: 1 · 호선: 2 · 역명: 시청"
    assert doc.title == "시청"
    assert doc.document_id == f"{tmp_path.name}/stations.csv#1"  # no id columns: the row number


def test_exact_duplicates_are_dropped_and_counted(tmp_path: Path, scan, shipped_mapping: Path) -> None:
    folder = _demo_folder(tmp_path, DEMO + "강남구,장롱,폭 1m 이상,유료,8000\n" * 3)
    connector = FolderConnector(folder, mappings=load_table_mappings(shipped_mapping))

    result = scan(connector)

    assert len(result.documents) == 3
    assert result.problems == []
    assert connector.stats.duplicate_rows == 3
    assert connector.stats.documents == 3


def test_filter_keeps_only_matching_rows(tmp_path: Path, scan) -> None:
    folder = _demo_folder(tmp_path)
    mappings = TableMappings.model_validate(
        {
            "mappings": [
                {"match": "*.csv", "mode": "rows", "columns": ["품목"], "filter": {"자치구": "마포구"}}
            ]
        }
    )
    connector = FolderConnector(folder, mappings=mappings)

    result = scan(connector)

    assert [d.sections[0].text for d in result.documents] == ["소파"]
    assert connector.stats.filtered_rows == 2


def test_district_pattern_extracts_the_gu_from_an_address(tmp_path: Path, scan) -> None:
    (tmp_path / "h.csv").write_text(
        "사업장명,주소\n리페이스치과병원,서울특별시 강남구 논현동 5-4\n", encoding="utf-8"
    )
    mappings = TableMappings.model_validate(
        {
            "mappings": [
                {
                    "match": "h.csv",
                    "district_column": "주소",
                    "district_pattern": r"서울특별시\s+(\S+구)",
                    "updated_at_column": "주소",
                }
            ]
        }
    )

    [doc] = scan(FolderConnector(tmp_path, mappings=mappings)).documents

    assert doc.metadata["district"] == "강남구"
    assert doc.updated_at is None  # an unparseable date is simply absent


def test_mapping_naming_a_missing_column_is_a_problem_for_that_file(tmp_path: Path, scan) -> None:
    (tmp_path / "a.csv").write_text("x,y\n1,2\n", encoding="utf-8")
    mappings = TableMappings.model_validate(
        {"mappings": [{"name": "m", "match": "a.csv", "title": "{품목}"}]}
    )

    result = scan(FolderConnector(tmp_path, mappings=mappings))

    assert result.documents == []
    [problem] = result.problems
    assert problem.location == "a.csv"
    assert "mapping 'm' names columns the table lacks: 품목" in problem.reason


def test_ids_and_fingerprints_are_stable_and_change_only_where_a_row_changed(
    tmp_path: Path, scan, shipped_mapping: Path
) -> None:
    mappings = load_table_mappings(shipped_mapping)
    folder = _demo_folder(tmp_path)

    first = scan(FolderConnector(folder, mappings=mappings)).documents
    again = scan(FolderConnector(folder, mappings=mappings)).documents
    _demo_folder(tmp_path, DEMO.replace("마포구,소파,1인용,유료,3000", "마포구,소파,1인용,유료,3500"))
    changed = scan(FolderConnector(folder, mappings=mappings)).documents

    def fingerprints(docs: list) -> dict[str, str]:
        return {d.document_id: d.fingerprint for d in docs}

    assert fingerprints(first) == fingerprints(again)
    before, after = fingerprints(first), fingerprints(changed)
    assert before.keys() == after.keys()
    differing = [doc_id for doc_id in before if before[doc_id] != after[doc_id]]
    assert differing == ["sample/bulky_waste_fees_demo.csv#마포구|소파|1인용"]
    assert changed[2].sections[0].text.endswith("3,500원")
