"""HTTP client for the sharedmfa API and the assertions most tests share."""

import json
import secrets
import time
from datetime import timezone

from . import totp
from .processes import http_session

ADD_RESPONSE_KEYS = {"name", "uuid", "appname", "custom", "account", "algorithm", "digits",
                     "period", "encoder", "type", "created", "tags", "warnings"}
LIST_ITEM_KEYS = {"uuid", "appname", "custom", "account", "algorithm", "digits", "period",
                  "encoder", "type", "created", "tags"}
CODE_RESPONSE_KEYS = {"otp", "expires", "period", "expires_at", "next_otp", "next_valid_from",
                      "type", "uuid", "appname", "custom", "digits", "algorithm"}
HOTP_CODE_RESPONSE_KEYS = {"otp", "counter", "type", "uuid", "appname", "custom", "digits",
                           "algorithm"}
# The bootstrap admin key every test server gets (SHAREDMFA_ADMIN_KEY), new per test run.
ADMIN_KEY = "test-admin-" + secrets.token_urlsafe(32)
REQUEST_TIMEOUT = 30
# Allowed difference between the test's clock and the server's, in seconds. Both read the
# same system clock, so this only absorbs rounding to whole milliseconds.
CLOCK_SLACK = 1.0
# Seconds the product may take to reach storage again after it comes back.
RECOVERY_TIMEOUT = 20


def describe(response):
    """One block with the request and the response, for assertion messages and reports."""
    request = response.request
    body = request.body
    if isinstance(body, bytes):
        body = body[:300].decode(errors="replace") + ("..." if len(request.body) > 300 else "")
    return (f"request: {request.method} {request.url}\n"
            f"request body: {body}\n"
            f"response: {response.status_code} {dict(response.headers)}\n"
            f"response body: {response.text[:1000]}")


class ApiClient:
    """Calls the API of one server and keeps every response so tests can check that no
    response ever contained a seed."""

    def __init__(self, base_url, key=ADMIN_KEY):
        """`key` is sent as a bearer token on every request; None sends no credential."""
        self.base_url = base_url
        self.session = http_session()
        if key is not None:
            self.session.headers["Authorization"] = f"Bearer {key}"
        self.responses = []

    def with_key(self, key):
        """A client for the same server that sends another key and shares the response
        record, so seed checks cover every client."""
        other = ApiClient(self.base_url, key)
        other.responses = self.responses
        return other

    def request(self, method, path, allow_any_5xx=False, **kwargs):
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        response = self.session.request(method, f"{self.base_url}{path}", **kwargs)
        self.responses.append(response)
        # 503 is the documented status when storage is unavailable. Any other 5xx is a bug,
        # except in the few tests of cases the contract leaves open.
        if not allow_any_5xx:
            assert response.status_code < 500 or response.status_code == 503, describe(response)
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def add(self, body, params=None):
        return self.post("/api/add-totp-secret", json=body, params=params)

    def add_ok(self, body, params=None):
        response = self.add(body, params)
        assert response.status_code == 200, describe(response)
        return response.json()

    def list_apps(self):
        return self.get("/api/list-available-apps")

    def list_ok(self):
        response = self.list_apps()
        assert response.status_code == 200, describe(response)
        return response.json()

    def wait_for_list(self, timeout=RECOVERY_TIMEOUT):
        """Poll list-available-apps until it returns 200 (storage back) or the deadline
        passes; return the last response."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.list_apps()
            if response.status_code == 200 or time.monotonic() > deadline:
                return response
            time.sleep(0.1)

    def get_code(self, uuid):
        return self.get("/api/get-mfa-code", params={"uuid": uuid})

    def code_ok(self, uuid):
        """Get a code and return (body, time before the request, time after it)."""
        before = time.time()
        response = self.get_code(uuid)
        after = time.time()
        assert response.status_code == 200, describe(response)
        return response.json(), before, after

    def assert_no_secret_in_responses(self, secret):
        forms = secret_forms(secret)
        for response in self.responses:
            for form in forms:
                assert form not in response.text, (
                    f"a response contains the seed ({form!r})\n{describe(response)}")


def secret_forms(secret):
    """The spellings of a base32 seed that must never appear in output."""
    bare = secret.replace(" ", "").rstrip("=")
    return {bare.upper(), bare.lower()}


def find_app(apps, uuid):
    matches = [app for app in apps if app.get("uuid") == uuid]
    assert len(matches) == 1, f"expected one app with uuid {uuid} in the list, got {apps!r}"
    return matches[0]


# Field reported for errors about the whole body (invalid JSON, body too large). The
# contract allows a field name or null, and the host uses "body".
WHOLE_BODY_FIELDS = (None, "body")


def assert_error(response, status, code, field):
    """Check the single error shape: status, error code, field, and a message that is
    non-empty and names the field (in any case). `field` may be a tuple of accepted values."""
    context = describe(response)
    assert response.status_code == status, context
    body = response.json()
    assert set(body) == {"error"}, context
    error = body["error"]
    assert set(error) == {"code", "message", "field"}, context
    assert error["code"] == code, context
    accepted_fields = field if isinstance(field, tuple) else (field,)
    assert error["field"] in accepted_fields, context
    assert isinstance(error["message"], str), context
    assert error["message"].strip(), context
    if error["field"] not in WHOLE_BODY_FIELDS:
        assert error["field"].lower() in error["message"].lower(), context
    return error


def assert_has_keys(body, keys):
    """Check that a response contains every documented key. Whether it may carry more is
    checked by separate tests, so an extra key fails only those."""
    missing = set(keys) - set(body)
    assert not missing, f"missing keys {sorted(missing)} in {body!r}"


def assert_rfc3339(text):
    parsed = totp.parse_rfc3339(text)
    assert parsed.utcoffset() is not None
    return parsed


def assert_code_matches(code_body, secret, before, after, algorithm="SHA1", digits=6,
                        period=30, encoder=None):
    """Check a get-mfa-code response against the oracle at the server's time window.

    The window is the one that ends at `expires_at`. It must contain the moment of the
    request (between `before` and `after`), and `expires` must be the milliseconds left in
    it at that moment. `otp` must equal the oracle's code for that window. On a mismatch
    the message names the neighbouring window whose code the server returned, if any.
    """
    context = json.dumps(code_body)
    assert code_body["period"] == period, context
    assert code_body["digits"] == digits, context
    assert code_body["algorithm"] == algorithm, context

    window_end = assert_rfc3339(code_body["expires_at"]).astimezone(timezone.utc).timestamp()
    assert window_end % period == 0, f"expires_at is not a window boundary: {context}"
    counter = int(window_end // period) - 1
    window_start = counter * period
    assert window_start <= after + CLOCK_SLACK, f"window starts after the request: {context}"
    assert window_end > before - CLOCK_SLACK, f"window ended before the request: {context}"

    expires = code_body["expires"]
    assert isinstance(expires, int), context
    assert 0 < expires <= period * 1000, context
    server_now = window_end - expires / 1000
    assert before - CLOCK_SLACK <= server_now <= after + CLOCK_SLACK, (
        f"expires={expires} ms implies server time {server_now:.3f}, request ran from "
        f"{before:.3f} to {after:.3f}: {context}")

    assert code_body["next_valid_from"] == code_body["expires_at"], context
    next_expected = totp.hotp(secret, counter + 1, digits, algorithm, encoder)
    assert code_body["next_otp"] == next_expected, f"next_otp is not window {counter + 1}: {context}"

    expected = totp.hotp(secret, counter, digits, algorithm, encoder)
    if code_body["otp"] != expected:
        neighbours = {offset: totp.hotp(secret, counter + offset, digits, algorithm, encoder)
                      for offset in (-2, -1, 1, 2)}
        matching = [offset for offset, code in neighbours.items() if code == code_body["otp"]]
        raise AssertionError(
            f"otp {code_body['otp']!r} is not the code {expected!r} of window {counter} "
            f"(ending at expires_at); it matches window offsets {matching}: {context}")
