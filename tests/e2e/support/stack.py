"""Groups of servers started for a test: Azurite, the Key Vault test server and the
product, each on its own free loopback port, stopped in reverse order of start."""

import base64
import os
import secrets
from pathlib import Path

from .api import ADMIN_KEY
from .processes import (COMPONENT_PATH, HOST_PATH, Azurite, KeyVaultTestServer, free_port,
                        functions_server, host_server, wasmtime_server)
from .table_storage import TableClient, connection_string


def new_seal_key():
    return base64.b64encode(os.urandom(32)).decode()


def sealed_table_environment(azurite, seal_key):
    return {
        "AzureWebJobsStorage": connection_string(azurite.table_endpoint),
        "SHAREDMFA_SECRET_STORE": "sealed-table",
        "SHAREDMFA_SEAL_KEY": seal_key,
        "SHAREDMFA_ADMIN_KEY": ADMIN_KEY,
    }


def keyvault_environment(azurite, vault):
    return {
        "AzureWebJobsStorage": connection_string(azurite.table_endpoint),
        "SHAREDMFA_SECRET_STORE": "keyvault",
        "KEY_VAULT_URL": vault.url,
        "IDENTITY_ENDPOINT": f"{vault.url}/msi/token",
        "IDENTITY_HEADER": vault.identity_header,
        "SHAREDMFA_ADMIN_KEY": ADMIN_KEY,
    }


def missing_build_message():
    missing = [str(path) for path in (COMPONENT_PATH, HOST_PATH) if not path.exists()]
    if not missing:
        return None
    return ("the product is not built; missing: " + ", ".join(missing) + ". Build it with "
            "`cargo build -p sharedmfa --target wasm32-wasip2 --profile component` and "
            "`cargo build --release -p sharedmfa-host-shim --target x86_64-unknown-linux-musl` "
            "(scripts/test does both), or set SHAREDMFA_TEST_HOST to another host binary.")


class StackFactory:
    """Starts servers under one directory and stops all of them on stop_all()."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.started = []
        self.counter = 0

    def path(self, name):
        self.counter += 1
        return self.directory / f"{self.counter:02d}-{name}"

    def track(self, server):
        self.started.append(server)
        return server

    def azurite(self, port=None, location=None, tls=None):
        server = Azurite(port or free_port(), location or self.path("azurite-data"),
                         self.path("azurite.log"), tls)
        self.track(server)
        return server.start()

    def restart_azurite(self, azurite):
        """Start Azurite again on the same port and data directory."""
        azurite.start()
        return azurite

    def vault(self):
        server = KeyVaultTestServer(free_port(), self.path("vault-certs"),
                                    secrets.token_urlsafe(24), self.path("vault.log"))
        self.track(server)
        return server.start()

    def host(self, environment, extra_ca_file=None, port=None):
        server = host_server(port or free_port(), environment, self.path("host.log"),
                             extra_ca_file)
        self.track(server)
        return server.start()

    def functions_host(self, environment):
        server = functions_server(free_port(), environment, self.path("functions-host.log"))
        self.track(server)
        return server.start()

    def wasmtime(self, environment):
        server = wasmtime_server(free_port(), environment, self.path("wasmtime.log"))
        self.track(server)
        return server.start()

    def table_client(self, azurite):
        return TableClient(azurite.table_endpoint)

    def stop_all(self):
        errors = []
        for server in reversed(self.started):
            try:
                server.stop()
            except Exception as error:  # keep stopping the others
                errors.append(f"{type(server).__name__}: {error!r}")
        self.started.clear()
        if errors:
            raise RuntimeError("stopping test servers failed: " + "; ".join(errors))

    def log_tails(self):
        tails = []
        for server in self.started:
            process = getattr(server, "process", None)
            if process is not None:
                tails.append(process.log_tail())
        return "\n\n".join(tails)
