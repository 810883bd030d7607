"""Access control: the bootstrap admin key, API keys by role and scope, revoked and
expired keys, Easy Auth, and that apps outside a scope look exactly like missing ones."""

import base64
import json
import os
import time
import uuid as uuid_module
from datetime import datetime, timedelta, timezone

import pytest

from support.api import ADMIN_KEY, ApiClient, assert_error, describe
from support.stack import new_seal_key, sealed_table_environment

# Seconds a short-lived key stays valid in the expiry test, and the longest wait for it
# to be rejected afterwards.
SHORT_EXPIRY_SECONDS = 2
EXPIRY_WAIT_SECONDS = 10


# Every seed this module sends, for the final scan of responses and the host log.
SEEDS_USED = []


@pytest.fixture(scope="module")
def api(sealed_stack):
    """One client for the whole module, so the final test scans every response."""
    return ApiClient(sealed_stack.host.base_url)


def new_secret():
    """A random 160-bit base32 seed, unique to the calling test."""
    secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
    SEEDS_USED.append(secret)
    return secret


def iso(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_key(admin, role, scope="all", **fields):
    response = admin.post("/api/keys", json={"name": f"test {role}", "role": role,
                                             "scope": scope, **fields})
    assert response.status_code == 201, describe(response)
    return response.json()


def add_app(client, secret=None, **fields):
    response = client.add({"secret": secret or new_secret(), "issuer": "AccessTest", **fields})
    assert response.status_code == 200, describe(response)
    return response.json()


# Route calls for the role matrix. Each takes the client, an app id that exists and a
# key id that exists, both made for that one call.
def call_list(client, app, key):
    return client.get("/api/list-available-apps")


def call_code_get(client, app, key):
    return client.get("/api/get-mfa-code", params={"uuid": app})


def call_code_post(client, app, key):
    return client.post("/api/get-mfa-code", json={"uuid": app})


def call_add(client, app, key):
    return client.add({"secret": new_secret(), "issuer": "MatrixAdd"})


def call_import(client, app, key):
    return client.post("/api/import", data=f"otpauth://totp/MatrixImport:a?secret={new_secret()}\n",
                       headers={"Content-Type": "text/plain"})


def call_update(client, app, key):
    return client.request("PATCH", f"/api/apps/{app}", json={"appname": "renamed"})


def call_rotate(client, app, key):
    return client.request("PUT", f"/api/apps/{app}/seed", json={"secret": new_secret()})


def call_export(client, app, key):
    return client.post(f"/api/apps/{app}/export")


def call_delete(client, app, key):
    return client.request("DELETE", f"/api/apps/{app}")


def call_list_keys(client, app, key):
    return client.get("/api/keys")


def call_create_key(client, app, key):
    return client.post("/api/keys", json={"name": "matrix", "role": "reader", "scope": "all"})


def call_revoke_key(client, app, key):
    return client.request("DELETE", f"/api/keys/{key}")


def call_audit(client, app, key):
    return client.get("/api/audit", params={"limit": 1})


def call_health(client, app, key):
    return client.get("/api/health")


def call_openapi(client, app, key):
    return client.get("/api/openapi.json")


# Expected status per caller: no credential, reader, editor, admin, and a reader key
# granted export.
MATRIX = [
    (call_health, 200, 200, 200, 200, 200),
    (call_openapi, 200, 200, 200, 200, 200),
    (call_list, 401, 200, 200, 200, 200),
    (call_code_get, 401, 200, 200, 200, 200),
    (call_code_post, 401, 200, 200, 200, 200),
    (call_add, 401, 403, 200, 200, 403),
    (call_import, 401, 403, 200, 200, 403),
    (call_update, 401, 403, 200, 200, 403),
    (call_rotate, 401, 403, 200, 200, 403),
    (call_export, 401, 403, 403, 403, 200),
    (call_delete, 401, 403, 200, 200, 403),
    (call_list_keys, 401, 403, 403, 200, 403),
    (call_create_key, 401, 403, 403, 201, 403),
    (call_revoke_key, 401, 403, 403, 200, 403),
    (call_audit, 401, 403, 403, 200, 403),
]
CALLERS = ["anonymous", "reader", "editor", "admin", "exporter"]


@pytest.fixture(scope="module")
def role_keys(api):
    admin = api
    return {
        "reader": create_key(admin, "reader")["key"],
        "editor": create_key(admin, "editor")["key"],
        "admin": create_key(admin, "admin")["key"],
        "exporter": create_key(admin, "reader", export=True)["key"],
    }


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row[0].__name__.removeprefix("call_"))
def test_role_matrix(api, role_keys, row, caller):
    call, *expected = row
    app = add_app(api)["uuid"]
    key = create_key(api, "reader")["id"]
    client = api.with_key(None if caller == "anonymous" else role_keys[caller])

    response = call(client, app, key)

    assert response.status_code == expected[CALLERS.index(caller)], describe(response)
    if call is call_export and response.status_code == 200:
        # An export is the one response allowed to carry a seed.
        client.responses.remove(response)
    if response.status_code == 401:
        assert_error(response, 401, "unauthorized", None)
        assert response.headers.get("WWW-Authenticate") == "Bearer"
    if response.status_code == 403:
        assert_error(response, 403, "forbidden", None)


def test_admin_key_is_compared_whole(api):
    for wrong in [ADMIN_KEY[:-1], ADMIN_KEY + "x", ADMIN_KEY.upper(), "", "smfa_0123456789abcdef_x"]:
        response = api.with_key(wrong).list_apps()
        assert response.status_code == 401, describe(response)
    assert api.with_key(None).request(
        "GET", "/api/list-available-apps", headers={"X-API-Key": ADMIN_KEY}).status_code == 200


def test_easy_auth_headers_ignored_when_off(api):
    response = api.with_key(None).get("/api/list-available-apps",
                                      headers={"X-MS-CLIENT-PRINCIPAL-NAME": "alice@contoso.com"})
    assert_error(response, 401, "unauthorized", None)


def test_scoped_reader_sees_only_its_apps(api):
    tag = f"team-{uuid_module.uuid4().hex[:8]}"
    inside = add_app(api, tags=[tag])["uuid"]
    outside = add_app(api)["uuid"]
    reader = api.with_key(create_key(api, "reader", {"tags": [tag]})["key"])

    listed = [app["uuid"] for app in reader.list_ok()]
    assert listed == [inside]
    assert reader.get_code(inside).status_code == 200

    hidden = reader.get_code(outside)
    missing_id = str(uuid_module.uuid4())
    missing = reader.get_code(missing_id)
    assert_error(hidden, 404, "not_found", "uuid")
    assert_error(missing, 404, "not_found", "uuid")
    assert hidden.json()["error"]["message"].replace(outside, "ID") == \
        missing.json()["error"]["message"].replace(missing_id, "ID")
    assert set(hidden.headers) == set(missing.headers)


def test_scoped_editor_cannot_touch_other_apps(api):
    tag = f"team-{uuid_module.uuid4().hex[:8]}"
    outside = add_app(api)["uuid"]
    key = create_key(api, "editor", {"tags": [tag]})
    editor = api.with_key(key["key"])

    for response in [editor.request("PATCH", f"/api/apps/{outside}", json={"appname": "x"}),
                     editor.request("PUT", f"/api/apps/{outside}/seed", json={"secret": new_secret()}),
                     editor.request("DELETE", f"/api/apps/{outside}")]:
        assert_error(response, 404, "not_found", "uuid")
    assert api.get_code(outside).status_code == 200

    untagged = editor.add({"secret": new_secret(), "issuer": "NoTag"})
    assert_error(untagged, 403, "forbidden", None)
    tagged = editor.add({"secret": new_secret(), "issuer": "Tagged", "tags": [tag]})
    assert tagged.status_code == 200, describe(tagged)
    moved = editor.request("PATCH", f"/api/apps/{tagged.json()['uuid']}", json={"tags": ["elsewhere"]})
    assert_error(moved, 403, "forbidden", None)

    denied = api.get("/api/audit", params={"app": outside, "actor": f"key:{key['id']}"}).json()
    assert [entry["outcome"] for entry in denied["entries"]] == ["denied"] * 3
    assert {entry["status"] for entry in denied["entries"]} == {404}


def test_scoped_editor_imports_only_into_scope(api):
    tag = f"team-{uuid_module.uuid4().hex[:8]}"
    key = create_key(api, "editor", {"tags": [tag]})
    editor = api.with_key(key["key"])
    text = f"otpauth://totp/Scoped:a?secret={new_secret()}\n"

    response = editor.post("/api/import", data=text, headers={"Content-Type": "text/plain"})
    assert_error(response, 403, "forbidden", None)
    entries = api.get("/api/audit", params={"actor": f"key:{key['id']}"}).json()["entries"]
    assert [(entry["action"], entry["outcome"]) for entry in entries] == [("add_app", "denied")]


def test_scope_by_app_id(api):
    chosen = add_app(api)["uuid"]
    other = add_app(api)["uuid"]
    reader = api.with_key(create_key(api, "reader", {"apps": [chosen.upper()]})["key"])
    assert [app["uuid"] for app in reader.list_ok()] == [chosen]
    assert reader.get_code(other).status_code == 404


def test_revoked_key_is_rejected(api):
    key = create_key(api, "reader")
    reader = api.with_key(key["key"])
    assert reader.list_apps().status_code == 200

    revoked = api.request("DELETE", f"/api/keys/{key['id']}")
    assert revoked.status_code == 200, describe(revoked)
    assert revoked.json()["state"] == "revoked"
    again = api.request("DELETE", f"/api/keys/{key['id']}")
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]

    error = assert_error(reader.list_apps(), 401, "unauthorized", None)
    assert "revoked" in error["message"]
    listed = {item["id"]: item for item in api.get("/api/keys").json()}
    assert listed[key["id"]]["state"] == "revoked"
    assert_error(api.request("DELETE", "/api/keys/0000000000000000"), 404, "not_found", "id")


def test_expired_key_is_rejected(api):
    expires = datetime.now(timezone.utc) + timedelta(seconds=SHORT_EXPIRY_SECONDS)
    key = create_key(api, "reader", expires_at=iso(expires))
    reader = api.with_key(key["key"])
    assert reader.list_apps().status_code == 200

    deadline = time.monotonic() + EXPIRY_WAIT_SECONDS
    while (response := reader.list_apps()).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.25)
    error = assert_error(response, 401, "unauthorized", None)
    assert "expired" in error["message"]
    listed = {item["id"]: item for item in api.get("/api/keys").json()}
    assert listed[key["id"]]["state"] == "expired"


def test_key_in_the_past_is_rejected(api):
    past = iso(datetime.now(timezone.utc) - timedelta(minutes=1))
    response = api.post("/api/keys", json={"name": "late", "role": "reader", "scope": "all",
                                           "expires_at": past})
    assert_error(response, 400, "invalid_field", "expires_at")


def test_key_list_never_shows_keys(api):
    created = create_key(api, "editor", {"tags": ["ops"]})
    assert created["key"].startswith(f"smfa_{created['id']}_")
    listed = api.get("/api/keys")
    assert created["key"] not in listed.text
    secret_part = created["key"].rsplit("_", 1)[1]
    assert secret_part not in listed.text
    item = {entry["id"]: entry for entry in listed.json()}[created["id"]]
    assert item["scope"] == {"apps": [], "tags": ["ops"]}
    assert item["created_by"] == "admin-key"
    assert "key" not in item


def test_no_admin_key_closes_the_api(stacks):
    azurite = stacks.azurite()
    environment = sealed_table_environment(azurite, new_seal_key())
    del environment["SHAREDMFA_ADMIN_KEY"]
    client = ApiClient(stacks.host(environment).base_url)

    assert client.get("/api/health").status_code == 200
    for path in ["/api/list-available-apps", "/api/keys", "/api/audit"]:
        error = assert_error(client.get(path), 503, "not_configured", None)
        assert "SHAREDMFA_ADMIN_KEY" in error["message"]


def test_easy_auth_principal_maps_to_role(stacks):
    azurite = stacks.azurite()
    environment = sealed_table_environment(azurite, new_seal_key())
    environment["SHAREDMFA_EASY_AUTH"] = "on"
    environment["SHAREDMFA_EASY_AUTH_ROLES"] = (
        "alice@contoso.com=reader;bob@contoso.com=editor;role:MfaAdmins=admin")
    admin = ApiClient(stacks.host(environment).base_url)
    app = add_app(admin)["uuid"]
    anonymous = admin.with_key(None)

    def as_principal(name):
        return {"X-MS-CLIENT-PRINCIPAL-NAME": name, "X-MS-CLIENT-PRINCIPAL-ID": "00000000-0000-0000-0000-000000000001"}

    assert anonymous.get("/api/get-mfa-code", params={"uuid": app},
                         headers=as_principal("alice@contoso.com")).status_code == 200
    denied = anonymous.post("/api/add-totp-secret", json={"secret": new_secret()},
                            headers=as_principal("alice@contoso.com"))
    assert_error(denied, 403, "forbidden", None)
    assert anonymous.post("/api/add-totp-secret", json={"secret": new_secret()},
                          headers=as_principal("bob@contoso.com")).status_code == 200
    assert_error(anonymous.get("/api/list-available-apps", headers=as_principal("mallory@contoso.com")),
                 403, "forbidden", None)

    carol = as_principal("carol@contoso.com")
    carol["X-MS-CLIENT-PRINCIPAL"] = base64.b64encode(json.dumps({
        "auth_typ": "aad", "name_typ": "name", "role_typ": "roles",
        "claims": [{"typ": "roles", "val": "MfaAdmins"}]}).encode()).decode()
    assert anonymous.get("/api/keys", headers=carol).status_code == 200

    actors = {entry["actor"] for entry in admin.get("/api/audit").json()["entries"]}
    assert {"easyauth:alice@contoso.com", "easyauth:bob@contoso.com", "easyauth:mallory@contoso.com"} <= actors


def test_zz_no_seed_in_responses_or_log(api, sealed_stack):
    """Runs last in this module: no response and no host log line contains a seed."""
    assert SEEDS_USED
    log_text = sealed_stack.host.log_text()
    for secret in SEEDS_USED:
        api.assert_no_secret_in_responses(secret)
        assert secret not in log_text
        assert secret.lower() not in log_text
