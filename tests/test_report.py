"""The fault analysis report (domain-rules §6): filled from the inventory, HTML-escaped,
and a DOCX that python-docx reads back; on both stores."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from click.testing import CliRunner

from inventory.cli import cli
from inventory.errors import NotFound
from inventory.graph.store import Node, Rel
from inventory.report import build_fault_report, render_docx, render_html

CUSTOMER = Node("Customer", "CU-1", {
    "name": "博乐市<第一>中学 & Co", "tier": "GOLD", "contact": "张三",
    "phone": "13800000001", "account_manager": "李四", "account_manager_phone": "13900000002",
    "address": "博乐市青得里大街 1 号"})
SITE = Node("Site", "S-1", {"customer_id": "CU-1", "name": "本部", "tier": "GOLD",
                            "address": "博乐市青得里大街 1 号", "contact": "王五",
                            "phone": "13700000003", "lon": 82.07, "lat": 44.90})
CIRCUIT = Node("Circuit", "BL-MSTP-0001", {
    "name": "博乐一中<script>alert(1)</script>专线", "customer_id": "CU-1",
    "service_type": "MICROWAVE", "rate": "100M", "a_end": "S-1"})


def load(store) -> None:
    store.upsert(nodes=[CUSTOMER, SITE, CIRCUIT], rels=[
        Rel("HAS_SITE", "HAS_SITE:CU-1->S-1", CUSTOMER.key, SITE.key),
        Rel("TERMINATES_AT", "TERMINATES_AT:BL-MSTP-0001->S-1", CIRCUIT.key, SITE.key,
            {"end": "A"}),
    ])


def test_report_fills_what_the_inventory_knows(store):
    load(store)
    report = build_fault_report(store, "BL-MSTP-0001", author="赵六")
    assert report.value("customer_name") == CUSTOMER.props["name"]
    assert report.value("customer_address") == CUSTOMER.props["address"]
    assert report.value("contact") == "张三"
    assert report.value("contact_phone") == "13800000001"
    assert report.value("account_manager") == "李四"
    assert report.value("account_manager_phone") == "13900000002"
    assert report.value("circuit_id") == "BL-MSTP-0001"
    assert report.value("circuit_name") == CIRCUIT.props["name"]
    assert report.value("service_type") == "微波 (MICROWAVE)"
    assert report.value("author") == "赵六"
    # the fault itself is left to fill in
    for key in ("fault_start", "fault_end", "fault_duration", "fault_level", "handler",
                "symptoms", "process", "cause", "measures", "work_order", "report_date"):
        assert report.value(key) is None
    assert [e["site_id"] for e in report.ends] == ["S-1"]


def test_contact_falls_back_to_the_site(sqlite_store):
    bare = Node("Customer", "CU-1", {"name": "X", "tier": "GOLD"})
    sqlite_store.upsert(nodes=[bare, SITE, CIRCUIT])  # no TERMINATES_AT: uses a_end
    report = build_fault_report(sqlite_store, "BL-MSTP-0001")
    assert (report.value("contact"), report.value("contact_phone")) == ("王五", "13700000003")
    assert report.value("customer_address") == SITE.props["address"]


def test_unknown_circuit(sqlite_store):
    with pytest.raises(NotFound):
        build_fault_report(sqlite_store, "nope")


def test_html_escapes_and_contains_the_fields(sqlite_store):
    load(sqlite_store)
    html = render_html(build_fault_report(sqlite_store, "BL-MSTP-0001"))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "博乐市&lt;第一&gt;中学 &amp; Co" in html
    for text in ("集团客户传输专线故障分析报告", "13900000002", "李四", "张三", "BL-MSTP-0001",
                 "工单编号", "故障现象", "整改措施"):
        assert text in html
    assert html.count('class="long"') == 4


def test_docx_opens_and_holds_the_fields(store):
    from docx import Document

    load(store)
    buffer = io.BytesIO()
    render_docx(build_fault_report(store, "BL-MSTP-0001"), buffer)
    buffer.seek(0)
    document = Document(buffer)
    cells = {}
    for table in document.tables:
        for row in table.rows:
            label = row.cells[0].text.split("\n")[0]
            cells[label] = row.cells[1].text
    assert cells["客户名称"] == CUSTOMER.props["name"]
    assert cells["电路名称"] == CIRCUIT.props["name"]
    assert cells["客户经理电话"] == "13900000002"
    assert cells["故障开始时间"] == ""
    assert any("集团客户传输专线故障分析报告" in p.text for p in document.paragraphs)


def test_cli_report_html_and_docx(store, store_env, tmp_path):
    from docx import Document

    load(store)
    html_file, docx_file = tmp_path / "r.html", tmp_path / "r.docx"
    result = CliRunner().invoke(cli, ["report", "BL-MSTP-0001", "-o", str(html_file)],
                                env=store_env)
    assert result.exit_code == 0, result.output
    assert "李四" in html_file.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", "BL-MSTP-0001", "--format", "docx",
                                      "-o", str(docx_file), "--work-order", "WO-7"],
                                env=store_env)
    assert result.exit_code == 0, result.output
    assert "WO-7" in [c.text for t in Document(str(docx_file)).tables for r in t.rows
                      for c in r.cells]


def test_cli_unknown_circuit_is_one_line(sqlite_store):
    result = subprocess.run([sys.executable, "-m", "inventory", "report", "nope", "--store",
                             sqlite_store.location.removeprefix("sqlite:")],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: Circuit 'nope' not found"
