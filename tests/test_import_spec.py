"""The export spec: unambiguous headers and names, documented column by column."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import importers.coords
import importers.spec
from importers.spec import ENTITIES, entity_for_name, fold_header

DOC = (Path(__file__).resolve().parent.parent / "docs" / "import-format.md").read_text("utf-8")


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_header_means_one_column(entity):
    seen: dict[str, str] = {}
    for column in ENTITIES[entity].columns:
        for header in (column.name, *column.headers):
            folded = fold_header(header)
            assert seen.setdefault(folded, column.name) == column.name, (entity, header)


def test_every_file_name_means_one_entity():
    seen: dict[str, str] = {}
    for entity in ENTITIES.values():
        for name in entity.names:
            assert seen.setdefault(fold_header(name), entity.key) == entity.key, name
            assert entity_for_name(f"{name}.csv") is entity
    assert entity_for_name("03_光缆段.CSV").key == "cable_sections"
    assert entity_for_name("sties.csv") is None


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_column_and_header_is_documented(entity):
    section = re.search(rf"^### {entity}\n(.*?)(?=^### |^## )", DOC, re.DOTALL | re.MULTILINE)
    assert section, entity
    for column in ENTITIES[entity].columns:
        line = next((ln for ln in section[1].splitlines() if ln.startswith(f"| `{column.name}`")),
                    None)
        assert line, (entity, column.name)
        for header in column.headers:
            assert header in line, (entity, column.name, header)


def test_units_in_brackets_and_full_width_fold_away():
    assert {fold_header(h) for h in ("长度(m)", "长度（米）", "长度 [m]", "长度【米】",
                                     "＊长度")} == {"长度"}
    assert ENTITIES["cable_sections"].column_for_header("length [m]").name == "length_m"
    assert ENTITIES["sites"].column_for_header("Customer ID").name == "customer_id"


@pytest.mark.parametrize("module", [importers.spec, importers.coords])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
