"""A corpus of malformed seeds, exports and images thrown at every intake form: each gets a
4xx in the one error shape, names a field, and never echoes the secret."""

import base64
import json

import pytest

from support.api import WHOLE_BODY_FIELDS, assert_error, describe
from support.intake import blank_png, export_account, export_payload, export_uri, qr_png

SECRET = "JBSWY3DPEHPK3PXP"
GOOD_EXPORT = base64.b64encode(export_payload([export_account(SECRET, "A:a", "A")])).decode()
PNG = qr_png(f"otpauth://totp/A:a?secret={SECRET}")

# Limits of the running product, as the README documents them.
MAX_IMAGE_BYTES = 700 * 1024
MAX_IMAGE_PIXELS = 2048 * 2048
MAX_IMAGE_BODY_BYTES = 960 * 1024
HOST_MAX_BODY_BYTES = 1024 * 1024


def json_body(value):
    return {"data": json.dumps(value).encode(), "headers": {"Content-Type": "application/json"}}


def migration(data):
    return json_body({"data": f"otpauth-migration://offline?data={data}"})


# (id, route, request keyword arguments, expected status, expected field)
CORPUS = [
    ("export-truncated-base64", "/api/import", migration(GOOD_EXPORT[:len(GOOD_EXPORT) // 2]), 400, "data"),
    ("export-not-base64", "/api/import", migration("!!!***"), 400, "data"),
    ("export-bad-protobuf", "/api/import", migration(base64.b64encode(b"\xff\xff\xff\xff").decode()), 400, "data"),
    ("export-empty-payload", "/api/import", migration(""), 400, "data"),
    ("export-no-data", "/api/import", json_body({"data": "otpauth-migration://offline"}), 400, "data"),
    ("export-bad-escape", "/api/import", migration("%FF%FE"), 400, "data"),
    ("list-only-blank-lines", "/api/import", {"data": b"\n\n  \n", "headers": {"Content-Type": "text/plain"}}, 400, "data"),
    ("text-not-utf8", "/api/import", {"data": b"\xff\xfe\xfd", "headers": {"Content-Type": "text/plain"}}, 400, "data"),
    ("empty-body", "/api/import", {"data": b"", "headers": {"Content-Type": "application/json"}}, 400, "data"),
    ("json-without-seeds", "/api/import", json_body({"appname": "x"}), 400, "data"),
    ("data-and-image", "/api/import", json_body({"data": "otpauth://totp/A:a?secret=" + SECRET, "image": "AAAA"}), 400, "data"),
    ("image-not-base64", "/api/import", json_body({"image": "%%%"}), 400, "image"),
    ("image-not-a-picture", "/api/import", json_body({"image": base64.b64encode(b"hello").decode()}), 400, "image"),
    ("image-garbage-png", "/api/import", {"data": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "headers": {"Content-Type": "image/png"}}, 400, "image"),
    ("image-truncated-png", "/api/import", {"data": PNG[: len(PNG) // 2], "headers": {"Content-Type": "image/png"}}, 400, "image"),
    ("image-garbage-jpeg", "/api/import", {"data": b"\xff\xd8\xff\xe0" + b"\x13" * 200, "headers": {"Content-Type": "image/jpeg"}}, 400, "image"),
    ("image-empty", "/api/import", {"data": b"", "headers": {"Content-Type": "image/png"}}, 400, "data"),
    ("image-without-qr", "/api/import", {"data": blank_png(200, 200), "headers": {"Content-Type": "image/png"}}, 400, "image"),
    ("image-gif", "/api/add-totp-secret", {"data": b"GIF89a\x01\x00\x01\x00", "headers": {"Content-Type": "image/png"}}, 400, "image"),
    ("add-image-without-qr", "/api/add-totp-secret", json_body({"image": base64.b64encode(blank_png(50, 50)).decode()}), 400, "image"),
    ("add-two-uris", "/api/add-totp-secret", json_body({"data": f"otpauth://totp/A:a?secret={SECRET}\notpauth://totp/B:b?secret={SECRET}"}), 400, "data"),
    ("add-export", "/api/add-totp-secret", migration(GOOD_EXPORT), 400, "uri"),
    ("add-hotp-field-without-counter", "/api/add-totp-secret", json_body({"secret": SECRET, "type": "hotp"}), 400, "counter"),
    ("add-unknown-type-field", "/api/add-totp-secret", json_body({"secret": SECRET, "type": "motp"}), 400, "type"),
]


@pytest.mark.parametrize("case", CORPUS, ids=[case[0] for case in CORPUS])
def test_malformed_input_gets_4xx_with_field(api, case):
    _, route, kwargs, status, field = case
    response = api.post(route, **kwargs)
    context = describe(response)
    assert response.status_code == status, context
    error = response.json()["error"]
    assert error["code"] in ("invalid_field", "missing_field"), context
    assert_error(response, status, error["code"], field)
    api.assert_no_secret_in_responses(SECRET)


def test_image_over_pixel_limit_states_limit(api):
    # Blank images compress well, so this one is small on the wire but too large in pixels.
    png = blank_png(4097, 1025)
    assert len(png) < MAX_IMAGE_BYTES
    response = api.post("/api/import", data=png, headers={"Content-Type": "image/png"})
    error = assert_error(response, 400, "invalid_field", "image")
    assert error["message"] == (f"the image is 4097 x 1025 = {4097 * 1025} pixels; at most "
                                f"{MAX_IMAGE_PIXELS} are accepted, so crop or shrink it")


def test_image_over_byte_limit_states_limit(api):
    body = b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES
    response = api.post("/api/import", data=body, headers={"Content-Type": "image/png"})
    error = assert_error(response, 400, "invalid_field", "image")
    assert f"at most {MAX_IMAGE_BYTES} are accepted" in error["message"]


def test_image_body_over_component_limit_is_413(api):
    body = b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BODY_BYTES
    assert len(body) < HOST_MAX_BODY_BYTES
    response = api.post("/api/import", data=body, headers={"Content-Type": "image/png"})
    assert_error(response, 413, "payload_too_large", WHOLE_BODY_FIELDS)


def test_large_json_without_image_is_413(api):
    body = json.dumps({"data": f"otpauth://totp/A:a?secret={SECRET}", "pad": "x" * 70_000}).encode()
    response = api.post("/api/import", data=body, headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large", WHOLE_BODY_FIELDS)


def test_text_list_over_json_limit_is_413(api):
    body = (f"otpauth://totp/A:a?secret={SECRET}\n" * 2000).encode()
    assert len(body) > 64 * 1024
    response = api.post("/api/import", data=body, headers={"Content-Type": "text/plain"})
    assert_error(response, 413, "payload_too_large", WHOLE_BODY_FIELDS)


def test_import_over_entry_limit_rejected(api):
    body = (f"otpauth://totp/A:a?secret={SECRET}\n" * 101).encode()
    response = api.post("/api/import", data=body, headers={"Content-Type": "text/plain"})
    error = assert_error(response, 400, "invalid_field", "data")
    assert "more than 100 accounts" in error["message"]


def test_import_get_not_allowed(api):
    response = api.get("/api/import")
    assert_error(response, 405, "method_not_allowed", None)
    assert response.headers["Allow"] == "POST"
