"""Upload → dry-run report in the page → commit, for a signed-in importer."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from test_web_support import csrf_token, export_files, login, rw_app_fixture, rw_client_fixture  # noqa: F401 (fixtures)

from web.extensions import get_store


def _changed_customers() -> tuple[bytes, str, str]:
    """customers.csv with one contact changed: (content, customer id, new contact)."""
    path = export_files(["customers.csv"])[0]
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    contact = next(i for i, h in enumerate(header) if h in ("联系人", "contact"))
    rows[1][contact] = "新联系人"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8"), rows[1][0], "新联系人"


def _post_files(client, url: str, files: list[tuple[str, bytes]], token: str, **form):
    data = {"files": [(io.BytesIO(content), name) for name, content in files],
            "csrf_token": token, **form}
    return client.post(url, data=data, content_type="multipart/form-data")


def test_dry_run_then_commit(rw_client, rw_app):
    content, customer_id, contact = _changed_customers()
    login(rw_client, "importer")
    token = csrf_token(rw_client, "/imports")
    with rw_app.app_context():
        before = get_store().digest()
    dry = _post_files(rw_client, "/imports", [("客户.csv", content)], token)
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200, html
    assert "Dry-run report" in html and "Commit" in html
    assert re.search(r"<td>Customer</td><td class=\"num\">0</td><td class=\"num\">1</td>", html)
    with rw_app.app_context():
        assert get_store().digest() == before          # the dry run wrote nothing
    upload_token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    commit = rw_client.post("/imports/commit", data={"token": upload_token,
                                                     "csrf_token": token})
    assert commit.status_code == 200
    assert "Imported." in commit.get_data(as_text=True)
    with rw_app.app_context():
        store = get_store()
        assert store.get_node("Customer", customer_id).props["contact"] == contact
        assert store.digest() != before
    # the upload is gone: committing it again is refused
    again = rw_client.post("/imports/commit", data={"token": upload_token,
                                                    "csrf_token": token})
    assert again.status_code == 302
    assert rw_client.get(f"/api/customers/{customer_id}").get_json()["customer"]["contact"] \
        == contact


def test_errors_are_reported_and_nothing_can_be_committed(rw_client, rw_app):
    login(rw_client, "importer")
    token = csrf_token(rw_client, "/imports")
    broken = "客户编码,客户名称,服务等级\nC-BAD,坏客户,钻石级\n".encode()
    with rw_app.app_context():
        before = get_store().digest()
    response = _post_files(rw_client, "/imports", [("customers.csv", broken)], token)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was written" in html and "钻石级" in html
    assert 'name="token"' not in html                   # no commit button
    assert "customers.csv" in html and "/tmp/" not in html   # names, never server paths
    with rw_app.app_context():
        assert get_store().digest() == before


def test_zip_upload(rw_client):
    login(rw_client, "importer")
    token = csrf_token(rw_client, "/imports")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in export_files():
            archive.write(path, path.name)
    response = _post_files(rw_client, "/imports", [("export.zip", buffer.getvalue())], token)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert "Commit" in response.get_data(as_text=True)


def test_commit_needs_this_sessions_upload(rw_app):
    owner, other = rw_app.test_client(), rw_app.test_client()
    content, _, _ = _changed_customers()
    login(owner, "importer")
    login(other, "admin")
    token = csrf_token(owner, "/imports")
    html = _post_files(owner, "/imports", [("customers.csv", content)], token).get_data(
        as_text=True)
    upload_token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    other_csrf = csrf_token(other, "/imports")
    response = other.post("/imports/commit", data={"token": upload_token,
                                                   "csrf_token": other_csrf})
    assert response.status_code == 302                  # refused: back to the form
    assert "expired" in other.get("/imports").get_data(as_text=True)


def test_api_import(rw_client, rw_app):
    content, customer_id, contact = _changed_customers()
    login(rw_client, "importer")
    token = rw_client.get("/api/session").get_json()["csrf_token"]
    bad = "客户编码,客户名称,服务等级\nC-BAD,坏客户,钻石级\n".encode()
    refused = rw_client.post("/api/imports",
                             data={"files": [(io.BytesIO(bad), "customers.csv")]},
                             headers={"X-CSRFToken": token},
                             content_type="multipart/form-data")
    assert refused.status_code == 422 and refused.get_json()["report"]["errors"]
    assert refused.get_json()["token"] is None
    dry = rw_client.post("/api/imports",
                         data={"files": [(io.BytesIO(content), "customers.csv")]},
                         headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert dry.status_code == 200
    body = dry.get_json()
    assert body["report"]["dry_run"] and body["token"]
    commit = rw_client.post("/api/imports/commit", data={"token": body["token"]},
                            headers={"X-CSRFToken": token})
    assert commit.status_code == 200 and commit.get_json()["report"]["written"]
    with rw_app.app_context():
        assert get_store().get_node("Customer", customer_id).props["contact"] == contact


def test_commit_refreshes_cached_pages(rw_client, rw_app):
    """Search and the map are cached; a commit from the app clears the cache."""
    login(rw_client, "importer")
    token = csrf_token(rw_client, "/imports")
    assert rw_client.get("/api/search?q=WEB-NEW").get_json()["results"] == []
    new = "客户编码,客户名称,服务等级\nWEB-NEW,网页新客户,金牌\n".encode()
    html = _post_files(rw_client, "/imports", [("customers.csv", new)], token).get_data(
        as_text=True)
    upload_token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    rw_client.post("/imports/commit", data={"token": upload_token, "csrf_token": token})
    results = rw_client.get("/api/search?q=网页新客户").get_json()["results"]
    assert [r["id"] for r in results] == ["WEB-NEW"]
