"""GeoJSON and KML exports, read back by GDAL's ogrinfo (Debian's gdal-bin)."""

from __future__ import annotations

import doctest
import io
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

import inventory.geo.export as export_module
from inventory.errors import ValidationError
from inventory.geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from inventory.geo.export import (
    cable_features,
    geojson_text,
    kml_text,
    network_features,
    route_features,
    write_geojson,
)

KML_NS = {"k": "http://www.opengis.net/kml/2.2"}


def ogrinfo(path) -> str:
    exe = shutil.which("ogrinfo")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("ogrinfo is missing: install Debian's gdal-bin")
        pytest.skip("ogrinfo (gdal-bin) not installed")
    done = subprocess.run([exe, "-ro", "-al", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def geometries(report: str) -> list[tuple[str, list[tuple[float, ...]]]]:
    """The geometries ogrinfo printed, as (type, [(x, y[, z]), …]) with floats."""
    found = []
    for kind, body in re.findall(r"^\s*(POINT|LINESTRING)(?: Z)? \(([^)]*)\)", report, re.MULTILINE):
        found.append((kind, [tuple(float(v) for v in pair.split())
                             for pair in body.split(",")]))
    return found


def feature_count(report: str) -> int:
    return sum(int(n) for n in re.findall(r"Feature Count: (\d+)", report))


def test_doctests():
    assert doctest.testmod(export_module).failed == 0


def routes():
    """Site S1 ── SEC1 ── J1 (closure, handover) ── SEC2 ── R1 (room)   route A
       Site S1 ── SEC3 ── J1 ── SEC4 (no geometry) ── R2 (room)          route B
    J1 is on both routes: shared risk."""
    site = {"kind": "site", "id": "S1", "name": "一中", "lon": 82.00, "lat": 45.00}
    j1 = {"kind": "point", "id": "J1", "name": "接头盒", "lon": 82.01, "lat": 45.00,
          "boundary": True}
    a = {"name": "A", "length_m": 1600, "steps": [
        {"kind": "device", "id": "ONU1", "name": "ONU"}, site,
        {"kind": "section", "id": "SEC1", "cable_id": "CB1", "length_m": 800,
         "geometry": "LINESTRING (82 45, 82.01 45)", "maintainer": "group"},
        j1,
        {"kind": "section", "id": "SEC2", "cable_id": "CB9", "duct_ids": ["D1", "D2"],
         "geometry": "LINESTRING (82.01 45, 82.02 45.01)", "maintainer": "base"},
        {"kind": "room", "id": "R1", "name": "机房", "lon": 82.02, "lat": 45.01},
        {"kind": "device", "id": "OLT1"}]}
    b = {"name": "B", "length_m": 2000, "steps": [
        site,
        {"kind": "section", "id": "SEC3", "cable_id": "CB2",
         "geometry": "LINESTRING (82 45, 82.005 44.995, 82.01 45)"},
        j1,
        {"kind": "section", "id": "SEC4", "cable_id": "CB3"},
        {"kind": "room", "id": "R2", "lon": 82.03, "lat": 44.99}]}
    return [a, b]


def test_route_features_roles():
    features = route_features(routes(), site={"id": "S1", "name": "一中", "lon": 82.0,
                                              "lat": 45.0},
                              maintenance_point={"id": "MP1", "lon": 81.9, "lat": 44.9})
    by_id = {f["properties"]["id"]: f for f in features}
    roles = {k: f["properties"]["role"] for k, f in by_id.items()}
    assert roles == {"S1": "site", "MP1": "maintenance_point", "SEC1": "route_a",
                     "SEC2": "route_a", "SEC3": "route_b", "SEC4": "route_b",
                     "J1": "shared_risk", "R1": "room", "R2": "room"}
    assert by_id["J1"]["properties"]["routes"] == ["A", "B"]
    assert by_id["J1"]["properties"]["handover"] is True
    assert by_id["SEC4"]["properties"]["geometry_approx"] is True
    assert by_id["SEC4"]["geometry"]["coordinates"] == [[82.01, 45.0], [82.03, 44.99]]
    assert by_id["SEC2"]["properties"]["duct_ids"] == ["D1", "D2"]
    assert by_id["SEC1"]["properties"]["stroke"] == "#d62728"
    # a handover point on one route only
    one = route_features([routes()[0]])
    assert {f["properties"]["id"]: f["properties"]["role"] for f in one}["J1"] == "handover"


def test_tracer_shared_flags_win():
    """With the tracer's flags, being on two routes is not shared risk by itself."""
    flagged = routes()
    for route in flagged:
        for step in route["steps"]:
            step["shared"] = step.get("id") == "SEC3"
    roles = {f["properties"]["id"]: f["properties"]["role"] for f in route_features(flagged)}
    assert roles["J1"] == "handover" and roles["SEC3"] == "shared_risk"
    assert roles["SEC1"] == "route_a" and roles["SEC4"] == "route_b"


def test_geojson_is_rfc7946(tmp_path):
    features = route_features(routes())
    text = geojson_text(features, name="site S1")
    data = json.loads(text)
    assert data["type"] == "FeatureCollection" and "crs" not in data
    assert data["metadata"] == {"name": "site S1", "crs": "WGS84", "rfc7946": True}
    assert all(f["type"] == "Feature" for f in data["features"])
    site = next(f for f in data["features"] if f["properties"]["id"] == "S1")
    assert site["geometry"]["coordinates"] == [82.0, 45.0]            # lon, lat
    path = tmp_path / "routes.geojson"
    path.write_text(text, encoding="utf-8")
    report = ogrinfo(path)
    assert feature_count(report) == len(features) == 8
    geoms = geometries(report)
    assert ("POINT", [(82.01, 45.0)]) in geoms
    assert ("LINESTRING", [(82.0, 45.0), (82.005, 44.995), (82.01, 45.0)]) in geoms
    assert "一中" in report


def test_kml_structure_and_gdal(tmp_path):
    features = route_features(routes(), maintenance_point={"id": "MP1", "name": "维护点",
                                                           "lon": 81.9, "lat": 44.9})
    text = kml_text(features, name="site <S1> & co")
    root = ET.fromstring(text.encode())
    styles = {s.get("id") for s in root.iterfind(".//k:Style", KML_NS)}
    assert {"route_a", "route_b", "shared_risk", "handover", "maintenance_point"} <= styles
    marks = root.findall(".//k:Placemark", KML_NS)
    assert len(marks) == len(features)
    urls = {m.findtext("k:styleUrl", namespaces=KML_NS) for m in marks}
    assert {"#route_a", "#route_b", "#shared_risk", "#maintenance_point"} <= urls
    j1 = next(m for m in marks if m.findtext("k:name", namespaces=KML_NS) == "接头盒")
    data = {d.get("name"): d.findtext("k:value", namespaces=KML_NS)
            for d in j1.iterfind(".//k:Data", KML_NS)}
    assert data["routes"] == "A, B" and data["handover"] == "yes"
    assert j1.findtext(".//k:coordinates", namespaces=KML_NS) == "82.01,45.0,0"
    path = tmp_path / "routes.kml"
    path.write_text(text, encoding="utf-8")
    report = ogrinfo(path)
    assert feature_count(report) == len(features)
    points = [c[0][:2] for kind, c in geometries(report) if kind == "POINT"]
    assert (81.9, 44.9) in points and (82.01, 45.0) in points


def test_gcj02_variant_is_marked_and_shifted(tmp_path):
    features = list(cable_features([
        {"id": "SEC1", "geometry": "LINESTRING (82 45, 82.01 45)",
         "a": {"id": "R1", "label": "Room", "lon": 82.0, "lat": 45.0},
         "z": {"id": "J1", "label": "Point", "lon": 82.01, "lat": 45.0}}], {"id": "CB1"}))
    data = json.loads(geojson_text(features, crs="火星坐标"))
    assert data["metadata"]["crs"] == "GCJ-02" and data["metadata"]["rfc7946"] is False
    assert all(f["properties"]["crs"] == "GCJ-02" for f in data["features"])
    room = next(f for f in data["features"] if f["properties"]["id"] == "R1")
    lon, lat = room["geometry"]["coordinates"]
    assert (lon, lat) == pytest.approx(wgs84_to_gcj02(82.0, 45.0), abs=1e-7)
    assert gcj02_to_wgs84(lon, lat) == pytest.approx((82.0, 45.0), abs=2e-7)
    kml = kml_text(features, crs="gcj02")
    assert "GCJ-02" in kml and f"{lon},{lat},0" in kml
    with pytest.raises(ValidationError):
        geojson_text(features, crs="bd09")


def test_cable_and_network_streaming(tmp_path):
    sections = [
        {"id": "S1", "cable_id": "CB1", "geometry": "LINESTRING (82 45, 82.01 45)",
         "a": {"id": "R1", "label": "Room", "lon": 82.0, "lat": 45.0},
         "z": {"id": "J1", "label": "Point", "kind": "CLOSURE", "lon": 82.01, "lat": 45.0}},
        {"id": "S2", "cable_id": "CB1",
         "a": {"id": "J1", "label": "Point", "lon": 82.01, "lat": 45.0},
         "z": {"id": "X1", "label": "Site", "lon": 82.02, "lat": 45.0}},
        {"id": "S3", "cable_id": "CB1", "a": {"id": "J1"}, "z": {"id": "NOWHERE"}},
    ]
    features = list(cable_features(sections, {"id": "CB1", "name": "光缆"}))
    kinds = sorted((f["geometry"]["type"], f["properties"]["id"]) for f in features)
    assert kinds == [("LineString", "S1"), ("LineString", "S2"), ("Point", "J1"),
                     ("Point", "R1"), ("Point", "X1")]
    assert features[0]["properties"]["cable_name"] == "光缆"

    def nodes():
        for i in range(1000):
            yield {"label": "Point", "id": f"P{i}", "kind": "MANHOLE", "lon": 82 + i / 1e4,
                   "lat": 45.0}
        yield {"label": "Site", "id": "nopos"}
    stream = network_features(nodes(), iter(sections))
    path = tmp_path / "network.geojson"
    with open(path, "w", encoding="utf-8") as handle:
        count = write_geojson(stream, handle, name="network")
    assert count == 1002
    assert feature_count(ogrinfo(path)) == 1002
    buffer = io.StringIO()
    assert export_module.write(iter([]), buffer, "kml") == 0
    assert "<Document>" in buffer.getvalue()
