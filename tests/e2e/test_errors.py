"""Every error has one shape, {"error": {"code", "message", "field"}}, the documented status
and code, and never a 5xx."""

import json
import uuid as uuid_module

import pytest

from conftest import FIXTURES_DIR
from support.api import WHOLE_BODY_FIELDS, assert_error, describe

URI_CASES = json.loads((FIXTURES_DIR / "otpauth-uris.json").read_text())["cases"]
URI_ERROR_CASES = [case for case in URI_CASES if "expect_error_field" in case]
# A missing or empty `secret` parameter may be reported as missing or as invalid: the
# contract fixes the field, not which of the two codes.
MISSING_OR_INVALID = {"missing_field", "invalid_field"}

COMPONENT_MAX_BODY_BYTES = 64 * 1024
HOST_MAX_BODY_BYTES = 1024 * 1024


def assert_error_with_code_in(response, status, codes, field):
    context = describe(response)
    assert response.status_code == status, context
    error = response.json()["error"]
    assert error["code"] in codes, context
    assert_error(response, status, error["code"], field)


def test_invalid_json_rejected(api):
    response = api.post("/api/add-totp-secret", data=b'{"data": "otpauth://totp/',
                        headers={"Content-Type": "application/json"})
    assert_error(response, 400, "invalid_json", WHOLE_BODY_FIELDS)


def test_non_json_content_type_still_parsed_as_json(api):
    response = api.post("/api/add-totp-secret", data=b"data=otpauth",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 400, "invalid_json", WHOLE_BODY_FIELDS)


def test_empty_body_reports_missing_data(api):
    response = api.post("/api/add-totp-secret", json={})
    context = describe(response)
    assert response.status_code == 400, context
    error = response.json()["error"]
    assert error["code"] == "missing_field", context
    # NOTE: with neither `data` nor `secret` present, either name is a correct pointer.
    assert error["field"] in ("data", "secret"), context
    assert error["field"].lower() in error["message"].lower(), context


def test_appname_alone_reports_missing_data(api):
    response = api.post("/api/add-totp-secret", json={"appname": "only a name"})
    context = describe(response)
    assert response.status_code == 400, context
    assert response.json()["error"]["code"] == "missing_field", context


def test_data_of_wrong_type_rejected(api):
    response = api.add({"data": 42})
    assert_error(response, 400, "invalid_field", "data")


def secret_missing_or_empty(uri):
    return "secret=" not in uri or "secret=&" in uri


@pytest.mark.parametrize("case", URI_ERROR_CASES, ids=lambda case: case["name"])
def test_bad_otpauth_uri_names_field(api, case):
    response = api.add({"data": case["uri"]})
    field = case["expect_error_field"]
    if field == "secret" and secret_missing_or_empty(case["uri"]):
        assert_error_with_code_in(response, 400, MISSING_OR_INVALID, field)
    else:
        assert_error(response, 400, "invalid_field", field)


@pytest.mark.parametrize("query, field", [
    ("digits=12", "digits"),
    ("algorithm=MD5", "algorithm"),
    ("period=0", "period"),
    ("period=-30", "period"),
    ("digits=abc", "digits"),
])
def test_bad_otpauth_parameter_names_field(api, query, field):
    uri = f"otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example&{query}"
    assert_error(api.add({"data": uri}), 400, "invalid_field", field)


def test_hotp_uri_without_counter_rejected(api):
    uri = "otpauth://hotp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example"
    assert_error(api.add({"data": uri}), 400, "missing_field", "counter")


@pytest.mark.parametrize("override, field", [
    ({"secret": "JBSWY3DPEHPK3PX1"}, "secret"),
    ({"secret": ""}, "secret"),
    ({"digits": 12}, "digits"),
    ({"algorithm": "MD5"}, "algorithm"),
    ({"period": 0}, "period"),
])
def test_bad_field_form_names_field(api, override, field):
    body = {"secret": "JBSWY3DPEHPK3PXP", "issuer": "Example", "account": "alice", **override}
    response = api.add(body)
    if override.get("secret") == "":
        assert_error_with_code_in(response, 400, MISSING_OR_INVALID, field)
    else:
        assert_error(response, 400, "invalid_field", field)


def test_unknown_uuid_not_found(api):
    response = api.get_code(str(uuid_module.uuid4()))
    assert_error(response, 404, "not_found", "uuid")


def test_malformed_uuid_rejected(api):
    response = api.get_code("not-a-uuid")
    assert_error(response, 400, "invalid_field", "uuid")


def test_missing_uuid_rejected(api):
    response = api.get("/api/get-mfa-code")
    assert_error(response, 400, "missing_field", "uuid")


@pytest.mark.parametrize("path", ["/api/nope", "/api/", "/", "/api/health/extra"])
def test_unknown_route_not_found(api, path):
    response = api.get(path)
    assert_error(response, 404, "route_not_found", None)


@pytest.mark.parametrize("method, path, allowed", [
    ("DELETE", "/api/list-available-apps", "GET"),
    ("PUT", "/api/add-totp-secret", "POST"),
    ("GET", "/api/add-totp-secret", "POST"),
    ("DELETE", "/api/health", "GET"),
    ("DELETE", "/api/get-mfa-code", "GET"),
])
def test_wrong_method_lists_allowed(api, method, path, allowed):
    response = api.request(method, path)
    assert_error(response, 405, "method_not_allowed", None)
    allow = [value.strip() for value in response.headers["Allow"].split(",")]
    assert allowed in allow, describe(response)


def oversized_add_body(size):
    padding = "x" * size
    return json.dumps({"data": "otpauth://totp/Big:a?secret=JBSWY3DPEHPK3PXP",
                       "appname": padding}).encode()


def test_body_over_component_limit_rejected(api):
    response = api.post("/api/add-totp-secret", data=oversized_add_body(COMPONENT_MAX_BODY_BYTES),
                        headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large", WHOLE_BODY_FIELDS)


def test_body_over_host_limit_rejected(api):
    response = api.post("/api/add-totp-secret", data=oversized_add_body(HOST_MAX_BODY_BYTES),
                        headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large", WHOLE_BODY_FIELDS)


def test_body_just_under_component_limit_accepted(api):
    body = oversized_add_body(COMPONENT_MAX_BODY_BYTES - 200)
    assert len(body) < COMPONENT_MAX_BODY_BYTES
    response = api.post("/api/add-totp-secret", data=body,
                        headers={"Content-Type": "application/json"})
    # The body is within the limit, so it reaches validation. An over-long custom name may
    # be rejected there, but only as an appname field error.
    assert response.status_code in (200, 400), describe(response)
    if response.status_code == 400:
        assert response.json()["error"]["field"] == "appname", describe(response)
