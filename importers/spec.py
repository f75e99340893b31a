"""What a resource-platform export looks like: one spec per entity (file or sheet).

Each :class:`Entity` lists its :class:`Column` s: the English name (the model's property
name, or an import-only column such as ``crs`` or ``a_id``), the Chinese headers the
platform writes, a parser turning the cell text into a typed value, and whether the column
must be present with a value on every row.  ``docs/import-format.md`` documents the same
table; ``tests/test_import_spec.py`` checks that the two agree.

>>> fold_header("长度（米）") == fold_header("长度(m)") == fold_header("长度")
True
>>> entity_for_name("光缆段.csv").key
'cable_sections'
>>> ENTITIES["sites"].column_for_header("＊站点 名称").name
'name'
>>> split_ratio("1／8"), split_ratio("01:08:00")
('1:8', '1:8')
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inventory import model
from inventory.model import normalise_token

#: Longest cell accepted; a longer one is a broken export (or an attack), never data.
MAX_CELL = 10_000

_normalize = unicodedata.normalize


# --- parsers: cell text (already stripped, never empty) -> typed value, or ValueError --------

def text(value: str) -> str:
    # model._text, one call less per cell; ASCII text is its own NFC form
    if type(value) is str and value.isascii():
        return value.strip()
    return _normalize("NFC", str(value)).strip()


def number(value: str) -> float:
    try:
        # the usual plain number: float() of it is what model._float gives (NFKC folds
        # only digits float() reads the same way); anything else takes model._float
        result = float(value)
        if math.isfinite(result):
            return result
    except ValueError:
        pass
    try:
        return model._float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"not a number: {value!r}") from None


def non_negative(value: str) -> float:
    result = number(value)
    if result < 0:
        raise ValueError(f"must not be negative: {value!r}")
    return result


def count(value: str) -> int:
    """A whole, non-negative number (fiber counts, capacity)."""
    try:
        result = model._int(value)
    except (ValueError, OverflowError):
        raise ValueError(f"not a whole number: {value!r}") from None
    if result < 0:
        raise ValueError(f"must not be negative: {value!r}")
    return result


def yes_no(value: str) -> bool:
    return model._bool(value)


def split_ratio(value: str) -> str:
    """``1:8``, ``1/8``, ``1：8`` -> ``1:8``.

    Excel and LibreOffice turn a typed ``1:8`` into the time 01:08 (read back as
    ``01:08:00``), which is recovered; ``1/8`` turned into a date is not.
    """
    folded = unicodedata.normalize("NFKC", value).replace(" ", "")
    match = re.fullmatch(r"(\d+)[:/](\d+)(?::00)?", folded)
    if not match or int(match[1]) == 0 or int(match[2]) == 0:
        if re.match(r"\d{4}-\d{2}-\d{2}", folded):
            raise ValueError(f"a date, not a split ratio: {value!r} (the spreadsheet turned "
                             "1/8 into a date; format the column as text and write 1:8)")
        raise ValueError(f"not a split ratio: {value!r} (write it like 1:8)")
    return f"{int(match[1])}:{int(match[2])}"


def ids(value: str) -> list[str]:
    """Several ids in one cell, separated by ``;`` ``,`` ``、`` or their full-width forms."""
    return list(dict.fromkeys(model._id_list(value)))


def enum_parser(cls: type[model.AliasEnum]) -> Callable[[str], str]:
    """Accept an enum's English value or any of its Chinese spellings; say which exist."""
    spellings = enum_spellings(cls)
    expected = ", ".join(f"{value} ({'/'.join(names[:2])})" if names else value
                         for value, names in spellings.items())

    def parse(value: str) -> str:
        try:
            return cls.parse(value).value
        except ValueError:
            raise ValueError(f"unknown {cls.__name__} {value!r}; expected one of "
                             f"{expected}") from None

    parse.enum = cls  # for the documentation
    return parse


def enum_spellings(cls: type[enum.Enum]) -> dict[str, list[str]]:
    """Each member's Chinese (non-ASCII) spellings, in the model's order."""
    table = model._ALIASES.get(cls, {})
    return {m.value: [a for a in table.get(m.value, ()) if not a.isascii()] for m in cls}


# --- columns and entities --------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One column of an export.

    ``refs`` names the labels a reference column may point to; ``many`` means a list of
    references in one cell.  ``kind`` drives special handling: ``lon``/``lat``/``crs``
    (coordinates, converted to WGS84), ``geometry`` (a route), ``ref``.
    """

    name: str
    headers: tuple[str, ...]
    parse: Callable[[str], Any] = text
    required: bool = False
    refs: tuple[str, ...] = ()
    many: bool = False
    kind: str = "value"
    doc: str = ""
    example: str = ""


@dataclass(frozen=True)
class Entity:
    """One file or sheet of an export: its names and columns."""

    key: str
    label: str | None          # the node label it creates; None for patches (PATCH only)
    names: tuple[str, ...]     # file stems / sheet names, English and Chinese
    columns: tuple[Column, ...]
    _by_header: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for column in self.columns:
            for header in (column.name, *column.headers):
                self._by_header.setdefault(fold_header(header), column)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def column_for_header(self, header: str) -> Column | None:
        return self._by_header.get(fold_header(header))


def fold_header(header: Any) -> str:
    """Fold a header for matching: full-width to ASCII (NFKC), units in brackets and the
    ``*`` that marks mandatory columns in platform templates dropped, case and spaces folded.
    """
    folded = unicodedata.normalize("NFKC", str(header))
    folded = re.sub(r"[(\[【〔][^)\]】〕]*[)\]】〕]", "", folded)
    return normalise_token(folded.replace("*", ""))


def _id(*headers: str) -> Column:
    return Column("id", (*headers, "编码", "编号", "ID"), model.clean_id, required=True,
                  doc="text, unique within the entity", example="S-0001")


def _name(*headers: str, required: bool = True) -> Column:
    return Column("name", (*headers, "名称"), text, required=required, doc="text")


def _enum(name: str, cls: type, headers: tuple[str, ...], required: bool = False) -> Column:
    return Column(name, headers, enum_parser(cls), required=required, kind="enum",
                  doc=cls.__name__)


def _ref(name: str, headers: tuple[str, ...], labels: tuple[str, ...],
         required: bool = False, many: bool = False) -> Column:
    return Column(name, headers, ids if many else text, required=required, refs=labels,
                  many=many, kind="ref", doc="id of " + " / ".join(labels))


ADDRESS = Column("address", ("标准地址", "地址", "详细地址"), text, doc="text (标准地址)")
LON = Column("lon", ("经度", "longitude", "lng"), number, kind="lon", doc="decimal degrees",
             example="82.0712")
LAT = Column("lat", ("纬度", "latitude"), number, kind="lat", doc="decimal degrees",
             example="44.9031")
CRS = Column("crs", ("坐标系", "坐标系统", "坐标类型"), text, kind="crs",
             doc="WGS84, CGCS2000, GCJ02 or BD09", example="GCJ02")
CONTACT = Column("contact", ("联系人",), text, doc="text")
PHONE = Column("phone", ("联系电话", "电话", "联系人电话"), text, doc="text")
DISTRICT = Column("district", ("区县", "所属区县", "行政区"), text, doc="text")
GEOMETRY = Column("geometry", ("路由坐标", "坐标串", "几何", "WKT"), text, kind="geometry",
                  doc="`lon,lat;lon,lat;…` or WKT LINESTRING",
                  example="82.071,44.903;82.075,44.905")
LENGTH = Column("length_m", ("长度", "皮长", "length"), non_negative, doc="metres",
                example="1250")
PHYSICAL = ("Site", "Room", "Point", "Equipment")

ENTITIES: dict[str, Entity] = {e.key: e for e in (
    Entity("customers", "Customer", ("customers", "customer", "客户", "集团客户", "客户信息"), (
        _id("客户编码", "集团编码", "集团客户编码", "客户编号"),
        _name("客户名称", "集团名称", "集团客户名称"),
        _enum("tier", model.Tier, ("服务等级", "客户等级", "等级", "保障等级"), required=True),
        CONTACT, PHONE,
        Column("account_manager", ("客户经理",), text, doc="text"),
        Column("account_manager_phone", ("客户经理电话", "客户经理联系电话"), text, doc="text"),
        Column("industry", ("行业", "所属行业", "行业类别"), text, doc="text"),
        ADDRESS,
    )),
    Entity("sites", "Site", ("sites", "site", "站点", "客户站点", "分支机构"), (
        _id("站点编码", "站点编号"),
        _ref("customer_id", ("客户编码", "所属客户", "集团编码", "所属集团客户"), ("Customer",),
             required=True),
        _name("站点名称"),
        _enum("tier", model.Tier, ("服务等级", "站点等级", "等级", "保障等级")),
        ADDRESS, LON, LAT, CRS, CONTACT, PHONE, DISTRICT,
    )),
    Entity("rooms", "Room", ("rooms", "room", "机房"), (
        _id("机房编码", "机房编号"), _name("机房名称"),
        _enum("kind", model.RoomKind, ("机房类型", "机房级别", "类型"), required=True),
        ADDRESS, LON, LAT, CRS, DISTRICT,
    )),
    Entity("maintenance_points", "MaintenancePoint",
           ("maintenance_points", "maintenance_point", "维护点"), (
        _id("维护点编码", "维护点编号"), _name("维护点名称"),
        ADDRESS, LON, LAT, CRS, CONTACT, PHONE,
    )),
    Entity("equipment", "Equipment", ("equipment", "equipments", "devices", "设备"), (
        _id("设备编码", "设备编号"), _name("设备名称"),
        _enum("type", model.EquipmentType, ("设备类型", "类型"), required=True),
        _enum("layer", model.Layer, ("网络层级", "层级", "网络层次", "所属层级"), required=True),
        _ref("location_id", ("所属机房", "安装位置", "所属站点", "安装点"),
             ("Site", "Room", "Point"), required=True),
        Column("vendor", ("厂家", "设备厂家", "生产厂家", "厂商"), text, doc="text"),
        Column("model", ("设备型号", "型号"), text, doc="text"),
        Column("split_ratio", ("分光比",), split_ratio, doc="`1:8`", example="1:8"),
        Column("monitored", ("是否监控", "可监控", "监控"), yes_no, doc="是/否, yes/no, 1/0"),
        Column("status", ("状态", "设备状态", "运行状态"), text, doc="text"),
        Column("coverage_address", ("覆盖地址", "覆盖区域标准地址", "覆盖标准地址"), text,
               doc="text (覆盖区域标准地址)"),
    )),
    Entity("points", "Point", ("points", "point", "设施点", "设施"), (
        _id("设施编码", "设施点编码", "设施编号"), _name("设施名称", "设施点名称"),
        _enum("kind", model.PointKind, ("设施类型", "类型"), required=True),
        ADDRESS, LON, LAT, CRS,
        Column("capacity", ("容量", "端子容量", "芯数容量"), count, doc="whole number"),
    )),
    Entity("cables", "Cable", ("cables", "cable", "光缆"), (
        _id("光缆编码", "光缆编号"), _name("光缆名称"),
        _enum("level", model.CableLevel, ("光缆级别", "光缆等级", "级别"), required=True),
        Column("fiber_count", ("纤芯数", "芯数"), count, doc="whole number", example="48"),
        Column("model", ("光缆型号", "型号"), text, doc="text"),
    )),
    Entity("ducts", "Duct", ("ducts", "duct", "管道段", "管道"), (
        _id("管道段编码", "管道编码", "管道段编号"), _name("管道段名称", "管道名称"),
        _enum("kind", model.DuctKind, ("管道类型", "管道级别", "类型"), required=True),
        GEOMETRY, LENGTH, CRS,
    )),
    Entity("cable_sections", None, ("cable_sections", "cable_section", "sections", "光缆段"), (
        _id("光缆段编码", "光缆段编号"), _name("光缆段名称", required=False),
        _ref("cable_id", ("所属光缆", "光缆编码"), ("Cable",), required=True),
        _ref("a_id", ("A端设施", "A端", "起点设施"), PHYSICAL, required=True),
        _ref("z_id", ("Z端设施", "Z端", "终点设施"), PHYSICAL, required=True),
        Column("fiber_count", ("纤芯数", "芯数"), count, doc="whole number", example="24"),
        Column("cores_used", ("占用芯数", "已用芯数", "使用芯数"), count, doc="whole number",
               example="6"),
        LENGTH,
        _enum("laying", model.Laying, ("敷设方式",)),
        _ref("duct_ids", ("所在管道段", "管道段", "所在管道"), ("Duct",), many=True),
        GEOMETRY,
        Column("status", ("状态", "使用状态"), text, doc="text"),
        CRS,
    )),
    Entity("circuits", "Circuit", ("circuits", "circuit", "电路"), (
        _id("电路编号", "电路编码"), _name("电路名称"),
        _ref("customer_id", ("客户编码", "所属客户", "集团编码"), ("Customer",), required=True),
        _enum("service_type", model.ServiceType, ("业务类别", "业务类型")),
        Column("rate", ("速率", "带宽", "电路速率"), text, doc="text", example="100M"),
        _ref("a_end", ("A端", "A端站点", "A端设备"), ("Site", "Equipment")),
        _ref("z_end", ("Z端", "Z端站点", "Z端设备"), ("Site", "Equipment")),
        _enum("protection", model.Protection, ("保护方式", "保护类型")),
        _ref("site_id", ("站点编码", "所属站点"), ("Site",)),
    )),
    Entity("patches", None, ("patches", "patch", "jumpers", "跳纤", "跳线"), (
        _id("跳纤编码", "跳线编码"),
        _ref("a_id", ("A端设备", "A端"), ("Equipment",), required=True),
        _ref("z_id", ("Z端设备", "Z端"), ("Equipment",), required=True),
        _name("跳纤名称", "跳线名称", required=False),
    )),
)}

# Where a row of each entity is written: the node label, or the relationship type.
REL_OF_ENTITY = {"cable_sections": "SEGMENT", "patches": "PATCH"}

# How a reference may be prefixed to name its label: ``Room:R-001``, ``机房:R-001``.
LABEL_PREFIXES: dict[str, str] = {normalise_token(k): v for k, v in {
    **{label: label for label in model.LABELS},
    "客户": "Customer", "站点": "Site", "机房": "Room", "设施": "Point", "设施点": "Point",
    "设备": "Equipment", "光缆": "Cable", "管道段": "Duct", "维护点": "MaintenancePoint",
    "电路": "Circuit",
}.items()}

_ORDER_PREFIX = re.compile(r"^\d+[\s_\-.、]*")


def entity_for_name(name: str) -> Entity | None:
    """The entity a file or sheet name stands for: ``sites.csv``, ``站点``, ``02_光缆段.csv``."""
    stem = re.sub(r"\.(csv|txt|tsv)$", "", name.strip(), flags=re.IGNORECASE)
    stem = _ORDER_PREFIX.sub("", stem)  # exports are often numbered to keep them in order
    folded = fold_header(stem)
    for entity in ENTITIES.values():
        if folded in {fold_header(n) for n in entity.names}:
            return entity
    return None


def entity_names() -> str:
    """The accepted names, for messages."""
    return ", ".join(f"{e.key} ({next(n for n in e.names if not n.isascii())})"
                     for e in ENTITIES.values())
