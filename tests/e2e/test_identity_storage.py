"""Identity-based storage: no storage key anywhere. The host reads
AzureWebJobsStorage__tableServiceUri and __credential=managedidentity, gets a token for
https://storage.azure.com/ from the managed identity endpoint of the Key Vault test server,
and sends it as a bearer token to Azurite over HTTPS with `--oauth basic`. Seeds go to the
vault with their own token, so this is the full keyless set-up of a Functions app."""

import uuid
from dataclasses import dataclass

import pytest
import trustme

from support.api import ADMIN_KEY, ApiClient, assert_code_matches, describe, find_app
from support.processes import http_session
from support.stack import StackFactory

SECRET = "JBSWY3DPEHPK3PXP"
URI = f"otpauth://totp/Keyless:kim@example.com?secret={SECRET}&issuer=Keyless"


@dataclass
class IdentityStack:
    azurite: object
    vault: object
    host: object
    azurite_ca: str


def azurite_tls_files(directory):
    """A test CA and a certificate for 127.0.0.1 signed by it, as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    paths = {name: directory / f"{name}.pem" for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    certificate.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    certificate.private_key_pem.write_to_path(str(paths["key"]))
    return paths


@pytest.fixture(scope="module")
def identity_stack(built_product, tmp_path_factory):
    directory = tmp_path_factory.mktemp("identity-stack")
    factory = StackFactory(directory)
    try:
        tls = azurite_tls_files(directory / "azurite-tls")
        azurite = factory.azurite(tls=(tls["cert"], tls["key"]))
        vault = factory.vault()
        # The host takes one extra CA file, so it gets both test CAs.
        trusted = directory / "trusted-cas.pem"
        trusted.write_text(tls["ca"].read_text() + vault.ca_file.read_text())
        environment = {
            "AzureWebJobsStorage__tableServiceUri": azurite.table_endpoint,
            "AzureWebJobsStorage__credential": "managedidentity",
            "SHAREDMFA_SECRET_STORE": "keyvault",
            "KEY_VAULT_URL": vault.url,
            "IDENTITY_ENDPOINT": f"{vault.url}/msi/token",
            "IDENTITY_HEADER": vault.identity_header,
            "SHAREDMFA_ADMIN_KEY": ADMIN_KEY,
        }
        host = factory.host(environment, extra_ca_file=trusted)
        yield IdentityStack(azurite, vault, host, str(tls["ca"]))
    finally:
        factory.stop_all()


def storage_token_requests(vault):
    return vault.state()["requests"].get("GET msi/token https://storage.azure.com", 0)


def test_keyless_add_list_and_code(identity_stack):
    api = ApiClient(identity_stack.host.base_url)
    added = api.add_ok({"data": URI, "appname": "no storage key"})
    listed = find_app(api.list_ok(), added["uuid"])
    assert listed["custom"] == "no storage key"

    code, before, after = api.code_ok(added["uuid"])
    assert_code_matches(code, SECRET, before, after)
    api.assert_no_secret_in_responses(SECRET)
    assert storage_token_requests(identity_stack.vault) >= 3


def test_one_storage_token_per_request(identity_stack):
    api = ApiClient(identity_stack.host.base_url)
    before = storage_token_requests(identity_stack.vault)
    response = api.list_apps()
    assert response.status_code == 200, describe(response)
    assert storage_token_requests(identity_stack.vault) == before + 1


def test_azurite_checks_bearer_audience(identity_stack):
    """Azurite must reject a token for another audience, or the keyless test above would
    pass without checking anything."""
    vault = identity_stack.vault
    control = vault.control()
    token = control.get(f"{vault.url}/msi/token",
                        params={"resource": "https://vault.azure.net",
                                "api-version": "2019-08-01"},
                        headers={"X-IDENTITY-HEADER": vault.identity_header}, timeout=5)
    assert token.status_code == 200, token.text
    session = http_session(verify=identity_stack.azurite_ca)
    response = session.get(f"{identity_stack.azurite.table_endpoint}/Tables",
                           headers={"Authorization": f"Bearer {token.json()['access_token']}",
                                    "x-ms-version": "2019-02-02",
                                    "x-ms-date": "Fri, 04 Dec 2026 20:30:00 GMT",
                                    "Accept": "application/json;odata=nometadata",
                                    "x-ms-client-request-id": str(uuid.uuid4())},
                           timeout=5)
    assert response.status_code in (401, 403), describe(response)
