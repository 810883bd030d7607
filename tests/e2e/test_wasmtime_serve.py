"""The same component under `wasmtime serve` (no sharedmfa host) against Azurite in
sealed-table mode: add, list and get-code return what they return under the host."""

import pytest

from support.api import (ADD_RESPONSE_KEYS, CODE_RESPONSE_KEYS, LIST_ITEM_KEYS, ApiClient,
                         assert_code_matches, assert_error, assert_has_keys, find_app)
from support.stack import StackFactory, new_seal_key, sealed_table_environment

URI = ("otpauth://totp/Bank:ivan?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"
       "&issuer=Bank&algorithm=SHA256&digits=8&period=60")
SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"


@pytest.fixture(scope="module")
def wasmtime_api(built_product, tmp_path_factory):
    factory = StackFactory(tmp_path_factory.mktemp("wasmtime-stack"))
    try:
        azurite = factory.azurite()
        server = factory.wasmtime(sealed_table_environment(azurite, new_seal_key()))
        yield ApiClient(server.base_url)
    finally:
        factory.stop_all()


def test_wasmtime_add_list_and_code(wasmtime_api):
    added = wasmtime_api.add_ok({"data": URI, "appname": "under wasmtime"})
    assert_has_keys(added, ADD_RESPONSE_KEYS)
    assert added["appname"] == "Bank"
    assert added["custom"] == "under wasmtime"
    assert added["algorithm"] == "SHA256"
    assert added["digits"] == 8
    assert added["period"] == 60

    listed = find_app(wasmtime_api.list_ok(), added["uuid"])
    assert_has_keys(listed, LIST_ITEM_KEYS)
    assert listed["custom"] == "under wasmtime"

    code, before, after = wasmtime_api.code_ok(added["uuid"])
    assert_has_keys(code, CODE_RESPONSE_KEYS)
    assert_code_matches(code, SECRET, before, after, "SHA256", 8, 60)
    wasmtime_api.assert_no_secret_in_responses(SECRET)


def test_wasmtime_health_and_errors(wasmtime_api):
    health = wasmtime_api.get("/api/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}

    assert_error(wasmtime_api.get_code("00000000-0000-4000-8000-000000000000"), 404,
                 "not_found", "uuid")
    assert_error(wasmtime_api.add({"data": "http://totp/x?secret=JBSWY3DPEHPK3PXP"}), 400,
                 "invalid_field", "uri")
