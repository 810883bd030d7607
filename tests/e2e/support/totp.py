"""Independent TOTP implementation (RFC 4226 HOTP, RFC 6238 TOTP) used as the test oracle.

It shares no code with the product, so a code the server returns is checked against a
second implementation of the RFCs.
"""

import base64
import hashlib
import hmac
from datetime import datetime

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}

# Steam Guard codes: 5 characters from this 26-letter alphabet, taken from the same
# dynamically truncated integer as numeric codes.
STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"
STEAM_DIGITS = 5


def decode_base32(secret):
    """Decode a base32 seed as authenticator apps accept it: any case, padding optional."""
    text = secret.replace(" ", "").upper().rstrip("=")
    text += "=" * (-len(text) % 8)
    return base64.b32decode(text)


def truncated_value(key, counter, algorithm):
    digest = hmac.new(key, counter.to_bytes(8, "big"), HASHES[algorithm]).digest()
    offset = digest[-1] & 0x0F
    return int.from_bytes(digest[offset:offset + 4], "big") & 0x7FFFFFFF


def hotp(secret_base32, counter, digits=6, algorithm="SHA1", encoder=None):
    value = truncated_value(decode_base32(secret_base32), counter, algorithm)
    if encoder == "steam":
        characters = []
        for _ in range(STEAM_DIGITS):
            characters.append(STEAM_ALPHABET[value % len(STEAM_ALPHABET)])
            value //= len(STEAM_ALPHABET)
        return "".join(characters)
    return str(value % 10 ** digits).zfill(digits)


def totp(secret_base32, unix_time, period=30, digits=6, algorithm="SHA1", encoder=None):
    return hotp(secret_base32, int(unix_time) // period, digits, algorithm, encoder)


def parse_rfc3339(text):
    """Parse an RFC 3339 timestamp into an aware datetime (accepts a trailing Z)."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return parsed
