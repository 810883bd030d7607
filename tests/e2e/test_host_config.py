"""Host start-up: invalid configuration stops it with one line on stderr before it serves,
and FUNCTIONS_CUSTOMHANDLER_PORT chooses the listening port."""

import base64
import os
import subprocess

import pytest

from support.api import ApiClient
from support.processes import (COMPONENT_PATH, HOST_PATH, HttpServerUnderTest, free_port,
                               minimal_environment, port_accepts_connections)
from support.stack import new_seal_key
from support.table_storage import connection_string

EXIT_TIMEOUT = 30
STORAGE = connection_string("http://127.0.0.1:9/devstoreaccount1")
SHORT_SEAL_KEY = base64.b64encode(os.urandom(16)).decode()


def run_host(environment, component=COMPONENT_PATH):
    port = free_port()
    argv = [str(HOST_PATH), "--component", str(component), "--listen", f"127.0.0.1:{port}"]
    try:
        completed = subprocess.run(argv, env=minimal_environment(environment),
                                   stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"host kept running with invalid configuration {environment!r}")
    return completed, port


@pytest.mark.parametrize("environment, named", [
    pytest.param({"AzureWebJobsStorage": STORAGE, "SHAREDMFA_SECRET_STORE": "sealed-table"},
                 "SHAREDMFA_SEAL_KEY", id="seal-key-missing"),
    pytest.param({"AzureWebJobsStorage": STORAGE, "SHAREDMFA_SECRET_STORE": "sealed-table",
                  "SHAREDMFA_SEAL_KEY": SHORT_SEAL_KEY}, "SHAREDMFA_SEAL_KEY",
                 id="seal-key-16-bytes"),
    pytest.param({"AzureWebJobsStorage": STORAGE, "SHAREDMFA_SECRET_STORE": "sealed-table",
                  "SHAREDMFA_SEAL_KEY": "not base64!"}, "SHAREDMFA_SEAL_KEY",
                 id="seal-key-not-base64"),
    pytest.param({"AzureWebJobsStorage": STORAGE, "SHAREDMFA_SECRET_STORE": "floppy-disk"},
                 "SHAREDMFA_SECRET_STORE", id="unknown-secret-store"),
    pytest.param({"SHAREDMFA_SECRET_STORE": "sealed-table",
                  "SHAREDMFA_SEAL_KEY": new_seal_key()}, "AzureWebJobsStorage",
                 id="storage-missing"),
    pytest.param({"AzureWebJobsStorage": "AccountName=;nonsense",
                  "SHAREDMFA_SECRET_STORE": "sealed-table", "SHAREDMFA_SEAL_KEY": new_seal_key()},
                 "AzureWebJobsStorage", id="storage-malformed"),
    pytest.param({"AzureWebJobsStorage": STORAGE, "SHAREDMFA_SECRET_STORE": "keyvault",
                  "IDENTITY_ENDPOINT": "https://127.0.0.1:9/msi/token",
                  "IDENTITY_HEADER": "x"}, "KEY_VAULT", id="vault-url-missing"),
])
def test_invalid_config_exits_with_one_line(built_product, environment, named):
    completed, port = run_host(environment)

    stderr_lines = [line for line in completed.stderr.decode(errors="replace").splitlines()
                    if line.strip()]
    assert completed.returncode != 0, stderr_lines
    assert len(stderr_lines) == 1, stderr_lines
    assert named in stderr_lines[0]
    assert not port_accepts_connections(port)
    seal_key = environment.get("SHAREDMFA_SEAL_KEY")
    if seal_key and len(seal_key) > 8:
        assert seal_key not in stderr_lines[0]


def test_missing_component_exits_with_one_line(built_product, tmp_path):
    missing = tmp_path / "absent.wasm"
    completed, _ = run_host({"AzureWebJobsStorage": STORAGE,
                             "SHAREDMFA_SECRET_STORE": "sealed-table",
                             "SHAREDMFA_SEAL_KEY": new_seal_key()}, component=missing)

    stderr_lines = [line for line in completed.stderr.decode(errors="replace").splitlines()
                    if line.strip()]
    assert completed.returncode != 0
    assert len(stderr_lines) == 1, stderr_lines
    assert str(missing) in stderr_lines[0]


def test_custom_handler_port_overrides_listen(built_product, tmp_path):
    listen_port = free_port()
    handler_port = free_port()
    argv = [HOST_PATH, "--component", COMPONENT_PATH, "--listen", f"127.0.0.1:{listen_port}"]
    environment = minimal_environment({
        "AzureWebJobsStorage": STORAGE,
        "SHAREDMFA_SECRET_STORE": "sealed-table",
        "SHAREDMFA_SEAL_KEY": new_seal_key(),
        "FUNCTIONS_CUSTOMHANDLER_PORT": str(handler_port),
    })
    server = HttpServerUnderTest("sharedmfa-host", argv, environment, handler_port,
                                 tmp_path / "host.log")
    try:
        server.start()
        health = ApiClient(server.base_url).get("/api/health")
        assert health.json() == {"status": "ok"}
        assert not port_accepts_connections(listen_port)
    finally:
        server.stop()
