"""A minimal Azure Table Storage REST client with Shared Key auth, for seeding and reading
Azurite directly (bypassing the product).

Shared Key signing, as documented for the Table service:
  StringToSign = VERB \\n Content-MD5 \\n Content-Type \\n Date \\n CanonicalizedResource
  Authorization = SharedKey {account}:{base64(HMAC-SHA256(base64decode(key), StringToSign))}
CanonicalizedResource is /{account} followed by the request path as sent; Azurite uses
path-style URLs, so the account appears twice (/devstoreaccount1/devstoreaccount1/apps).
"""

import base64
import hashlib
import hmac
import json
from email.utils import formatdate
from urllib.parse import quote

from .processes import http_session

# Azurite's well-known development account (published in Azurite's documentation).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
# Azurite 3.37 rejects x-ms-version values newer than it supports, and 2019-02-02 works.
API_VERSION = "2019-02-02"


def connection_string(table_endpoint):
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};"
            f"AccountKey={ACCOUNT_KEY};TableEndpoint={table_endpoint};")


class TableClient:
    def __init__(self, table_endpoint):
        # table_endpoint is http://127.0.0.1:PORT/devstoreaccount1
        self.endpoint = table_endpoint.rstrip("/")
        self.session = http_session()

    def request(self, method, path, body=None, extra_headers=None):
        """Send one signed request; path is relative to the endpoint, e.g. 'Tables'."""
        url_path = f"/{ACCOUNT_NAME}/{path}"
        date = formatdate(usegmt=True)
        content_type = "application/json" if body is not None else ""
        string_to_sign = "\n".join(
            [method, "", content_type, date, f"/{ACCOUNT_NAME}{url_path.split('?')[0]}"])
        signature = base64.b64encode(hmac.new(
            base64.b64decode(ACCOUNT_KEY), string_to_sign.encode(), hashlib.sha256).digest())
        headers = {
            "x-ms-date": date,
            "x-ms-version": API_VERSION,
            "Accept": "application/json;odata=nometadata",
            "Authorization": f"SharedKey {ACCOUNT_NAME}:{signature.decode()}",
            "DataServiceVersion": "3.0;NetFx",
        }
        headers.update(extra_headers or {})
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body).encode()
        base = self.endpoint.rsplit(f"/{ACCOUNT_NAME}", 1)[0]
        return self.session.request(method, base + url_path, data=data, headers=headers,
                                    timeout=10)

    def create_table(self, table):
        """Create a table; an existing table (409) is fine."""
        response = self.request("POST", "Tables", {"TableName": table})
        if response.status_code not in (201, 204, 409):
            raise AssertionError(f"create table {table}: {response.status_code} {response.text}")

    def insert_entity(self, table, entity):
        response = self.request("POST", table, entity)
        if response.status_code not in (201, 204):
            raise AssertionError(f"insert into {table}: {response.status_code} {response.text}")

    def delete_entity(self, table, partition_key, row_key):
        path = f"{table}(PartitionKey='{quote(partition_key)}',RowKey='{quote(row_key)}')"
        response = self.request("DELETE", path, extra_headers={"If-Match": "*"})
        if response.status_code != 204:
            raise AssertionError(f"delete from {table}: {response.status_code} {response.text}")

    def query_entities(self, table):
        """Return every entity of a table (follows continuation headers); [] if it does not exist."""
        entities = []
        continuation = ""
        while True:
            response = self.request("GET", f"{table}(){continuation}")
            if response.status_code == 404:
                return []
            if response.status_code != 200:
                raise AssertionError(f"query {table}: {response.status_code} {response.text}")
            entities.extend(response.json()["value"])
            next_partition = response.headers.get("x-ms-continuation-NextPartitionKey")
            next_row = response.headers.get("x-ms-continuation-NextRowKey")
            if not next_partition:
                return entities
            continuation = f"?NextPartitionKey={quote(next_partition)}"
            if next_row:
                continuation += f"&NextRowKey={quote(next_row)}"
