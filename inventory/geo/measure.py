"""Distances on the WGS84 ellipsoid, route lengths, the nearest maintenance point and the
distance band of domain-rules §3.

Every length here is geodesic (pyproj ``Geod(ellps="WGS84")``, Karney's algorithm): never
shapely's ``.length``, which on degrees is meaningless.

>>> round(distance_km(82.0667, 44.9056, 81.1000, 44.8833), 3)     # Bole → Wenquan, roughly
76.401
>>> index = DepotIndex([("MP1", 82.07, 44.90), ("MP2", 81.10, 44.88)])
>>> index.nearest(81.3, 44.9)
('MP2', 15.96)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

from inventory.errors import InventoryError, ValidationError
from inventory.geo.crs import parse_line
from inventory.model import Policy, default_policy

GEOD = Geod(ellps="WGS84")


def _check(lon: float, lat: float, what: str = "point") -> None:
    if lon is None or lat is None or not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValidationError(what, (lon, lat), "coordinates missing")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError(what, (lon, lat), "not a WGS84 lon/lat")


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance in metres between two WGS84 points."""
    _check(lon1, lat1, "from")
    _check(lon2, lat2, "to")
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return distance_m(lon1, lat1, lon2, lat2) / 1000.0


def inverse(lon1: float, lat1: float, lon2: float, lat2: float) -> tuple[float, float, float]:
    """The geodesic inverse problem: (forward azimuth at 1, azimuth at 2, distance m)."""
    az1, az2, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return float(az1), float(az2), float(dist)


def line_length_m(geometry: BaseGeometry | str) -> float:
    """Geodesic length in metres of a line (shapely geometry, WKT or ``lon,lat;…``)."""
    geom = parse_line(geometry) if isinstance(geometry, str) else geometry
    return float(GEOD.geometry_length(geom))


def step_length_m(step: Mapping[str, Any], previous: Mapping[str, Any] | None = None,
                  following: Mapping[str, Any] | None = None) -> float:
    """The length of one ``section`` step of a traced route, in metres.

    The recorded ``length_m`` (the resource platform's 光缆段长度) when present and positive,
    else the geodesic length of its ``geometry``, else the geodesic distance between the
    neighbouring steps' coordinates, else 0.
    """
    length = step.get("length_m")
    if length is not None and float(length) > 0:
        return float(length)
    if step.get("geometry"):
        return line_length_m(step["geometry"])
    ends = [s for s in (previous, following) if s and s.get("lon") is not None
            and s.get("lat") is not None]
    if len(ends) == 2:
        return distance_m(ends[0]["lon"], ends[0]["lat"], ends[1]["lon"], ends[1]["lat"])
    return 0.0


def route_length(steps: Sequence[Mapping[str, Any]]) -> float:
    """The length of a traced route in metres: the sum of its ``section`` steps
    (see :func:`step_length_m`); devices, rooms, points and sites add nothing.

    >>> route_length([{"kind": "site", "lon": 82.0, "lat": 44.0},
    ...               {"kind": "section", "length_m": 1200},
    ...               {"kind": "point", "lon": 82.01, "lat": 44.0},
    ...               {"kind": "section", "geometry": "LINESTRING (82.01 44, 82.02 44)"}])
    2002.1
    """
    total = 0.0
    for i, step in enumerate(steps):
        if step.get("kind") != "section":
            continue
        previous = _neighbour(steps, i, -1)
        following = _neighbour(steps, i, +1)
        total += step_length_m(step, previous, following)
    return round(total, 1)


def _neighbour(steps: Sequence[Mapping[str, Any]], i: int, direction: int):
    j = i + direction
    while 0 <= j < len(steps):
        if steps[j].get("kind") != "section" and steps[j].get("lon") is not None:
            return steps[j]
        if steps[j].get("kind") == "section":
            return None
        j += direction
    return None


# --- nearest maintenance point ------------------------------------------------------------------

def _unit_vectors(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    lam, phi = np.radians(lons), np.radians(lats)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


class DepotIndex:
    """A spatial index over maintenance points (维护点) answering "which is nearest, how far".

    Depots go into a shapely ``STRtree`` in an azimuthal equidistant projection centred on them
    (metres, distances from the centre exact, others stretched by at most θ/sin θ where θ is the
    angular distance from the centre: 0.5 % at 1,100 km). A query takes the projected nearest
    depot as a candidate, then every depot within ``candidate distance × stretch bound`` (which
    provably contains the geodesic nearest), and picks the geodesic minimum among them. Bulk
    queries (:meth:`nearest_many`) are vectorised end to end, so a million sites cost a few
    seconds and never a scan of every depot per site.
    """

    def __init__(self, depots: Iterable[tuple[str, float, float]]):
        rows = [(str(i), float(x), float(y)) for i, x, y in depots
                if x is not None and y is not None]
        if not rows:
            raise InventoryError("no maintenance point with coordinates: import the "
                                 "maintenance points (维护点) first")
        for depot_id, lon, lat in rows:
            _check(lon, lat, f"maintenance point {depot_id}")
        self.ids = [r[0] for r in rows]
        self.lons = np.array([r[1] for r in rows])
        self.lats = np.array([r[2] for r in rows])
        centre = _unit_vectors(self.lons, self.lats).sum(axis=0)
        norm = np.linalg.norm(centre)
        if norm < 1e-9:          # depots spread evenly around the globe: any centre will do
            centre, norm = np.array([1.0, 0.0, 0.0]), 1.0
        centre /= norm
        self.centre = (math.degrees(math.atan2(centre[1], centre[0])),
                       math.degrees(math.asin(max(-1.0, min(1.0, centre[2])))))
        self._centre_vec = centre
        # What Transformer.from_crs("EPSG:4326", "+proj=aeqd … +datum=WGS84", always_xy=True)
        # resolves to, as PROJ's own pipeline: the same projection without a look-up in PROJ's
        # database (7–10 ms of every import's process, against 0.2 ms)
        self._project = Transformer.from_pipeline(
            "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
            f"+step +proj=aeqd +lat_0={self.centre[1]} +lon_0={self.centre[0]} +ellps=WGS84")
        xs, ys = self._project.transform(self.lons, self.lats)
        self._tree = shapely.STRtree(shapely.points(xs, ys))
        self._depot_theta = float(self._angle(self.lons, self.lats).max())

    def __len__(self) -> int:
        return len(self.ids)

    def _angle(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        dots = _unit_vectors(lons, lats) @ self._centre_vec
        return np.arccos(np.clip(dots, -1.0, 1.0))

    def nearest(self, lon: float, lat: float) -> tuple[str, float]:
        """The nearest depot's id and its geodesic distance in km (rounded to 10 m)."""
        _check(lon, lat, "site")
        result = self.nearest_many([(lon, lat)])[0]
        return result  # type: ignore[return-value]

    def nearest_many(self, sites: Sequence[tuple[float, float]]
                     ) -> list[tuple[str | None, float | None]]:
        """For each ``(lon, lat)``: ``(depot id, distance km)``; ``(None, None)`` for a site
        without usable coordinates."""
        n = len(sites)
        out: list[tuple[str | None, float | None]] = [(None, None)] * n
        if n == 0:
            return out
        coords = np.array([(np.nan, np.nan) if s is None or s[0] is None or s[1] is None
                           else (float(s[0]), float(s[1])) for s in sites], dtype=float)
        ok = (np.isfinite(coords).all(axis=1) & (np.abs(coords[:, 0]) <= 180)
              & (np.abs(coords[:, 1]) <= 90))
        idx = np.nonzero(ok)[0]
        if len(idx) == 0:
            return out
        lons, lats = coords[idx, 0], coords[idx, 1]
        theta = np.maximum(self._angle(lons, lats), self._depot_theta)
        far = theta > math.radians(150)          # the bound degenerates near the antipode
        best_i = np.empty(len(idx), dtype=np.int64)
        best_d = np.empty(len(idx), dtype=float)
        near = np.nonzero(~far)[0]
        if len(near):
            bi, bd = self._query(lons[near], lats[near], theta[near])
            best_i[near], best_d[near] = bi, bd
        for k in np.nonzero(far)[0]:             # rare: brute force
            _, _, d = GEOD.inv(np.full(len(self), lons[k]), np.full(len(self), lats[k]),
                               self.lons, self.lats)
            best_i[k], best_d[k] = int(np.argmin(d)), float(np.min(d))
        for k, site in enumerate(idx):
            out[site] = (self.ids[best_i[k]], round(float(best_d[k]) / 1000.0, 2))
        return out

    def _query(self, lons: np.ndarray, lats: np.ndarray, theta: np.ndarray):
        xs, ys = self._project.transform(lons, lats)
        points = shapely.points(xs, ys)
        (_, first), proj_d = self._tree.query_nearest(points, return_distance=True,
                                                      all_matches=False)
        # Geodesic ≤ projected ≤ stretch × geodesic inside the disc of radius θ (convex in the
        # projection), so the true nearest lies within projected(candidate) × stretch.
        stretch = np.where(theta > 1e-9, theta / np.sin(np.maximum(theta, 1e-9)), 1.0)
        radius = proj_d * stretch * 1.01 + 1.0       # 1 % for the ellipsoid, 1 m for rounding
        site_i, depot_i = self._tree.query(points, predicate="dwithin", distance=radius)
        _, _, dist = GEOD.inv(lons[site_i], lats[site_i], self.lons[depot_i], self.lats[depot_i])
        dist = np.asarray(dist)
        order = np.lexsort((dist, site_i))         # by site, then distance
        site_sorted = site_i[order]
        firsts = np.ones(len(order), dtype=bool)
        firsts[1:] = site_sorted[1:] != site_sorted[:-1]
        best_site = site_sorted[firsts]
        best_depot = depot_i[order][firsts]
        best_dist = dist[order][firsts]
        bi = np.empty(len(lons), dtype=np.int64)
        bd = np.empty(len(lons), dtype=float)
        bi[best_site], bd[best_site] = best_depot, best_dist
        found = np.zeros(len(lons), dtype=bool)
        found[best_site] = True
        missing = np.nonzero(~found)[0]  # (not np.setdiff1d: it imports numpy.ma, 10 ms)
        if len(missing):                           # cannot happen; belt and braces
            bi[missing] = first[missing] if len(first) == len(lons) else 0
            _, _, d = GEOD.inv(lons[missing], lats[missing], self.lons[bi[missing]],
                               self.lats[bi[missing]])
            bd[missing] = d
        return bi, bd


def nearest_maintenance_points(sites: Sequence[tuple[float, float]],
                               depots: Sequence[tuple[str, float, float]]
                               ) -> list[tuple[str | None, float | None]]:
    """The nearest maintenance point of every site: ``[(depot id, distance km), …]`` in the
    order of ``sites`` (``(None, None)`` where a site has no coordinates)."""
    return DepotIndex(depots).nearest_many(sites)


# --- the distance band of §3 --------------------------------------------------------------------

@dataclass(frozen=True)
class DistanceBand:
    """Which column of the §3 tables applies, and the travel time of §4."""

    geodesic_km: float | None     # maintenance point → site, on the ellipsoid
    road_factor: float
    distance_km: float | None     # geodesic_km × road_factor: the distance the rules use
    band_km: float
    within: bool                  # distance ≤ band_km (unknown distance counts as within)
    beyond_km: float              # the part of distance beyond band_km (0 when within)
    travel_hours: float           # beyond_km at the policy's travel speed
    known: bool                   # False when no distance could be measured

    @property
    def band(self) -> str:
        return "within" if self.within else "beyond"

    def column(self) -> int:
        """0 for the within-band column of the policy's [within, beyond] pairs, 1 beyond."""
        return 0 if self.within else 1

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "band": self.band}


def distance_band(geodesic_km: float | None, policy: Policy | None = None) -> DistanceBand:
    """The §3 distance band and §4 travel time for a geodesic distance (km).

    (policy) distance = geodesic × road_factor; *within* means ≤ band_km; travel time counts only
    the distance beyond band_km at travel_speed_kmh. An unknown distance is put *within* the band
    (the stricter column) and flagged ``known=False``.

    >>> b = distance_band(80.0)
    >>> b.band, b.beyond_km, b.travel_hours
    ('beyond', 30.0, 0.6)
    """
    rules = (policy or default_policy()).distance
    if geodesic_km is None or not math.isfinite(geodesic_km):
        return DistanceBand(None, rules.road_factor, None, rules.band_km, True, 0.0, 0.0, False)
    if geodesic_km < 0:
        raise ValidationError("distance_km", geodesic_km, "a distance cannot be negative")
    effective = geodesic_km * rules.road_factor
    beyond = max(0.0, effective - rules.band_km)
    return DistanceBand(round(geodesic_km, 3), rules.road_factor, round(effective, 3),
                        rules.band_km, effective <= rules.band_km, round(beyond, 3),
                        round(beyond / rules.travel_speed_kmh, 3), True)
