"""Plans in the browser: upload → validation with a map → apply (planner or admin)."""

from __future__ import annotations

import io
import re

from test_web_support import csrf_token, login, rw_app_fixture, rw_client_fixture  # noqa: F401 (fixtures)

from web.extensions import get_store


def _new_site_plan(client) -> list[tuple[str, bytes]]:
    """A new STANDARD site hung off the first point of a compliant STANDARD site's route."""
    audit = client.get("/api/audit?tier=STANDARD&verdict=COMPLIANT").get_json()
    site_id = audit["rows"][0]["site_id"]
    card = client.get(f"/api/sites/{site_id}").get_json()
    steps = card["trace"]["routes"][0]["steps"]
    point = next(s for s in steps if s["kind"] == "point")
    customer = card["customer"]["id"]
    lon, lat = point["lon"] + 0.0005, point["lat"] + 0.0005
    files = {
        "sites.csv": "站点编码,客户编码,站点名称,服务等级,经度,纬度,标准地址\n"
                     f"WEB-N1,{customer},网页规划新站点,标准,{lon:.6f},{lat:.6f},博乐市规划路1号\n",
        "equipment.csv": "设备编码,设备名称,设备类型,网络层级,所属机房,是否监控\n"
                         "WEB-RT1,规划路由器,路由器,客户,Site:WEB-N1,是\n",
        "cables.csv": "id,name,level,fiber_count\nWEB-C1,规划引入光缆,DROP,4\n",
        "cable_sections.csv": "id,cable_id,a_id,z_id,fiber_count,cores_used,length_m,laying\n"
                              f"WEB-CS1,WEB-C1,Site:WEB-N1,{point['id']},4,2,80,架空\n",
    }
    return [(name, text.encode("utf-8")) for name, text in files.items()]


def _upload(client, files, token):
    data = {"files": [(io.BytesIO(content), name) for name, content in files],
            "csrf_token": token}
    return client.post("/plans", data=data, content_type="multipart/form-data")


def test_validate_then_apply(rw_client, rw_app):
    login(rw_client, "planner")
    files = _new_site_plan(rw_client)
    token = csrf_token(rw_client, "/plans")
    with rw_app.app_context():
        before = get_store().digest()
    response = _upload(rw_client, files, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, re.findall(r"<td>error</td>.*?</tr>", html, re.DOTALL)[:3]
    assert "WEB-N1" in html and "accepted" in html
    with rw_app.app_context():
        assert get_store().digest() == before            # validation wrote nothing
    plan_token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    plan_map = rw_client.get(f"/plans/map?token={plan_token}")
    assert plan_map.status_code == 200 and "route route-A" in plan_map.get_data(as_text=True)
    applied = rw_client.post("/plans/apply", data={"token": plan_token, "csrf_token": token})
    assert applied.status_code == 200
    assert "The plan was applied." in applied.get_data(as_text=True)
    with rw_app.app_context():
        assert get_store().get_node("Site", "WEB-N1") is not None
    card = rw_client.get("/api/sites/WEB-N1").get_json()
    assert card["check"]["verdict"] == "COMPLIANT"


def test_rejected_plan_cannot_be_applied(rw_client, rw_app):
    login(rw_client, "planner")
    token = csrf_token(rw_client, "/plans")
    files = [("sites.csv", "站点编码,客户编码,站点名称,服务等级\nWEB-X,NO-SUCH-CUSTOMER,孤儿站点,金牌\n"
              .encode())]
    response = _upload(rw_client, files, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "rejected" in html
    assert 'action="/plans/apply"' not in html


def test_anonymous_and_importer_cannot_plan(rw_client):
    assert rw_client.get("/plans").status_code == 302
    login(rw_client, "importer")
    assert rw_client.get("/plans").status_code == 403


def test_api_plan_validate_and_apply(rw_client, rw_app):
    login(rw_client, "admin")
    files = _new_site_plan(rw_client)
    token = rw_client.get("/api/session").get_json()["csrf_token"]
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    response = rw_client.post("/api/plans", data=data, headers={"X-CSRFToken": token},
                              content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["validation"]["accepted"] and body["token"]
    assert any(s["site_id"] == "WEB-N1" for s in body["validation"]["sites"])
    applied = rw_client.post("/api/plans/apply", data={"token": body["token"]},
                             headers={"X-CSRFToken": token})
    assert applied.status_code == 200 and applied.get_json()["applied"]["summary"]
    with rw_app.app_context():
        assert get_store().get_node("Site", "WEB-N1") is not None
    again = rw_client.post("/api/plans/apply", data={"token": body["token"]},
                           headers={"X-CSRFToken": token})
    assert again.status_code == 400
