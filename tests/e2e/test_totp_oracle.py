"""Checks the tests' own TOTP oracle against the published RFC vectors and the case file,
so a failure elsewhere points at the product, not at the oracle."""

import json

import pytest

from conftest import FIXTURES_DIR
from support import totp

RFC_VECTORS = json.loads((FIXTURES_DIR / "rfc-vectors.json").read_text())
URI_CASES = json.loads((FIXTURES_DIR / "otpauth-uris.json").read_text())["cases"]


@pytest.mark.parametrize("vector", RFC_VECTORS["rfc6238"],
                         ids=lambda v: f"{v['algorithm']}-t{v['time']}")
def test_oracle_matches_rfc6238_vectors(vector):
    code = totp.totp(vector["secret_base32"], vector["time"], vector["period"],
                     vector["digits"], vector["algorithm"])
    assert code == vector["code"]


@pytest.mark.parametrize("vector", RFC_VECTORS["rfc4226"], ids=lambda v: f"counter{v['counter']}")
def test_oracle_matches_rfc4226_vectors(vector):
    assert totp.hotp(vector["secret_base32"], vector["counter"], vector["digits"]) == vector["code"]


def secret_of(uri):
    query = uri.split("?", 1)[1]
    return dict(part.split("=", 1) for part in query.split("&"))["secret"]


@pytest.mark.parametrize("case", [c for c in URI_CASES if "expect" in c], ids=lambda c: c["name"])
def test_oracle_matches_case_file_codes(case):
    expect = case["expect"]
    encoder = "steam" if "encoder=steam" in case["uri"] else None
    for unix_time, code in expect["codes_at"].items():
        assert totp.totp(secret_of(case["uri"]), int(unix_time), expect["period"],
                         expect["digits"], expect["algorithm"], encoder) == code, unix_time
