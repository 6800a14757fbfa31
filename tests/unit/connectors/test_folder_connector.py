"""FolderConnector: walking order, hidden and unknown files, sources, origins and bad files."""

from __future__ import annotations

from pathlib import Path

from connectors.folder import FolderConnector, ScanStats


def _tree(root: Path) -> None:
    (root / "b").mkdir(parents=True)
    (root / "a").mkdir()
    (root / ".git").mkdir()
    (root / "b" / "z.txt").write_text("지", encoding="utf-8")
    (root / "a" / "y.md").write_text("# 와이\n내용", encoding="utf-8")
    (root / "top.txt").write_text("탑", encoding="utf-8")
    (root / ".hidden.txt").write_text("숨김", encoding="utf-8")
    (root / ".git" / "inside.txt").write_text("숨김", encoding="utf-8")
    (root / "picture.png").write_bytes(b"\x89PNG")
    (root / "mapping.yaml").write_text("mappings: []", encoding="utf-8")
    (root / "README.md").write_text("# 읽어보기\n설명", encoding="utf-8")


def test_walks_sorted_skips_hidden_and_counts_unknown_extensions(tmp_path: Path, scan) -> None:
    root = tmp_path / "knowledge"
    _tree(root)
    connector = FolderConnector(root)

    result = scan(connector)

    assert connector.source == "knowledge"
    assert [d.origin for d in result.documents] == ["README.md", "a/y.md", "b/z.txt", "top.txt"]
    assert [d.document_id for d in result.documents][1] == "knowledge/a/y.md"
    assert {d.source for d in result.documents} == {"knowledge"}
    assert connector.stats == ScanStats(files_read=4, files_skipped=2, documents=4)


def test_exclude_globs_skip_files(tmp_path: Path, scan) -> None:
    root = tmp_path / "knowledge"
    _tree(root)
    connector = FolderConnector(root, source="sample", exclude=("README.md", "*.yaml", "b/*"))

    result = scan(connector)

    assert [d.document_id for d in result.documents] == ["sample/a/y.md", "sample/top.txt"]
    assert connector.stats.files_skipped == 4


def test_a_single_file_root_is_named_by_its_stem(tmp_path: Path, scan) -> None:
    path = tmp_path / "fees.csv"
    path.write_text("품목,수수료\n장롱,8000\n", encoding="utf-8")

    connector = FolderConnector(path)
    [doc] = scan(connector).documents

    assert connector.source == "fees"
    assert (doc.origin, doc.document_id) == ("fees.csv", "fees/fees.csv#1")


def test_bad_files_are_problems_and_the_scan_goes_on(tmp_path: Path, scan) -> None:
    (tmp_path / "1.csv").write_bytes(b"")
    (tmp_path / "2.json").write_text("{", encoding="utf-8")
    (tmp_path / "3.pdf").write_bytes(b"garbage")
    (tmp_path / "4.txt").write_text("살아남은 문서", encoding="utf-8")
    connector = FolderConnector(tmp_path, source="s")

    result = scan(connector)

    assert [p.location for p in result.problems] == ["1.csv", "2.json", "3.pdf"]
    assert [d.document_id for d in result.documents] == ["s/4.txt"]
    assert connector.stats.problems == 3
    assert all(str(p).startswith(p.location) for p in result.problems)


def test_a_missing_root_is_one_problem(tmp_path: Path, scan) -> None:
    result = scan(FolderConnector(tmp_path / "nowhere", source="s"))

    assert result.documents == []
    assert [p.reason for p in result.problems] == ["the path does not exist"]
