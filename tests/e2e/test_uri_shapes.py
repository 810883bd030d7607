"""otpauth URI shapes from real authenticators, added through the API, with every code
checked against the independent oracle."""

import uuid as uuid_module

import pytest

from support.api import assert_code_matches, assert_error, describe, find_app

SECRET = "JBSWY3DPEHPK3PXP"
LONG_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"

# (id, URI template with {tag} in the issuer, expected issuer, account, canonical secret,
# algorithm, digits, period, encoder)
SHAPES = [
    ("padding-percent-encoded", "otpauth://totp/{tag}:a?secret=JBSWY3DPEHPK3PXP%3D%3D%3D%3D",
     "{tag}", "a", SECRET, "SHA1", 6, 30, None),
    ("padding-lowercase-escape", "otpauth://totp/{tag}:a?secret=JBSWY3DPEHPK3PXP%3d%3d%3d%3d",
     "{tag}", "a", SECRET, "SHA1", 6, 30, None),
    ("secret-with-spaces-and-hyphens", "otpauth://totp/{tag}:a?secret=jbsw+y3dp-ehpk%203pxp",
     "{tag}", "a", SECRET, "SHA1", 6, 30, None),
    ("secret-length-not-multiple-of-8", "otpauth://totp/{tag}:a?secret=JBSWY3DPEHPK2",
     "{tag}", "a", "JBSWY3DPEHPK2", "SHA1", 6, 30, None),
    ("lowercase-escaped-colon", "otpauth://totp/{tag}%3aops%40example.com?secret=JBSWY3DPEHPK3PXP",
     "{tag}", "ops@example.com", SECRET, "SHA1", 6, 30, None),
    ("plus-for-space", "otpauth://totp/{tag}+Corp:jo+smith?secret=JBSWY3DPEHPK3PXP",
     "{tag} Corp", "jo smith", SECRET, "SHA1", 6, 30, None),
    ("utf8-issuer", "otpauth://totp/%E6%97%A5%E6%9C%AC{tag}:taro?secret=JBSWY3DPEHPK3PXP",
     "日本{tag}", "taro", SECRET, "SHA1", 6, 30, None),
    ("hash-in-account", "otpauth://totp/{tag}:team#ops?secret=JBSWY3DPEHPK3PXP",
     "{tag}", "team#ops", SECRET, "SHA1", 6, 30, None),
    ("several-colons", "otpauth://totp/{tag}:a:b:c?secret=JBSWY3DPEHPK3PXP",
     "{tag}", "a:b:c", SECRET, "SHA1", 6, 30, None),
    ("issuer-parameter-wins", "otpauth://totp/Tenant:heidi?secret=JBSWY3DPEHPK3PXP&issuer={tag}",
     "{tag}", "heidi", SECRET, "SHA1", 6, 30, None),
    ("uppercase-scheme-and-type", "OTPAUTH://TOTP/{tag}:a?SECRET=JBSWY3DPEHPK3PXP&ALGORITHM=sha256",
     "{tag}", "a", SECRET, "SHA256", 6, 30, None),
    ("seven-digits-15s", "otpauth://totp/{tag}:a?secret=" + LONG_SECRET + "&digits=7&period=15",
     "{tag}", "a", LONG_SECRET, "SHA1", 7, 15, None),
    ("nine-digits-sha512", "otpauth://totp/{tag}:a?secret=" + LONG_SECRET + "&digits=9&algorithm=Sha512",
     "{tag}", "a", LONG_SECRET, "SHA512", 9, 30, None),
    ("steam-type-path", "otpauth://steam/{tag}:gabe?secret=JBSWY3DPEHPK3PXP",
     "{tag}", "gabe", SECRET, "SHA1", 5, 30, "steam"),
    ("steam-issuer", "otpauth://totp/Steam:gabe?secret=JBSWY3DPEHPK3PXP&issuer=Steam",
     "Steam", "gabe", SECRET, "SHA1", 5, 30, "steam"),
]


@pytest.mark.parametrize("shape", SHAPES, ids=[shape[0] for shape in SHAPES])
def test_uri_shape_adds_and_codes_match(api, shape):
    _, template, issuer, account, secret, algorithm, digits, period, encoder = shape
    tag = f"Shape{uuid_module.uuid4().hex[:8]}"

    added = api.add_ok({"data": template.format(tag=tag)})
    assert added["appname"] == issuer.format(tag=tag)
    assert added["account"] == account
    assert (added["algorithm"], added["digits"], added["period"]) == (algorithm, digits, period)
    assert added["encoder"] == (encoder or "decimal")
    assert added["type"] == "totp"

    code, before, after = api.code_ok(added["uuid"])
    assert_code_matches(code, secret, before, after, algorithm, digits, period, encoder)
    api.assert_no_secret_in_responses(secret)


def test_short_secret_warns_but_adds(api):
    added = api.add_ok({"data": "otpauth://totp/Warn:a?secret=JBSWY3DPEHPK3PXP"})
    assert added["warnings"] == [
        "the secret is 80 bits long; RFC 4226 recommends at least 128 bits, but the codes are "
        "still correct"]


REJECTED = [
    ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=10", "digits", "digits 10 "),
    ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=5", "digits", "digits 5 "),
    ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&period=-30", "period", '"-30"'),
    ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "algorithm", '"MD5"'),
    ("otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP", "counter", "counter"),
    ("otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP&counter=x", "counter", '"x"'),
    ("otpauth://motp/A:b?secret=JBSWY3DPEHPK3PXP", "type", '"motp"'),
    ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PX1", "secret", "character 16"),
    ("otpauth://totp/A:b?secret=", "secret", "empty"),
    ("https://example.com/A:b?secret=JBSWY3DPEHPK3PXP", "uri", "otpauth://"),
]


@pytest.mark.parametrize("uri,field,fragment", REJECTED, ids=[case[1] + "-" + case[2] for case in REJECTED])
def test_rejected_uri_names_field_and_value(api, uri, field, fragment):
    response = api.add({"data": uri})
    error = assert_error(response, 400, response.json()["error"]["code"], field)
    assert error["code"] in ("invalid_field", "missing_field"), describe(response)
    assert fragment in error["message"], describe(response)
    api.assert_no_secret_in_responses("JBSWY3DPEHPK3PXP")


def test_list_shows_type(api):
    added = api.add_ok({"data": "otpauth://hotp/ListType:a?secret=JBSWY3DPEHPK3PXP&counter=0"})
    listed = find_app(api.list_ok(), added["uuid"])
    assert listed["type"] == "hotp"
