"""Start and stop the servers the tests need: Azurite, the Key Vault test server, the
sharedmfa host and `wasmtime serve`. Every server listens on 127.0.0.1 only and is stopped
by its own PID."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[3]
TESTS_DIR = REPO_ROOT / "tests"
COMPONENT_PATH = REPO_ROOT / "target/wasm32-wasip2/component/sharedmfa.wasm"
# The host binary under test. scripts/test builds the static musl binary that the Functions
# package ships, so the suite tests the shipped binary; SHAREDMFA_TEST_HOST points the suite
# at another build (for example target/release/sharedmfa-host).
HOST_PATH = Path(os.environ.get(
    "SHAREDMFA_TEST_HOST", REPO_ROOT / "target/x86_64-unknown-linux-musl/release/sharedmfa-host"))
FUNCTIONS_APP_DIR = REPO_ROOT / "target/functions-app"
FUNCTIONS_ZIP = REPO_ROOT / "target/sharedmfa-functions.zip"
AZURITE_TABLE_BIN = TESTS_DIR / "node_modules/.bin/azurite-table"
KEYVAULT_SERVER_SCRIPT = TESTS_DIR / "servers/keyvault_test_server.py"

# Startup deadlines, in seconds. The host compiles the component with Cranelift before
# it listens, which takes a few seconds on a 2-core machine.
AZURITE_START_TIMEOUT = 30
HOST_START_TIMEOUT = 90
VAULT_START_TIMEOUT = 30
STOP_TIMEOUT = 10
POLL_INTERVAL = 0.05
LOG_TAIL_LINES = 40


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_accepts_connections(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def http_session(verify=True):
    """A requests session that ignores proxy and CA-bundle variables of the environment,
    so it talks to loopback directly and trusts only what the test passes."""
    session = requests.Session()
    session.trust_env = False
    session.verify = verify
    return session


def minimal_environment(extra):
    """Environment for a server under test: PATH plus the given variables, nothing else
    from the developer's shell (no stray Azure settings)."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    environment.update(extra)
    return environment


class ManagedProcess:
    """A child process whose output goes to a log file and which is stopped by its PID."""

    def __init__(self, name, argv, environment, log_path, cwd=None, stop_signal=signal.SIGTERM):
        self.name = name
        self.stop_signal = stop_signal
        self.argv = [str(part) for part in argv]
        self.environment = environment
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.popen = None

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.name}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv, env=self.environment, cwd=self.cwd, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self):
        """Send the stop signal to the PID, then SIGKILL if it has not exited within
        STOP_TIMEOUT."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(STOP_TIMEOUT)
        self.popen = None

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self):
        lines = self.log_text().splitlines()[-LOG_TAIL_LINES:]
        return f"last lines of {self.log_path}:\n" + "\n".join(lines)

    def wait_until(self, predicate, timeout, condition):
        """Poll predicate until it is true; fail early if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                code = self.popen.returncode if self.popen else None
                raise RuntimeError(f"{self.name} exited with code {code} while waiting for "
                                   f"{condition}\n{self.log_tail()}")
            if predicate():
                return
            time.sleep(POLL_INTERVAL)
        raise TimeoutError(f"{self.name} timed out waiting for '{condition}' after {timeout} s\n"
                           f"{self.log_tail()}")


class Azurite:
    """Azurite's table service on 127.0.0.1:port, persisting to location.

    With `tls` (a (certificate, key) pair of PEM files) it serves HTTPS and accepts OAuth
    bearer tokens (`--oauth basic`) besides Shared Key."""

    def __init__(self, port, location, log_path, tls=None):
        self.port = port
        self.location = Path(location)
        self.log_path = log_path
        self.tls = tls
        self.process = None

    @property
    def table_endpoint(self):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/devstoreaccount1"

    def start(self):
        if not AZURITE_TABLE_BIN.exists():
            raise RuntimeError(f"{AZURITE_TABLE_BIN} is missing: run `npm ci --prefix tests`")
        self.location.mkdir(parents=True, exist_ok=True)
        argv = [AZURITE_TABLE_BIN, "--tableHost", "127.0.0.1", "--tablePort", self.port,
                "--disableTelemetry", "--location", self.location]
        if self.tls:
            certificate, key = self.tls
            argv += ["--cert", certificate, "--key", key, "--oauth", "basic"]
        # Azurite saves its data files on SIGINT only. On SIGTERM it exits at once and
        # loses the writes of the last few seconds.
        self.process = ManagedProcess("azurite-table", argv, dict(os.environ), self.log_path,
                                      stop_signal=signal.SIGINT).start()
        self.process.wait_until(lambda: port_accepts_connections(self.port),
                                AZURITE_START_TIMEOUT, f"listening on port {self.port}")
        return self

    def stop(self):
        if self.process:
            self.process.stop()
        self.wait_port_closed()

    def wait_port_closed(self):
        deadline = time.monotonic() + STOP_TIMEOUT
        while port_accepts_connections(self.port):
            if time.monotonic() > deadline:
                raise TimeoutError(f"port {self.port} still accepts connections after stop")
            time.sleep(POLL_INTERVAL)


class KeyVaultTestServer:
    """tests/servers/keyvault_test_server.py on 127.0.0.1:port with its own test CA."""

    def __init__(self, port, cert_dir, identity_header, log_path):
        self.port = port
        self.cert_dir = Path(cert_dir)
        self.identity_header = identity_header
        self.log_path = log_path
        self.process = None

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self):
        return self.cert_dir / "ca.pem"

    def start(self):
        # The `=` form keeps a value that starts with "-" from reading as an option.
        argv = [sys.executable, KEYVAULT_SERVER_SCRIPT, "--port", self.port,
                "--cert-dir", self.cert_dir, f"--identity-header={self.identity_header}"]
        self.process = ManagedProcess("keyvault-test-server", argv, dict(os.environ),
                                      self.log_path).start()
        self.process.wait_until(self.answers, VAULT_START_TIMEOUT, "answering /_test/state")
        return self

    def answers(self):
        if not self.ca_file.exists():
            return False
        try:
            return self.control().get(f"{self.url}/_test/state", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def control(self):
        return http_session(verify=str(self.ca_file))

    def state(self):
        response = self.control().get(f"{self.url}/_test/state", timeout=5)
        response.raise_for_status()
        return response.json()

    def set_faults(self, **faults):
        response = self.control().post(f"{self.url}/_test/faults", json=faults, timeout=5)
        response.raise_for_status()
        return response.json()

    def token(self):
        response = self.control().get(
            f"{self.url}/msi/token",
            params={"resource": "https://vault.azure.net", "api-version": "2019-08-01"},
            headers={"X-IDENTITY-HEADER": self.identity_header}, timeout=5)
        response.raise_for_status()
        return response.json()["access_token"]

    def put_secret(self, name, value):
        response = self.control().put(
            f"{self.url}/secrets/{name}", params={"api-version": "7.4"},
            headers={"Authorization": f"Bearer {self.token()}"},
            json={"value": value, "contentType": "text/plain"}, timeout=5)
        response.raise_for_status()
        return response.json()

    def get_secret(self, name):
        return self.control().get(
            f"{self.url}/secrets/{name}", params={"api-version": "7.4"},
            headers={"Authorization": f"Bearer {self.token()}"}, timeout=5)

    def stop(self):
        if self.process:
            self.process.stop()


class HttpServerUnderTest:
    """The product served by sharedmfa-host or by `wasmtime serve`."""

    def __init__(self, name, argv, environment, port, log_path, cwd=None):
        self.port = port
        self.process = ManagedProcess(name, argv, environment, log_path, cwd=cwd)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.process.start()
        self.process.wait_until(self.is_healthy, HOST_START_TIMEOUT, "GET /api/health -> 200")
        return self

    def is_healthy(self):
        try:
            response = http_session().get(f"{self.base_url}/api/health", timeout=2)
        except requests.RequestException:
            return False
        return response.status_code == 200

    def stop(self):
        self.process.stop()

    def log_text(self):
        return self.process.log_text()


def host_server(port, environment, log_path, extra_ca_file=None):
    argv = [HOST_PATH, "--component", COMPONENT_PATH, "--listen", f"127.0.0.1:{port}"]
    if extra_ca_file is not None:
        argv += ["--extra-ca-file", extra_ca_file]
    return HttpServerUnderTest("sharedmfa-host", argv, minimal_environment(environment),
                               port, log_path)


def functions_server(port, environment, log_path, app_dir=FUNCTIONS_APP_DIR):
    """The host started as the Functions host starts a custom handler: from the app folder,
    with the executable and arguments of host.json, and the port in
    FUNCTIONS_CUSTOMHANDLER_PORT."""
    description = json.loads((app_dir / "host.json").read_text())["customHandler"]["description"]
    argv = [app_dir / description["defaultExecutablePath"], *description.get("arguments", [])]
    environment = dict(environment, FUNCTIONS_CUSTOMHANDLER_PORT=str(port),
                       FUNCTIONS_WORKER_RUNTIME="Custom")
    return HttpServerUnderTest("sharedmfa-host (Functions)", argv,
                               minimal_environment(environment), port, log_path, cwd=app_dir)


def wasmtime_binary():
    import wasmtime_cli

    return Path(wasmtime_cli.__file__).parent / "wasmtime"


def wasmtime_server(port, environment, log_path):
    argv = [wasmtime_binary(), "serve", "--addr", f"127.0.0.1:{port}", "-S", "cli", "-S", "http"]
    for name, value in environment.items():
        argv += ["--env", f"{name}={value}"]
    argv.append(COMPONENT_PATH)
    return HttpServerUnderTest("wasmtime-serve", argv, minimal_environment({}), port, log_path)
