"""Add a TOTP seed, list apps and get codes through the host in sealed-table mode."""

import json
import time
import uuid as uuid_module
from datetime import timezone

import pytest

from conftest import FIXTURES_DIR
from support.api import (ADD_RESPONSE_KEYS, CODE_RESPONSE_KEYS, LIST_ITEM_KEYS,
                         assert_code_matches, assert_has_keys, assert_rfc3339, describe,
                         find_app)

URI_CASES = json.loads((FIXTURES_DIR / "otpauth-uris.json").read_text())["cases"]
VALID_URI_CASES = [case for case in URI_CASES if "expect" in case]


def secret_of(uri):
    query = uri.split("?", 1)[1]
    return dict(part.split("=", 1) for part in query.split("&"))["secret"].rstrip("=")


def encoder_of(uri):
    return "steam" if "encoder=steam" in uri else None


def assert_created_between(created, before, after):
    timestamp = assert_rfc3339(created).astimezone(timezone.utc).timestamp()
    assert before - 1 <= timestamp <= after + 1, f"created {created} outside [{before}, {after}]"


@pytest.mark.parametrize("case", VALID_URI_CASES, ids=lambda case: case["name"])
def test_uri_add_list_and_code(api, case):
    expect = case["expect"]
    secret = secret_of(case["uri"])

    before = time.time()
    response = api.add({"data": case["uri"]})
    after = time.time()
    assert response.status_code == 200, describe(response)
    added = response.json()
    assert_has_keys(added, ADD_RESPONSE_KEYS)
    uuid = added["uuid"]
    uuid_module.UUID(uuid)
    if "issuer" in expect:
        assert added["name"] == expect["issuer"]
        assert added["appname"] == expect["issuer"]
    else:
        # NOTE: the API contract does not say what appname is for a URI without an issuer.
        assert added["name"] == added["appname"]
        assert isinstance(added["appname"], str)
    assert added["custom"] == ""
    assert added["account"] == expect["account"]
    assert added["algorithm"] == expect["algorithm"]
    assert added["digits"] == expect["digits"]
    assert added["period"] == expect["period"]
    assert_created_between(added["created"], before, after)

    listed = find_app(api.list_ok(), uuid)
    assert_has_keys(listed, LIST_ITEM_KEYS)
    assert {key: listed[key] for key in LIST_ITEM_KEYS} == {
        "uuid": uuid,
        "appname": added["appname"],
        "custom": "",
        "account": expect["account"],
        "algorithm": expect["algorithm"],
        "digits": expect["digits"],
        "period": expect["period"],
        "encoder": encoder_of(case["uri"]) or "decimal",
        "type": "totp",
        "created": added["created"],
        "tags": [],
    }

    code, before, after = api.code_ok(uuid)
    assert_has_keys(code, CODE_RESPONSE_KEYS)
    assert code["uuid"] == uuid
    assert code["appname"] == added["appname"]
    assert code["custom"] == ""
    assert_code_matches(code, secret, before, after, expect["algorithm"], expect["digits"],
                        expect["period"], encoder_of(case["uri"]))

    api.assert_no_secret_in_responses(secret)


FIELD_FORMS = [
    pytest.param({"algorithm": "SHA1", "digits": 6, "period": 30}, id="sha1-6-30"),
    pytest.param({"algorithm": "SHA256", "digits": 8, "period": 60}, id="sha256-8-60"),
    pytest.param({"algorithm": "SHA512", "digits": 8, "period": 30}, id="sha512-8-30"),
]
FIELD_FORM_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"


@pytest.mark.parametrize("settings", FIELD_FORMS)
def test_field_form_add_list_and_code(api, settings):
    issuer = f"Fields-{uuid_module.uuid4().hex[:8]}"
    body = {"secret": FIELD_FORM_SECRET, "issuer": issuer, "account": "ops@example.com",
            **settings}

    added = api.add_ok(body)
    assert_has_keys(added, ADD_RESPONSE_KEYS)
    assert added["name"] == issuer
    assert added["appname"] == issuer
    assert added["custom"] == ""
    assert added["account"] == "ops@example.com"
    assert added["algorithm"] == settings["algorithm"]
    assert added["digits"] == settings["digits"]
    assert added["period"] == settings["period"]

    listed = find_app(api.list_ok(), added["uuid"])
    assert_has_keys(listed, LIST_ITEM_KEYS)
    assert listed["algorithm"] == settings["algorithm"]
    assert listed["digits"] == settings["digits"]
    assert listed["period"] == settings["period"]

    code, before, after = api.code_ok(added["uuid"])
    assert_code_matches(code, FIELD_FORM_SECRET, before, after, **settings)
    api.assert_no_secret_in_responses(FIELD_FORM_SECRET)


def test_field_form_defaults_to_sha1_6_30(api):
    issuer = f"Defaults-{uuid_module.uuid4().hex[:8]}"
    added = api.add_ok({"secret": "JBSWY3DPEHPK3PXP", "issuer": issuer, "account": "a"})
    assert added["algorithm"] == "SHA1"
    assert added["digits"] == 6
    assert added["period"] == 30

    code, before, after = api.code_ok(added["uuid"])
    assert_code_matches(code, "JBSWY3DPEHPK3PXP", before, after)


def test_appname_from_query_parameter(api):
    custom = f"Team VPN {uuid_module.uuid4().hex[:8]}"
    uri = "otpauth://totp/Corp:eve@example.com?secret=MFRGGZDFMZTWQ2LK&issuer=Corp"

    added = api.add_ok({"data": uri}, params={"appname": custom})
    assert added["custom"] == custom
    assert added["appname"] == "Corp"
    assert added["name"] == "Corp"

    listed = find_app(api.list_ok(), added["uuid"])
    assert listed["custom"] == custom
    assert listed["appname"] == "Corp"

    code, before, after = api.code_ok(added["uuid"])
    assert code["custom"] == custom
    assert code["appname"] == "Corp"
    assert_code_matches(code, "MFRGGZDFMZTWQ2LK", before, after)


def test_appname_from_body(api):
    custom = f"Shared mailbox {uuid_module.uuid4().hex[:8]}"
    uri = "otpauth://totp/Mail:desk@example.com?secret=KRSXG5CTMVRXEZLU&issuer=Mail"

    added = api.add_ok({"data": uri, "appname": custom})
    assert added["custom"] == custom
    assert added["appname"] == "Mail"

    listed = find_app(api.list_ok(), added["uuid"])
    assert listed["custom"] == custom

    code, _, _ = api.code_ok(added["uuid"])
    assert code["custom"] == custom


def test_list_sorted_by_appname(api):
    suffix = uuid_module.uuid4().hex[:8]
    issuers = [f"sort-c-{suffix}", f"sort-a-{suffix}", f"sort-b-{suffix}"]
    uuids = {}
    for issuer in issuers:
        uuids[api.add_ok({"secret": "JBSWY3DPEHPK3PXP", "issuer": issuer})["uuid"]] = issuer

    listed = [app["appname"] for app in api.list_ok() if app["uuid"] in uuids]
    assert listed == sorted(issuers)


def test_list_items_never_carry_a_seed(api):
    secret = "ONSWG4TFOQ3TSOBZGA4DCMJRGEYTCMJR"
    api.add_ok({"secret": secret, "issuer": f"NoLeak-{uuid_module.uuid4().hex[:8]}"})

    for app in api.list_ok():
        assert_has_keys(app, LIST_ITEM_KEYS)
    api.assert_no_secret_in_responses(secret)


def test_add_response_has_only_documented_keys(api):
    added = api.add_ok({"secret": "JBSWY3DPEHPK3PXP", "issuer": "KeysAdd"})
    undocumented = set(added) - ADD_RESPONSE_KEYS
    assert undocumented == set(), f"undocumented keys {sorted(undocumented)} in {added}"


def test_list_item_has_only_documented_keys(api):
    added = api.add_ok({"secret": "JBSWY3DPEHPK3PXP", "issuer": "KeysList"})
    listed = find_app(api.list_ok(), added["uuid"])
    undocumented = set(listed) - LIST_ITEM_KEYS
    assert undocumented == set(), f"undocumented keys {sorted(undocumented)} in {listed}"


def test_code_response_has_only_documented_keys(api):
    added = api.add_ok({"secret": "JBSWY3DPEHPK3PXP", "issuer": "KeysCode"})
    code, _, _ = api.code_ok(added["uuid"])
    undocumented = set(code) - CODE_RESPONSE_KEYS
    assert undocumented == set(), f"undocumented keys {sorted(undocumented)} in {code}"


def test_code_by_post_json_body(api):
    added = api.add_ok({"secret": "NBSWY3DPO5XXE3DE", "issuer": "PostBody"})

    before = time.time()
    response = api.post("/api/get-mfa-code", json={"uuid": added["uuid"]})
    after = time.time()
    assert response.status_code == 200, describe(response)
    assert_code_matches(response.json(), "NBSWY3DPO5XXE3DE", before, after)


def test_code_by_get_with_json_body(api):
    added = api.add_ok({"secret": "NBSWY3DPO5XXE3DE", "issuer": "GetBody"})

    before = time.time()
    response = api.get("/api/get-mfa-code", json={"uuid": added["uuid"]})
    after = time.time()
    assert response.status_code == 200, describe(response)
    assert_code_matches(response.json(), "NBSWY3DPO5XXE3DE", before, after)


def test_each_add_gets_new_uuid(api):
    body = {"secret": "JBSWY3DPEHPK3PXP", "issuer": "Twice"}
    first = api.add_ok(body)
    second = api.add_ok(body)
    assert first["uuid"] != second["uuid"]


def test_health_returns_ok(api):
    response = api.get("/api/health")
    assert response.status_code == 200, describe(response)
    assert response.json() == {"status": "ok"}
    assert response.headers["Content-Type"].startswith("application/json")
