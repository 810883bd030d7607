"""Bulk intake through /api/import (and single images through add-totp-secret): Google
Authenticator exports, lists of URIs, and QR code images as PNG or JPEG, raw or base64."""

import base64
import io
import uuid as uuid_module

from PIL import Image

from support import totp
from support.api import assert_code_matches, assert_error, describe
from support.intake import (export_account, export_payload, export_uri, qr_jpeg, qr_png)

SECRET = "JBSWY3DPEHPK3PXP"
LONG_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"
HOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def tag():
    return f"Imp{uuid_module.uuid4().hex[:8]}"


def import_ok(api, **kwargs):
    response = api.post("/api/import", **kwargs)
    assert response.status_code == 200, describe(response)
    return response.json()


def created(results):
    return [result for result in results["results"] if result["status"] == "created"]


def test_migration_export_imports_every_account(api):
    issuer = tag()
    payload = export_payload([
        export_account(SECRET, f"{issuer}:alice@example.com", issuer),
        export_account(LONG_SECRET, "bob", f"{issuer}-256", "SHA256", 8),
        export_account(HOTP_SECRET, f"{issuer}-hotp:ops", otp_type="HOTP", counter=2),
        export_account(SECRET, "md5 account", f"{issuer}-md5", "MD5"),
        export_account(SECRET, "unspecified", f"{issuer}-defaults", "UNSPECIFIED", 0, "UNSPECIFIED"),
    ])
    results = import_ok(api, json={"data": export_uri(payload), }, params={"appname": "Phone move"})
    assert (results["created"], results["rejected"], results["failed"]) == (4, 1, 0), results
    assert [result["index"] for result in results["results"]] == [0, 1, 2, 3, 4]

    first, second, third, fourth, fifth = results["results"]
    assert (first["appname"], first["account"], first["custom"]) == (issuer, "alice@example.com", "Phone move")
    assert (second["algorithm"], second["digits"], second["period"]) == ("SHA256", 8, 30)
    assert (third["appname"], third["account"], third["type"]) == (f"{issuer}-hotp", "ops", "hotp")
    assert fourth["status"] == "rejected"
    assert fourth["label"] == f"{issuer}-md5:md5 account"
    assert fourth["error"]["field"] == "algorithm"
    assert (fifth["algorithm"], fifth["digits"], fifth["type"]) == ("SHA1", 6, "totp")

    code, before, after = api.code_ok(first["uuid"])
    assert_code_matches(code, SECRET, before, after)
    code, before, after = api.code_ok(second["uuid"])
    assert_code_matches(code, LONG_SECRET, before, after, "SHA256", 8, 30)
    hotp = api.get_code(third["uuid"]).json()
    assert (hotp["counter"], hotp["otp"]) == (2, totp.hotp(HOTP_SECRET, 2))
    api.assert_no_secret_in_responses(SECRET)
    api.assert_no_secret_in_responses(LONG_SECRET)


def test_migration_base64_that_lost_its_plus(api):
    issuer = tag()
    # Secrets chosen so that the base64 payload contains '+', which chat apps and form
    # decoders turn into a space.
    for padding in range(3):
        secret = base64.b32encode(b"\x55" * padding + bytes([0xFB, 0xEF, 0xBE]) * 4).decode().rstrip("=")
        encoded = base64.b64encode(export_payload([export_account(secret, "plus", issuer)])).decode()
        if "+" in encoded:
            break
    assert "+" in encoded
    uri = "otpauth-migration://offline?data=" + encoded.replace("+", " ")

    results = import_ok(api, json={"data": uri})
    assert results["created"] == 1, results
    code, before, after = api.code_ok(results["results"][0]["uuid"])
    assert_code_matches(code, secret, before, after)


def test_partial_export_batch_warns(api):
    payload = export_payload([export_account(SECRET, "a", tag())], batch_size=2, batch_index=0)
    results = import_ok(api, json={"data": export_uri(payload)})
    assert results["warnings"] == [
        "this export is QR code 1 of 2; import the other QR codes of the export too"]


def test_uri_list_as_text_plain(api):
    issuer = tag()
    body = "\n".join([
        f"otpauth://totp/{issuer}:one?secret={SECRET}",
        "",
        f"otpauth://totp/{issuer}:two?secret={SECRET}&digits=11",
        f"otpauth://hotp/{issuer}:three?secret={HOTP_SECRET}&counter=7",
        SECRET,
    ])
    results = import_ok(api, data=body.encode(), headers={"Content-Type": "text/plain"})
    assert (results["created"], results["rejected"]) == (2, 2), results
    one, two, three, four = results["results"]
    assert one["account"] == "one"
    assert (two["status"], two["label"], two["error"]["field"]) == ("rejected", f"{issuer}:two", "digits")
    assert "digits 11" in two["error"]["message"]
    assert three["type"] == "hotp"
    # A line that is not a URI is named by its number: it may be a bare secret.
    assert (four["status"], four["label"], four["error"]["field"]) == ("rejected", "line 5", "uri")
    api.assert_no_secret_in_responses(SECRET)


def test_uri_list_in_json_data(api):
    issuer = tag()
    data = f"otpauth://totp/{issuer}:a?secret={SECRET}\notpauth://totp/{issuer}:b?secret={LONG_SECRET}"
    results = import_ok(api, json={"data": data})
    assert [result["account"] for result in created(results)] == ["a", "b"]


def test_raw_png_qr_code(api):
    issuer = tag()
    png = qr_png(f"otpauth://totp/{issuer}:png?secret={LONG_SECRET}&algorithm=SHA512")
    results = import_ok(api, data=png, headers={"Content-Type": "image/png"})
    assert results["created"] == 1, results
    entry = results["results"][0]
    assert (entry["appname"], entry["account"], entry["algorithm"]) == (issuer, "png", "SHA512")
    code, before, after = api.code_ok(entry["uuid"])
    assert_code_matches(code, LONG_SECRET, before, after, "SHA512")


def test_base64_jpeg_qr_code(api):
    issuer = tag()
    jpeg = qr_jpeg(f"otpauth://totp/{issuer}:jpeg?secret={SECRET}&digits=8")
    results = import_ok(api, json={"image": base64.b64encode(jpeg).decode()})
    assert results["created"] == 1, results
    entry = results["results"][0]
    code, before, after = api.code_ok(entry["uuid"])
    assert_code_matches(code, SECRET, before, after, digits=8)


def test_export_qr_code_image(api):
    issuer = tag()
    payload = export_payload([export_account(SECRET, "x", issuer), export_account(LONG_SECRET, "y", issuer)])
    png = qr_png(export_uri(payload))
    results = import_ok(api, data=png, headers={"Content-Type": "image/png"})
    assert [result["account"] for result in created(results)] == ["x", "y"]


def test_add_accepts_a_qr_image(api):
    issuer = tag()
    png = qr_png(f"otpauth://totp/{issuer}:single?secret={SECRET}")
    added = api.add_ok({"image": "data:image/png;base64," + base64.b64encode(png).decode(),
                        "appname": "From screenshot"})
    assert (added["appname"], added["account"], added["custom"]) == (issuer, "single", "From screenshot")

    response = api.post("/api/add-totp-secret", data=png, headers={"Content-Type": "image/png"},
                        params={"appname": "raw"})
    assert response.status_code == 200, describe(response)
    assert response.json()["custom"] == "raw"


def test_add_rejects_an_export_image(api):
    png = qr_png(export_uri(export_payload([export_account(SECRET, "x", tag())])))
    response = api.post("/api/add-totp-secret", data=png, headers={"Content-Type": "image/png"})
    error = assert_error(response, 400, "invalid_field", "uri")
    assert "/api/import" in error["message"]


def test_image_at_pixel_limit_decodes(api):
    # An RGBA PNG of exactly 2048 x 2048 pixels must decode within the instance's memory cap.
    issuer = tag()
    code_image = Image.open(io.BytesIO(qr_png(f"otpauth://totp/{issuer}:big?secret={SECRET}", 1)))
    canvas = Image.new("RGBA", (2048, 2048), (255, 255, 255, 255))
    canvas.paste(code_image.convert("RGBA").resize((1024, 1024), Image.NEAREST), (512, 512))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")

    results = import_ok(api, data=buffer.getvalue(), headers={"Content-Type": "image/png"})
    assert [result["account"] for result in created(results)] == ["big"]
