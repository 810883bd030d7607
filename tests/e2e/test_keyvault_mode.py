"""Key Vault mode: seeds live in the Key Vault test server (HTTPS, test CA), app records in
Azurite, and the host gets tokens from the test server's managed identity endpoint."""

import uuid as uuid_module
from dataclasses import dataclass

import pytest

from support.api import ApiClient, assert_code_matches, assert_error, describe, find_app
from support.stack import StackFactory, keyvault_environment

SECRET = "JBSWY3DPEHPK3PXP"


@dataclass
class KeyVaultStack:
    azurite: object
    vault: object
    host: object
    tables: object


@pytest.fixture(scope="module")
def keyvault_stack(built_product, tmp_path_factory):
    factory = StackFactory(tmp_path_factory.mktemp("keyvault-stack"))
    try:
        azurite = factory.azurite()
        vault = factory.vault()
        host = factory.host(keyvault_environment(azurite, vault), extra_ca_file=vault.ca_file)
        yield KeyVaultStack(azurite, vault, host, factory.table_client(azurite))
    finally:
        factory.stop_all()


@pytest.fixture
def kv_api(keyvault_stack):
    yield ApiClient(keyvault_stack.host.base_url)
    keyvault_stack.vault.set_faults(fail_writes=0, fail_reads=0, fail_deletes=0, status=503,
                                    vault_status=None)


def test_keyvault_add_list_and_code(kv_api, keyvault_stack):
    vault = keyvault_stack.vault
    secrets_before = set(vault.state()["secrets"])
    uri = "otpauth://totp/Vaulted:val@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Vaulted"

    added = kv_api.add_ok({"data": uri, "appname": "kv custom"})
    assert added["appname"] == "Vaulted"
    assert added["custom"] == "kv custom"

    assert set(vault.state()["secrets"]) - secrets_before == {added["uuid"]}
    stored = vault.get_secret(added["uuid"])
    assert stored.status_code == 200, describe(stored)
    assert stored.json()["value"] == SECRET

    listed = find_app(kv_api.list_ok(), added["uuid"])
    assert listed["appname"] == "Vaulted"
    assert listed["account"] == "val@example.com"

    code, before, after = kv_api.code_ok(added["uuid"])
    assert_code_matches(code, SECRET, before, after)
    kv_api.assert_no_secret_in_responses(SECRET)
    assert SECRET not in keyvault_stack.host.log_text()


def test_original_schema_record_gives_code(kv_api, keyvault_stack):
    record_uuid = str(uuid_module.uuid4())
    seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    keyvault_stack.tables.create_table("apps")
    keyvault_stack.tables.insert_entity("apps", {
        "PartitionKey": "mfaseed",
        "RowKey": record_uuid,
        "AccountName": "LegacyPortal",
        "CustomName": "legacy team",
    })
    keyvault_stack.vault.put_secret(record_uuid, seed)

    listed = find_app(kv_api.list_ok(), record_uuid)
    assert listed["appname"] == "LegacyPortal"
    assert listed["custom"] == "legacy team"
    assert listed["algorithm"] == "SHA1"
    assert listed["digits"] == 6
    assert listed["period"] == 30
    # NOTE: an original record has no account and no creation time. The contract does not
    # fix how they are shown, so only their types are checked.
    assert isinstance(listed["account"], str)
    assert listed["created"] is None or isinstance(listed["created"], str)

    code, before, after = kv_api.code_ok(record_uuid)
    assert code["appname"] == "LegacyPortal"
    assert code["custom"] == "legacy team"
    assert_code_matches(code, seed, before, after)


def test_vault_write_failure_leaves_no_app(kv_api, keyvault_stack):
    vault = keyvault_stack.vault
    issuer = f"WriteFails-{uuid_module.uuid4().hex[:8]}"
    secrets_before = vault.state()["secrets"]
    # Every write fails, so retries inside the product cannot get past the fault.
    vault.set_faults(fail_writes=1000, status=503)

    response = kv_api.add({"secret": SECRET, "issuer": issuer})
    vault.set_faults(fail_writes=0)

    assert_error(response, 503, "storage_unavailable", None)
    assert [app for app in kv_api.list_ok() if app["appname"] == issuer] == []
    assert vault.state()["secrets"] == secrets_before


def test_vault_read_failure_gives_503(kv_api, keyvault_stack):
    added = kv_api.add_ok({"secret": SECRET, "issuer": "ReadFails"})
    keyvault_stack.vault.set_faults(fail_reads=1000, status=503)

    assert_error(kv_api.get_code(added["uuid"]), 503, "storage_unavailable", None)
    # Listing reads only the apps table, so it keeps working while the vault fails.
    find_app(kv_api.list_ok(), added["uuid"])

    keyvault_stack.vault.set_faults(fail_reads=0)
    code, before, after = kv_api.code_ok(added["uuid"])
    assert_code_matches(code, SECRET, before, after)


def test_vault_internal_error_gives_503(kv_api, keyvault_stack):
    added = kv_api.add_ok({"secret": SECRET, "issuer": "Vault500"})
    keyvault_stack.vault.set_faults(vault_status=500)

    assert_error(kv_api.get_code(added["uuid"]), 503, "storage_unavailable", None)

    keyvault_stack.vault.set_faults(vault_status=None)
    code, before, after = kv_api.code_ok(added["uuid"])
    assert_code_matches(code, SECRET, before, after)


def test_untrusted_vault_certificate_gives_503(kv_api, keyvault_stack, stacks):
    added = kv_api.add_ok({"secret": SECRET, "issuer": "TrustCheck"})
    vault = keyvault_stack.vault
    requests_before = vault.state()["requests"]
    environment = keyvault_environment(keyvault_stack.azurite, vault)
    untrusting_host = stacks.host(environment)  # no --extra-ca-file
    api = ApiClient(untrusting_host.base_url)

    assert_error(api.get_code(added["uuid"]), 503, "storage_unavailable", None)
    assert_error(api.add({"secret": SECRET, "issuer": "NeverStored"}), 503,
                 "storage_unavailable", None)

    assert vault.state()["requests"] == requests_before
    assert "TLS handshake" in vault.process.log_text()
    assert [app for app in kv_api.list_ok() if app["appname"] == "NeverStored"] == []


def test_wrong_identity_header_gives_502(kv_api, keyvault_stack, stacks):
    added = kv_api.add_ok({"secret": SECRET, "issuer": "WrongIdentity"})
    environment = keyvault_environment(keyvault_stack.azurite, keyvault_stack.vault)
    environment["IDENTITY_HEADER"] = "not-the-expected-value"
    host = stacks.host(environment, extra_ca_file=keyvault_stack.vault.ca_file)

    # The identity endpoint returns 401: a rejection that retrying will not fix.
    response = ApiClient(host.base_url).get(
        "/api/get-mfa-code", params={"uuid": added["uuid"]}, allow_any_5xx=True)
    assert_error(response, 502, "storage_error", None)
    assert "not-the-expected-value" not in host.log_text()


def test_table_failure_after_vault_leaves_no_active_secret(stacks):
    """The apps table fails during add: Azurite is stopped after the host is healthy and
    before the add. The product may check the table before writing the seed, or write
    the seed and delete it on failure. Either way no active secret may remain in the
    vault (a soft-deleted one is fine), and no app is listed once the table is back."""
    azurite = stacks.azurite()
    vault = stacks.vault()
    host = stacks.host(keyvault_environment(azurite, vault), extra_ca_file=vault.ca_file)
    api = ApiClient(host.base_url)

    azurite.stop()
    response = api.add({"secret": SECRET, "issuer": "Orphan"})
    assert_error(response, 503, "storage_unavailable", None)
    assert vault.state()["secrets"] == []

    stacks.restart_azurite(azurite)
    response = api.wait_for_list()
    assert response.status_code == 200, describe(response)
    assert response.json() == []


def test_rejected_table_write_leaves_no_active_secret(kv_api, keyvault_stack):
    """Table Storage rejects a string property over 64 KiB, so a custom name of 40,000
    characters (80,000 bytes in the service's UTF-16) cannot be stored in the apps table,
    while the JSON body stays under the component's 64 KiB limit. Whether the product
    rejects the name up front or writes the seed and removes it after the table rejects
    the row, no active secret and no app may remain."""
    vault = keyvault_stack.vault
    issuer = f"HugeName-{uuid_module.uuid4().hex[:8]}"
    secrets_before = vault.state()["secrets"]

    response = kv_api.add({"secret": SECRET, "issuer": issuer, "appname": "n" * 40_000})

    assert response.status_code != 200, describe(response)
    assert set(response.json()) == {"error"}, describe(response)
    assert vault.state()["secrets"] == secrets_before
    assert [app for app in kv_api.list_ok() if app["appname"] == issuer] == []


def test_keyvault_delete_is_soft_and_rotation_versions(kv_api, keyvault_stack):
    vault = keyvault_stack.vault
    added = kv_api.add_ok({"secret": SECRET, "issuer": "Rotated"})
    uuid = added["uuid"]

    rotated = kv_api.request("PUT", f"/api/apps/{uuid}/seed", json={"secret": "KRSXG5CTMVRXEZLU"})
    assert rotated.status_code == 200, describe(rotated)
    assert vault.get_secret(uuid).json()["value"] == "KRSXG5CTMVRXEZLU"

    deleted = kv_api.request("DELETE", f"/api/apps/{uuid}")
    assert deleted.status_code == 200, describe(deleted)
    assert deleted.json()["deleted"] is True
    assert deleted.json()["seed"].startswith("soft-deleted")
    state = vault.state()
    assert uuid not in state["secrets"]
    assert uuid in state["deleted"]


def test_keyvault_export_reads_the_vault(kv_api):
    added = kv_api.add_ok({"secret": SECRET, "issuer": "Exported"})
    created = kv_api.post("/api/keys", json={"name": "kv export", "role": "reader",
                                             "scope": {"apps": [added["uuid"]]}, "export": True})
    assert created.status_code == 201, describe(created)
    exporter = ApiClient(kv_api.base_url, created.json()["key"])

    exported = exporter.post(f"/api/apps/{added['uuid']}/export")
    assert exported.status_code == 200, describe(exported)
    assert exported.json()["secret"] == SECRET
