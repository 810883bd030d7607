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
