"""App lifecycle (change, rotate, export, delete), the audit trail, the OpenAPI document,
and that no response outside export and no log line carries a seed."""

import base64
import json
import os
import time
import uuid as uuid_module
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from support.api import ApiClient, assert_code_matches, assert_error, describe, find_app
from support.fault_proxy import FaultProxy
from support.stack import new_seal_key, sealed_table_environment

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
# Every seed this module sends, for the final scan of responses and the host log.
SEEDS_USED = []


@pytest.fixture(scope="module")
def api(sealed_stack):
    """One client for the whole module, so the final test scans every response."""
    return ApiClient(sealed_stack.host.base_url)


def new_secret():
    secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
    SEEDS_USED.append(secret)
    return secret


def add_app(client, secret=None, **fields):
    response = client.add({"secret": secret or new_secret(), "issuer": "Lifecycle", **fields})
    assert response.status_code == 200, describe(response)
    return response.json()


def audit_entries(client, **params):
    response = client.get("/api/audit", params=params)
    assert response.status_code == 200, describe(response)
    return response.json()


def test_update_changes_names_and_tags(api):
    app = add_app(api, appname="before")["uuid"]
    response = api.request("PATCH", f"/api/apps/{app}",
                           json={"issuer": "NewIssuer", "appname": "after", "tags": ["Ops", "ops"]})
    assert response.status_code == 200, describe(response)
    listed = find_app(api.list_ok(), app)
    assert listed["appname"] == "NewIssuer"
    assert listed["custom"] == "after"
    assert listed["tags"] == ["ops"]
    assert_error(api.request("PATCH", f"/api/apps/{app}", json={"secret": "x"}), 400, "invalid_field", "body")


def test_rotation_keeps_the_id(api):
    old_secret = new_secret()
    app = add_app(api, secret=old_secret)["uuid"]
    new = new_secret()

    response = api.request("PUT", f"/api/apps/{app}/seed", json={"secret": new, "digits": 8})
    assert response.status_code == 200, describe(response)
    assert response.json()["uuid"] == app
    code, before, after = api.code_ok(app)
    assert_code_matches(code, new, before, after, digits=8)


def test_export_returns_the_seed_once_granted(api):
    secret = new_secret()
    app = add_app(api, secret=secret, account="ops@example.com")["uuid"]
    exporter = api.with_key(api.post("/api/keys", json={
        "name": "export", "role": "reader", "scope": "all", "export": True}).json()["key"])

    response = exporter.post(f"/api/apps/{app}/export")
    assert response.status_code == 200, describe(response)
    body = response.json()
    assert body["secret"] == secret
    assert body["otpauth"].startswith("otpauth://totp/Lifecycle:ops%40example.com?secret=" + secret)
    # Export is the one response allowed to carry a seed: keep it out of the final scan.
    api.responses.remove(response)

    entries = audit_entries(api, app=app)["entries"]
    assert entries[0]["action"] == "export_seed"
    assert entries[0]["actor"].startswith("key:")


def test_delete_removes_app_and_is_idempotent(api, sealed_stack):
    app = add_app(api)["uuid"]
    response = api.request("DELETE", f"/api/apps/{app}")
    assert response.status_code == 200, describe(response)
    assert response.json() == {"uuid": app, "deleted": True, "seed": "deleted"}

    assert all(item["uuid"] != app for item in api.list_ok())
    assert_error(api.get_code(app), 404, "not_found", "uuid")
    assert all(row["RowKey"] != app for row in sealed_stack.tables.query_entities("seeds"))

    again = api.request("DELETE", f"/api/apps/{app}")
    assert again.status_code == 200, describe(again)
    assert again.json()["deleted"] is False


def test_delete_finishes_a_half_done_delete(api, sealed_stack):
    app = add_app(api)["uuid"]
    # A delete that failed after removing the record leaves the seed behind.
    sealed_stack.tables.delete_entity("apps", "mfaseed", app)
    assert any(row["RowKey"] == app for row in sealed_stack.tables.query_entities("seeds"))

    response = api.request("DELETE", f"/api/apps/{app}")
    assert response.status_code == 200, describe(response)
    assert response.json()["deleted"] is False
    assert all(row["RowKey"] != app for row in sealed_stack.tables.query_entities("seeds"))


def test_every_operation_is_audited(api):
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    app = add_app(api)["uuid"]
    api.code_ok(app)
    api.request("PATCH", f"/api/apps/{app}", json={"appname": "audited"})
    api.request("PUT", f"/api/apps/{app}/seed", json={"secret": new_secret()})
    api.request("DELETE", f"/api/apps/{app}")

    entries = audit_entries(api, app=app)["entries"]
    assert [entry["action"] for entry in entries] == [
        "delete_app", "rotate_seed", "update_app", "get_code", "add_app"]
    assert {entry["outcome"] for entry in entries} == {"ok"}
    assert {entry["actor"] for entry in entries} == {"admin-key"}
    times = [entry["time"] for entry in entries]
    assert times == sorted(times, reverse=True)
    for entry in entries:
        assert datetime.fromisoformat(entry["time"].replace("Z", "+00:00")) >= started.replace(microsecond=0)


def test_key_changes_and_denials_are_audited(api):
    created = api.post("/api/keys", json={"name": "to revoke", "role": "reader", "scope": "all"}).json()
    api.request("DELETE", f"/api/keys/{created['id']}")
    api.with_key(created["key"]).list_apps()
    api.with_key(None).get("/api/list-available-apps", headers={"X-Forwarded-For": "198.51.100.7"})

    admin_entries = audit_entries(api, actor="admin-key", limit=20)["entries"]
    details = [(entry["action"], entry["detail"]) for entry in admin_entries]
    assert ("revoke_key", f"key:{created['id']}") in details
    assert ("create_key", f"key:{created['id']}") in details

    revoked_use = audit_entries(api, actor=f"key:{created['id']}")["entries"]
    assert [(entry["outcome"], entry["status"]) for entry in revoked_use] == [("denied", 401)]
    anonymous = audit_entries(api, actor="anonymous", limit=50)["entries"]
    forwarded = [entry for entry in anonymous if entry["forwarded_for"] == "198.51.100.7"]
    assert forwarded, anonymous
    # The host shim reports the TCP peer, whatever the client sends in its place.
    assert forwarded[0]["client"] == "127.0.0.1"
    spoofed = api.with_key(None).get("/api/list-available-apps",
                                     headers={"X-Sharedmfa-Client-Address": "203.0.113.9"})
    assert spoofed.status_code == 401
    anonymous = audit_entries(api, actor="anonymous", limit=50)["entries"]
    assert all(entry["client"] != "203.0.113.9" for entry in anonymous)


def test_audit_pages_and_time_range(api):
    app = add_app(api)["uuid"]
    for _ in range(4):
        api.code_ok(app)
    everything = audit_entries(api, app=app)["entries"]
    assert len(everything) == 5

    seen = []
    cursor = None
    for _ in range(10):
        params = {"app": app, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = audit_entries(api, **params)
        assert len(page["entries"]) <= 2
        seen.extend(page["entries"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything

    future = datetime.now(timezone.utc) + timedelta(days=1)
    later = audit_entries(api, app=app, **{"from": future.strftime("%Y-%m-%dT%H:%M:%SZ")},
                          to=(future + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert later["entries"] == []
    assert_error(api.get("/api/audit", params={"cursor": "bogus"}), 400, "invalid_field", "cursor")


def test_code_withheld_when_audit_fails(stacks):
    azurite = stacks.azurite()
    proxy = FaultProxy(azurite.table_endpoint).start()
    try:
        api = ApiClient(stacks.host(sealed_table_environment(proxy, new_seal_key())).base_url)
        secret = new_secret()
        app = add_app(api, secret=secret)["uuid"]
        api.code_ok(app)
        exporter = api.with_key(api.post("/api/keys", json={
            "name": "export", "role": "reader", "scope": "all", "export": True}).json()["key"])

        proxy.failing_tables.add("audit")
        response = api.get_code(app)
        assert_error(response, 503, "audit_unavailable", None)
        assert "otp" not in response.text
        assert proxy.failed_requests >= 1
        host_log = stacks.started[-1].log_text()
        assert "audit_write_failed" in host_log

        export = exporter.post(f"/api/apps/{app}/export")
        assert_error(export, 503, "audit_unavailable", None)
        assert secret not in export.text

        proxy.failing_tables.clear()
        api.code_ok(app)
    finally:
        proxy.stop()


def test_openapi_is_served_and_valid(api):
    response = api.with_key(None).get("/api/openapi.json")
    assert response.status_code == 200
    assert response.content == (DOCS_DIR / "openapi.json").read_bytes()
    validate(json.loads(response.content))
    validate(json.loads((DOCS_DIR / "openapi-v2.json").read_text()))


def test_zz_no_seed_in_responses_or_log(api, sealed_stack):
    """Runs last in this module: every seed sent so far must be absent from all recorded
    responses (export responses excepted) and from the host's log."""
    assert SEEDS_USED
    log_text = sealed_stack.host.log_text()
    for secret in SEEDS_USED:
        api.assert_no_secret_in_responses(secret)
        assert secret not in log_text
        assert secret.lower() not in log_text
