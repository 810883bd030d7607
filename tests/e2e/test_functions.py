"""The Azure Functions package (target/functions-app and its zip, made by
scripts/package-functions) and the host running as a custom handler from it.

The Functions host itself cannot be installed here, so the tests send requests the way it
forwards them with enableForwardingHttpRequest: the original path including /api, the
query and headers (the `code` parameter and `x-functions-key` too) and
X-Azure-Functions-InvocationId.
"""

import json
import stat
import time
import uuid
import zipfile

import pytest

from support.api import ApiClient, assert_code_matches, describe, find_app
from support.processes import FUNCTIONS_APP_DIR, FUNCTIONS_ZIP
from support.stack import StackFactory, new_seal_key, sealed_table_environment

SECRET = "JBSWY3DPEHPK3PXP"
URI = f"otpauth://totp/Example:alice@example.com?secret={SECRET}&issuer=Example"
FUNCTION_KEY = "test-function-key-0123456789abcdefABCDEF"
ORIGINAL_ENDPOINTS = {"add-totp-secret", "list-available-apps", "get-mfa-code"}


@pytest.fixture(scope="module")
def package():
    if not FUNCTIONS_ZIP.exists() or not FUNCTIONS_APP_DIR.exists():
        pytest.fail(f"{FUNCTIONS_ZIP} or {FUNCTIONS_APP_DIR} is missing; run "
                    "scripts/package-functions (scripts/test does)", pytrace=False)
    with zipfile.ZipFile(FUNCTIONS_ZIP) as archive:
        yield archive


def function_bindings(archive, name):
    return json.loads(archive.read(f"{name}/function.json"))["bindings"]


def test_zip_layout(package):
    names = set(package.namelist())
    for required in ("host.json", "sharedmfa-host", "sharedmfa.wasm", "sharedmfa.cwasm"):
        assert required in names, sorted(names)
    for endpoint in ORIGINAL_ENDPOINTS | {"health", "api"}:
        assert f"{endpoint}/function.json" in names, sorted(names)
    # Zip deploy serves the zip's root as the app root, so nothing may sit in a subfolder
    # named after the package.
    assert not any(name.startswith("functions-app/") for name in names), sorted(names)


def test_zip_modes(package):
    for entry in package.infolist():
        mode = entry.external_attr >> 16
        assert stat.S_ISREG(mode), f"{entry.filename}: {oct(mode)}"
        expected = 0o755 if entry.filename == "sharedmfa-host" else 0o644
        assert stat.S_IMODE(mode) == expected, f"{entry.filename}: {oct(mode)}"


def test_host_binary_is_static(package):
    binary = package.read("sharedmfa-host")
    assert binary[:4] == b"\x7fELF", "sharedmfa-host is not an ELF file"
    # A dynamically linked ELF names its loader in a PT_INTERP segment; a static one has
    # none. Checking for the loader's path is enough for the two loaders in use.
    assert b"/lib64/ld-linux-x86-64.so" not in binary
    assert b"/lib/ld-musl-x86_64.so" not in binary


def test_host_json_forwards_to_shim(package):
    host = json.loads(package.read("host.json"))
    assert host["version"] == "2.0"
    handler = host["customHandler"]
    assert handler["enableForwardingHttpRequest"] is True
    description = handler["description"]
    assert description["defaultExecutablePath"] == "sharedmfa-host"
    assert description["arguments"] == ["--component", "sharedmfa.wasm",
                                        "--precompiled", "sharedmfa.cwasm"]
    assert host["extensions"]["http"]["routePrefix"] == "api"


@pytest.mark.parametrize("endpoint", sorted(ORIGINAL_ENDPOINTS))
def test_original_endpoints_need_key(package, endpoint):
    trigger, output = function_bindings(package, endpoint)
    assert trigger["type"] == "httpTrigger"
    assert trigger["authLevel"] == "function"
    assert trigger["route"] == endpoint
    # No method list: every method reaches the component, which returns 405 itself.
    assert "methods" not in trigger
    assert output == {"type": "http", "direction": "out", "name": "res"}


def test_catch_all_routes_newer_endpoints(package):
    trigger, output = function_bindings(package, "api")
    assert trigger["authLevel"] == "function"
    assert trigger["route"] == "{*path}"
    assert output["type"] == "http"


def test_health_is_anonymous(package):
    trigger, _ = function_bindings(package, "health")
    assert trigger["authLevel"] == "anonymous"
    assert trigger["route"] == "health"


@pytest.fixture(scope="module")
def functions_host(package, built_product, tmp_path_factory):
    factory = StackFactory(tmp_path_factory.mktemp("functions-stack"))
    try:
        azurite = factory.azurite()
        yield factory.functions_host(sealed_table_environment(azurite, new_seal_key()))
    finally:
        factory.stop_all()


def forwarded_headers(invocation_id):
    """Headers the Functions host adds when it forwards a request to a custom handler."""
    return {
        "X-Azure-Functions-InvocationId": invocation_id,
        "x-functions-key": FUNCTION_KEY,
        "X-Forwarded-For": "203.0.113.7:51234",
        "X-Original-URL": "/api/placeholder",
        "X-ARR-LOG-ID": str(uuid.uuid4()),
    }


def test_functions_mode_loads_precompiled(functions_host):
    log = functions_host.log_text()
    assert "loaded the precompiled component" in log, log
    assert f"127.0.0.1:{functions_host.port}" in log, log


def test_forwarded_requests_served(functions_host):
    api = ApiClient(functions_host.base_url)
    add_id = str(uuid.uuid4())
    added = api.post("/api/add-totp-secret", params={"code": FUNCTION_KEY},
                     json={"data": URI, "appname": "via Functions"},
                     headers=forwarded_headers(add_id))
    assert added.status_code == 200, describe(added)
    app_id = added.json()["uuid"]

    listed = api.get("/api/list-available-apps", params={"code": FUNCTION_KEY},
                     headers=forwarded_headers(str(uuid.uuid4())))
    assert listed.status_code == 200, describe(listed)
    assert find_app(listed.json(), app_id)["custom"] == "via Functions"

    before = time.time()
    code = api.get("/api/get-mfa-code", params={"uuid": app_id, "code": FUNCTION_KEY},
                   headers=forwarded_headers(str(uuid.uuid4())))
    after = time.time()
    assert code.status_code == 200, describe(code)
    assert_code_matches(code.json(), SECRET, before, after)
    api.assert_no_secret_in_responses(SECRET)

    log = functions_host.log_text()
    handled = [line for line in log.splitlines() if "request handled" in line and add_id in line]
    assert len(handled) == 1, log
    assert "/api/add-totp-secret" in handled[0], handled[0]
    assert FUNCTION_KEY not in log


def test_catch_all_path_reaches_component(functions_host):
    api = ApiClient(functions_host.base_url)
    response = api.get("/api/not-an-endpoint-yet", params={"code": FUNCTION_KEY},
                       headers=forwarded_headers(str(uuid.uuid4())))
    assert response.status_code == 404, describe(response)
    assert response.json()["error"]["code"] == "route_not_found"
