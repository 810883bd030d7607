"""The Key Vault test server follows the published secrets REST contract (api-version 7.4)
and the App Service managed identity contract, so the Key Vault mode tests exercise the
product against realistic answers. These tests do not need the product."""

import pytest

from support.processes import http_session

IDENTITY_PARAMS = {"resource": "https://vault.azure.net", "api-version": "2019-08-01"}


@pytest.fixture
def vault(stacks_without_build):
    return stacks_without_build.vault()


@pytest.fixture
def client(vault):
    return http_session(verify=str(vault.ca_file))


@pytest.fixture
def authorized(vault, client):
    client.headers["Authorization"] = f"Bearer {vault.token()}"
    return client


def test_request_without_token_gets_challenge(vault, client):
    response = client.get(f"{vault.url}/secrets/any", params={"api-version": "7.4"})

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer authorization="https://login.microsoftonline.com/')
    assert challenge.endswith(', resource="https://vault.azure.net"')
    assert response.json()["error"]["code"] == "Unauthorized"


def test_token_not_issued_here_rejected(vault, client):
    response = client.get(f"{vault.url}/secrets/any", params={"api-version": "7.4"},
                          headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401


def test_token_for_other_resource_rejected(vault, client):
    token = client.get(f"{vault.url}/msi/token",
                       params={**IDENTITY_PARAMS, "resource": "https://storage.azure.com/"},
                       headers={"X-IDENTITY-HEADER": vault.identity_header}).json()
    response = client.get(f"{vault.url}/secrets/any", params={"api-version": "7.4"},
                          headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 401


def test_identity_endpoint_issues_app_service_token(vault, client):
    response = client.get(f"{vault.url}/msi/token", params=IDENTITY_PARAMS,
                          headers={"X-IDENTITY-HEADER": vault.identity_header})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert body["token_type"] == "Bearer"
    assert body["resource"] == "https://vault.azure.net"
    assert isinstance(body["expires_on"], str)
    assert body["expires_on"].isdigit()


@pytest.mark.parametrize("headers, params, status", [
    ({}, IDENTITY_PARAMS, 400),
    ({"X-IDENTITY-HEADER": "wrong"}, IDENTITY_PARAMS, 401),
    (None, {**IDENTITY_PARAMS, "api-version": "2017-09-01"}, 400),
    (None, {"api-version": "2019-08-01"}, 400),
])
def test_identity_endpoint_rejects_bad_requests(vault, client, headers, params, status):
    if headers is None:
        headers = {"X-IDENTITY-HEADER": vault.identity_header}
    response = client.get(f"{vault.url}/msi/token", params=params, headers=headers)
    assert response.status_code == status


def test_set_then_get_secret(vault, authorized):
    put = authorized.put(f"{vault.url}/secrets/app-1", params={"api-version": "7.4"},
                         json={"value": "SEED", "contentType": "text/plain", "tags": {"k": "v"}})
    assert put.status_code == 200
    bundle = put.json()
    assert bundle["value"] == "SEED"
    assert bundle["id"].startswith(f"{vault.url}/secrets/app-1/")
    assert bundle["attributes"]["enabled"] is True
    assert bundle["attributes"]["recoveryLevel"] == "Recoverable+Purgeable"
    assert bundle["contentType"] == "text/plain"
    assert bundle["tags"] == {"k": "v"}

    latest = authorized.get(f"{vault.url}/secrets/app-1", params={"api-version": "7.4"})
    assert latest.json()["value"] == "SEED"
    by_version = authorized.get(bundle["id"], params={"api-version": "7.4"})
    assert by_version.json()["id"] == bundle["id"]


def test_unknown_secret_not_found(vault, authorized):
    response = authorized.get(f"{vault.url}/secrets/absent", params={"api-version": "7.4"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SecretNotFound"


@pytest.mark.parametrize("name", ["under_score", "x" * 128, "dot.ted"])
def test_invalid_secret_name_rejected(vault, authorized, name):
    response = authorized.put(f"{vault.url}/secrets/{name}", params={"api-version": "7.4"},
                              json={"value": "v"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadParameter"


@pytest.mark.parametrize("params", [{}, {"api-version": "1.0"}])
def test_missing_or_unknown_api_version_rejected(vault, authorized, params):
    response = authorized.get(f"{vault.url}/secrets/any", params=params)
    assert response.status_code == 400


def test_list_pages_with_next_link(vault, authorized):
    for index in range(3):
        authorized.put(f"{vault.url}/secrets/s{index}", params={"api-version": "7.4"},
                       json={"value": "v"})

    first = authorized.get(f"{vault.url}/secrets",
                           params={"api-version": "7.4", "maxresults": 2}).json()
    second = authorized.get(first["nextLink"]).json()

    assert [item["id"] for item in first["value"]] == [f"{vault.url}/secrets/s0",
                                                       f"{vault.url}/secrets/s1"]
    assert [item["id"] for item in second["value"]] == [f"{vault.url}/secrets/s2"]
    assert second["nextLink"] is None
    assert all("value" not in item for item in first["value"] + second["value"])


def test_delete_recover_and_purge(vault, authorized):
    params = {"api-version": "7.4"}
    authorized.put(f"{vault.url}/secrets/cycle", params=params, json={"value": "v"})

    deleted = authorized.delete(f"{vault.url}/secrets/cycle", params=params)
    assert deleted.status_code == 200
    assert deleted.json()["recoveryId"] == f"{vault.url}/deletedsecrets/cycle"
    assert deleted.json()["scheduledPurgeDate"] > deleted.json()["deletedDate"]
    assert vault.state()["secrets"] == []
    assert vault.state()["deleted"] == ["cycle"]

    reuse = authorized.put(f"{vault.url}/secrets/cycle", params=params, json={"value": "w"})
    assert reuse.status_code == 409
    assert reuse.json()["error"]["code"] == "Conflict"

    assert authorized.get(f"{vault.url}/deletedsecrets/cycle", params=params).status_code == 200
    recovered = authorized.post(f"{vault.url}/deletedsecrets/cycle/recover", params=params)
    assert recovered.status_code == 200
    assert vault.state()["secrets"] == ["cycle"]

    authorized.delete(f"{vault.url}/secrets/cycle", params=params)
    purged = authorized.delete(f"{vault.url}/deletedsecrets/cycle", params=params)
    assert purged.status_code == 204
    assert vault.state()["deleted"] == []
    reused = authorized.put(f"{vault.url}/secrets/cycle", params=params, json={"value": "w"})
    assert reused.status_code == 200


def test_write_fault_fails_next_writes_only(vault, authorized):
    params = {"api-version": "7.4"}
    vault.set_faults(fail_writes=1, status=503)

    failed = authorized.put(f"{vault.url}/secrets/f1", params=params, json={"value": "v"})
    succeeded = authorized.put(f"{vault.url}/secrets/f1", params=params, json={"value": "v"})

    assert failed.status_code == 503
    assert succeeded.status_code == 200
    assert vault.state()["secrets"] == ["f1"]


def test_vault_status_fault_fails_every_call(vault, authorized):
    vault.set_faults(vault_status=500)
    response = authorized.get(f"{vault.url}/secrets", params={"api-version": "7.4"})
    assert response.status_code == 500


def test_log_has_no_values_or_tokens(vault, authorized):
    token = authorized.headers["Authorization"].split()[1]
    authorized.put(f"{vault.url}/secrets/logged", params={"api-version": "7.4"},
                   json={"value": "VERY-SECRET-VALUE"})

    log = vault.process.log_text()
    assert "PUT /secrets/logged -> 200" in log
    assert "VERY-SECRET-VALUE" not in log
    assert token not in log
    assert "api-version" not in log
