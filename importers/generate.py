"""A realistic sample export of the Bortala access network (博尔塔拉蒙古自治州), streamed as CSV.

``generate(out, sites=N, seed=S)`` writes one CSV file per table of the import format
(``TABLES``) into the folder ``out`` plus ``manifest.json``, which lists the row counts and
every deliberately planted defect. See docs/sample-network.md for the picture.

Design, in brief:

* **Deterministic**: every random choice comes from :class:`random.Random` seeded with a
  string derived from the seed, so the same seed gives byte-identical files.
* **Streaming**: the backbone (maintenance points, rooms, rings) is built and written first
  and is the only thing kept in memory (a few thousand small records at N = 1,000,000).
  The outside plant of an access room (spines, cabinets, splitters, distribution chains,
  fiber boxes) is a pure function of ``(seed, room)``; it is built when the room's sites are
  generated, written once, and kept in a three-room window (dual-node sites also use the
  plant of a ring neighbour). Sites, their devices, drops and circuits are written as they
  are generated and forgotten. Planted defects go to a temporary JSON-lines file that is
  folded into the manifest at the end.
* **Routes are trees**: every cable section of the outside plant hangs off exactly one
  access node (a PTN/MSTP feeder to a cabinet, or an OLT feeder to a splitter), so the only
  way from a site to an access node is along the sections drawn for it.

>>> import tempfile, json, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     manifest = generate(pathlib.Path(d) / "out", sites=20, seed=1)
...     manifest["counts"]["sites"]
20
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --- the import format ---------------------------------------------------------------------

TABLES: dict[str, tuple[str, ...]] = {
    "customers": ("id", "name", "tier", "contact", "phone", "account_manager",
                  "account_manager_phone", "industry", "address"),
    "sites": ("id", "customer_id", "name", "tier", "address", "lon", "lat", "crs", "contact",
              "phone", "district"),
    "rooms": ("id", "name", "kind", "address", "lon", "lat", "crs", "district"),
    "maintenance_points": ("id", "name", "address", "lon", "lat", "crs", "contact", "phone"),
    "equipment": ("id", "name", "type", "layer", "location_id", "vendor", "model",
                  "split_ratio", "monitored", "status", "coverage_address"),
    "points": ("id", "name", "kind", "address", "lon", "lat", "crs", "capacity"),
    "cables": ("id", "name", "level", "fiber_count", "model"),
    "ducts": ("id", "name", "kind", "geometry", "length_m"),
    "cable_sections": ("id", "name", "cable_id", "a_id", "z_id", "fiber_count", "cores_used",
                       "length_m", "laying", "duct_ids", "geometry", "status"),
    "circuits": ("id", "name", "customer_id", "service_type", "rate", "a_end", "z_end",
                 "protection", "site_id"),
    "patches": ("id", "a_id", "z_id", "name"),
}

# The node label each table imports as (patches and cable sections are relationships).
TABLE_LABELS: dict[str, str] = {
    "customers": "Customer", "sites": "Site", "rooms": "Room",
    "maintenance_points": "MaintenancePoint", "equipment": "Equipment", "points": "Point",
    "cables": "Cable", "ducts": "Duct", "circuits": "Circuit",
}

CRS = "WGS84"
MANIFEST = "manifest.json"

# --- parameters (documented in docs/sample-network.md) -------------------------------------

TIER_SHARES = {"GOLD": 0.12, "SILVER": 0.18, "BRONZE": 0.25}   # STANDARD: the rest
DEFECT_SHARE = 0.03            # of all sites, per defect kind
SITES_PER_ACCESS_ROOM = 100    # the backbone scales with N: ~1 access room per 100 sites
MIN_ACCESS_ROOMS = 8
NEAR_KM = 45.0                 # every ordinary site is within this of a maintenance point
FAR_KM = 55.0                  # every beyond_50km site is at least this far from all of them

DEFECTS = {  # kind -> failed requirement (None: not a protection failure, a time-limit column)
    "shared_duct": "diverse_routes",
    "shared_cable": "diverse_routes",
    "single_access_node": "access_nodes",
    "unmonitored_device": "monitored",
    "beyond_50km": None,
}
DEFECT_TIERS = {"shared_duct": ("GOLD",), "shared_cable": ("GOLD",),
                "single_access_node": ("SILVER",)}

# --- geography -------------------------------------------------------------------------------

LON0, LAT0 = 82.0, 44.9
_PROVINCE = "新疆博尔塔拉蒙古自治州"


def _mlat(phi: float) -> float:
    return 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)


def _mlon(phi: float) -> float:
    return 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)


_MLAT0 = _mlat(math.radians(LAT0))
_MLON0 = _mlon(math.radians(LAT0))


def to_ll(x: float, y: float) -> tuple[float, float]:
    """Local metres (east, north of 82.0E 44.9N) to WGS84 lon/lat."""
    return LON0 + x / _MLON0, LAT0 + y / _MLAT0


def to_xy(lon: float, lat: float) -> tuple[float, float]:
    return (lon - LON0) * _MLON0, (lat - LAT0) * _MLAT0


def ll_distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Metres between two WGS84 points (ellipsoidal metres per degree at the mid latitude;
    within 0.01 % of the geodesic for the lengths used here)."""
    c = math.cos((lat1 + lat2) * _HALF_RAD)
    c2 = c * c
    mlon = c * (111412.84 - 93.5 * (4 * c2 - 3))
    mlat = 111132.954 - 559.822 * (2 * c2 - 1) + 1.175 * (8 * c2 * c2 - 8 * c2 + 1)
    return math.hypot((lon2 - lon1) * mlon, (lat2 - lat1) * mlat)


_HALF_RAD = math.pi / 360


def ll_length(coords: list[tuple[float, float]]) -> float:
    total = 0.0
    (lon1, lat1) = coords[0]
    for lon2, lat2 in coords[1:]:
        total += ll_distance(lon1, lat1, lon2, lat2)
        lon1, lat1 = lon2, lat2
    return total


def _dedupe(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = [pts[0]]
    for p in pts[1:]:
        if abs(p[0] - out[-1][0]) > 0.5 or abs(p[1] - out[-1][1]) > 0.5:
            out.append(p)
        elif len(out) > 1:      # keep the ends exact: the later of two near points wins
            out[-1] = p
    if len(out) == 1:  # both ends at one place: keep a 1 m line so that it is a line
        out.append((pts[0][0] + 1.0, pts[0][1]))
    return out


def _subdivide(pts: list[tuple[float, float]], maxlen: float) -> list[tuple[float, float]]:
    """The polyline with extra vertices so that no piece is longer than ``maxlen`` metres."""
    out = [pts[0]]
    for (x1, y1), (x2, y2) in itertools.pairwise(pts):
        n = max(1, math.ceil(math.hypot(x2 - x1, y2 - y1) / maxlen))
        for i in range(1, n + 1):
            out.append((x1 + (x2 - x1) * i / n, y1 + (y2 - y1) * i / n))
    return out


def _split(pts: list[tuple[float, float]], maxlen: float) -> list[list[tuple[float, float]]]:
    """Cut a polyline into pieces of equal length, at most ``maxlen`` each."""
    legs = [math.hypot(x2 - x1, y2 - y1) for (x1, y1), (x2, y2) in itertools.pairwise(pts)]
    total = sum(legs)
    n = max(1, math.ceil(total / maxlen))
    if n == 1:
        return [pts]
    size = total / n
    pieces, piece, done, cut = [], [pts[0]], 0.0, size
    for (x1, y1), (x2, y2), leg in zip(pts, pts[1:], legs):
        while len(pieces) < n - 1 and done + leg >= cut:
            t = (cut - done) / leg if leg else 0.0
            p = (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t)
            pieces.append(piece + [p] if p != piece[-1] else piece)
            piece, cut = [p], cut + size
        if (x2, y2) != piece[-1]:
            piece.append((x2, y2))
        done += leg
    pieces.append(piece)
    return [p for p in pieces if len(p) > 1]


def _fmt_ll(lon: float, lat: float) -> str:
    return f"{lon:.6f},{lat:.6f}"


def _coord_list(coords: list[tuple[float, float]]) -> str:
    """Cable-section geometry as the platform writes it: ``lon,lat;lon,lat;…``."""
    return ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in coords)


def _wkt(coords: list[tuple[float, float]]) -> str:
    return "LINESTRING (" + ", ".join(f"{lon:.6f} {lat:.6f}" for lon, lat in coords) + ")"


@dataclass(frozen=True)
class Town:
    key: str
    name: str
    district: str
    lon: float
    lat: float
    share: float            # of the access rooms
    urban_m: float          # radius of the town's street grid
    grid_m: float           # street spacing
    ew: tuple[str, ...]     # east-west streets, from the centre outwards (alternating N/S)
    ns: tuple[str, ...]     # north-south streets
    townships: tuple[str, ...]
    remote_deg: tuple[float, ...]  # directions (deg from east) that lead > 50 km from all depots
    mp_address: str

    @property
    def mp_id(self) -> str:
        return f"MP-{self.key}"

    @property
    def xy(self) -> tuple[float, float]:
        return to_xy(self.lon, self.lat)


TOWNS: tuple[Town, ...] = (
    Town("BL", "博乐", "博乐市", 82.07, 44.90, 0.50, 6000, 400,
         ("青得里大街", "北京路", "团结路", "新华路", "南城路", "锦绣路", "昆仑路", "天山路",
          "宏远路", "西环路"),
         ("红星路", "友谊路", "文化路", "人民路", "上海路", "南京路", "嘉兴路", "乌图布拉格路",
          "东环路", "滨河路"),
         ("青得里街道", "顾里木图街道", "南城街道", "小营盘镇", "达勒特镇", "乌图布拉格镇",
          "贝林哈日莫墩乡", "锦绣街道"),
         (-90.0, -115.0, -70.0), "青得里大街88号"),
    Town("JH", "精河", "精河县", 82.90, 44.60, 0.22, 3500, 300,
         ("友谊路", "团结路", "建设路", "新华路", "迎宾路", "解放路", "枸杞大道"),
         ("人民路", "文化路", "光明路", "胜利路", "精河大道", "东环路"),
         ("精河镇", "大河沿子镇", "托里镇", "茫丁乡", "八家户乡", "阿合其乡"),
         (0.0, -30.0, -80.0), "友谊路36号"),
    Town("WQ", "温泉", "温泉县", 81.02, 44.97, 0.14, 2500, 300,
         ("怡心路", "团结路", "博格达尔路", "友谊路", "温泉路"),
         ("哈日布呼路", "人民路", "文化路", "安格里格路"),
         ("博格达尔镇", "哈日布呼镇", "安格里格镇", "查干屯格乡", "扎勒木特乡", "塔秀乡"),
         (180.0, 160.0, 200.0), "博格达尔路12号"),
    Town("ALSK", "阿拉山口", "阿拉山口市", 82.55, 45.17, 0.14, 3000, 300,
         ("口岸路", "艾比湖路", "友谊路", "国门路", "综保大道"),
         ("迎宾路", "开发区路", "边城路", "物流大道"),
         ("阿拉山口街道", "艾比湖镇", "口岸街道"),
         (0.0, -15.0, 15.0), "口岸路1号"),
)

VILLAGES = ("团结村", "新湖村", "和平村", "幸福村", "红星村", "光明村", "胜利村", "友谊村",
            "新华村", "丰收村", "前进村", "东风村", "金泉村", "富民村", "阳光村", "牧场队")

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯董曹袁邓许傅沈彭吕苏卢蒋蔡贾丁魏"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "军", "杰", "涛", "明", "超", "霞", "平",
         "刚", "桂英", "建华", "志强", "海燕", "晓东", "立新", "玉兰", "文博", "国庆", "新疆",
         "红梅", "金凤", "永刚", "雪莲", "天明", "建军")
MINORITY_NAMES = ("巴特尔", "其其格", "阿依古丽", "买买提江", "古丽娜尔", "努尔兰", "哈斯图雅",
                  "布仁巴雅尔", "热依汗古丽", "叶尔兰", "乌兰", "吐尔逊")

BRANDS = ("天山", "赛里木", "博河", "金桥", "丝路", "西域", "瑞丰", "宏达", "恒信", "华凌",
          "康源", "鑫源", "通达", "中瑞", "昌盛", "蒙源", "阿拉套", "艾比湖", "胡杨", "雪莲",
          "丰泽", "润达", "德隆", "汇通", "嘉禾", "远航", "天润", "新源", "永泰", "博峰")
BANKS = ("中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "博乐农村商业银行",
         "中国邮政储蓄银行")
BUREAUS = ("人力资源和社会保障局", "市场监督管理局", "税务局", "公安局", "自然资源局",
           "交通运输局", "政务服务中心", "医疗保障局", "不动产登记中心")
BUSINESS = {
    "能源": ("能源", "石化", "电力", "燃气"),
    "物流": ("物流", "运输", "仓储"),
    "零售": ("商贸", "超市", "百货"),
    "制造": ("棉业", "建材", "化工", "枸杞制品"),
    "农业": ("农业", "牧业", "枸杞"),
    "旅游": ("旅游", "酒店", "文旅"),
    "口岸": ("国际贸易", "报关", "口岸物流"),
}
INDUSTRIES = ("金融", "政务", "教育", "医疗", "能源", "物流", "零售", "制造", "农业", "旅游",
              "口岸")
SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司")

# Spellings as the platform writes them; each row picks one (all parse with inventory.model).
SP_TIER = {"GOLD": ("金牌", "金牌级", "GOLD", "金牌"), "SILVER": ("银牌", "银牌级", "SILVER", "银牌"),
           "BRONZE": ("铜牌", "铜牌级", "BRONZE", "铜牌"),
           "STANDARD": ("标准", "标准级", "STANDARD", "标准")}
SP_POINT = {"CABINET": ("光交", "光交接箱", "光交", "CABINET"),
            "FIBER_BOX": ("分纤箱", "分纤箱", "光分纤箱", "FIBER_BOX"),
            "CLOSURE": ("接头盒", "光缆接头盒", "接头盒", "CLOSURE"),
            "BRANCH_CLOSURE": ("分歧接头盒", "分歧接头盒", "分支接头盒", "BRANCH_CLOSURE"),
            "MANHOLE": ("人井", "人井", "人孔", "MANHOLE"),
            "HANDHOLE": ("手井", "手孔", "人井"),
            "POLE": ("电杆", "电杆", "POLE")}
SP_LAYING = {"DUCT": ("管道", "管道", "管道敷设", "DUCT"), "AERIAL": ("架空", "架空", "AERIAL"),
             "BURIED": ("直埋", "直埋", "BURIED"), "WALL": ("墙壁", "沿墙", "WALL")}
SP_TYPE = {"OLT": ("OLT",), "PTN": ("PTN",), "MSTP": ("MSTP",), "ROUTER": ("路由器", "路由器", "ROUTER"),
           "SPLITTER": ("分光器", "分光器", "光分路器", "SPLITTER"), "ONU": ("ONU", "ONU", "光网络单元"),
           "MEDIA_CONVERTER": ("光电收发器", "光电收发器", "光纤收发器", "MEDIA_CONVERTER"),
           "PROTOCOL_CONVERTER": ("协议转换器", "协转", "协议转换器"),
           "SWITCH": ("交换机", "交换机", "SWITCH")}
SP_LAYER = {"CORE": ("核心", "核心层", "CORE"), "AGGREGATION": ("汇聚", "汇聚层", "AGGREGATION"),
            "ACCESS": ("接入", "接入层", "ACCESS", "接入"),
            "CUSTOMER": ("客户", "客户侧", "CUSTOMER", "客户")}
SP_ROOM = {"CORE": ("核心机房", "CORE"), "AGGREGATION": ("汇聚机房", "汇聚机房", "AGGREGATION"),
           "ACCESS": ("接入机房", "接入机房", "ACCESS"), "BASE_STATION": ("基站", "基站机房", "BASE_STATION")}
SP_CABLE = {"TRUNK": ("主干", "主干光缆", "中继光缆", "TRUNK"),
            "DISTRIBUTION": ("配线", "配线光缆", "DISTRIBUTION"),
            "DROP": ("引入", "引入光缆", "皮线光缆", "DROP")}
SP_DUCT = {"TRUNK": ("主干", "主干管道", "TRUNK"),
           "DISTRIBUTION": ("配线管道", "配线", "DISTRIBUTION"),
           "ENTRANCE": ("引入管道", "引入管道", "配线管道")}
SP_SERVICE = {"PTN": ("PTN",), "MSTP": ("MSTP",), "PON": ("PON", "GPON", "PON")}
SP_PROTECTION = {"NONE": ("无保护", "无", "NONE"), "PROTECTED": ("有保护", "1+1", "PROTECTED"),
                 "RING": ("成环保护", "环网", "RING")}
YES, NO = "是", "否"
STATUS = "在用"

VENDOR_MODELS = {
    "PTN": (("华为", "OptiX PTN 960"), ("中兴", "ZXCTN 6150"), ("烽火", "CiTRANS 640")),
    "MSTP": (("华为", "OptiX OSN 1500"), ("中兴", "ZXMP S325")),
    "OLT": (("华为", "MA5800-X7"), ("中兴", "ZXA10 C600"), ("烽火", "AN6000-7")),
    "AGG": (("华为", "OptiX PTN 3900"), ("中兴", "ZXCTN 9000-8E")),
    "CORE_PTN": (("华为", "OptiX PTN 7900E-32"),),
    "CORE_ROUTER": (("华为", "NE40E-X8A"),),
    "SPLITTER": (("烽火", "1:32插片式"), ("华为", "SPL-1x32"), ("中兴", "1:32盒式")),
    "ONU": (("华为", "HG8546M"), ("中兴", "ZXHN F623"), ("烽火", "HG6201M")),
    "ROUTER": (("华为", "AR6140"), ("华三", "MSR3600"), ("中兴", "ZXR10 1800")),
    "MEDIA_CONVERTER": (("瑞斯康达", "RC112"), ("烽火", "OL200"), ("华为", "OSN 500")),
    "PROTOCOL_CONVERTER": (("瑞斯康达", "RC831"), ("烽火", "GE-E1")),
    "SWITCH": (("华为", "S5735"), ("华三", "S5130")),
}


@dataclass(slots=True)
class Room:
    idx: int
    id: str
    code: str            # the id's tail, prefix of everything the room's plant owns
    kind: str            # CORE / AGGREGATION / ACCESS / BASE_STATION
    town: int
    x: float
    y: float
    street_y: float      # the E-W street in front of it
    urban: bool
    name: str = ""
    address: str = ""
    node_id: str = ""    # ACCESS: the PTN/MSTP node; AGG/CORE: the main device
    node_type: str = ""  # PTN / MSTP
    olt_id: str = ""
    sites: int = 0
    prev: int = -1       # access rooms next to it on its ring (indices; -1: an aggregation
    next: int = -1       # room is there)


@dataclass(slots=True)
class FiberBox:
    id: str
    name: str
    x: float
    y: float
    pon: bool
    side: int
    node_id: str         # the access node this box hangs off
    room: int
    last: bool           # on the cabinet at the far end of its spine (towards the neighbour)
    first: bool          # on the cabinet nearest the room


@dataclass
class Plant:
    """The outside plant of one access room: rows to write and fiber boxes to hang sites on."""

    room: int
    rows: list[tuple[str, tuple]] = field(default_factory=list)
    boxes: list[FiberBox] = field(default_factory=list)
    written: bool = False
    _choices: dict = field(default_factory=dict)

    def pick(self, rng: random.Random, pon: bool, side: int | None = None,
             last: bool | None = None, near_room: bool | None = None) -> FiberBox:
        key = (pon, side, last, near_room)
        choices = self._choices.get(key)
        if choices is None:
            choices = [b for b in self.boxes if b.pon is pon and side in (None, b.side)
                       and last in (None, b.last) and near_room in (None, b.first)]
            self._choices[key] = choices
        return choices[rng.randrange(len(choices))]

    def nearest(self, x: float, y: float, pon: bool, side: int | None = None) -> FiberBox:
        best, best_d = None, math.inf
        for box in self.boxes:
            if box.pon is pon and (side is None or box.side == side):
                d = (box.x - x) ** 2 + (box.y - y) ** 2
                if d < best_d:
                    best, best_d = box, d
        assert best is not None
        return best


class _Writer:
    """One CSV writer per table; counts rows."""

    def __init__(self, out: Path):
        self.files = {}
        self.writers = {}
        self.write = {}
        self.counts = dict.fromkeys(TABLES, 0)
        for table, columns in TABLES.items():
            handle = open(out / f"{table}.csv", "w", encoding="utf-8", newline="",
                          buffering=1 << 20)
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            self.files[table] = handle
            self.writers[table] = writer
            self.write[table] = writer.writerow

    def row(self, table: str, values: tuple) -> None:
        self.write[table](values)
        self.counts[table] += 1

    def rows(self, table: str, values: list[tuple]) -> None:
        self.writers[table].writerows(values)
        self.counts[table] += len(values)

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


def _apportion(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` by weights, largest remainder, deterministic."""
    s = sum(weights.values()) or 1.0
    raw = {k: total * w / s for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    rest = total - sum(out.values())
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], list(raw).index(k)))[:rest]:
        out[k] += 1
    return out


def class_counts(n: int) -> list[tuple[str, str | None, int]]:
    """Exact numbers of sites per (tier, defect) for ``n`` sites."""
    tiers = {t: round(n * s) for t, s in TIER_SHARES.items()}
    tiers["STANDARD"] = n - sum(tiers.values())
    k = round(n * DEFECT_SHARE)
    if n >= 50:
        k = max(1, k)
    left = dict(tiers)
    out: list[tuple[str, str | None, int]] = []
    for defect in ("shared_duct", "shared_cable", "single_access_node"):
        (tier,) = DEFECT_TIERS[defect]
        c = min(k, left[tier])
        left[tier] -= c
        out.append((tier, defect, c))
    for defect in ("unmonitored_device", "beyond_50km"):
        for tier, c in _apportion(k, {t: float(left[t]) for t in left}).items():
            c = min(c, left[tier])
            left[tier] -= c
            out.append((tier, defect, c))
    for tier in ("GOLD", "SILVER", "BRONZE", "STANDARD"):
        out.append((tier, None, left[tier]))
    return [c for c in out if c[2] > 0]


# --- the generator ---------------------------------------------------------------------------

class _Generator:
    def __init__(self, out: Path, n: int, seed: int):
        self.out, self.n, self.seed = out, n, seed
        self.w = _Writer(out)
        self._spellings: dict[tuple[int, str], Iterator[str]] = {}
        self.rooms: list[Room] = []
        self.access: list[int] = []     # indices of access rooms, in ring order
        self.aggs_by_town: list[list[int]] = [[] for _ in TOWNS]
        self.cores: list[int] = []
        self.hops = 0
        self.plants: dict[int, Plant] = {}

    def rng(self, *parts: Any) -> random.Random:
        return random.Random("/".join(map(str, (self.seed, *parts))))

    def sp(self, table: dict[str, tuple[str, ...]], key: str) -> str:
        """One of the platform's spellings of an enum value, in turn."""
        cycle = self._spellings.get((id(table), key))
        if cycle is None:
            cycle = self._spellings[(id(table), key)] = itertools.cycle(table[key])
        return next(cycle)

    # -- names and addresses --

    def street(self, town: Town, y: float, ew: bool = True) -> str:
        cy = town.xy[1] if ew else town.xy[0]
        k = round((y - cy) / town.grid_m)
        names = town.ew if ew else town.ns
        i = 2 * k - 1 if k > 0 else -2 * k
        if i < len(names):
            return names[i]
        return f"{'纬' if ew else '经'}{i - len(names) + 1}路"

    def address(self, town: Town, x: float, y: float, urban: bool) -> str:
        cx, cy = town.xy
        if urban:
            number = max(1, int(abs(x - cx) / 12)) * 2 + (1 if x > cx else 0)
            return f"{_PROVINCE}{town.district}{self.street(town, y)}{number}号"
        angle = math.atan2(y - cy, x - cx) % (2 * math.pi)
        rural = town.townships[len(town.townships) // 3:] or town.townships
        township = rural[int(angle / (2 * math.pi) * len(rural)) % len(rural)]
        cell = int((x + 1e6) // 2500) * 7919 + int((y + 1e6) // 2500)
        village = VILLAGES[cell % len(VILLAGES)]
        return f"{_PROVINCE}{town.district}{township}{village}{1 + cell % 9}组"

    @staticmethod
    def person(rng: random.Random) -> str:
        if rng.random() < 0.15:
            return rng.choice(MINORITY_NAMES)
        return rng.choice(SURNAMES) + rng.choice(GIVEN)

    @staticmethod
    def mobile(rng: random.Random) -> str:
        return f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"

    # -- writing helpers --

    def point(self, pid: str, name: str, kind: str, address: str, x: float, y: float,
              capacity: int | str = "", rows: list | None = None) -> None:
        lon, lat = to_ll(x, y)
        row = (pid, name, self.sp(SP_POINT, kind), address, f"{lon:.6f}", f"{lat:.6f}", CRS,
               capacity)
        self._emit("points", row, rows)

    def _emit(self, table: str, row: tuple, rows: list | None) -> None:
        if rows is None:
            self.w.row(table, row)
        else:
            rows.append((table, row))

    def duct_run(self, base: str, counter: list[int], pts: list[tuple[float, float]],
                 maxlen: float, kind: str, name: str, manholes: bool, address: str,
                 rows: list | None = None, first_manhole: bool = False,
                 last_manhole: bool = False, inner_manholes: bool = True
                 ) -> tuple[list[list[tuple[float, float]]], list[str]]:
        """Ducts along ``pts`` (local metres), at most ``maxlen`` long, with manholes between
        them. Returns the lon/lat coordinates of each duct and their ids."""
        bps = _subdivide(_dedupe(pts), maxlen)
        lls = [to_ll(x, y) for x, y in bps]
        geoms, ids = [], []
        if manholes:
            lo = 0 if first_manhole else 1
            hi = len(bps) if last_manhole else len(bps) - 1
            if not inner_manholes:
                lo = max(lo, len(bps) - 1)
            for i in range(lo, hi):
                counter[0] += 1
                hid = f"P-{base}-M{counter[0]:03d}"
                if inner_manholes:
                    self.point(hid, f"{name}{counter[0]}#人井", "MANHOLE", address, *bps[i],
                               rows=rows)
                else:   # a drop: only the hand hole in front of the building
                    self.point(hid, f"{name}手井", "HANDHOLE", address, *bps[i], rows=rows)
        many = len(bps) > 2
        for i in range(len(bps) - 1):
            counter[1] += 1
            did = f"D-{base}-{counter[1]:03d}"
            seg = [lls[i], lls[i + 1]]
            self._emit("ducts", (did, f"{name}{i + 1}段" if many else name,
                                 self.sp(SP_DUCT, kind), _wkt(seg),
                                 f"{ll_distance(*seg[0], *seg[1]):.1f}"), rows)
            geoms.append(seg)
            ids.append(did)
        return geoms, ids

    def drop_ducts(self, base: str, pts: list[tuple[float, float]], maxlen: float, name: str,
                   address: str, hand_hole: bool) -> tuple[list[tuple[float, float]], list[str]]:
        """The street ducts of one drop: pieces of at most ``maxlen`` (bends inside a piece),
        a hand hole (手井) at the end unless ``hand_hole`` is false. Returns the lon/lat line
        and the duct ids."""
        pieces = _split(_dedupe(pts), maxlen)
        line: list[tuple[float, float]] = []
        ids = []
        for i, piece in enumerate(pieces, 1):
            lls = [to_ll(x, y) for x, y in piece]
            did = f"D-{base}-{i}"
            self.w.row("ducts", (did, f"{name}{i}段" if len(pieces) > 1 else name,
                                 self.sp(SP_DUCT, "DISTRIBUTION"), _wkt(lls),
                                 f"{ll_length(lls):.1f}"))
            line.extend(lls if not line else lls[1:])
            ids.append(did)
        if hand_hole:
            self.point(f"P-{base}-H", f"{name}手井", "HANDHOLE", address, *pts[-1])
        return line, ids

    def section(self, sid: str, name: str, cable_id: str, a: str, z: str, fiber: int,
                used: int, laying: str, duct_ids: list[str], coords: list[tuple[float, float]],
                rows: list | None = None) -> None:
        row = (sid, name, cable_id, a, z, fiber, used, f"{ll_length(coords):.1f}",
               self.sp(SP_LAYING, laying), ";".join(duct_ids), _coord_list(coords), STATUS)
        self._emit("cable_sections", row, rows)

    def equipment(self, eid: str, name: str, etype: str, layer: str, location: str,
                  vendor_key: str, rng: random.Random, monitored: str = YES,
                  split_ratio: str = "", coverage: str = "", rows: list | None = None) -> None:
        vendor, model = rng.choice(VENDOR_MODELS[vendor_key])
        row = (eid, name, self.sp(SP_TYPE, etype), self.sp(SP_LAYER, layer), location, vendor,
               model, split_ratio, monitored, "在网" if layer != "CUSTOMER" else STATUS, coverage)
        self._emit("equipment", row, rows)

    # -- the backbone --

    def build_backbone(self) -> None:
        rng = self.rng("backbone")
        w = self.w
        for town in TOWNS:
            w.row("maintenance_points", (
                town.mp_id, f"{town.district}集客维护点", f"{_PROVINCE}{town.district}{town.mp_address}",
                f"{town.lon:.6f}", f"{town.lat:.6f}", CRS, self.person(rng), self.mobile(rng)))

        n_access = max(MIN_ACCESS_ROOMS, round(self.n / SITES_PER_ACCESS_ROOM))
        per_town = _apportion(n_access, {t.key: t.share for t in TOWNS})
        # rooms are numbered town by town, ring by ring, so ring neighbours are index +-1
        counters = {"C": 0, "G": 0, "A": 0}

        def new_room(kind: str, town_i: int, x: float, y: float, urban: bool) -> Room:
            town = TOWNS[town_i]
            letter = {"CORE": "C", "AGGREGATION": "G"}.get(kind, "A")
            counters[letter] += 1
            width = {"C": 2, "G": 4, "A": 5}[letter]
            code = f"{letter}{counters[letter]:0{width}d}"
            cy = town.xy[1]
            street_y = cy + round((y - cy) / (town.grid_m if urban else 2000)) * (
                town.grid_m if urban else 2000)
            room = Room(len(self.rooms), f"R-{code}", code, kind, town_i, x, street_y + 25,
                        street_y, urban)
            room.address = self.address(town, x, room.y, urban)
            self.rooms.append(room)
            return room

        def place(town: Town, urban: bool) -> tuple[float, float]:
            cx, cy = town.xy
            if urban:
                r = town.urban_m * math.sqrt(rng.random()) * 0.9
            else:
                r0, r1 = town.urban_m + 1000, 28000
                r = math.sqrt(r0 * r0 + (r1 * r1 - r0 * r0) * rng.random())
            a = rng.random() * 2 * math.pi
            return cx + r * math.cos(a), cy + r * math.sin(a)

        core_town = 0
        bl = TOWNS[core_town]
        for i, dx in enumerate((-700, 900)):
            core = new_room("CORE", core_town, bl.xy[0] + dx, bl.xy[1] + (i * 2 - 1) * 400, True)
            core.name = f"博乐{self.street(bl, core.street_y)}{'一' if i == 0 else '二'}号核心机房"
            self.cores.append(core.idx)

        rings_by_town: list[list[list[Room]]] = []
        for ti, town in enumerate(TOWNS):
            count = max(2, per_town[town.key])
            urban_n = count if count <= 4 else min(count, max(2, math.ceil(count * 0.45)))
            spots = [(*place(town, i < urban_n), i < urban_n) for i in range(count)]
            spots.sort(key=lambda s: _morton(s[0], s[1]))
            rooms = []
            for x, y, urban in spots:
                kind = "ACCESS" if urban or rng.random() < 0.5 else "BASE_STATION"
                rooms.append(new_room(kind, ti, x, y, urban))
            rings = []
            i = 0
            while i < len(rooms):      # rings of 2-7 access rooms, never of one
                rest = len(rooms) - i
                size = min(rng.choice((3, 4, 4, 5, 6)), rest)
                if rest - size == 1:
                    size += 1
                rings.append(rooms[i:i + size])
                i += size
            rings_by_town.append(rings)
            n_agg = max(2, math.ceil(len(rings) / 3))
            aggs = []
            for gi in range(n_agg):
                if gi < 2:
                    x, y = town.xy[0] + (gi * 2 - 1) * 0.35 * town.urban_m, town.xy[1] + 300
                else:  # near a group of rings
                    ring = rings[min(len(rings) - 1, (gi - 2) * 3 + 1)]
                    x, y = ring[0].x + 350, ring[0].y - 250
                agg = new_room("AGGREGATION", ti, x, y, math.hypot(
                    x - town.xy[0], y - town.xy[1]) <= town.urban_m)
                aggs.append(agg.idx)
            self.aggs_by_town[ti] = aggs

        # names, equipment, rooms rows
        for room in self.rooms:
            town = TOWNS[room.town]
            if room.kind == "AGGREGATION":
                room.name = f"{town.name}{self.street(town, room.street_y) if room.urban else ''}" \
                            f"{room.code[1:]}汇聚机房"
            elif room.kind in ("ACCESS", "BASE_STATION"):
                where = self.street(town, room.street_y) if room.urban else \
                    room.address.removeprefix(_PROVINCE + town.district)[:-2]
                room.name = f"{town.name}{where}{room.code[1:]}" + (
                    "接入机房" if room.kind == "ACCESS" else "基站")
            lon, lat = to_ll(room.x, room.y)
            w.row("rooms", (room.id, room.name, self.sp(SP_ROOM, room.kind), room.address,
                            f"{lon:.6f}", f"{lat:.6f}", CRS, town.district))
        for room in self.rooms:
            town = TOWNS[room.town]
            if room.kind == "CORE":
                room.node_id = f"EQ-{room.code}-PTN"
                self.equipment(room.node_id, f"{room.name}PTN核心设备", "PTN", "CORE", room.id,
                               "CORE_PTN", rng, coverage=town.district)
                rid = f"EQ-{room.code}-RT"
                self.equipment(rid, f"{room.name}核心路由器", "ROUTER", "CORE", room.id,
                               "CORE_ROUTER", rng, coverage=town.district)
                w.row("patches", (f"PA-{room.code}-1", room.node_id, rid, f"{room.name}核心互联跳纤"))
            elif room.kind == "AGGREGATION":
                room.node_id = f"EQ-{room.code}-PTN"
                self.equipment(room.node_id, f"{room.name}PTN汇聚设备", "PTN", "AGGREGATION",
                               room.id, "AGG", rng, coverage=town.district)
            else:
                room.node_type = "MSTP" if rng.random() < 0.15 else "PTN"
                room.node_id = f"EQ-{room.code}-{room.node_type}"
                room.olt_id = f"EQ-{room.code}-OLT"
                cover = room.address.rsplit("号", 1)[0].rstrip("0123456789") if room.urban \
                    else room.address[:-2]
                self.equipment(room.node_id, f"{room.name}{room.node_type}接入设备",
                               room.node_type, "ACCESS", room.id, room.node_type, rng,
                               coverage=cover)
                self.equipment(room.olt_id, f"{room.name}OLT", "OLT", "ACCESS", room.id, "OLT",
                               rng, coverage=cover)
                w.row("patches", (f"PA-{room.code}-1", room.olt_id, room.node_id,
                                  f"{room.name}OLT上联跳纤"))

        # rings: core, town backbones, aggregation chains, access rings
        c1, c2 = (self.rooms[i] for i in self.cores)
        self.hop(c1, c2, rng, via=+1)
        self.hop(c2, c1, rng, via=-1)
        for ti, _town in enumerate(TOWNS):
            aggs = [self.rooms[i] for i in self.aggs_by_town[ti]]
            if ti == core_town:
                ends, rest = (c1, c2), aggs
            else:
                ends, rest = (aggs[0], aggs[1]), aggs[2:]
                self.hop(c1, aggs[0], rng, via=+1)
                self.hop(c2, aggs[1], rng, via=-1)
                self.hop(aggs[0], aggs[1], rng)
            rest = sorted(rest, key=lambda r: _morton(r.x, r.y))
            for k in range(0, len(rest), 5):
                self.chain([ends[0], *rest[k:k + 5], ends[1]], rng)
            for ring in rings_by_town[ti]:
                a1 = min(aggs, key=lambda g: _d2(g, ring[0]))
                a2 = min((g for g in aggs if g is not a1), key=lambda g: _d2(g, ring[-1]))
                self.chain([a1, *ring, a2], rng)
                for k, room in enumerate(ring):
                    self.access.append(room.idx)
                    room.prev = ring[k - 1].idx if k else -1
                    room.next = ring[k + 1].idx if k + 1 < len(ring) else -1

        # sites per access room: weights, urban rooms busier
        weights = {str(i): (1.6 if self.rooms[i].urban else 1.0) * (0.5 + rng.random())
                   for i in self.access}
        for key, count in _apportion(self.n, weights).items():
            self.rooms[int(key)].sites = count

    def chain(self, rooms: list[Room], rng: random.Random) -> None:
        for a, b in itertools.pairwise(rooms):
            self.hop(a, b, rng)

    def hop(self, a: Room, b: Room, rng: random.Random, via: int = 0) -> None:
        """One trunk cable between two rooms, in its own ducts, spliced at closures."""
        self.hops += 1
        base = f"BB{self.hops:05d}"
        town_a, town_b = TOWNS[a.town], TOWNS[b.town]
        off = rng.uniform(-12, 12)
        if a.town == b.town and not via:
            pts = [(a.x, a.y), (a.x, a.street_y + off), (b.x + off, a.street_y + off),
                   (b.x + off, b.street_y + off), (b.x, b.y)]
            urban = a.urban and b.urban
            maxlen = 150 if urban else 800
        else:  # along a road between towns (or the two core links)
            mx, my = (a.x + b.x) / 2, (a.y + b.y) / 2
            dx, dy = b.x - a.x, b.y - a.y
            dist = math.hypot(dx, dy) or 1.0
            bend = via * max(600.0, 0.06 * dist)
            pts = [(a.x, a.y), (a.x, a.street_y + off),
                   (mx - dy / dist * bend, my + dx / dist * bend),
                   (b.x, b.street_y - off), (b.x, b.y)]
            maxlen = 150 if dist < 5000 else 1000
            urban = False
        name = f"{a.name[:12]}-{b.name[:12]}"
        counter = [0, 0]
        geoms, ducts = self.duct_run(base, counter, pts, maxlen, "TRUNK", f"{name}主干管道",
                                     True, a.address if urban else town_a.district)
        cable = f"CB-{base}"
        fiber = rng.choice((48, 96, 144))
        self.w.row("cables", (cable, f"{name}主干光缆", self.sp(SP_CABLE, "TRUNK"), fiber,
                              f"GYTA53-{fiber}B1"))
        # closures every ~3 km (at duct ends), each with its own id
        total = 0.0
        cuts = []
        for i, g in enumerate(geoms[:-1]):
            total += ll_length(g)
            if total >= 3000:
                cuts.append(i + 1)
                total = 0.0
        ends = [a.id]
        for k, i in enumerate(cuts):
            jid = f"P-{base}-J{k + 1:02d}"
            lon, lat = geoms[i][0]
            x, y = to_xy(lon, lat)
            self.point(jid, f"{name}{k + 1}#接头盒", "CLOSURE",
                       self.address(town_a if k < len(cuts) / 2 else town_b, x, y, False),
                       x, y, capacity=fiber * 2)
            ends.append(jid)
        ends.append(b.id)
        bounds = [0, *cuts, len(geoms)]
        for k in range(len(ends) - 1):
            lo, hi = bounds[k], bounds[k + 1]
            coords = [geoms[lo][0]] + [g[1] for g in geoms[lo:hi]]
            self.section(f"SEC-{base}-{k + 1:02d}", f"{name}主干光缆第{k + 1}段", cable,
                         ends[k], ends[k + 1], fiber, rng.randrange(8, fiber // 2), "DUCT",
                         ducts[lo:hi], coords)

    # -- the outside plant of one access room (pure: depends on seed and room only) --

    def plant(self, idx: int) -> Plant:
        plant = self.plants.get(idx)
        if plant is None:
            plant = self._build_plant(idx)
            self.plants[idx] = plant
        return plant

    def write_plant(self, idx: int) -> None:
        plant = self.plant(idx)
        if not plant.written:
            for table, row in plant.rows:
                self.w.row(table, row)
            plant.rows = []
            plant.written = True
        # keep a window of three rooms (ring neighbours are index +-1)
        for key in [k for k in self.plants if k < idx - 1]:
            del self.plants[key]

    def _build_plant(self, idx: int) -> Plant:
        """Two spines of trunk ducts leave the room, each towards a ring neighbour (so the
        plants of neighbouring rooms meet half-way); cabinets sit along each spine, each fed by
        its own trunk cable from the PTN/MSTP node, holding splitters fed from the OLT; from
        every cabinet two PTN distribution chains and one per splitter run sideways through
        branch closures and fiber boxes."""
        room = self.rooms[idx]
        town = TOWNS[room.town]
        rng = self.rng("plant", idx)
        plant = Plant(idx)
        rows = plant.rows
        base = room.code
        urban = room.urban
        step = 150.0 if urban else 400.0
        shortest, longest = (300.0, 2500.0) if urban else (800.0, 6000.0)
        per_side = max(2, min(8, math.ceil(room.sites / 100)))
        splitters = 1 + room.sites // 250
        counter = [0, 0]   # manholes, ducts
        n_cab = n_box = n_cable = n_sec = n_split = 0
        street = self.street(town, room.street_y) if urban else room.name[len(town.name):-2]
        for side in (0, 1):
            towards = room.next if side == 0 else room.prev
            sign = 1 if side == 0 else -1
            lane = room.street_y + 5 * sign
            ex, ey = room.x + sign * max(shortest, per_side * 2 * step), lane
            if towards >= 0:
                t = self.rooms[towards]
                dx, dy = t.x - room.x, t.y - room.y
                dist = math.hypot(dx, dy)
                if dist > 1:
                    reach = min(longest, max(shortest, dist / 2 - 40))
                    ex, ey = room.x + dx / dist * reach, room.y + dy / dist * reach
            sname = f"{room.name}{'甲' if side == 0 else '乙'}向"
            pts = [(room.x, room.y), (room.x, lane), (ex, lane), (ex, ey)]
            geoms, ducts = self.duct_run(base, counter, pts, step, "TRUNK",
                                         f"{sname}主干管道", True, room.address, rows=rows)
            cum, total = [], 0.0
            for g in geoms:
                total += ll_distance(*g[0], *g[1])
                cum.append(total)
            # cabinets: the first two spans out, then spread along it, the last at its end
            k = max(1, min(per_side, len(geoms) - 2))
            ends: list[int] = [min(2, len(geoms) - 1)]
            for c in range(1, k):
                target = total * c / (k - 1)
                e = next((i for i, v in enumerate(cum) if v >= target - 1.0), len(geoms) - 1)
                ends.append(min(max(e, ends[-1] + 1), len(geoms) - 1))
            ends = sorted(set(ends))
            for ci, e in enumerate(ends):
                n_cab += 1
                cx, cy = to_xy(*geoms[e][1])
                px, py = to_xy(*geoms[e][0])
                ux, uy = cx - px, cy - py
                norm = math.hypot(ux, uy) or 1.0
                ux, uy = ux / norm, uy / norm
                cab = f"P-{base}-C{n_cab:02d}"
                cab_name = f"{street}{room.code[1:]}-{n_cab}号光交"
                cab_addr = self.address(town, cx, cy, urban)
                self.point(cab, cab_name, "CABINET", cab_addr, cx, cy,
                           capacity=rng.choice((144, 288, 576)), rows=rows)
                nd = e + 1                # ducts from the room to the cabinet
                coords = [geoms[0][0]] + [g[1] for g in geoms[:nd]]
                n_cable += 1
                cable = f"CB-{base}-{n_cable:03d}"
                fiber = rng.choice((48, 96, 144))
                rows.append(("cables", (cable, f"{cab_name}主干光缆", self.sp(SP_CABLE, "TRUNK"),
                                        fiber, f"GYTA-{fiber}B1")))
                n_sec += 1
                self.section(f"SEC-{base}-{n_sec:03d}", f"{room.name}-{cab_name}", cable,
                             room.node_id, cab, fiber, rng.randrange(6, fiber // 2), "DUCT",
                             ducts[:nd], coords, rows=rows)
                heads = [(cab, cab_name, False), (cab, cab_name, False)]  # two PTN chains
                for s in range(splitters):
                    n_split += 1
                    spl = f"EQ-{base}-SP{n_split:02d}"
                    spl_name = f"{cab_name}{s + 1}号分光器"
                    self.equipment(spl, spl_name, "SPLITTER", "ACCESS", cab, "SPLITTER", rng,
                                   monitored="", split_ratio="1:32", coverage=cab_addr, rows=rows)
                    n_cable += 1
                    pcable = f"CB-{base}-{n_cable:03d}"
                    rows.append(("cables", (pcable, f"{spl_name}PON主干光缆",
                                            self.sp(SP_CABLE, "TRUNK"), 24, "GYTA-24B1")))
                    n_sec += 1
                    self.section(f"SEC-{base}-{n_sec:03d}", f"{room.name}OLT-{spl_name}", pcable,
                                 room.olt_id, spl, 24, rng.randrange(2, 8), "DUCT", ducts[:nd],
                                 coords, rows=rows)
                    heads.append((spl, spl_name, True))
                for q, (head, head_name, pon) in enumerate(heads):
                    turn = 1 if q % 2 == 0 else -1            # left or right of the spine
                    back = (q // 2) * 40.0                    # further chains step back
                    ox, oy = cx - ux * back - uy * turn * 3, cy - uy * back + ux * turn * 3
                    spacing = rng.uniform(120, 220) if urban else rng.uniform(300, 700)
                    nb = rng.choice((3, 4))
                    cpts = [(cx, cy), (ox, oy)] + [
                        (ox - uy * turn * spacing * j, oy + ux * turn * spacing * j)
                        for j in range(1, nb + 1)]
                    n_cable += 1
                    dcable = f"CB-{base}-{n_cable:03d}"
                    dfiber = rng.choice((24, 48)) if not pon else 12
                    cname = f"{head_name}{q + 1}号配线光缆"
                    rows.append(("cables", (dcable, cname, self.sp(SP_CABLE, "DISTRIBUTION"),
                                            dfiber, f"GYTA-{dfiber}B1")))
                    prev, prev_name = head, head_name
                    for j in range(1, nb + 1):
                        n_box += 1
                        bx, by = cpts[j + 1]
                        kind = "BRANCH_CLOSURE" if (not pon and j == 1) else "FIBER_BOX"
                        bid = f"P-{base}-F{n_box:03d}"
                        bname = f"{cab_name}{q + 1}-{j}号" + (
                            "分歧接头盒" if kind == "BRANCH_CLOSURE" else "分纤箱")
                        self.point(bid, bname, kind, self.address(town, bx, by, urban), bx, by,
                                   capacity=rng.choice((12, 24)) if kind == "FIBER_BOX" else 48,
                                   rows=rows)
                        seg_pts = cpts[0:3] if j == 1 else cpts[j:j + 2]
                        g, d = self.duct_run(base, counter, seg_pts, 10_000, "DISTRIBUTION",
                                             f"{bname}配线管道", False, "", rows=rows)
                        n_sec += 1
                        self.section(f"SEC-{base}-{n_sec:03d}", f"{prev_name}-{bname}", dcable,
                                     prev, bid, dfiber, rng.randrange(1, dfiber // 2), "DUCT", d,
                                     [g[0][0]] + [s[1] for s in g], rows=rows)
                        plant.boxes.append(FiberBox(
                            bid, bname, bx, by, pon, side,
                            room.olt_id if pon else room.node_id, idx, ci == len(ends) - 1,
                            ci == 0))
                        prev, prev_name = bid, bname
        return plant

    # -- sites --

    def build_sites(self, defects_out) -> None:
        rng = self.rng("sites")
        remaining = [[t, d, c] for t, d, c in class_counts(self.n)]
        left = self.n
        site_no = 0
        customer: list | None = None
        customer_left = 0
        n_customers = 0
        n_managers = max(6, self.n // 300)
        for idx in self.access:
            self.write_plant(idx)
            room = self.rooms[idx]
            for _ in range(room.sites):
                r = rng.randrange(left)
                for cls in remaining:
                    if r < cls[2]:
                        break
                    r -= cls[2]
                cls[2] -= 1
                left -= 1
                tier, defect = cls[0], cls[1]
                site_no += 1
                if customer is None or customer_left <= 0 or rng.random() < 0.55:
                    n_customers += 1
                    customer = self.new_customer(rng, n_customers, tier, room, n_managers)
                    customer_left = rng.choice((1, 1, 2, 3, 5, 8))
                customer_left -= 1
                self.site(rng, site_no, tier, defect, room, customer, defects_out)

    def new_customer(self, rng: random.Random, no: int, tier: str, room: Room,
                     n_managers: int) -> list:
        town = TOWNS[room.town]
        industry = rng.choice(INDUSTRIES)
        brand = rng.choice(BRANDS)
        place = rng.choice(("新疆", "博州", town.district, town.district))
        if industry == "金融":
            name = f"{rng.choice(BANKS)}{'博尔塔拉' if rng.random() < 0.5 else town.name}分行"
            short = name.replace("中国", "")[:6]
        elif industry == "政务":
            name = f"{town.district}{rng.choice(BUREAUS)}"
            short = name
        elif industry == "教育":
            name = rng.choice((f"{town.district}第{rng.randint(1, 9)}中学",
                               f"{town.district}{brand}小学", "博尔塔拉职业技术学院"))
            short = name
        elif industry == "医疗":
            name = rng.choice((f"{town.district}人民医院", f"{town.district}中医医院",
                               f"{town.district}{brand}医院", "博尔塔拉蒙古自治州人民医院"))
            short = name
        else:
            name = f"{place}{brand}{rng.choice(BUSINESS[industry])}{rng.choice(SUFFIXES)}"
            short = brand + name[len(place) + len(brand):].split("有限")[0].split("股份")[0]
        manager = rng.randrange(n_managers)
        mgr_rng = random.Random(f"{self.seed}/manager/{manager}")
        cid = f"CUS-{no:06d}"
        row = (cid, name, self.sp(SP_TIER, tier), self.person(rng), self.mobile(rng),
               self.person(mgr_rng), self.mobile(mgr_rng), industry)
        return [cid, name, short, row]

    def site(self, rng: random.Random, no: int, tier: str, defect: str | None, room: Room,
             customer: list, defects_out) -> None:
        w = self.w
        town = TOWNS[room.town]
        code = f"S{no:07d}"
        sid = f"S-{no:07d}"
        # service, then the fiber box of the first route; the site is near that box
        dual_node = tier in ("GOLD", "SILVER") and defect != "single_access_node"
        dual_route = tier != "STANDARD"
        pon = tier in ("BRONZE", "STANDARD") and rng.random() < (
            0.25 if tier == "BRONZE" else 0.5)
        service = "PON" if pon else room.node_type
        plant = self.plant(room.idx)
        other = -1
        if dual_node:   # first route on the spine towards a ring neighbour, at its far end
            ends = [j for j in (room.next, room.prev) if j >= 0]
            other = ends[0] if len(ends) == 1 or rng.random() < 0.5 else ends[1]
            first = plant.pick(rng, pon, side=0 if other == room.next else 1, last=True)
        elif dual_route:   # near the room, so that the other spine is near too
            first = plant.pick(rng, pon, near_room=True)
        else:
            first = plant.pick(rng, pon)
        far_km = None
        if defect == "beyond_50km":
            x, y, far_km, mp = self.far_position(rng, town, room)
            urban = False
        else:
            r = rng.uniform(30, 200) if room.urban else rng.uniform(50, 600)
            a = rng.random() * 2 * math.pi
            x, y = first.x + r * math.cos(a), first.y + r * math.sin(a)
            urban = room.urban
        boxes = [first]
        if dual_node:   # the neighbour's spine towards this room meets this one half-way
            boxes.append(self.plant(other).nearest(x, y, pon, side=1 if other == room.next
                                                   else 0))
        elif dual_route:
            boxes.append(plant.nearest(x, y, pon, side=1 - first.side))
        address = self.address(town, x, y, urban)
        cid, _name, short, crow = customer
        if crow is not None:     # its first site: the customer's address is its head office
            w.row("customers", crow + (address,))
            customer[3] = None
        branch = rng.choice(("营业部", "分公司", "办事处", "网点", "分部", "机房", "本部"))
        where = self.street(town, y) if urban else address.removeprefix(
            _PROVINCE + town.district)[:-2]
        sname = f"{short}{where}{branch}"
        lon, lat = to_ll(x, y)
        w.row("sites", (sid, cid, sname, self.sp(SP_TIER, tier), address, f"{lon:.6f}",
                        f"{lat:.6f}", CRS, self.person(rng), self.mobile(rng), town.district))
        if far_km is None:
            near = ll_distance(lon, lat, town.lon, town.lat) / 1000
            assert near < NEAR_KM, (sid, near)    # by construction; beyond_50km is planted

        # customer devices
        devices = []
        if pon:
            types = ["ONU"]
        elif tier == "GOLD":
            types = ["ROUTER", "ROUTER"] if rng.random() < 0.7 else \
                ["MEDIA_CONVERTER", "MEDIA_CONVERTER"]
        elif room.node_type == "MSTP":
            types = [rng.choice(("PROTOCOL_CONVERTER", "MEDIA_CONVERTER"))]
        else:
            types = [rng.choice(("MEDIA_CONVERTER", "MEDIA_CONVERTER", "ROUTER", "SWITCH"))]
        for k, etype in enumerate(types, 1):
            eid = f"EQ-{code}-{k}"
            monitored = YES
            if defect == "unmonitored_device" and k == len(types):
                monitored = NO
                self.defect(defects_out, sid, tier, defect, eid)
            label = {"ONU": "ONU", "ROUTER": "路由器", "MEDIA_CONVERTER": "光电收发器",
                     "PROTOCOL_CONVERTER": "协议转换器", "SWITCH": "交换机"}[etype]
            self.equipment(eid, f"{sname}{label}{k if len(types) > 1 else ''}", etype,
                           "CUSTOMER", sid, etype, rng, monitored=monitored, coverage=address)
            devices.append(eid)

        # drops
        far = far_km is not None
        laying = "DUCT"
        if not dual_route and not far:
            laying = rng.choices(("DUCT", "AERIAL", "WALL", "BURIED"),
                                 (0.75, 0.1, 0.15, 0.0) if urban else (0.2, 0.5, 0.0, 0.3))[0]
        elif far:
            laying = "BURIED"
        entrance: list[tuple[str, list[tuple[float, float]], tuple[float, float]]] = []
        drop_cables: list[tuple[str, int]] = []
        for r_i, box in enumerate(boxes):
            north = 1 if r_i == 0 else -1
            mx, my = x + (4 if r_i == 0 else -4), y + north * 22
            base = f"{code}-{r_i + 1}"
            if far:
                pts = _road(rng, box.x, box.y, x, y, 1500 * north)
                coords = [to_ll(*p) for p in pts]
                duct_ids: list[str] = []
            elif laying == "DUCT":
                share = defect == "shared_duct" and r_i == 1
                if share:   # the second drop enters the building through the first one's duct
                    mx, my = entrance[0][2]
                line, d1 = self.drop_ducts(base, [(box.x, box.y), (mx, box.y), (mx, my)],
                                           500 if urban else 1500, f"{sname}{r_i + 1}号引入管道",
                                           address, hand_hole=not share)
                if share:
                    g2, d2 = entrance[0][1], [entrance[0][0]]
                    line[-1] = g2[0]    # exactly where the first drop's entrance duct starts
                    self.defect(defects_out, sid, tier, defect, d2[0])
                else:
                    did = f"D-{base}-E"
                    g2 = [line[-1], to_ll(x, y)]
                    w.row("ducts", (did, f"{sname}{r_i + 1}号入户管道",
                                    self.sp(SP_DUCT, "ENTRANCE"), _wkt(g2),
                                    f"{ll_distance(*g2[0], *g2[1]):.1f}"))
                    d2 = [did]
                    entrance.append((did, g2, (mx, my)))
                coords = line + [g2[1]]
                duct_ids = d1 + d2
            else:
                pts = _dedupe([(box.x, box.y), (mx, box.y), (mx, my), (x, y)])
                if laying == "AERIAL":
                    pts = _subdivide(pts, 50)
                    for k, p in enumerate(pts[1:-1], 1):
                        if k % 3 == 0:
                            self.point(f"P-{base}-G{k:02d}", f"{sname}引入{k // 3}#杆", "POLE",
                                       address, *p)
                coords = [to_ll(*p) for p in pts]
                duct_ids = []
            length = ll_length(coords)
            if defect == "shared_cable" and r_i == 1:
                # the second drop is another section of the first drop's cable, other cores
                cable, fiber = drop_cables[0]
                self.defect(defects_out, sid, tier, defect, cable)
                cores = "3-4芯"
            else:
                cable = f"CB-{base}"
                level = "DROP" if length <= 1500 else "DISTRIBUTION"
                fiber = 4 if level == "DROP" and defect != "shared_cable" else 12
                model = "GJYXFCH-4B6a" if fiber == 4 else f"GYTA-{fiber}B1"
                label = f"{'引入' if level == 'DROP' else '配线'}光缆"
                number = r_i + 1 if len(boxes) > 1 else ""
                w.row("cables", (cable, f"{sname}{label}{number}", self.sp(SP_CABLE, level),
                                 fiber, model))
                drop_cables.append((cable, fiber))
                cores = "1-2芯"
            self.section(f"SEC-{base}", f"{box.name}-{sname}({cores})", cable, box.id, sid,
                         fiber, 2, laying, duct_ids, coords)

        if defect == "single_access_node":
            self.defect(defects_out, sid, tier, defect, boxes[0].node_id)
        if far:
            self.defect(defects_out, sid, tier, defect, mp, distance_km=round(far_km, 2))

        rate = rng.choice({"GOLD": ("1000M", "500M", "200M"), "SILVER": ("200M", "100M", "50M"),
                           "BRONZE": ("100M", "50M", "20M"),
                           "STANDARD": ("20M", "10M", "4M", "2M")}[tier])
        protection = {"GOLD": "RING", "SILVER": "RING", "BRONZE": "PROTECTED",
                      "STANDARD": "NONE"}[tier]
        w.row("circuits", (f"CIR-{no:07d}", f"博州{short}{where}{rate}{service}专线", cid,
                           self.sp(SP_SERVICE, service), rate, boxes[0].node_id, sid,
                           self.sp(SP_PROTECTION, protection), sid))

    def far_position(self, rng: random.Random, town: Town, room: Room
                     ) -> tuple[float, float, float, str]:
        """A place at least FAR_KM from every maintenance point, outward from ``town`` in the
        remote direction nearest to ``room``."""
        cx, cy = town.xy
        bearing = math.degrees(math.atan2(room.y - cy, room.x - cx))
        heading = min(town.remote_deg, key=lambda d: abs((d - bearing + 180) % 360 - 180))
        for _ in range(100):
            a = math.radians(heading + rng.uniform(-12, 12))
            d = FAR_KM * 1000 + rng.uniform(1000, 12000)
            for _ in range(40):
                x, y = cx + d * math.cos(a), cy + d * math.sin(a)
                lon, lat = to_ll(x, y)
                near = min(ll_distance(lon, lat, t.lon, t.lat) for t in TOWNS)
                if near >= FAR_KM * 1000 + 500:
                    km, mp = _geodesic_nearest(lon, lat)
                    if km >= FAR_KM:
                        return x, y, km, mp
                d += 2000
        raise AssertionError("no place far enough")  # pragma: no cover

    def defect(self, out, site_id: str, tier: str, defect: str, element: str,
               **extra: Any) -> None:
        entry = {"site_id": site_id, "tier": tier, "defect": defect, "element_id": element,
                 "failed_requirement": DEFECTS[defect], **extra}
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _road(rng: random.Random, x1: float, y1: float, x2: float, y2: float,
          bend: float) -> list[tuple[float, float]]:
    """A country road from (x1, y1) to (x2, y2): waypoints every ~5 km, bent sideways."""
    dx, dy = x2 - x1, y2 - y1
    dist = math.hypot(dx, dy) or 1.0
    n = max(2, int(dist // 5000))
    pts = [(x1, y1)]
    for i in range(1, n):
        t = i / n
        side = bend * math.sin(math.pi * t) + rng.uniform(-300, 300)
        pts.append((x1 + dx * t - dy / dist * side, y1 + dy * t + dx / dist * side))
    pts.append((x2, y2))
    return pts


def _geodesic_nearest(lon: float, lat: float) -> tuple[float, str]:
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    best = min((geod.inv(t.lon, t.lat, lon, lat)[2], t.mp_id) for t in TOWNS)
    return best[0] / 1000, best[1]


def _d2(a: Room, b: Room) -> float:
    return (a.x - b.x) ** 2 + (a.y - b.y) ** 2


def _morton(x: float, y: float) -> int:
    """Z-order of a point (50 m cells): nearby rooms get nearby numbers."""
    xi, yi = int((x + 200_000) // 50) & 0xFFFF, int((y + 200_000) // 50) & 0xFFFF
    code = 0
    for bit in range(16):
        code |= ((xi >> bit) & 1) << (2 * bit) | ((yi >> bit) & 1) << (2 * bit + 1)
    return code


# --- the public entry point ------------------------------------------------------------------

def generate(out: str | os.PathLike, sites: int, seed: int = 1, force: bool = False
             ) -> dict[str, Any]:
    """Write the sample export for ``sites`` sites into the folder ``out``.

    Returns the manifest without its defect list (which can be long):
    ``{"seed", "sites", "counts", "defect_counts"}``.
    """
    from inventory.errors import InventoryError

    if not 1 <= sites <= 10_000_000:
        raise InventoryError(f"--sites must be between 1 and 10000000, not {sites}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InventoryError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InventoryError(f"{out} is not empty: use --force to overwrite")
    out.mkdir(parents=True, exist_ok=True)
    gen = _Generator(out, sites, seed)
    tmp = out / ".defects.jsonl"
    defect_counts = dict.fromkeys(DEFECTS, 0)
    try:
        with open(tmp, "w", encoding="utf-8") as defects:
            gen.build_backbone()
            gen.build_sites(defects)
    finally:
        gen.w.close()
    counts = dict(gen.w.counts)
    with open(out / MANIFEST, "w", encoding="utf-8") as manifest, \
            open(tmp, encoding="utf-8") as defects:
        head = {"seed": seed, "sites": sites, "counts": counts}
        manifest.write(json.dumps(head, ensure_ascii=False, indent=1)[:-2])
        manifest.write(',\n "defects": [')
        for i, line in enumerate(defects):
            defect_counts[json.loads(line)["defect"]] += 1
            manifest.write(("\n  " if i == 0 else ",\n  ") + line.rstrip("\n"))
        manifest.write("\n ]\n}\n")
    tmp.unlink()
    return {"seed": seed, "sites": sites, "counts": counts, "defect_counts": defect_counts}


def read_manifest(out: str | os.PathLike) -> dict[str, Any]:
    with open(Path(out) / MANIFEST, encoding="utf-8") as handle:
        return json.load(handle)


def read_table(out: str | os.PathLike, table: str) -> Iterator[dict[str, str]]:
    with open(Path(out) / f"{table}.csv", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)
