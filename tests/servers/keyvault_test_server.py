"""Key Vault secrets and managed identity TEST server for the sharedmfa end-to-end tests.

This is a separate process that follows the published REST contracts, not part of the
product. It serves HTTPS on 127.0.0.1 with a certificate from a throwaway test CA made
with trustme:

- the Key Vault secrets data-plane API as documented for api-version 7.4
  (set, get, list, delete, get deleted, recover, purge), with bearer-token checks;
- an App Service style managed identity endpoint, `GET /msi/token`
  (api-version 2019-08-01, header `X-IDENTITY-HEADER`), which issues the only tokens
  the vault accepts. For the storage resource it issues an unsigned JWT with the claims
  Azurite checks under `--oauth basic` (issuer, audience, iat, nbf, exp);
- test controls under `/_test/`: `GET /_test/state` (stored secret names and request
  counts), `POST /_test/faults` (make the next N secret writes, reads or deletes fail,
  or make every vault call fail) and `POST /_test/reset`.

Run: python keyvault_test_server.py --cert-dir DIR --identity-header VALUE [--port N]
It writes DIR/ca.pem (the CA to trust) and prints one line `READY https://127.0.0.1:PORT`
on stdout once it accepts connections. Each request is logged to stderr as method, path
without query, and status; secret values and tokens are never logged.
"""

import argparse
import base64
import json
import re
import secrets
import ssl
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import trustme

# api-version values accepted for the secrets API: 7.0 to 7.6 and 2025-07-01, the versions
# the Azure SDK for .NET lists. Anything else gets 400, as from the real service.
SUPPORTED_API_VERSIONS = {"7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"}
IDENTITY_API_VERSION = "2019-08-01"
VAULT_RESOURCE = "https://vault.azure.net"
STORAGE_RESOURCE = "https://storage.azure.com"
SECRET_NAME_PATTERN = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_SECRET_VALUE_BYTES = 25 * 1024
MAX_TAGS = 15
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 25
# Soft-deleted secrets are kept 90 days by default before the service purges them.
PURGE_DELAY_SECONDS = 90 * 24 * 3600
RECOVERY_LEVEL = "Recoverable+Purgeable"


class ApiError(Exception):
    """An error response: HTTP status, Key Vault error code and message."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class VaultState:
    """Secrets, soft-deleted secrets, issued tokens, faults and request counts."""

    def __init__(self, base_url, tenant_id, client_id, identity_header, token_lifetime):
        self.base_url = base_url
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.identity_header = identity_header
        self.token_lifetime = token_lifetime
        self.lock = threading.Lock()
        self.tokens = {}
        self.tokens_issued = 0
        self.reset()

    def reset(self):
        # name -> list of versions, newest last
        self.secrets = {}
        # name -> {"versions": [...], "deletedDate": int, "scheduledPurgeDate": int}
        self.deleted = {}
        self.requests = Counter()
        self.faults = {"fail_writes": 0, "fail_reads": 0, "fail_deletes": 0,
                       "status": 503, "vault_status": None}

    def snapshot(self):
        return {
            "secrets": sorted(self.secrets),
            "deleted": sorted(self.deleted),
            "requests": dict(self.requests),
            "tokens_issued": self.tokens_issued,
            "faults": dict(self.faults),
        }


def now_seconds():
    return int(time.time())


def base64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def storage_jwt(tenant_id, client_id, issued_at, expires_on):
    """A JWT shaped like a Microsoft Entra token for Azure Storage. Its signature is random
    bytes: Azurite's basic OAuth check reads the claims and does not verify signatures."""
    header = {"typ": "JWT", "alg": "RS256"}
    claims = {
        "aud": STORAGE_RESOURCE,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": issued_at,
        "nbf": issued_at,
        "exp": expires_on,
        "appid": client_id,
        "oid": client_id,
        "tid": tenant_id,
    }
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(32)]
    return ".".join(base64url(part) for part in parts)


def secret_bundle(state, name, version, include_value=True):
    bundle = {
        "id": f"{state.base_url}/secrets/{name}/{version['version']}",
        "attributes": dict(version["attributes"]),
        "tags": dict(version["tags"]),
    }
    if version["contentType"] is not None:
        bundle["contentType"] = version["contentType"]
    if include_value:
        bundle["value"] = version["value"]
    return bundle


def secret_item(state, name, version):
    item = {
        "id": f"{state.base_url}/secrets/{name}",
        "attributes": dict(version["attributes"]),
        "tags": dict(version["tags"]),
    }
    if version["contentType"] is not None:
        item["contentType"] = version["contentType"]
    return item


def deleted_bundle(state, name, entry, include_value):
    bundle = secret_bundle(state, name, entry["versions"][-1], include_value)
    bundle["recoveryId"] = f"{state.base_url}/deletedsecrets/{name}"
    bundle["deletedDate"] = entry["deletedDate"]
    bundle["scheduledPurgeDate"] = entry["scheduledPurgeDate"]
    return bundle


def check_secret_name(name):
    if not SECRET_NAME_PATTERN.match(name):
        raise ApiError(400, "BadParameter",
                       "The request URI contains an invalid name: secret names are 1-127 "
                       "characters of 0-9, a-z, A-Z and '-'.")


def paged(state, path, items, query, api_version):
    """Return one page of items with a nextLink, as Key Vault list operations do."""
    try:
        page_size = int(query.get("maxresults", [DEFAULT_PAGE_SIZE])[0])
    except ValueError:
        raise ApiError(400, "BadParameter", "maxresults must be an integer from 1 to 25.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ApiError(400, "BadParameter", "maxresults must be an integer from 1 to 25.")

    skip_token = query.get("$skiptoken", [None])[0]
    start = 0
    if skip_token:
        try:
            start = int(base64.urlsafe_b64decode(skip_token.encode()).decode())
        except ValueError:
            raise ApiError(400, "BadParameter", "The $skiptoken is invalid.")

    page = items[start:start + page_size]
    next_link = None
    if start + page_size < len(items):
        token = base64.urlsafe_b64encode(str(start + page_size).encode()).decode()
        next_link = (f"{state.base_url}{path}?api-version={api_version}"
                     f"&$skiptoken={token}&maxresults={page_size}")
    return {"value": page, "nextLink": next_link}


class VaultRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "keyvault-test-server"

    @property
    def state(self):
        return self.server.state

    # -- plumbing -------------------------------------------------------------------

    def log_message(self, format, *args):
        # The default log line contains the query string; requests are logged in
        # send_json instead, without it.
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size_line = self.rfile.readline().strip()
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status, body, headers=None):
        path = urlsplit(self.path).path
        print(f"keyvault-test-server: {self.command} {path} -> {status}",
              file=sys.stderr, flush=True)
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def handle_any(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send_json(400, {"error": {"code": "BadParameter",
                                           "message": "The request body could not be read: "
                                                      "invalid chunked encoding."}})
            return

        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        try:
            status, response, headers = self.dispatch(url.path, query, body)
        except ApiError as error:
            status = error.status
            response = {"error": {"code": error.code, "message": error.message}}
            headers = error.headers
        self.send_json(status, response, headers)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = handle_any

    # -- routing --------------------------------------------------------------------

    def dispatch(self, path, query, body):
        segments = [part for part in path.split("/") if part]
        method = self.command

        if segments[:1] == ["_test"]:
            return self.dispatch_control(method, segments[1:], body)
        if segments == ["msi", "token"] and method == "GET":
            return self.issue_token(query)
        if segments[:1] in (["secrets"], ["deletedsecrets"]):
            return self.dispatch_vault(method, segments, query, body)
        raise ApiError(404, "NotFound", f"No route for {method} {path}.")

    def dispatch_control(self, method, segments, body):
        state = self.state
        with state.lock:
            if segments == ["state"] and method == "GET":
                return 200, state.snapshot(), None
            if segments == ["reset"] and method == "POST":
                state.reset()
                return 200, state.snapshot(), None
            if segments == ["faults"] and method == "POST":
                try:
                    update = json.loads(body or b"{}")
                except ValueError:
                    raise ApiError(400, "BadParameter", "The faults body is not valid JSON.")
                unknown = set(update) - set(state.faults)
                if unknown:
                    raise ApiError(400, "BadParameter",
                                   f"Unknown fault settings: {sorted(unknown)}.")
                state.faults.update(update)
                return 200, dict(state.faults), None
        raise ApiError(404, "NotFound", f"No test control for {method} /_test/{'/'.join(segments)}.")

    def dispatch_vault(self, method, segments, query, body):
        state = self.state
        self.check_token()
        api_version = query.get("api-version", [None])[0]
        if api_version is None:
            raise ApiError(400, "BadParameter", "The api-version query parameter is missing.")
        if api_version not in SUPPORTED_API_VERSIONS:
            raise ApiError(400, "BadParameter",
                           f"The specified version ({api_version}) is not recognized. "
                           "Consider using the latest supported version (7.4).")

        collection = segments[0]
        name = segments[1] if len(segments) > 1 else None
        route = self.route_template(method, segments)
        if name is not None:
            check_secret_name(name)

        with state.lock:
            state.requests[route] += 1
            self.apply_faults(method, collection, len(segments))
            handler = {
                "GET secrets": self.list_secrets,
                "GET secrets/{name}": self.get_secret,
                "GET secrets/{name}/{version}": self.get_secret,
                "PUT secrets/{name}": self.set_secret,
                "DELETE secrets/{name}": self.delete_secret,
                "GET deletedsecrets": self.list_deleted,
                "GET deletedsecrets/{name}": self.get_deleted,
                "POST deletedsecrets/{name}/recover": self.recover_deleted,
                "DELETE deletedsecrets/{name}": self.purge_deleted,
            }.get(route)
            if handler is None:
                raise ApiError(405 if len(segments) <= 3 else 404, "BadParameter",
                               f"{method} is not supported on /{'/'.join(segments)}.")
            return handler(segments, query, body, api_version)

    @staticmethod
    def route_template(method, segments):
        template = [segments[0]]
        if len(segments) > 1:
            template.append("{name}")
        if len(segments) > 2:
            template.append("recover" if segments[2] == "recover" and segments[0] == "deletedsecrets"
                            else "{version}")
        template.extend(segments[3:])
        return f"{method} {'/'.join(template)}"

    def apply_faults(self, method, collection, depth):
        faults = self.state.faults
        if faults["vault_status"] is not None:
            raise ApiError(int(faults["vault_status"]), "InternalServerError",
                           "Every vault call fails: a test set vault_status.")
        is_secret_call = collection == "secrets" and depth >= 2
        counter = None
        if is_secret_call and method == "PUT":
            counter = "fail_writes"
        elif is_secret_call and method == "GET":
            counter = "fail_reads"
        elif is_secret_call and method == "DELETE":
            counter = "fail_deletes"
        if counter and faults[counter] > 0:
            faults[counter] -= 1
            raise ApiError(int(faults["status"]), "ServiceUnavailable",
                           f"This call failed on purpose: a test set {counter}.")

    # -- authentication -------------------------------------------------------------

    def check_token(self):
        state = self.state
        challenge = {
            "WWW-Authenticate": f'Bearer authorization="https://login.microsoftonline.com/'
                                f'{state.tenant_id}", resource="{VAULT_RESOURCE}"'
        }
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Unauthorized", "Request is missing a Bearer token.", challenge)
        with state.lock:
            issued = state.tokens.get(token.strip())
        if issued is None:
            raise ApiError(401, "Unauthorized", "The bearer token was not issued by this server.",
                           challenge)
        resource, expires_on = issued
        if resource != VAULT_RESOURCE:
            raise ApiError(401, "Unauthorized",
                           f"The token audience is {resource}, expected {VAULT_RESOURCE}.",
                           challenge)
        if expires_on <= now_seconds():
            raise ApiError(401, "Unauthorized", "The bearer token has expired.", challenge)

    def issue_token(self, query):
        state = self.state
        api_version = query.get("api-version", [None])[0]
        if api_version != IDENTITY_API_VERSION:
            raise ApiError(400, "BadRequest",
                           f"api-version must be {IDENTITY_API_VERSION}, got {api_version!r}.")
        header = self.headers.get("X-IDENTITY-HEADER")
        if header is None:
            raise ApiError(400, "BadRequest", "The X-IDENTITY-HEADER header is missing.")
        if not secrets.compare_digest(header.encode(), state.identity_header.encode()):
            raise ApiError(401, "Unauthorized", "The X-IDENTITY-HEADER value is invalid.")
        resource = query.get("resource", [None])[0]
        if not resource:
            raise ApiError(400, "BadRequest", "The resource query parameter is missing.")

        issued_at = now_seconds()
        expires_on = issued_at + state.token_lifetime
        normalized_resource = resource.rstrip("/")
        client_id = query.get("client_id", [state.client_id])[0]
        if normalized_resource == STORAGE_RESOURCE:
            token = storage_jwt(state.tenant_id, client_id, issued_at, expires_on)
        else:
            token = secrets.token_urlsafe(32)
        with state.lock:
            state.tokens[token] = (normalized_resource, expires_on)
            state.tokens_issued += 1
            state.requests["GET msi/token"] += 1
            state.requests[f"GET msi/token {normalized_resource}"] += 1
        return 200, {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }, None

    # -- secrets --------------------------------------------------------------------

    def set_secret(self, segments, query, body, api_version):
        state = self.state
        name = segments[1]
        try:
            request = json.loads(body)
        except ValueError:
            raise ApiError(400, "BadParameter", "The request body is not valid JSON.")
        if not isinstance(request, dict) or not isinstance(request.get("value"), str):
            raise ApiError(400, "BadParameter", "The request body is missing the string field 'value'.")
        if len(request["value"].encode()) > MAX_SECRET_VALUE_BYTES:
            raise ApiError(400, "BadParameter", "The secret value is larger than 25 KB.")
        tags = request.get("tags") or {}
        if not isinstance(tags, dict) or len(tags) > MAX_TAGS:
            raise ApiError(400, "BadParameter", "tags is invalid: expected an object of at most 15 entries.")
        if name in state.deleted:
            raise ApiError(409, "Conflict",
                           f"Secret {name} is currently in a deleted but recoverable state, "
                           "and its name cannot be reused; in this state, the secret can only "
                           "be recovered or purged.")

        attributes = request.get("attributes") or {}
        created = now_seconds()
        version = {
            "version": uuid.uuid4().hex,
            "value": request["value"],
            "contentType": request.get("contentType"),
            "tags": tags,
            "attributes": {
                "enabled": bool(attributes.get("enabled", True)),
                "created": created,
                "updated": created,
                "recoveryLevel": RECOVERY_LEVEL,
            },
        }
        state.secrets.setdefault(name, []).append(version)
        return 200, secret_bundle(state, name, version), None

    def get_secret(self, segments, query, body, api_version):
        state = self.state
        name = segments[1]
        versions = state.secrets.get(name)
        if not versions:
            raise ApiError(404, "SecretNotFound",
                           f"A secret with (name/id) {name} was not found in this key vault.")
        if len(segments) == 2:
            return 200, secret_bundle(state, name, versions[-1]), None
        for version in versions:
            if version["version"] == segments[2]:
                return 200, secret_bundle(state, name, version), None
        raise ApiError(404, "SecretNotFound",
                       f"A secret with (name/id) {name}/{segments[2]} was not found in this "
                       "key vault.")

    def list_secrets(self, segments, query, body, api_version):
        state = self.state
        items = [secret_item(state, name, versions[-1])
                 for name, versions in sorted(state.secrets.items())]
        return 200, paged(state, "/secrets", items, query, api_version), None

    def delete_secret(self, segments, query, body, api_version):
        state = self.state
        name = segments[1]
        versions = state.secrets.pop(name, None)
        if versions is None:
            raise ApiError(404, "SecretNotFound",
                           f"A secret with (name/id) {name} was not found in this key vault.")
        deleted_at = now_seconds()
        entry = {"versions": versions, "deletedDate": deleted_at,
                 "scheduledPurgeDate": deleted_at + PURGE_DELAY_SECONDS}
        state.deleted[name] = entry
        return 200, deleted_bundle(state, name, entry, include_value=False), None

    def list_deleted(self, segments, query, body, api_version):
        state = self.state
        items = []
        for name, entry in sorted(state.deleted.items()):
            item = secret_item(state, name, entry["versions"][-1])
            item["recoveryId"] = f"{state.base_url}/deletedsecrets/{name}"
            item["deletedDate"] = entry["deletedDate"]
            item["scheduledPurgeDate"] = entry["scheduledPurgeDate"]
            items.append(item)
        return 200, paged(state, "/deletedsecrets", items, query, api_version), None

    def find_deleted(self, name):
        entry = self.state.deleted.get(name)
        if entry is None:
            raise ApiError(404, "SecretNotFound", f"Deleted Secret not found: {name}.")
        return entry

    def get_deleted(self, segments, query, body, api_version):
        name = segments[1]
        entry = self.find_deleted(name)
        return 200, deleted_bundle(self.state, name, entry, include_value=False), None

    def recover_deleted(self, segments, query, body, api_version):
        state = self.state
        name = segments[1]
        entry = self.find_deleted(name)
        del state.deleted[name]
        state.secrets[name] = entry["versions"]
        return 200, secret_bundle(state, name, entry["versions"][-1], include_value=False), None

    def purge_deleted(self, segments, query, body, api_version):
        name = segments[1]
        self.find_deleted(name)
        del self.state.deleted[name]
        return 204, None, None


class TlsThreadingServer(ThreadingHTTPServer):
    """Threading HTTP server that runs each TLS handshake in the request's own thread, so
    one client that never finishes its handshake cannot block the others."""

    daemon_threads = True

    def __init__(self, address, handler, ssl_context, state):
        super().__init__(address, handler)
        self.ssl_context = ssl_context
        self.state = state

    def finish_request(self, request, client_address):
        request.settimeout(30)
        try:
            tls_socket = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            print(f"keyvault-test-server: TLS handshake with {client_address[0]} failed: {error}",
                  file=sys.stderr, flush=True)
            return
        super().finish_request(tls_socket, client_address)

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        print(f"keyvault-test-server: connection from {client_address[0]} failed: {error!r}",
              file=sys.stderr, flush=True)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port on 127.0.0.1; 0 picks a free one (default)")
    parser.add_argument("--cert-dir", type=Path, required=True,
                        help="directory that receives ca.pem, the test CA to trust")
    parser.add_argument("--identity-header", required=True,
                        help="value the managed identity endpoint expects in X-IDENTITY-HEADER")
    parser.add_argument("--tenant-id", default="00000000-0000-4000-8000-0000000000aa",
                        help="tenant named in the 401 challenge")
    parser.add_argument("--client-id", default=str(uuid.UUID(int=1)),
                        help="client_id reported in token responses")
    parser.add_argument("--token-lifetime", type=int, default=3600,
                        help="lifetime of issued tokens, in seconds")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)

    ca = trustme.CA()
    server_certificate = ca.issue_cert("127.0.0.1", "localhost")
    arguments.cert_dir.mkdir(parents=True, exist_ok=True)
    ca.cert_pem.write_to_path(str(arguments.cert_dir / "ca.pem"))
    ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_certificate.configure_cert(ssl_context)

    state = VaultState(None, arguments.tenant_id, arguments.client_id,
                       arguments.identity_header, arguments.token_lifetime)
    server = TlsThreadingServer(("127.0.0.1", arguments.port), VaultRequestHandler,
                                ssl_context, state)
    port = server.server_address[1]
    state.base_url = f"https://127.0.0.1:{port}"

    print(f"READY {state.base_url}", flush=True)
    print(f"keyvault-test-server: listening on {state.base_url}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("keyvault-test-server: stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
