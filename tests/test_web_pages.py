"""Every page and its JSON twin, on the generated sample network."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from test_web_support import (  # noqa: F401 (fixtures)
    XSS_CUSTOMER_ID,
    XSS_SITE_ID,
    app_fixture,
    client_fixture,
    defect,
    network,
)


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_dashboard(client):
    page = client.get("/")
    assert page.status_code == 200
    html = _text(page)
    assert "<svg class=\"chart\"" in html
    assert 'src="/map/network"' in html
    data = client.get("/api/dashboard").get_json()
    assert data["nodes"]["Site"] == network()["manifest"]["counts"]["sites"] + 1
    per_tier = data["audit"]["per_tier"]
    assert set(per_tier) == {"GOLD", "SILVER", "BRONZE", "STANDARD"}
    # the worst findings are the planted defects, GOLD first
    worst = data["audit"]["worst"]
    assert worst and worst[0]["tier"] == "GOLD"
    planted = {d["site_id"] for d in network()["manifest"]["defects"]
               if d.get("failed_requirement")}
    assert {w["site_id"] for w in worst} <= planted
    for row in worst:
        assert row["site_id"] in html


def test_network_map_and_bbox_api(client, app):
    html = _text(client.get("/map/network"))
    assert "inventoryMap.sitesLayer" in html and "/api/sites.geojson" in html
    everything = client.get("/api/sites.geojson?bbox=-180,-90,180,90&zoom=3")
    assert everything.mimetype == "application/geo+json"
    data = everything.get_json()
    assert data["total_in_view"] == network()["manifest"]["counts"]["sites"] + 1
    assert not data["clustered"]
    props = data["features"][0]["properties"]
    assert {"id", "name", "tier", "customer"} <= set(props)
    empty = client.get("/api/sites.geojson?bbox=0,0,1,1&zoom=10").get_json()
    assert empty["features"] == [] and empty["total_in_view"] == 0
    assert client.get("/api/sites.geojson?bbox=a,b,c,d").status_code == 400
    assert client.get("/api/sites.geojson?bbox=0,10,1,5").status_code == 400


def test_map_clusters_when_many_sites_are_in_view(tmp_path):
    from test_web_support import make_app

    app = make_app(tmp_path, MAP_MAX_POINTS=10)
    data = app.test_client().get("/api/sites.geojson?bbox=-180,-90,180,90&zoom=3").get_json()
    assert data["clustered"]
    assert all(f["properties"]["cluster"] for f in data["features"])
    assert sum(f["properties"]["count"] for f in data["features"]) == data["total_in_view"]
    assert len(data["features"]) < data["total_in_view"]


@pytest.mark.parametrize("query,kind,expected", [
    ("S-0000017", "Site", "S-0000017"),
    ("CIR-0000017", "Circuit", "CIR-0000017"),
    ("MP-BL", "MaintenancePoint", "MP-BL"),
])
def test_search_by_id(client, query, kind, expected):
    data = client.get(f"/api/search?q={query}").get_json()
    assert data["results"][0]["kind"] == kind
    assert data["results"][0]["id"] == expected


def test_search_by_name_address_and_element(client, app):
    from web.extensions import get_store

    with app.app_context():
        store = get_store()
        customer = next(iter(store.iter_nodes("Customer")))
        site = store.get_node("Site", "S-0000017")
        duct = next(iter(store.iter_nodes("Duct")))
    by_name = client.get("/api/search", query_string={"q": customer.props["name"]}).get_json()
    assert any(r["kind"] == "Customer" and r["id"] == customer.id for r in by_name["results"])
    address = site.props["address"][-8:]
    by_address = client.get("/api/search", query_string={"q": address}).get_json()
    assert any(r["id"] == "S-0000017" for r in by_address["results"])
    by_element = client.get("/api/search", query_string={"q": duct.id}).get_json()
    assert by_element["results"][0] == {**by_element["results"][0], "kind": "Duct",
                                        "id": duct.id}
    page = client.get("/search", query_string={"q": customer.props["name"]})
    assert customer.id in _text(page)
    assert client.get("/search?q=S-0000017&go=1").status_code == 302
    assert client.get("/api/search").status_code == 400
    assert client.get("/api/search?q=zzzz-nothing").get_json()["results"] == []


def test_customer_page(client):
    entry = defect("shared_duct", "GOLD")
    site = client.get(f"/api/sites/{entry['site_id']}").get_json()
    customer_id = site["customer"]["id"]
    data = client.get(f"/api/customers/{customer_id}").get_json()
    assert data["customer"]["id"] == customer_id
    row = next(s for s in data["sites"] if s["id"] == entry["site_id"])
    assert row["verdict"] == "NON_COMPLIANT" and "diverse_routes" in row["failed"]
    assert data["circuits"]
    html = _text(client.get(f"/customers/{customer_id}"))
    assert entry["site_id"] in html and data["customer"]["name"] in html
    assert data["customer"].get("account_manager", "") in html


def test_site_card_of_a_gold_site_sharing_a_duct(client):
    entry = defect("shared_duct", "GOLD")
    site_id, duct_id = entry["site_id"], entry["element_id"]
    data = client.get(f"/api/sites/{site_id}").get_json()
    assert data["tier"] == "GOLD"
    assert data["check"]["verdict"] == "NON_COMPLIANT"
    assert "diverse_routes" in data["check"]["failed"]
    assert {r["name"] for r in data["check"]["requirements"]} == {
        "access_nodes", "customer_devices", "diverse_routes", "ring", "monitored"}
    assert any(s["id"] == duct_id for s in data["trace"]["shared"])
    assert any(s["id"] == duct_id for s in data["spof"])
    routes = data["trace"]["routes"]
    assert [r["name"] for r in routes][:2] == ["A", "B"]
    assert data["segments"] and all(
        {"from", "to", "cable_id", "fiber_count", "cores_used", "length_m", "laying",
         "duct_ids", "maintainer"} <= set(row) for row in data["segments"])
    assert data["maintenance_point"]["distance_km"] is not None
    assert data["maintenance_point"]["band"]["band"] in ("within", "beyond")
    assert data["sla"]["tier"] == "GOLD" and data["sla"]["resource_confirmation_due"]
    assert data["requirements"]["routes"] == 2

    html = _text(client.get(f"/sites/{site_id}"))
    assert duct_id in html                      # the shared duct is named
    assert data["customer"]["name"] in html
    assert "Route diagram" in html and "print-button" in html
    assert f'/map/sites/{site_id}' in html
    assert f"/sites/{site_id}/routes.geojson" in html and "routes.kml" in html
    assert 'class="list segments"' in html
    assert 'media="print"' in html


def test_site_sla_due_dates_follow_the_request_date(client):
    data = client.get("/api/sites/S-0000017?requested=2026-02-13").get_json()
    assert data["sla"]["requested"] == "2026-02-13"
    assert data["sla"]["resource_confirmation_due"] > "2026-02-23"  # Spring Festival
    assert client.get("/api/sites/S-0000017?requested=not-a-date").status_code == 400


def test_site_map(client):
    entry = defect("shared_duct", "GOLD")
    html = _text(client.get(f"/map/sites/{entry['site_id']}"))
    assert '"className": "route route-A"' in html
    assert '"className": "route route-B"' in html
    assert '"className": "shared-risk"' in html
    assert '"className": "mp-line"' in html           # the line to the maintenance point
    assert "handover" in html
    assert ".bindPopup(" in html and "L.marker(" in html


def test_site_exports(client):
    site_id = defect("shared_duct", "GOLD")["site_id"]
    geo = client.get(f"/sites/{site_id}/routes.geojson")
    assert geo.status_code == 200 and geo.mimetype == "application/geo+json"
    assert "attachment" in geo.headers["Content-Disposition"]
    doc = json.loads(geo.get_data(as_text=True))
    roles = {f["properties"].get("role") for f in doc["features"]}
    assert {"route_a", "route_b"} <= roles
    kml = client.get(f"/sites/{site_id}/routes.kml")
    assert kml.status_code == 200 and "<kml" in kml.get_data(as_text=True)
    gcj = client.get(f"/sites/{site_id}/routes.kml?crs=gcj02")
    assert gcj.status_code == 200 and gcj.get_data() != kml.get_data()
    assert client.get(f"/sites/{site_id}/routes.kml?crs=bd09").status_code == 400
    assert client.get(f"/sites/{site_id}/routes.shp").status_code == 404
    api = client.get(f"/api/sites/{site_id}/routes.geojson")
    assert api.status_code == 200


def test_element_pages(client, app):
    from web.extensions import get_store

    entry = defect("shared_duct", "GOLD")
    with app.app_context():
        store = get_store()
        section = next(iter(store.find_rels("SEGMENT", duct_ids=entry["element_id"])))
        device = next(n for n in store.iter_nodes("Equipment")
                      if n.props.get("layer") == "ACCESS")
        room = next(iter(store.iter_nodes("Room")))
        point = next(iter(store.iter_nodes("Point")))
        mp = next(iter(store.iter_nodes("MaintenancePoint")))
    cases = [("Duct", entry["element_id"]), ("SEGMENT", section.id),
             ("Cable", section.props["cable_id"]), ("Equipment", device.id), ("Room", room.id),
             ("Point", point.id), ("MaintenancePoint", mp.id), ("Circuit", "CIR-0000017")]
    for kind, element_id in cases:
        page = client.get(f"/elements/{kind}/{element_id}")
        assert page.status_code == 200, (kind, element_id)
        assert element_id in _text(page)
        data = client.get(f"/api/elements/{kind}/{element_id}").get_json()
        assert data["element"]["id"] == element_id
        assert client.get(f"/map/elements/{kind}/{element_id}").status_code == 200
    duct = client.get(f"/api/elements/Duct/{entry['element_id']}").get_json()
    assert any(r["id"] == section.id for r in duct["sections"])
    located = client.get(f"/api/elements/Equipment/{device.id}").get_json()
    assert located["location"]["label"] == "Room"


def test_element_what_if_it_fails(client):
    entry = defect("shared_duct", "GOLD")
    data = client.get(f"/api/elements/Duct/{entry['element_id']}").get_json()
    down = {s["site_id"] for s in data["impact"]["down"]}
    assert entry["site_id"] in down
    html = _text(client.get(f"/elements/Duct/{entry['element_id']}"))
    assert "What if it fails" in html and entry["site_id"] in html


def _otdr_case(client, app):
    """A cable with several sections, one of its ends, and its length."""
    from web.extensions import get_store

    with app.app_context():
        store = get_store()
        counts: dict[str, list] = {}
        for rel in store.iter_rels("SEGMENT"):
            counts.setdefault(rel.props["cable_id"], []).append(rel)
        cable, sections = max(counts.items(), key=lambda item: (len(item[1]), item[0]))
        ends: dict = {}
        for rel in sections:
            for key in (rel.start, rel.end):
                ends[key] = ends.get(key, 0) + 1
        start = min(k for k, n in ends.items() if n == 1)
    return cable, start[1], sections


def test_fault_location(client, app):
    cable, start, sections = _otdr_case(client, app)
    page = client.get("/fault")
    assert page.status_code == 200 and 'name="distance"' in _text(page)
    query = {"cable": cable, "from": start, "distance": "150m"}
    data = client.get("/api/fault", query_string=query).get_json()
    assert data["cable"] == cable and -180 <= data["lon"] <= 180
    assert data["section_id"] in {s.id for s in sections}
    assert isinstance(data["sites"], list)
    html = _text(client.get("/fault", query_string=query))
    assert "Fault point" in html and "/map/fault?" in html
    fault_map = client.get("/map/fault", query_string=query)
    assert fault_map.status_code == 200 and "L.marker(" in _text(fault_map)
    bad = client.get("/fault", query_string={**query, "cable": "NO-SUCH"})
    assert bad.status_code == 400 and "NO-SUCH" in _text(bad)
    assert client.get("/api/fault", query_string={**query, "slack": "x"}).status_code == 400
    assert client.get("/api/fault?cable=x").status_code == 400


def test_audit_page_filters_and_csv(client):
    everything = client.get("/api/audit").get_json()
    assert everything["total"] == network()["manifest"]["counts"]["sites"] + 1
    gold_bad = client.get("/api/audit?tier=GOLD&verdict=NON_COMPLIANT").get_json()
    planted = {d["site_id"] for d in network()["manifest"]["defects"]
               if d["tier"] == "GOLD" and d.get("failed_requirement")}
    assert planted <= {r["site_id"] for r in gold_bad["rows"]}
    assert all(r["tier"] == "GOLD" and r["verdict"] == "NON_COMPLIANT"
               for r in gold_bad["rows"])
    district = everything["districts"][0]
    by_district = client.get("/api/audit", query_string={"district": district}).get_json()
    assert by_district["rows"] and all(r["district"] == district for r in by_district["rows"])
    assert client.get("/api/audit?tier=PLATINUM").status_code == 400
    assert client.get("/api/audit?verdict=maybe").status_code == 400
    html = _text(client.get("/audit?tier=GOLD&verdict=NON_COMPLIANT"))
    for site_id in planted:
        assert site_id in html
    response = client.get("/audit.csv?tier=GOLD")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows and all(r["tier"] == "GOLD" for r in rows)
    assert client.get("/api/audit.csv").status_code == 200


def test_audit_csv_neutralises_formulas(client):
    rows = client.get("/audit.csv").get_data(as_text=True)
    # the hostile customer is GOLD with no route: INCOMPLETE, and its name starts with "<"
    assert XSS_SITE_ID in rows
    for line in csv.reader(io.StringIO(rows.lstrip("\ufeff"))):
        for cell in line:
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_circuit_report(client):
    html = _text(client.get("/circuits/CIR-0000017/report"))
    assert "CIR-0000017" in html
    data = client.get("/api/circuits/CIR-0000017/report").get_json()
    assert data["circuit_id"] == "CIR-0000017"
    assert client.get("/circuits/NO-SUCH/report").status_code == 404


def test_pages_in_chinese(client):
    client.get("/lang/zh")
    entry = defect("shared_duct", "GOLD")
    html = _text(client.get(f"/sites/{entry['site_id']}"))
    assert "物理路由图" in html and "维护点" in html and "金牌级" in html


def test_hostile_site_has_a_card(client):
    page = client.get(f"/sites/{XSS_SITE_ID}")
    assert page.status_code == 200
    data = client.get(f"/api/sites/{XSS_SITE_ID}").get_json()
    assert data["check"]["verdict"] == "INCOMPLETE"
    assert client.get(f"/customers/{XSS_CUSTOMER_ID}").status_code == 200


def test_every_page_links_json(client):
    entry = defect("shared_duct", "GOLD")
    for path in ("/", f"/sites/{entry['site_id']}", "/search?q=S-0000017",
                 f"/elements/Duct/{entry['element_id']}", "/audit"):
        assert re.search(r'href="/api/[^"]+"', _text(client.get(path))), path


@pytest.mark.parametrize("label", ["Site", "Customer", "Equipment", "SEGMENT", "Duct"])
@pytest.mark.parametrize("element_id", ["S-0001", "a b/c", "机房 1#", "x?y&z=%2F", "<b>"])
def test_element_links_match_url_for(app, label, element_id):
    """web.links builds hrefs without url_for (speed); they must be url_for's exactly."""
    from flask import url_for
    from markupsafe import escape

    from web import links

    with app.test_request_context("/"):
        if label == "Site":
            expected = url_for("sites.show", site_id=element_id)
        elif label == "Customer":
            expected = url_for("customers.show", customer_id=element_id)
        else:
            expected = url_for("elements.show", kind=label, element_id=element_id)
        assert links.element_url(label, element_id) == expected
        assert links.element_link(label, element_id, "<i>") == \
            f'<a href="{escape(expected)}">&lt;i&gt;</a>'
        assert links.element_url("Unknown", element_id) is None
        assert links.element_link("Unknown", element_id) == escape(element_id)


def test_segment_rows_escape_every_field(app):
    """web.links.segment_rows writes a route table's rows outside the template's autoescape:
    every text from the store comes out escaped, links to the elements included."""
    from web import links

    hostile = "<img src=x onerror=alert(1)>"
    row = {"route": hostile, "id": "SEC<1>", "from": {"label": "Point", "id": "P&1",
                                                       "name": hostile},
           "to": {"label": "Room", "id": "R1", "name": "room", "boundary": True},
           "cable_id": "C<1>", "cable_name": hostile, "cable_level": hostile,
           "cores_used": None, "fiber_count": 12, "length_m": 1250.0, "laying": hostile,
           "duct_ids": ["D<1>", "D2"], "maintainer": hostile, "shared": True}
    with app.test_request_context("/"):
        html = str(links.segment_rows([row, row], show_route=True))
        assert "<img" not in html and "<1>" not in html
        # route, from, cable name, cable level, laying, maintainer; in each row
        assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 12
        assert html.count("<tr") == 2 and html.endswith("</td></tr>\n")
        assert links.element_link("Duct", "D<1>", "D<1>") in html
        assert '<td class="num">1.25 km</td>' in html and "<td>?/12</td>" in html
        assert html.startswith('<tr class="shared"><td>')
