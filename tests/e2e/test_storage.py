"""Table storage behaviour in sealed-table mode: what is stored, outages and restarts."""

import base64
import json
import uuid as uuid_module

from support.api import ApiClient, assert_code_matches, assert_error, describe, find_app
from support.stack import new_seal_key, sealed_table_environment
from support.totp import decode_base32

def test_sealed_seed_not_stored_in_clear(api, sealed_stack):
    secret = "MZXW6YTBOJUWU23MNU2TIMZRGE3TSOJZ"
    issuer = f"Sealed-{uuid_module.uuid4().hex[:8]}"
    added = api.add_ok({"secret": secret, "issuer": issuer, "account": "vault@example.com"})

    seeds = sealed_stack.tables.query_entities("seeds")
    stored = [entity for entity in seeds if entity.get("RowKey") == added["uuid"]]
    assert len(stored) == 1, f"seeds table rows for {added['uuid']}: {seeds!r}"
    raw_key = decode_base32(secret)
    clear_forms = [secret, secret.lower(), base64.b64encode(raw_key).decode(), raw_key.hex()]
    stored_text = json.dumps(stored[0])
    for form in clear_forms:
        assert form not in stored_text, f"seeds row contains the seed as {form!r}: {stored_text}"


def test_apps_row_uses_original_schema(api, sealed_stack):
    issuer = f"Schema-{uuid_module.uuid4().hex[:8]}"
    added = api.add_ok({"secret": "JBSWY3DPEHPK3PXP", "issuer": issuer, "account": "a@b.c",
                        "algorithm": "SHA256", "digits": 8, "period": 60,
                        "appname": "Schema custom"})

    rows = [row for row in sealed_stack.tables.query_entities("apps")
            if row.get("RowKey") == added["uuid"]]
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["PartitionKey"] == "mfaseed"
    assert row["AccountName"] == issuer
    assert row["CustomName"] == "Schema custom"
    assert row["Account"] == "a@b.c"
    assert row["Algorithm"] == "SHA256"
    assert row["Digits"] == 8
    assert row["Period"] == 60
    assert "Created" in row
    assert "JBSWY3DPEHPK3PXP" not in json.dumps(row)


def test_host_log_never_contains_seed(api, sealed_stack):
    secret = "KRUGKIDROVUWG2ZAMJZG653OEBTG66BA"
    added = api.add_ok({"secret": secret, "issuer": "LogCheck"})
    api.code_ok(added["uuid"])
    api.get_code(str(uuid_module.uuid4()))

    log = sealed_stack.host.log_text()
    assert secret not in log
    assert secret.lower() not in log


def test_health_answers_without_storage(stacks):
    unused_port_endpoint = {"table_endpoint": "http://127.0.0.1:9/devstoreaccount1"}
    azurite_stub = type("NoAzurite", (), unused_port_endpoint)
    host = stacks.host(sealed_table_environment(azurite_stub, new_seal_key()))
    api = ApiClient(host.base_url)

    response = api.get("/api/health")
    assert response.status_code == 200, describe(response)
    assert response.json() == {"status": "ok"}


def test_storage_outage_gives_503_then_recovers(stacks):
    azurite = stacks.azurite()
    host = stacks.host(sealed_table_environment(azurite, new_seal_key()))
    api = ApiClient(host.base_url)
    added = api.add_ok({"secret": "JBSWY3DPEHPK3PXP", "issuer": "Outage"})

    azurite.stop()
    assert_error(api.list_apps(), 503, "storage_unavailable", None)
    assert_error(api.get_code(added["uuid"]), 503, "storage_unavailable", None)
    assert_error(api.add({"secret": "JBSWY3DPEHPK3PXP", "issuer": "DuringOutage"}), 503,
                 "storage_unavailable", None)
    health = api.get("/api/health")
    assert health.status_code == 200, describe(health)
    assert host.process.running()

    stacks.restart_azurite(azurite)
    response = api.wait_for_list()
    assert response.status_code == 200, describe(response)
    appnames = [app["appname"] for app in response.json()]
    assert appnames == ["Outage"]
    code, before, after = api.code_ok(added["uuid"])
    assert_code_matches(code, "JBSWY3DPEHPK3PXP", before, after)


def test_restart_keeps_data(stacks):
    azurite = stacks.azurite()
    environment = sealed_table_environment(azurite, new_seal_key())
    host = stacks.host(environment)
    api = ApiClient(host.base_url)
    added = api.add_ok({"data": "otpauth://totp/Keep:kim?secret=GEZDGNBVGY3TQOJQ&issuer=Keep",
                        "appname": "kept"})
    listed_before = find_app(api.list_ok(), added["uuid"])

    host.stop()
    azurite.stop()
    stacks.restart_azurite(azurite)
    restarted = stacks.host(environment)
    api = ApiClient(restarted.base_url)

    assert find_app(api.list_ok(), added["uuid"]) == listed_before
    code, before, after = api.code_ok(added["uuid"])
    assert_code_matches(code, "GEZDGNBVGY3TQOJQ", before, after)
    assert code["custom"] == "kept"


def test_other_seal_key_never_returns_code(stacks):
    azurite = stacks.azurite()
    host = stacks.host(sealed_table_environment(azurite, new_seal_key()))
    added = ApiClient(host.base_url).add_ok({"secret": "JBSWY3DPEHPK3PXP", "issuer": "Rekey"})
    host.stop()

    other = stacks.host(sealed_table_environment(azurite, new_seal_key()))
    api = ApiClient(other.base_url)
    response = api.get("/api/get-mfa-code", params={"uuid": added["uuid"]}, allow_any_5xx=True)

    # A seed sealed under another key cannot be opened. The contract fixes no status for
    # this, so the test requires only an error in the documented shape instead of a code.
    assert response.status_code != 200, describe(response)
    assert set(response.json()) == {"error"}, describe(response)
    error = response.json()["error"]
    assert error["code"], describe(response)
    assert error["message"].strip(), describe(response)
    assert "Traceback" not in response.text
    assert "panicked" not in response.text
