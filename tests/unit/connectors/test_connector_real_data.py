"""The shipped mapping.yaml against real files in ../shared/data (skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.folder import FolderConnector
from connectors.table_mapping import load_table_mappings


def test_easylaw_guides_become_titled_sections(shared_data: Path, scan, shipped_mapping: Path) -> None:
    mappings = load_table_mappings(shipped_mapping)
    results = [
        scan(FolderConnector(shared_data / "easylaw" / name, source="easylaw", mappings=mappings))
        for name in ("공유재산 이용자.csv", "1인 가구.csv")
    ]

    for result in results:
        assert result.problems == []
        ids = [d.document_id for d in result.documents]
        assert len(ids) == len(set(ids))
    shared_property = results[0].documents
    assert {d.title for d in shared_property} == {"공유재산 이용자"}
    first = shared_property[0]
    assert first.sections[0].heading == "공유재산의 의의"
    assert first.sections[0].text.startswith("국가가 소유하는 재산을 국유재산이라고 하는 반면")
    assert first.document_id == "easylaw/공유재산 이용자.csv#공유재산의 의의"
    assert first.kind == "prose"


def test_cp949_hospital_licences(shared_data: Path, scan, shipped_mapping: Path) -> None:
    path = shared_data / "facilities" / "seoul_hospital_licenses_202509_cp949.csv"
    connector = FolderConnector(path, source="hospitals", mappings=load_table_mappings(shipped_mapping))

    result = scan(connector)

    assert result.problems == []
    assert len(result.documents) == 899
    doc = result.by_title("리페이스치과병원")
    assert doc.sections[0].text == (
        "리페이스치과병원 · 치과병원 · 영업상태: 영업/정상 · 전화: 02-6204-1004"
        " · 주소: 서울특별시 강남구 도산대로 138, 13층 (논현동)"
    )
    assert doc.metadata["district"] == "강남구"
    assert doc.category == "병원"
    assert doc.updated_at is not None


def test_padded_header_community_centres(shared_data: Path, scan, shipped_mapping: Path) -> None:
    path = shared_data / "facilities" / "community_service_centers_2024.csv"
    connector = FolderConnector(path, source="centres", mappings=load_table_mappings(shipped_mapping))

    result = scan(connector)

    assert result.problems == []
    assert len(result.documents) == 3555
    doc = result.by_title("서울 종로구 사직동주민센터")
    assert doc.sections[0].text == "서울 · 종로구 · 사직동주민센터 · 주소: 서울특별시 종로구 경희궁1길 15"
    assert doc.metadata["district"] == "종로구"
    seoul = [d for d in result.documents if d.metadata.get("province") == "서울"]
    assert len(seoul) == 426


@pytest.mark.slow
def test_whole_easylaw_corpus_scans_cleanly(shared_data: Path, scan, shipped_mapping: Path) -> None:
    connector = FolderConnector(shared_data / "easylaw", mappings=load_table_mappings(shipped_mapping))

    result = scan(connector)

    assert result.problems == []
    assert len(result.documents) == 4990
    assert len({d.document_id for d in result.documents}) == 4990
    assert sum(d.char_count for d in result.documents) > 14_000_000
    assert connector.stats.files_read == 204
