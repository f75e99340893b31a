"""The fault analysis report of a circuit (集团客户传输专线故障分析报告, domain-rules.md §6).

Everything the inventory knows is filled in — the service type, the customer's name, address,
contact and phone, the account manager and phone, the circuit's number and name — and every
other field of the template is left blank for the maintainer to fill: the header (issuing
department, author, report date, work-order number) unless given, and the fault itself (start,
end, duration, level, handler, symptoms, handling, cause, corrective measures).

Two renderings a maintainer can print or send on: HTML (Jinja2, autoescaped, A4 print CSS)
and DOCX (python-docx).

>>> from inventory.report import FaultReport, ReportField
>>> report = FaultReport(circuit_id="C<1>", header=[], body=[
...     ReportField("customer_name", "客户名称", "Customer name", "A & B <Ltd>")], ends=[])
>>> "A &amp; B &lt;Ltd&gt;" in render_html(report)
True
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from inventory.errors import InventoryError, NotFound
from inventory.graph.store import GraphStore, Node

TEMPLATES = Path(__file__).with_name("templates")
TITLE_ZH = "集团客户传输专线故障分析报告"
TITLE_EN = "Enterprise leased-line fault analysis report"
FORMATS = ("html", "docx")

# How a service type is written on the report (the Chinese name the maintainers use).
SERVICE_TYPE_ZH = {"MICROWAVE": "微波", "WIMAX": "WiMAX"}


@dataclass(frozen=True)
class ReportField:
    """One field of the template: ``value`` is None when it is left to fill in."""

    key: str
    label_zh: str
    label_en: str
    value: str | None = None
    #: a long free-text field (symptoms, handling process …): rendered as a tall box.
    long: bool = False

    @property
    def filled(self) -> bool:
        return self.value not in (None, "")

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label_zh": self.label_zh, "label_en": self.label_en,
                "value": self.value, "long": self.long}


@dataclass
class FaultReport:
    """The report's content: header fields, body fields, and the circuit's ends for reference."""

    circuit_id: str
    header: list[ReportField]
    body: list[ReportField]
    #: one dict per circuit end: end (A/Z), site id, name, tier, address, contact, phone.
    ends: list[dict[str, Any]] = field(default_factory=list)

    def value(self, key: str) -> str | None:
        for item in (*self.header, *self.body):
            if item.key == key:
                return item.value
        raise KeyError(key)

    def as_dict(self) -> dict[str, Any]:
        return {"circuit_id": self.circuit_id, "title": TITLE_ZH,
                "header": [f.as_dict() for f in self.header],
                "body": [f.as_dict() for f in self.body], "ends": self.ends}


def _service_type(value: str | None) -> str | None:
    if not value:
        return None
    zh = SERVICE_TYPE_ZH.get(value)
    return f"{zh} ({value})" if zh else value


def _first(*values: Any) -> str | None:
    for value in values:
        if value not in (None, ""):
            return str(value)
    return None


def circuit_ends(store: GraphStore, circuit: Node) -> list[dict[str, Any]]:
    """The sites a circuit terminates at, A end first: from its ``TERMINATES_AT``
    relationships, else its ``a_end`` / ``z_end`` / ``site_id`` properties. An end at a
    device is reported at the site the device is located at."""
    ends: list[tuple[str, tuple[str, str]]] = []
    _, rels = store.neighbourhood([("Circuit", circuit.id)])
    for rel in rels:
        if rel.type == "TERMINATES_AT" and rel.start == ("Circuit", circuit.id):
            ends.append((str(rel.props.get("end", "")), rel.end))
    if not ends:
        for end, prop in (("A", "a_end"), ("Z", "z_end"), ("", "site_id")):
            ref = circuit.props.get(prop)
            if not ref:
                continue
            label = "Site" if store.get_node("Site", ref) else "Equipment"
            ends.append((end, (label, ref)))
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for end, (label, ref) in sorted(ends, key=lambda item: (item[0] or "~", item[1])):
        site = None
        if label == "Site":
            site = store.get_node("Site", ref)
        elif label == "Equipment":
            _, located = store.neighbourhood([("Equipment", ref)])
            for rel in located:
                if rel.type == "LOCATED_AT" and rel.start == ("Equipment", ref) \
                        and rel.end[0] == "Site":
                    site = store.get_node("Site", rel.end[1])
        if site is None or site.id in seen:
            continue
        seen.add(site.id)
        props = site.props
        result.append({"end": end, "site_id": site.id, "name": props.get("name"),
                       "tier": props.get("tier"), "address": props.get("address"),
                       "contact": props.get("contact"), "phone": props.get("phone")})
    return result


def build_fault_report(store: GraphStore, circuit_id: str, *, department: str | None = None,
                       author: str | None = None, report_date: _dt.date | str | None = None,
                       work_order: str | None = None) -> FaultReport:
    """Fill the §6 template for a circuit from the store.

    The customer's own address, contact and phone are used; where the customer record has
    none, those of the circuit's first site. Raises :class:`NotFound` for an unknown circuit.
    """
    circuit = store.get_node("Circuit", circuit_id)
    if circuit is None:
        raise NotFound("Circuit", circuit_id)
    customer_id = circuit.props.get("customer_id")
    customer = store.get_node("Customer", customer_id) if customer_id else None
    cprops = customer.props if customer else {}
    ends = circuit_ends(store, circuit)
    site = ends[0] if ends else {}
    if isinstance(report_date, _dt.date):
        report_date = report_date.isoformat()
    service = _service_type(circuit.props.get("service_type"))

    header = [
        ReportField("service_type", "业务类别", "Service type", service),
        ReportField("department", "填报部门", "Issuing department", department or None),
        ReportField("author", "填报人", "Author", author or None),
        ReportField("report_date", "填报日期", "Report date", report_date or None),
        ReportField("work_order", "工单编号", "Work-order number", work_order or None),
    ]
    # The contact and the phone come from one record: the customer's, else the site's.
    person = cprops if cprops.get("contact") or cprops.get("phone") else site
    contact, phone = _first(person.get("contact")), _first(person.get("phone"))
    body = [
        ReportField("customer_name", "客户名称", "Customer name",
                    _first(cprops.get("name"), customer_id)),
        ReportField("customer_address", "客户地址", "Customer address",
                    _first(cprops.get("address"), site.get("address"))),
        ReportField("contact", "客户联系人", "Customer contact", contact),
        ReportField("contact_phone", "联系电话", "Contact phone", phone),
        ReportField("account_manager", "客户经理", "Account manager",
                    _first(cprops.get("account_manager"))),
        ReportField("account_manager_phone", "客户经理电话", "Account manager phone",
                    _first(cprops.get("account_manager_phone"))),
        ReportField("circuit_id", "电路编号", "Circuit number", circuit.id),
        ReportField("circuit_name", "电路名称", "Circuit name", _first(circuit.props.get("name"))),
        ReportField("fault_start", "故障开始时间", "Fault start time"),
        ReportField("fault_end", "故障结束时间", "Fault end time"),
        ReportField("fault_duration", "故障历时", "Fault duration"),
        ReportField("fault_level", "故障等级", "Fault level"),
        ReportField("handler", "处理人", "Handler"),
        ReportField("handler_phone", "处理人电话", "Handler phone"),
        ReportField("symptoms", "故障现象", "Fault symptoms", long=True),
        ReportField("process", "处理过程", "Handling process", long=True),
        ReportField("cause", "原因分析", "Cause analysis", long=True),
        ReportField("measures", "整改措施", "Corrective measures", long=True),
    ]
    return FaultReport(circuit_id=circuit.id, header=header, body=body, ends=ends)


# --- rendering -----------------------------------------------------------------------------

def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)),
                       autoescape=select_autoescape(["html", "htm", "xml"], default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(report: FaultReport) -> str:
    """A printable HTML page (A4); every value from the inventory is HTML-escaped."""
    template = _environment().get_template("fault_report.html")
    return template.render(report=report, title_zh=TITLE_ZH, title_en=TITLE_EN)


def render_docx(report: FaultReport, out: str | Path | IO[bytes]) -> None:
    """Write the report as a Word document (python-docx) to a path or a binary stream."""
    try:
        from docx import Document
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml.ns import qn
        from docx.shared import Cm, Pt
    except ImportError:  # pragma: no cover - declared dependency
        raise InventoryError("DOCX output needs python-docx: pip install python-docx") from None

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    normal = document.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(10.5)
    # East Asian text uses its own font slot in OOXML.
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "SimSun")

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(TITLE_ZH)
    run.bold = True
    run.font.size = Pt(16)
    subtitle = document.add_paragraph(TITLE_EN)
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def add_table(fields: list[ReportField]) -> None:
        table = document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for item in fields:
            cells = table.add_row().cells
            label = cells[0].paragraphs[0]
            label.add_run(item.label_zh).bold = True
            label.add_run(f"\n{item.label_en}").font.size = Pt(8)
            cells[1].text = item.value or ""
            if item.long and not item.filled:
                for _ in range(5):
                    cells[1].add_paragraph("")
            cells[0].width, cells[1].width = Cm(4.5), Cm(12.5)

    add_table(report.header)
    document.add_paragraph("")
    add_table(report.body)
    if report.ends:
        document.add_paragraph("")
        document.add_paragraph().add_run("电路端点 Circuit ends").bold = True
        columns = [("end", "端 End"), ("site_id", "站点编码 Site"), ("name", "站点名称 Name"),
                   ("tier", "等级 Tier"), ("address", "地址 Address"),
                   ("contact", "联系人 Contact"), ("phone", "电话 Phone")]
        table = document.add_table(rows=1, cols=len(columns))
        table.style = "Table Grid"
        for cell, (_, heading) in zip(table.rows[0].cells, columns):
            cell.text = heading
        for end in report.ends:
            for cell, (key, _) in zip(table.add_row().cells, columns):
                cell.text = "" if end.get(key) is None else str(end[key])
    document.add_paragraph("")
    document.add_paragraph("签字 Signature: ____________________    "
                           "日期 Date: ____________________")
    if isinstance(out, (str, Path)):
        document.save(str(out))
    else:
        document.save(out)


def render_docx_bytes(report: FaultReport) -> bytes:
    buffer = io.BytesIO()
    render_docx(report, buffer)
    return buffer.getvalue()
