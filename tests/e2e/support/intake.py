"""Builders for the bulk intake forms: Google Authenticator export payloads and QR images.

The export encoder writes the protobuf wire format by hand, independently of the product's
decoder. The field numbers follow the `MigrationPayload` schema that open-source
authenticators use to read these exports.
"""

import base64
import io
from urllib.parse import quote

import segno
from PIL import Image

# MigrationPayload.OtpParameters enum values.
ALGORITHMS = {"UNSPECIFIED": 0, "SHA1": 1, "SHA256": 2, "SHA512": 3, "MD5": 4}
DIGIT_COUNTS = {0: 0, 6: 1, 8: 2}
TYPES = {"UNSPECIFIED": 0, "HOTP": 1, "TOTP": 2}

WIRE_VARINT = 0
WIRE_LENGTH_DELIMITED = 2


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, wire_type, value):
    key = varint(number << 3 | wire_type)
    if wire_type == WIRE_VARINT:
        return key + varint(value)
    return key + varint(len(value)) + value


def export_account(secret_base32, name, issuer="", algorithm="SHA1", digits=6, otp_type="TOTP",
                   counter=0):
    """Encode one OtpParameters message. Zero values are left out, as protobuf encoders do."""
    secret = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    out = field(1, WIRE_LENGTH_DELIMITED, secret) + field(2, WIRE_LENGTH_DELIMITED, name.encode())
    if issuer:
        out += field(3, WIRE_LENGTH_DELIMITED, issuer.encode())
    for number, value in ((4, ALGORITHMS[algorithm]), (5, DIGIT_COUNTS[digits]),
                          (6, TYPES[otp_type]), (7, counter)):
        if value:
            out += field(number, WIRE_VARINT, value)
    return out


def export_payload(accounts, batch_size=1, batch_index=0, batch_id=1):
    out = b"".join(field(1, WIRE_LENGTH_DELIMITED, account) for account in accounts)
    out += field(2, WIRE_VARINT, 1) + field(3, WIRE_VARINT, batch_size)
    if batch_index:
        out += field(4, WIRE_VARINT, batch_index)
    return out + field(5, WIRE_VARINT, batch_id)


def export_uri(payload):
    """The URI Google Authenticator puts in its export QR code: base64, percent-encoded."""
    return "otpauth-migration://offline?data=" + quote(base64.b64encode(payload).decode(), safe="")


def qr_png(text, scale=4):
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_jpeg(text, scale=6, quality=90):
    image = Image.open(io.BytesIO(qr_png(text, scale))).convert("L")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def blank_png(width, height):
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()
