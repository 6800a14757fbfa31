"""XLSX workbooks (built with openpyxl) and PDFs (built with pypdf), good and broken."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from connectors.folder import FolderConnector
from connectors.table_mapping import TableMappings


def _workbook(path: Path) -> None:
    workbook = openpyxl.Workbook()
    fees = workbook.active
    fees.title = "수수료"
    fees.append(["자치구", "품목", "수수료"])
    fees.append(["강남구", "장롱", 8000])
    fees.append(["마포구", "소파", 3000.0])
    fees.append([None, None, None])
    guide = workbook.create_sheet("안내")
    guide.append(["제목", "내용"])
    guide.append(["배출 방법", "구청 누리집에서 신고합니다."])
    workbook.create_sheet("빈 시트")
    workbook.save(path)


def _pdf(pages: list[str | None], *, title: str | None = None) -> bytes:
    writer = PdfWriter()
    for text in pages:
        page = writer.add_blank_page(width=300, height=300)
        if text is None:
            continue
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 20 250 Td ({text}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if title:
        writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_every_sheet_becomes_a_table_with_its_own_mode(tmp_path: Path, scan) -> None:
    _workbook(tmp_path / "fees.xlsx")

    result = scan(FolderConnector(tmp_path, source="s"))

    assert result.problems == []
    texts = [(d.document_id, d.sections[0].heading, d.sections[0].text) for d in result.documents]
    assert texts == [
        ("s/fees.xlsx#수수료:1", "", "자치구: 강남구 · 품목: 장롱 · 수수료: 8000"),
        ("s/fees.xlsx#수수료:2", "", "자치구: 마포구 · 품목: 소파 · 수수료: 3000"),
        ("s/fees.xlsx#안내:배출 방법", "배출 방법", "구청 누리집에서 신고합니다."),
    ]
    assert {d.metadata["sheet"] for d in result.documents} == {"수수료", "안내"}


def test_mapping_can_limit_a_workbook_to_its_first_sheet(tmp_path: Path, scan) -> None:
    _workbook(tmp_path / "fees.xlsx")
    mappings = TableMappings.model_validate(
        {
            "mappings": [
                {
                    "match": "fees.xlsx",
                    "sheets": "first",
                    "mode": "rows",
                    "columns": ["자치구", "품목", {"column": "수수료", "format": "won"}],
                }
            ]
        }
    )

    result = scan(FolderConnector(tmp_path, mappings=mappings))

    assert [d.sections[0].text for d in result.documents] == [
        "강남구 · 장롱 · 8,000원",
        "마포구 · 소파 · 3,000원",
    ]
    assert "sheet" not in result.documents[0].metadata


def test_corrupt_xlsx_is_a_problem(tmp_path: Path, scan) -> None:
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a zip archive")
    (tmp_path / "empty.xlsx").write_bytes(b"")

    result = scan(FolderConnector(tmp_path))

    assert result.documents == []
    reasons = {p.location: p.reason for p in result.problems}
    assert reasons["broken.xlsx"].startswith("not a readable XLSX workbook")
    assert reasons["empty.xlsx"] == "the file is empty"


def test_pdf_text_per_page(tmp_path: Path, scan) -> None:
    (tmp_path / "guide.pdf").write_bytes(_pdf(["Bulky waste guide", None, "Call 120"], title="Waste Guide"))

    [doc] = scan(FolderConnector(tmp_path, source="s")).documents

    assert doc.document_id == "s/guide.pdf"
    assert doc.title == "Waste Guide"
    assert [(s.heading, s.text) for s in doc.sections] == [("1쪽", "Bulky waste guide"), ("3쪽", "Call 120")]


def test_pdf_without_text_corrupt_or_empty_is_a_problem(tmp_path: Path, scan) -> None:
    (tmp_path / "scanned.pdf").write_bytes(_pdf([None, None]))
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf\n%%EOF")
    (tmp_path / "empty.pdf").write_bytes(b"")

    result = scan(FolderConnector(tmp_path))

    assert result.documents == []
    reasons = {p.location: p.reason for p in result.problems}
    assert reasons["scanned.pdf"] == "no extractable text in 2 page(s) (a scanned PDF needs OCR first)"
    assert reasons["corrupt.pdf"].startswith("cannot read the PDF (PdfReadError")
    assert reasons["empty.pdf"] == "the file is empty"
