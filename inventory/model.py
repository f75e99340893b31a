"""The domain model: labels, relationships, enums and the tier policy.

Every node is stored as ``(label, id, props)`` and every relationship as
``(type, id, start, end, props)``; the record classes below say which properties a
label has, of which type, and which are required.  :func:`clean_node` and
:func:`clean_rel` turn loose input (strings from a spreadsheet, Chinese enum names)
into validated, typed property dicts, raising :class:`~inventory.errors.ValidationError`
that names the field and the value.

>>> Tier.parse("金牌级") is Tier.GOLD
True
>>> clean_node("Site", {"id": "S1", "name": "博乐一中", "customer_id": "C1", "tier": "银牌"})["tier"]
'SILVER'
"""

from __future__ import annotations

import enum
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from inventory.errors import ValidationError

_TOKEN_JUNK = re.compile(r"[\s_\-.·]+")


def normalise_token(text: str) -> str:
    """Fold a header or enum value for matching: NFKC (full-width to ASCII), upper case,
    no spaces, underscores, hyphens or dots."""
    if type(text) is str:  # headers and enum cells repeat: remember them
        return _normalise_str(text)
    return _normalise(text)


def _normalise(text: Any) -> str:
    folded = unicodedata.normalize("NFKC", str(text)).strip().upper()
    return _TOKEN_JUNK.sub("", folded)


_normalise_str = lru_cache(maxsize=8192)(_normalise)


_ALIASES: dict[type, dict[str, tuple[str, ...]]] = {}


def aliases(table: dict[str, tuple[str, ...]]):
    """Class decorator: other spellings (Chinese, abbreviations) of an enum's members."""
    def register(cls):
        _ALIASES[cls] = table
        return cls
    return register


class AliasEnum(str, enum.Enum):
    """A string enum whose members also answer to Chinese and other spellings.

    Subclasses are decorated with :func:`aliases`: ``@aliases({"GOLD": ("金牌", "金牌级")})``.
    """

    @classmethod
    def _alias_table(cls) -> dict[str, AliasEnum]:
        table = cls.__dict__.get("_table")
        if table is None:
            table = {}
            aliases = _ALIASES.get(cls, {})
            for member in cls:
                table[normalise_token(member.value)] = member
                for alias in aliases.get(member.value, ()):
                    table[normalise_token(alias)] = member
            type.__setattr__(cls, "_table", table)
        return table

    @classmethod
    def parse(cls, value: Any) -> AliasEnum:
        if isinstance(value, cls):
            return value
        if type(value) is str:  # the common case, and the same few spellings again and again
            member = _lookup_member(cls, value)
        else:
            member = cls._alias_table().get(normalise_token(value))
        if member is None:
            raise ValueError(
                f"unknown {cls.__name__} {value!r}; expected one of {', '.join(cls.choices())}"
            )
        return member

    @classmethod
    def choices(cls) -> list[str]:
        return [m.value for m in cls]


@lru_cache(maxsize=8192)
def _lookup_member(cls: type[AliasEnum], value: str) -> AliasEnum | None:
    return cls._alias_table().get(normalise_token(value))


@aliases({
    "STANDARD": ("标准", "标准级", "普通", "普通级", "STD"),
    "BRONZE": ("铜牌", "铜牌级", "铜", "COPPER"),
    "SILVER": ("银牌", "银牌级", "银"),
    "GOLD": ("金牌", "金牌级", "金"),
})
class Tier(AliasEnum):
    STANDARD = "STANDARD"
    BRONZE = "BRONZE"
    SILVER = "SILVER"
    GOLD = "GOLD"

    @property
    def rank(self) -> int:
        return tier_policy(self).rank


@aliases({
    "SPLITTER": ("分光器", "光分路器", "分路器", "POS"),
    "ONU": ("ONT", "光网络单元"),
    "OLT": ("光线路终端",),
    "MICROWAVE": ("微波", "微波设备"),
    "MEDIA_CONVERTER": ("光电收发器", "光纤收发器", "收发器"),
    "PROTOCOL_CONVERTER": ("协议转换器", "协转"),
    "OPTICAL_TERMINAL_8M": ("8M光端机", "光端机", "8M"),
    "ROUTER": ("路由器",),
    "SWITCH": ("交换机",),
    "HUB": ("集线器",),
    "WIMAX": ("WIMAX设备",),
})
class EquipmentType(AliasEnum):
    OLT = "OLT"
    SPLITTER = "SPLITTER"
    ONU = "ONU"
    PTN = "PTN"
    MSTP = "MSTP"
    SDH = "SDH"
    WDM = "WDM"
    PDH = "PDH"
    MICROWAVE = "MICROWAVE"
    WIMAX = "WIMAX"
    MEDIA_CONVERTER = "MEDIA_CONVERTER"
    PROTOCOL_CONVERTER = "PROTOCOL_CONVERTER"
    OPTICAL_TERMINAL_8M = "OPTICAL_TERMINAL_8M"
    ROUTER = "ROUTER"
    SWITCH = "SWITCH"
    HUB = "HUB"


# Devices that need power and can be monitored; passive ones (splitters) cannot fail "silently".
PASSIVE_EQUIPMENT = frozenset({EquipmentType.SPLITTER})
# Operator devices that can be the access node of a site (domain-rules §2, issue 4).
ACCESS_NODE_TYPES = frozenset({EquipmentType.OLT, EquipmentType.PTN, EquipmentType.MSTP,
                               EquipmentType.SDH})


@aliases({
    "CORE": ("核心", "核心层"),
    "AGGREGATION": ("汇聚", "汇聚层", "AGG"),
    "ACCESS": ("接入", "接入层"),
    "CUSTOMER": ("客户", "客户侧", "用户侧", "CPE"),
})
class Layer(AliasEnum):
    CORE = "CORE"
    AGGREGATION = "AGGREGATION"
    ACCESS = "ACCESS"
    CUSTOMER = "CUSTOMER"


@aliases({
    "CORE": ("核心机房", "核心"),
    "AGGREGATION": ("汇聚机房", "汇聚"),
    "ACCESS": ("接入机房", "接入"),
    "CUSTOMER": ("客户机房", "用户机房", "客户"),
    "BASE_STATION": ("基站", "基站机房", "BTS"),
})
class RoomKind(AliasEnum):
    CORE = "CORE"
    AGGREGATION = "AGGREGATION"
    ACCESS = "ACCESS"
    CUSTOMER = "CUSTOMER"
    BASE_STATION = "BASE_STATION"


@aliases({
    "CABINET": ("光交", "光交接箱", "光交箱", "光缆交接箱"),
    "FIBER_BOX": ("分纤箱", "光分纤箱", "分线箱"),
    "CLOSURE": ("接头盒", "光缆接头盒", "直通接头盒"),
    "BRANCH_CLOSURE": ("分歧接头盒", "分支接头盒"),
    "MANHOLE": ("人井", "人孔", "手井", "手孔"),
    "POLE": ("电杆", "杆路", "电线杆"),
    "ODF": ("光配线架", "ODF架"),
})
class PointKind(AliasEnum):
    CABINET = "CABINET"
    FIBER_BOX = "FIBER_BOX"
    CLOSURE = "CLOSURE"
    BRANCH_CLOSURE = "BRANCH_CLOSURE"
    MANHOLE = "MANHOLE"
    POLE = "POLE"
    ODF = "ODF"


@aliases({
    "DUCT": ("管道", "管道敷设"),
    "AERIAL": ("架空", "架空敷设"),
    "BURIED": ("直埋", "直埋敷设"),
    "WALL": ("墙壁", "沿墙", "挂墙", "墙壁敷设"),
})
class Laying(AliasEnum):
    DUCT = "DUCT"
    AERIAL = "AERIAL"
    BURIED = "BURIED"
    WALL = "WALL"


@aliases({
    "TRUNK": ("主干", "主干光缆", "中继", "中继光缆"),
    "DISTRIBUTION": ("配线", "配线光缆"),
    "DROP": ("引入", "引入光缆", "皮线", "皮线光缆"),
})
class CableLevel(AliasEnum):
    TRUNK = "TRUNK"
    DISTRIBUTION = "DISTRIBUTION"
    DROP = "DROP"


@aliases({
    "TRUNK": ("主干", "主干管道"),
    "DISTRIBUTION": ("配线", "配线管道", "分支", "分支管道", "引入管道"),
})
class DuctKind(AliasEnum):
    TRUNK = "TRUNK"
    DISTRIBUTION = "DISTRIBUTION"


@aliases({"MICROWAVE": ("微波",), "PON": ("GPON", "EPON", "XGPON")})
class ServiceType(AliasEnum):
    SDH = "SDH"
    MSTP = "MSTP"
    PTN = "PTN"
    WDM = "WDM"
    PDH = "PDH"
    MICROWAVE = "MICROWAVE"
    WIMAX = "WIMAX"
    PON = "PON"


@aliases({
    "NONE": ("无", "无保护", "不保护"),
    "PROTECTED": ("有保护", "保护", "1+1", "1:1"),
    "RING": ("环", "成环", "成环保护", "环网"),
})
class Protection(AliasEnum):
    NONE = "NONE"
    PROTECTED = "PROTECTED"
    RING = "RING"


# --- typed records -------------------------------------------------------------------------

_normalize = unicodedata.normalize


def _text(value: Any) -> str:
    return _normalize("NFC", str(value)).strip()


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).strip().replace(",", "")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _int(value: Any) -> int:
    number = _float(value)
    if number != int(number):
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


_TRUE = {"1", "TRUE", "YES", "Y", "T", "是", "有", "已监控", "监控", "在网"}
_FALSE = {"0", "FALSE", "NO", "N", "F", "否", "无", "未监控", "不监控"}


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    token = normalise_token(value)
    if token in _TRUE:
        return True
    if token in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {value!r} (use 是/否, yes/no, 1/0)")


_ID_SEPARATORS = re.compile(r"[;；,，|、\s]+")


def _id_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = value
    elif isinstance(value, str) and value.isascii():
        # NFKC and NFC change no ASCII, and the pieces hold no white space to strip
        return [item for item in _ID_SEPARATORS.split(value) if item]
    else:
        items = _ID_SEPARATORS.split(unicodedata.normalize("NFKC", str(value)))
    return [_text(item) for item in items if _text(item)]


@dataclass(frozen=True)
class Field:
    """One property of a label: its parser and whether it must be present."""

    name: str
    parse: Any
    required: bool = False


def _spec(*items: tuple) -> dict[str, Field]:
    return {f.name: f for f in (Field(*item) for item in items)}


_LON = ("lon", _float)
_LAT = ("lat", _float)

# Properties per node label (id is implicit and always required).
NODE_FIELDS: dict[str, dict[str, Field]] = {
    "Customer": _spec(("name", _text, True), ("tier", Tier.parse, True), ("contact", _text),
                      ("phone", _text), ("account_manager", _text),
                      ("account_manager_phone", _text), ("industry", _text), ("address", _text)),
    "Site": _spec(("customer_id", _text, True), ("name", _text, True), ("tier", Tier.parse),
                  ("address", _text), _LON, _LAT, ("contact", _text), ("phone", _text),
                  ("district", _text)),
    "Room": _spec(("name", _text, True), ("kind", RoomKind.parse, True), ("address", _text),
                  _LON, _LAT, ("district", _text)),
    "Equipment": _spec(("name", _text, True), ("type", EquipmentType.parse, True),
                       ("layer", Layer.parse, True), ("vendor", _text), ("model", _text),
                       ("split_ratio", _text), ("monitored", _bool), ("status", _text),
                       ("coverage_address", _text), ("location_id", _text)),
    "Point": _spec(("name", _text, True), ("kind", PointKind.parse, True), ("address", _text),
                   _LON, _LAT, ("capacity", _int)),
    "Cable": _spec(("name", _text, True), ("level", CableLevel.parse, True),
                   ("fiber_count", _int), ("model", _text)),
    "Duct": _spec(("name", _text, True), ("kind", DuctKind.parse, True), ("geometry", _text),
                  ("length_m", _float)),
    "MaintenancePoint": _spec(("name", _text, True), ("address", _text), _LON, _LAT,
                              ("contact", _text), ("phone", _text)),
    "Circuit": _spec(("name", _text, True), ("service_type", ServiceType.parse),
                     ("rate", _text), ("customer_id", _text, True), ("a_end", _text),
                     ("z_end", _text), ("protection", Protection.parse), ("site_id", _text)),
}

REL_FIELDS: dict[str, dict[str, Field]] = {
    "HAS_SITE": {},
    "LOCATED_AT": {},
    "SEGMENT": _spec(("name", _text), ("cable_id", _text, True), ("length_m", _float),
                     ("fiber_count", _int), ("cores_used", _int), ("laying", Laying.parse),
                     ("duct_ids", _id_list), ("geometry", _text), ("geometry_approx", _bool),
                     ("status", _text)),
    "PATCH": _spec(("name", _text), ("port_a", _text), ("port_z", _text)),
    "TERMINATES_AT": _spec(("end", _text, True)),
    "SERVED_BY": _spec(("distance_km", _float)),
}

# Which labels a relationship may join (start labels, end labels).
_PHYSICAL = frozenset({"Site", "Room", "Point", "Equipment"})
REL_ENDPOINTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "HAS_SITE": (frozenset({"Customer"}), frozenset({"Site"})),
    "LOCATED_AT": (frozenset({"Equipment"}), frozenset({"Site", "Room", "Point"})),
    "SEGMENT": (_PHYSICAL, _PHYSICAL),
    "PATCH": (frozenset({"Equipment"}), frozenset({"Equipment"})),
    "TERMINATES_AT": (frozenset({"Circuit"}), frozenset({"Site", "Equipment"})),
    "SERVED_BY": (frozenset({"Site"}), frozenset({"MaintenancePoint"})),
}

LABELS: tuple[str, ...] = tuple(NODE_FIELDS)
REL_TYPES: tuple[str, ...] = tuple(REL_FIELDS)
_ID_RE = re.compile(r"\S(.*\S)?", re.S)
MAX_ID = 200  # characters


def clean_id(value: Any, field: str = "id") -> str:
    text = "" if value is None else _text(value)
    if not text or not _ID_RE.fullmatch(text):
        raise ValidationError(field, value, "an id must not be empty")
    if len(text) > MAX_ID:
        raise ValidationError(field, value, f"an id must be at most {MAX_ID} characters")
    return text


_Plan = tuple[dict[str, Any], frozenset[str], tuple[tuple[str, Any, bool, bool], ...]]
_PLANS: dict[int, _Plan] = {}


def _plan(spec: dict[str, Field]) -> _Plan:
    """A spec, the names it allows (with ``id``) and its (name, parse, required, is_text)
    list, worked out once per spec."""
    plan = (spec, frozenset(spec) | {"id"},
            tuple((f.name, f.parse, f.required, f.parse is _text) for f in spec.values()))
    _PLANS[id(spec)] = plan
    return plan


def _clean_props(spec: dict[str, Field], props: dict[str, Any], what: str) -> dict[str, Any]:
    plan = _PLANS.get(id(spec))
    if plan is None or plan[0] is not spec or len(plan[2]) != len(spec):
        plan = _plan(spec)
    if not plan[1].issuperset(props):
        unknown = set(props) - set(spec) - {"id"}
        name = sorted(unknown)[0]
        raise ValidationError(name, props[name], f"{what} has no property {name!r}")
    clean: dict[str, Any] = {}
    get = props.get
    for name, parse, required, is_text in plan[2]:
        raw = get(name)
        if is_text and type(raw) is str:  # _text inlined: most properties are text
            if raw.strip():
                clean[name] = _normalize("NFC", raw).strip()
                continue
        elif raw is not None and not (isinstance(raw, str) and not raw.strip()):
            try:
                value = parse(raw)
            except (ValueError, TypeError, OverflowError) as exc:
                raise ValidationError(name, raw, str(exc)) from None
            clean[name] = value.value if isinstance(value, enum.Enum) else value
            continue
        if required:
            raise ValidationError(name, raw, f"{what} needs a {name}")
    _check_coordinates(clean)
    return clean


def _check_coordinates(props: dict[str, Any]) -> None:
    if ("lon" in props) != ("lat" in props):
        missing = "lat" if "lon" in props else "lon"
        raise ValidationError(missing, None, "longitude and latitude come together")
    if "lon" not in props:
        return
    lon, lat = props["lon"], props["lat"]
    if not -180 <= lon <= 180:
        raise ValidationError("lon", lon, "longitude must be within -180..180")
    if not -90 <= lat <= 90:
        if -90 <= lon <= 90 and -180 <= lat <= 180:
            raise ValidationError("lat", lat, "latitude out of range: are longitude and "
                                  "latitude swapped?")
        raise ValidationError("lat", lat, "latitude must be within -90..90")


def clean_node(label: str, props: dict[str, Any]) -> dict[str, Any]:
    """Validate and type the properties of a node; the result includes ``id``."""
    if label not in NODE_FIELDS:
        raise ValidationError("label", label, f"unknown label; expected one of {LABELS}")
    node_id = clean_id(props.get("id"))
    return {"id": node_id, **_clean_props(NODE_FIELDS[label], props, label)}


def clean_rel(rel_type: str, props: dict[str, Any]) -> dict[str, Any]:
    """Validate and type the properties of a relationship (without its id and ends)."""
    if rel_type not in REL_FIELDS:
        raise ValidationError("type", rel_type, f"unknown relationship; expected {REL_TYPES}")
    return _clean_props(REL_FIELDS[rel_type], props, rel_type)


def check_endpoints(rel_type: str, start_label: str, end_label: str) -> None:
    starts, ends = REL_ENDPOINTS[rel_type]
    if start_label not in starts or end_label not in ends:
        raise ValidationError(
            "type", rel_type, f"{rel_type} cannot join {start_label} to {end_label}")


def rel_id(rel_type: str, start_id: str, end_id: str) -> str:
    """The id of a relationship that has no code of its own in the platform."""
    return f"{rel_type}:{start_id}->{end_id}"


# --- the tier policy -------------------------------------------------------------------------

POLICY_FILE = Path(__file__).with_name("policy.toml")


@dataclass(frozen=True)
class TierPolicy:
    """What one tier requires and is owed (domain-rules.md §2-§4), read from policy.toml."""

    tier: str
    rank: int
    label_zh: str
    access_nodes: int
    customer_devices: int
    routes: int
    ring: bool
    monitored: bool
    resource_confirmation_days: tuple[int, int]
    provisioning_days: tuple[int, int]
    recovery_limit_hours: float
    recovery_target_hours: float
    annual_outage_hours: float
    feedback_interval_minutes: int
    verbal_result_minutes: int
    written_report_working_days: int
    operation_report: str
    inspection: bool
    health_check: bool


@dataclass(frozen=True)
class DistancePolicy:
    road_factor: float
    band_km: float
    travel_speed_kmh: float
    cable_cut_extra_hours: float
    max_cable_cuts_per_year: int


@dataclass(frozen=True)
class OtdrPolicy:
    """Fault location from an OTDR reading (issue 5), the ``[otdr]`` table of policy.toml."""

    #: fiber length = route length x slack_factor (coils in closures, sag, vertical runs).
    slack_factor: float = 1.02
    #: a reading up to this far beyond the cable's far end is reported at the far end (flagged).
    end_tolerance_m: float = 100.0


@dataclass(frozen=True)
class PlanPolicy:
    """Access-plan validation (issue 6), the ``[plan]`` table of policy.toml."""

    #: fiber cores a circuit takes on every cable section of each of its routes.
    cores_per_route: int = 2


@dataclass(frozen=True)
class Policy:
    tiers: dict[str, TierPolicy]
    distance: DistancePolicy
    otdr: OtdrPolicy = OtdrPolicy()
    plan: PlanPolicy = PlanPolicy()


def load_policy(path: str | Path = POLICY_FILE) -> Policy:
    """Read a policy file; every tier must be present and every field set."""
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    tiers = {}
    names = {f.name for f in fields(TierPolicy)} - {"tier"}
    for tier in Tier:
        entry = dict(raw.get("tiers", {}).get(tier.value, {}))
        missing = names - set(entry)
        if missing:
            raise ValidationError("tiers", tier.value, f"{path}: missing {sorted(missing)}")
        for key in ("resource_confirmation_days", "provisioning_days"):
            entry[key] = tuple(entry[key])
        tiers[tier.value] = TierPolicy(tier=tier.value, **{k: entry[k] for k in names})
    return Policy(tiers=tiers, distance=DistancePolicy(**raw["distance"]),
                  otdr=OtdrPolicy(**raw.get("otdr", {})),
                  plan=PlanPolicy(**raw.get("plan", {})))


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    return load_policy()


def tier_policy(tier: Tier | str, policy: Policy | None = None) -> TierPolicy:
    return (policy or default_policy()).tiers[Tier.parse(tier).value]
