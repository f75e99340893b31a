"""End to end in real headless Chromium: the route map of a GOLD site whose two routes share
a duct, the dashboard map, escaping in the browser, and the import flow."""

from __future__ import annotations

import re
import time

from test_web_support import PASSWORD, XSS_SITE, XSS_SITE_ID, defect, export_files, network


def _map_frame(page, selector: str = "iframe.map"):
    handle = page.wait_for_selector(selector)
    frame = handle.content_frame()
    frame.wait_for_load_state("load")
    frame.wait_for_selector(".leaflet-container")
    return frame


def test_gold_site_with_a_shared_duct(page, console, live_server, output_dir):
    entry = defect("shared_duct", "GOLD")
    site_id, duct_id = entry["site_id"], entry["element_id"]
    page.goto(f"{live_server['url']}/sites/{site_id}")
    frame = _map_frame(page, "#route-map")
    frame.wait_for_selector("path.route-A")
    # both routes are drawn: Leaflet draws each polyline as an SVG path with its class
    route_a = frame.locator("path.route-A").count()
    route_b = frame.locator("path.route-B").count()
    assert route_a >= 1 and route_b >= 1, (route_a, route_b)
    assert frame.locator("path.shared-risk").count() >= 1
    assert frame.locator("path.leaflet-interactive").count() > route_a + route_b
    assert frame.locator(".leaflet-marker-icon").count() >= 1      # the maintenance point
    # the shared duct is named on the page, in the shared risks and the route diagram
    assert duct_id in page.locator("body").inner_text()
    assert page.locator(".findings.shared").inner_text().count(duct_id) >= 1
    assert page.locator("table.segments", has_text=duct_id).count() >= 1
    page.screenshot(path=str(output_dir / "site-shared-duct.png"), full_page=True)
    page.locator("#route-map").screenshot(path=str(output_dir / "site-shared-duct-map.png"))
    # a route's popup opens
    frame.locator("path.route-A").first.dispatch_event("click")
    frame.wait_for_selector(".leaflet-popup-content")
    assert "Route" in frame.locator(".leaflet-popup-content").inner_text()
    page.emulate_media(media="print")
    page.screenshot(path=str(output_dir / "site-shared-duct-print.png"), full_page=True)
    assert not page.locator("header.top").is_visible()
    assert console.errors == [], console.errors


def test_dashboard_map_draws_sites(page, console, live_server, output_dir):
    page.goto(live_server["url"] + "/")
    frame = _map_frame(page)
    frame.wait_for_selector("path.inv-site, .marker-cluster")
    expected = network()["manifest"]["counts"]["sites"]
    deadline = time.monotonic() + 15
    while True:   # the view settles (fitBounds, then the first moveend) and reloads
        shown = int(frame.locator("#inv-map-count").inner_text().split()[0] or 0)
        if shown >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert shown >= expected
    assert page.locator("svg.chart rect.bar").count() >= 4
    page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)
    assert console.errors == [], console.errors


def test_hostile_names_stay_text_in_the_browser(page, console, live_server, output_dir):
    page.goto(f"{live_server['url']}/sites/{XSS_SITE_ID}")
    assert XSS_SITE in page.locator("h1").inner_text()
    frame = _map_frame(page, "#route-map")
    frame.locator("path.site").first.dispatch_event("click")
    popup = frame.wait_for_selector(".leaflet-popup-content")
    assert XSS_SITE.split("$")[0] in popup.inner_text()
    assert frame.locator(".leaflet-popup-content img").count() == 0
    frame.locator("path.site").first.hover(force=True)
    page.goto(f"{live_server['url']}/search?q=alert")
    page.goto(live_server["url"] + "/")
    dashboard = _map_frame(page)
    dashboard.wait_for_selector("path.inv-site, .marker-cluster")
    page.screenshot(path=str(output_dir / "hostile-names.png"), full_page=True)
    assert console.dialogs == [], console.dialogs     # no alert() ever ran
    assert console.errors == [], console.errors


def test_import_refused_to_an_anonymous_visitor(page, live_server):
    response = page.goto(f"{live_server['url']}/imports")
    assert "/login" in page.url and response.status == 200
    status = page.evaluate("""async () => {
        const body = new FormData();
        body.append("files", new Blob(["id,name\\n"]), "customers.csv");
        const r = await fetch("/imports", {method: "POST", body});
        return r.status;
    }""")
    assert status in (400, 401)       # no CSRF token, and no user


def test_import_flow_for_a_signed_in_importer(page, console, live_server, output_dir, tmp_path):
    url = live_server["url"]
    page.goto(f"{url}/login?next=/imports")
    page.fill("input[name=name]", "importer")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/imports$"))
    source = export_files(["customers.csv"])[0]
    changed = tmp_path / "customers.csv"
    text = source.read_text(encoding="utf-8-sig")
    first = text.splitlines()[1].split(",")
    changed.write_text(text.replace(first[1], first[1] + "（浏览器导入）", 1), encoding="utf-8")
    page.set_input_files("input[type=file]", str(changed))
    page.click("form.upload-form button[type=submit]")
    page.wait_for_selector(".import-report")
    assert "Dry-run report" in page.inner_text(".import-report")
    page.screenshot(path=str(output_dir / "import-dry-run.png"), full_page=True)
    page.click("form.commit-form button[type=submit]")
    page.wait_for_selector("text=Imported.")
    page.screenshot(path=str(output_dir / "import-committed.png"), full_page=True)
    page.goto(f"{url}/customers/{first[0]}")
    assert "（浏览器导入）" in page.locator("h1").inner_text()
    assert console.errors == [], console.errors
