"""Fault location from an OTDR reading (光时域反射仪测距): where on the map is the break?

An OTDR measures **fiber** distance from the instrument. The fiber is longer than the mapped
route — slack coils in closures and manholes, sag, vertical runs — so the route distance is the
fiber distance divided by a slack factor (policy ``[otdr] slack_factor``, 1.02 by default).
Sections are walked in order from the measured end; a section whose recorded ``length_m``
differs from its geometry's geodesic length is trusted for its length, and the position is
scaled along its geometry (a section recorded 1,000 m long whose line measures 950 m puts a
point 500 route-metres in at 475 m along the line).

Pure: the command layer gathers the sections (``SEGMENT`` relationships of one cable) and their
end nodes from the store; this module takes plain records.

>>> sections = [
...     {"id": "S1", "geometry": "LINESTRING (82.00 44.90, 82.01 44.90)",
...      "a": {"id": "ROOM", "label": "Room", "lon": 82.00, "lat": 44.90},
...      "z": {"id": "J1", "label": "Point", "kind": "CLOSURE", "lon": 82.01, "lat": 44.90}},
...     {"id": "S2", "geometry": "LINESTRING (82.02 44.90, 82.01 44.90)",
...      "a": {"id": "SITE", "label": "Site", "lon": 82.02, "lat": 44.90},
...      "z": {"id": "J1", "label": "Point", "kind": "CLOSURE", "lon": 82.01, "lat": 44.90}}]
>>> hit = locate_fault(sections, "ROOM", "1000m", slack=1.0)
>>> hit.section_id, round(hit.offset_m, 1), round(hit.before["route_m"], 1)
('S2', 210.2, 210.2)
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from shapely.geometry import LineString

from inventory.errors import InventoryError, NoRoute, ValidationError
from inventory.geo.crs import parse_line
from inventory.geo.measure import GEOD, DepotIndex
from inventory.model import Policy, default_policy

#: Point kinds reported as the nearest places to dig or open on either side of a fault.
ACCESS_POINT_KINDS = frozenset({"CLOSURE", "BRANCH_CLOSURE", "MANHOLE", "CABINET", "FIBER_BOX",
                                "POLE", "ODF"})

_DISTANCE = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(km|公里|千米|m|米)?$", re.IGNORECASE)


def parse_distance(text: str | float) -> float:
    """A measured distance in metres: ``"12.35km"``, ``"12350m"``, ``"12350"`` (metres),
    ``"12,350 m"``, ``"12.35公里"``.

    >>> parse_distance("12.35km"), parse_distance("12350m"), parse_distance("12350")
    (12350.0, 12350.0, 12350.0)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = unicodedata.normalize("NFKC", str(text)).strip().lower()
        if re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?\s*\D*", raw):
            raw = raw.replace(",", "")
        match = _DISTANCE.match(raw.replace(" ", ""))
        if not match:
            raise ValidationError("distance", text, "expected a distance like 12.35km, 12350m "
                                  "or 12350 (metres)")
        value = float(match.group(1))
        if (match.group(2) or "m") in ("km", "公里", "千米"):
            value *= 1000.0
    if not math.isfinite(value) or value < 0:
        raise ValidationError("distance", text, "a distance must be a positive number")
    return value


@dataclass(frozen=True)
class SectionEnd:
    """One end of a cable section: a Site, Room, Point or Equipment, with its position."""

    id: str
    label: str | None = None
    kind: str | None = None
    name: str | None = None
    lon: float | None = None
    lat: float | None = None

    @classmethod
    def of(cls, value: Mapping[str, Any] | SectionEnd | str) -> SectionEnd:
        if isinstance(value, SectionEnd):
            return value
        if isinstance(value, str):
            return cls(value)
        return cls(str(value["id"]), value.get("label"), value.get("kind"), value.get("name"),
                   _num(value.get("lon")), _num(value.get("lat")))

    @property
    def has_position(self) -> bool:
        return self.lon is not None and self.lat is not None


def _num(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


@dataclass(frozen=True)
class CableSection:
    """A cable section (光缆段) between two ends, with its line and recorded length."""

    id: str
    a: SectionEnd
    z: SectionEnd
    geometry: LineString | None = None
    length_m: float | None = None
    name: str | None = None

    @classmethod
    def of(cls, value: Mapping[str, Any] | CableSection) -> CableSection:
        """From a mapping ``{"id", "a": {...}, "z": {...}, "geometry", "length_m", "name"}``
        (``a``/``z`` may also be ``a_id``, ``a_lon``, … flat keys)."""
        if isinstance(value, CableSection):
            return value
        ends = []
        for side in ("a", "z"):
            end = value.get(side)
            if end is None:
                end = {k[2:]: v for k, v in value.items() if k.startswith(f"{side}_")}
            ends.append(SectionEnd.of(end))
        geometry = value.get("geometry")
        length = value.get("length_m")
        return cls(str(value["id"]), ends[0], ends[1],
                   parse_line(geometry) if geometry else None,
                   float(length) if length not in (None, "") and float(length) > 0 else None,
                   value.get("name"))


def order_sections(sections: Sequence[Mapping[str, Any] | CableSection],
                   from_id: str) -> list[tuple[CableSection, bool]]:
    """Chain a cable's sections from the end ``from_id``: ``[(section, reversed), …]`` where
    ``reversed`` means the walk goes z → a. The sections may come in any order and orientation;
    the cable must be one unbranched chain with ``from_id`` at one of its ends."""
    items = [CableSection.of(s) for s in sections]
    if not items:
        raise NoRoute("the cable has no sections")
    touching: dict[str, list[CableSection]] = {}
    for section in items:
        touching.setdefault(section.a.id, []).append(section)
        touching.setdefault(section.z.id, []).append(section)
    branches = sorted(n for n, ss in touching.items() if len(ss) > 2)
    if branches:
        raise InventoryError(f"the cable branches at {', '.join(branches)}: locate the fault on "
                             "a traced route instead of the whole cable")
    ends = sorted(n for n, ss in touching.items() if len(ss) == 1)
    if from_id not in touching:
        raise NoRoute(f"{from_id!r} is not on this cable; its ends are {', '.join(ends) or '-'}")
    if len(touching[from_id]) != 1:
        raise InventoryError(f"{from_id!r} is in the middle of the cable: measure from one of its "
                             f"ends ({', '.join(ends) or 'the cable is a ring'})")
    chain: list[tuple[CableSection, bool]] = []
    used: set[str] = set()
    node = from_id
    while True:
        nxt = [s for s in touching[node] if s.id not in used]
        if not nxt:
            break
        section = nxt[0]
        used.add(section.id)
        backwards = section.z.id == node and section.a.id != node
        chain.append((section, backwards))
        node = section.a.id if backwards else section.z.id
    if len(used) != len(items):
        missing = sorted(s.id for s in items if s.id not in used)
        raise InventoryError(f"the cable is not one chain: {', '.join(missing)} not connected to "
                             f"{from_id!r}")
    return chain


def _oriented_line(section: CableSection, backwards: bool) -> tuple[list[tuple[float, float]],
                                                                   bool]:
    """The section's coordinates in walking order, and whether they are only the straight line
    between its ends."""
    start, end = (section.z, section.a) if backwards else (section.a, section.z)
    if section.geometry is None:
        if not (start.has_position and end.has_position):
            raise InventoryError(f"section {section.id} has no geometry and its ends have no "
                                 "coordinates")
        return [(start.lon, start.lat), (end.lon, end.lat)], True
    coords = [(float(x), float(y)) for x, y, *_ in section.geometry.coords]
    if start.has_position:
        d_first = GEOD.inv(start.lon, start.lat, *coords[0])[2]
        d_last = GEOD.inv(start.lon, start.lat, *coords[-1])[2]
        if d_last < d_first:
            coords.reverse()
    elif backwards:
        coords.reverse()
    return coords, False


def _point_along(coords: list[tuple[float, float]], distance: float) -> tuple[float, float]:
    """The point ``distance`` geodesic metres along a polyline (clamped to its ends)."""
    if distance <= 0:
        return coords[0]
    walked = 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(coords):
        az, _, seg = GEOD.inv(x1, y1, x2, y2)
        if walked + seg >= distance:
            lon, lat, _ = GEOD.fwd(x1, y1, az, distance - walked)
            return float(lon), float(lat)
        walked += seg
    return coords[-1]


@dataclass(frozen=True)
class FaultLocation:
    """Where an OTDR reading falls on a cable."""

    lon: float
    lat: float
    measured_m: float               # the OTDR's fiber distance
    slack_factor: float
    route_m: float                  # route distance from the measured end to the fault
    section_id: str                 # the section the fault is in
    section_index: int              # its position in the walk (0 = the measured end's section)
    section_from: str               # that section's end towards the instrument
    section_to: str                 # and its far end
    offset_m: float                 # route metres into that section from section_from
    section_length_m: float         # its route length (recorded, or geodesic)
    geometry_approx: bool           # its line is only the straight line between its ends
    total_route_m: float
    total_fiber_m: float
    beyond_end: bool                # reading past the far end (within tolerance): at the end
    before: dict[str, Any] | None   # nearest access point towards the instrument
    after: dict[str, Any] | None    # nearest access point away from it
    maintenance_point: dict[str, Any] | None = None
    chain: list[dict[str, Any]] = field(default_factory=list)   # every node with its position

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def locate_fault(sections: Sequence[Mapping[str, Any] | CableSection], from_id: str,
                 measured: float | str, slack: float | None = None,
                 depots: DepotIndex | Sequence[tuple[str, float, float]] | None = None,
                 policy: Policy | None = None,
                 point_kinds: frozenset[str] = ACCESS_POINT_KINDS) -> FaultLocation:
    """Walk a cable's sections from ``from_id`` for the measured fiber distance.

    Parameters
    ----------
    sections : the cable's sections (any order/orientation), mappings or :class:`CableSection`.
    from_id : the node the OTDR was connected at: one end of the cable.
    measured : fiber distance, metres or text (:func:`parse_distance`).
    slack : fiber/route ratio; default the policy's ``[otdr] slack_factor``.
    depots : maintenance points ``(id, lon, lat)`` or a :class:`DepotIndex`, to name the nearest.
    point_kinds : which Point kinds count as places to open on either side.
    """
    policy = policy or default_policy()
    slack = policy.otdr.slack_factor if slack is None else float(slack)
    if not 1.0 <= slack < 2.0:
        raise ValidationError("slack", slack, "a slack factor is between 1.0 and 2.0")
    measured_m = parse_distance(measured)
    chain = order_sections(sections, from_id)

    walk = []                        # (section, backwards, coords, approx, geo_len, route_len)
    for section, backwards in chain:
        coords, approx = _oriented_line(section, backwards)
        geo_len = float(GEOD.line_length([c[0] for c in coords], [c[1] for c in coords]))
        route_len = section.length_m if section.length_m else geo_len
        walk.append((section, backwards, coords, approx, geo_len, route_len))
    total_route = sum(w[5] for w in walk)
    total_fiber = total_route * slack
    route_target = measured_m / slack
    beyond = False
    if measured_m > total_fiber:
        if measured_m - total_fiber > policy.otdr.end_tolerance_m:
            raise InventoryError(
                f"the reading {measured_m:.0f} m is beyond the far end of the cable: its fiber "
                f"length is {total_fiber:.0f} m ({total_route:.0f} m of route × slack {slack}); "
                "check the cable, the end measured from, or the slack factor")
        beyond, route_target = True, total_route

    nodes = []                       # the chain's nodes with their route positions
    position = 0.0
    first = walk[0][0]
    nodes.append((first.z if walk[0][1] else first.a, 0.0))
    for section, backwards, *_rest, route_len in walk:
        position += route_len
        nodes.append((section.a if backwards else section.z, position))

    before_route = 0.0
    for index, (section, backwards, coords, _approx, geo_len, route_len) in enumerate(walk):
        last = index == len(walk) - 1
        if route_target <= before_route + route_len or last:
            offset = min(max(route_target - before_route, 0.0), route_len)
            along = offset * (geo_len / route_len) if route_len > 0 else 0.0
            lon, lat = _point_along(coords, along)
            start, end = (section.z, section.a) if backwards else (section.a, section.z)
            break
        before_route += route_len
    fault_route = before_route + offset

    def describe(end: SectionEnd, pos: float) -> dict[str, Any]:
        return {"id": end.id, "label": end.label, "kind": end.kind, "name": end.name,
                "lon": end.lon, "lat": end.lat, "route_m": round(abs(fault_route - pos), 1),
                "fiber_m": round(abs(fault_route - pos) * slack, 1),
                "from_instrument_fiber_m": round(pos * slack, 1)}

    def is_access_point(end: SectionEnd) -> bool:
        return end.label == "Point" and (end.kind or "").upper() in point_kinds

    before = next((describe(e, p) for e, p in reversed(nodes)
                   if p <= fault_route and is_access_point(e)), None)
    after = next((describe(e, p) for e, p in nodes if p >= fault_route and is_access_point(e)),
                 None)
    depot = None
    if depots is not None:
        index_ = depots if isinstance(depots, DepotIndex) else DepotIndex(depots)
        depot_id, km = index_.nearest(lon, lat)
        depot = {"id": depot_id, "distance_km": km}
    return FaultLocation(
        lon=round(lon, 8), lat=round(lat, 8), measured_m=measured_m, slack_factor=slack,
        route_m=round(fault_route, 1), section_id=section.id, section_index=index,
        section_from=start.id, section_to=end.id, offset_m=round(offset, 1),
        section_length_m=round(route_len, 1), geometry_approx=approx,
        total_route_m=round(total_route, 1), total_fiber_m=round(total_fiber, 1),
        beyond_end=beyond, before=before, after=after, maintenance_point=depot,
        chain=[{"id": e.id, "label": e.label, "kind": e.kind, "route_m": round(p, 1),
                "fiber_m": round(p * slack, 1)} for e, p in nodes])


def downstream_nodes(location: FaultLocation) -> list[str]:
    """Ids of the chain's nodes beyond the fault, away from the instrument."""
    return [n["id"] for n in location.chain if n["route_m"] >= location.route_m]


def upstream_nodes(location: FaultLocation) -> list[str]:
    """Ids of the chain's nodes between the instrument and the fault."""
    return [n["id"] for n in location.chain if n["route_m"] < location.route_m]
