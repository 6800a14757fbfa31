"""Mapping files: YAML and TOML load to the same mappings, bad ones fail naming the problem."""

from __future__ import annotations

from pathlib import Path, PurePath

import pytest

from assistant.core.errors import ConfigurationError
from connectors.api_mapping import load_api_mappings
from connectors.table_mapping import load_table_mappings

YAML = """
mappings:
  - name: fees
    match: "*/bulky_waste_fees_demo.csv"
    mode: rows
    columns: [자치구, 품목, {column: 수수료, format: won}]
    title: "{자치구} {품목}"
    category: 대형폐기물 수수료
    district_column: 자치구
    id_columns: [자치구, 품목]
    filter: {자치구: 강남구}
  - name: guides
    match: [easylaw/*.csv, guides/*.csv]
    mode: text
    heading_column: cate2
    text_column: paragraph
"""

TOML = """
[[mappings]]
name = "fees"
match = "*/bulky_waste_fees_demo.csv"
mode = "rows"
columns = ["자치구", "품목", {column = "수수료", format = "won"}]
title = "{자치구} {품목}"
category = "대형폐기물 수수료"
district_column = "자치구"
id_columns = ["자치구", "품목"]
filter = {"자치구" = "강남구"}  # non-ASCII keys are quoted in TOML

[[mappings]]
name = "guides"
match = ["easylaw/*.csv", "guides/*.csv"]
mode = "text"
heading_column = "cate2"
text_column = "paragraph"
"""


def test_yaml_and_toml_load_to_equal_mappings(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(YAML, encoding="utf-8")
    (tmp_path / "m.toml").write_text(TOML, encoding="utf-8")

    from_yaml = load_table_mappings(tmp_path / "m.yaml")
    from_toml = load_table_mappings(tmp_path / "m.toml")

    assert from_yaml == from_toml
    fees = from_yaml.mappings[0]
    assert fees.columns[2].format == "won"
    assert fees.filter == {"자치구": ("강남구",)}
    assert from_yaml.mappings[1].match == ("easylaw/*.csv", "guides/*.csv")


def test_globs_match_from_the_right_and_the_first_match_wins(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(YAML, encoding="utf-8")
    mappings = load_table_mappings(tmp_path / "m.yaml")

    def name_for(path: str) -> str | None:
        found = mappings.for_path(PurePath(path))
        return found.name if found else None

    assert name_for("/srv/data/easylaw/1인 가구.csv") == "guides"
    assert name_for("/srv/guides/x.csv") == "guides"
    assert name_for("/srv/sample/bulky_waste_fees_demo.csv") == "fees"
    assert name_for("/srv/other/x.csv") is None


def test_the_shipped_mapping_file_loads(shipped_mapping: Path) -> None:
    mappings = load_table_mappings(shipped_mapping)

    names = [m.name for m in mappings.mappings]
    assert "easylaw" in names
    assert "bulky-waste-fees-demo" in names
    found = mappings.for_path(PurePath("/x/facilities/community_service_centers_2024.csv"))
    assert found is not None
    assert found.name == "community-service-centres"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("mappings:\n  - match: a.csv\n    mode: sideways\n", "mappings.0.mode"),
        ("mappings:\n  - match: a.csv\n    mode: text\n", "text mode needs text_column"),
        ("mappings:\n  - match: a.csv\n    colums: [a]\n", "colums"),
        ("mappings:\n  - match: a.csv\n    district_pattern: '(a)(b)'\n", "one capturing group"),
        ("mappings: [\n", "malformed YAML"),
    ],
)
def test_invalid_mapping_files_fail_naming_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(ConfigurationError) as caught:
        load_table_mappings(tmp_path / "bad.yaml")

    assert needle in str(caught.value)
    assert "bad.yaml" in str(caught.value)


def test_unknown_file_type_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{}", encoding="utf-8")

    with pytest.raises(ConfigurationError, match=r"\.yaml, \.yml or \.toml"):
        load_table_mappings(tmp_path / "m.json")


def test_api_mappings_live_in_the_same_file(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        YAML + "apis:\n  GetParkInfo: {id_fields: parking_code, title_fields: [parking_name]}\n",
        encoding="utf-8",
    )

    apis = load_api_mappings(tmp_path / "m.yaml")

    assert apis["GetParkInfo"].id_fields == ("parking_code",)
    assert apis["GetParkInfo"].title_fields == ("parking_name",)
    assert load_table_mappings(tmp_path / "m.yaml").mappings[0].name == "fees"
