"""HOTP seeds: each code request hands out the stored counter's code and advances the
counter exactly once, also when requests race."""

from concurrent.futures import ThreadPoolExecutor

from support import totp
from support.api import HOTP_CODE_RESPONSE_KEYS, ApiClient, describe

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
# RFC 4226 appendix D: the codes for counters 0-9 of SECRET.
RFC4226_CODES = ["755224", "287082", "359152", "969429", "338314", "254676", "287922",
                 "162583", "399871", "520489"]
RACING_REQUESTS = 8


def hotp_ok(api, uuid):
    response = api.get_code(uuid)
    assert response.status_code == 200, describe(response)
    return response.json()


def test_hotp_codes_follow_the_counter(api):
    added = api.add_ok({"data": f"otpauth://hotp/HotpRfc:ops?secret={SECRET}&counter=3"})
    assert added["type"] == "hotp"

    for counter in (3, 4, 5):
        body = hotp_ok(api, added["uuid"])
        assert set(body) == HOTP_CODE_RESPONSE_KEYS, body
        assert body["counter"] == counter
        assert body["otp"] == RFC4226_CODES[counter]
        assert body["type"] == "hotp"
    api.assert_no_secret_in_responses(SECRET)


def test_hotp_from_fields_with_eight_digits(api):
    added = api.add_ok({"secret": SECRET, "issuer": "HotpFields", "type": "hotp",
                        "counter": 1000, "digits": 8, "algorithm": "SHA256"})
    body = hotp_ok(api, added["uuid"])
    assert body["counter"] == 1000
    assert body["otp"] == totp.hotp(SECRET, 1000, 8, "SHA256")


def test_racing_requests_use_each_counter_once(sealed_stack):
    api = ApiClient(sealed_stack.host.base_url)
    added = api.add_ok({"data": f"otpauth://hotp/HotpRace:ops?secret={SECRET}&counter=0"})

    def one_request(_):
        # One session per thread: requests.Session is not thread-safe.
        return ApiClient(sealed_stack.host.base_url).get_code(added["uuid"])

    with ThreadPoolExecutor(max_workers=RACING_REQUESTS) as pool:
        responses = list(pool.map(one_request, range(RACING_REQUESTS)))

    for response in responses:
        assert response.status_code == 200, describe(response)
    counters = sorted(response.json()["counter"] for response in responses)
    assert counters == list(range(RACING_REQUESTS))
    for response in responses:
        body = response.json()
        assert body["otp"] == RFC4226_CODES[body["counter"]], body

    # The counter moved exactly once per request.
    assert hotp_ok(api, added["uuid"])["counter"] == RACING_REQUESTS


def test_racing_renames_never_undo_counter(sealed_stack):
    """A rename writes the whole record. It must not write back a counter that a code
    request advanced meanwhile, or a later request would hand out a used code again."""
    api = ApiClient(sealed_stack.host.base_url)
    added = api.add_ok({"data": f"otpauth://hotp/HotpRename:ops?secret={SECRET}&counter=0"})
    path = f"/api/apps/{added['uuid']}"

    def one_request(index):
        client = ApiClient(sealed_stack.host.base_url)
        if index % 2 == 0:
            return "code", client.get_code(added["uuid"])
        return "rename", client.request("PATCH", path, json={"appname": f"rename {index}"})

    with ThreadPoolExecutor(max_workers=RACING_REQUESTS) as pool:
        results = list(pool.map(one_request, range(2 * RACING_REQUESTS)))

    code_responses = [response for kind, response in results if kind == "code"]
    for response in code_responses:
        assert response.status_code == 200, describe(response)
    # Under this much contention a rename may lose every retry; it then gets 409 and
    # changes nothing, which is the documented outcome.
    renames = [response for kind, response in results if kind == "rename"]
    for response in renames:
        assert response.status_code in (200, 409), describe(response)
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "conflict"
    assert any(response.status_code == 200 for response in renames)
    counters = sorted(response.json()["counter"] for response in code_responses)
    assert counters == list(range(RACING_REQUESTS))

    # Every code request advanced the counter once, and no rename set it back.
    assert hotp_ok(api, added["uuid"])["counter"] == RACING_REQUESTS
