"""Structure checks of the deployment files that cannot run here: the ARM template and the
deploy script for Azure, spin.toml, and the SpinKube SpinApp.

No Bicep compiler, Azure CLI, Spin CLI or Kubernetes cluster is available to this suite.
These tests check what can be checked locally: syntax, required fields, API versions and
role ids. They also check that every setting and origin names something the component
reads."""

import json
import re
import subprocess
import tomllib

import pytest
import yaml

from support.processes import REPO_ROOT

TEMPLATE = REPO_ROOT / "deploy/azure/azuredeploy.json"
DEPLOY_SCRIPT = REPO_ROOT / "deploy/azure/deploy.sh"
SPIN_MANIFEST = REPO_ROOT / "spin.toml"
SPINAPP = REPO_ROOT / "deploy/kubernetes/spinapp.yaml"
CONFIG_RS = REPO_ROOT / "src/config.rs"
ACCESS_CONFIG_RS = REPO_ROOT / "src/config/access.rs"

# Built-in Azure role ids, from the Azure RBAC built-in roles list.
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"

# Resource types and the API versions the template was written against; Flex Consumption
# needs Microsoft.Web 2023-12-01 or later for functionAppConfig.
EXPECTED_API_VERSIONS = {
    "Microsoft.Storage/storageAccounts": "2023-05-01",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2023-05-01",
    "Microsoft.KeyVault/vaults": "2023-07-01",
    "Microsoft.Web/serverfarms": "2024-04-01",
    "Microsoft.Web/sites": "2024-04-01",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
}
EXPRESSION_REFERENCE = re.compile(r"\b(parameters|variables)\('([^']+)'\)")
RUST_CONST = re.compile(r'pub const \w+_VAR: &str = "([^"]+)";')


@pytest.fixture(scope="module")
def template():
    return json.loads(TEMPLATE.read_text())


def resources_of(template, resource_type):
    return [r for r in template["resources"] if r["type"] == resource_type]


def guest_variables():
    """Names of the environment variables the component reads, from src/config.rs and
    the access settings in src/config/access.rs."""
    names = set()
    for path in (CONFIG_RS, ACCESS_CONFIG_RS):
        names |= set(RUST_CONST.findall(path.read_text()))
    return names


def expressions(value):
    """Every ARM template expression ("[...]") in a JSON value."""
    if isinstance(value, str):
        if value.startswith("[") and not value.startswith("[["):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item)


def test_template_header(template):
    assert template["$schema"].endswith("/2019-04-01/deploymentTemplate.json#")
    assert template["contentVersion"] == "1.0.0.0"
    assert set(template["outputs"]) >= {"apiBaseUrl", "appName", "principalId"}


def test_template_api_versions(template):
    for resource in template["resources"]:
        assert resource["type"] in EXPECTED_API_VERSIONS, resource["type"]
        assert resource["apiVersion"] == EXPECTED_API_VERSIONS[resource["type"]], resource


def test_template_expressions_balanced(template):
    for expression in expressions(template):
        assert expression.endswith("]"), expression
        body = expression[1:-1]
        assert body.count("(") == body.count(")"), expression
        assert body.count("'") % 2 == 0, expression


def test_template_references_defined(template):
    defined = {"parameters": set(template["parameters"]),
               "variables": set(template["variables"])}
    for expression in expressions(template):
        for kind, name in EXPRESSION_REFERENCE.findall(expression):
            assert name in defined[kind], f"{kind}('{name}') is not defined: {expression}"


def test_template_flex_app_with_identity(template):
    (plan,) = resources_of(template, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan["properties"]["reserved"] is True

    (site,) = resources_of(template, "Microsoft.Web/sites")
    assert site["kind"] == "functionapp,linux"
    assert site["identity"] == {"type": "SystemAssigned"}
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"]["name"] == "custom"
    assert config["deployment"]["storage"]["authentication"]["type"] == "SystemAssignedIdentity"


def test_template_app_settings_keyless(template):
    (site,) = resources_of(template, "Microsoft.Web/sites")
    settings = {s["name"]: s["value"] for s in site["properties"]["siteConfig"]["appSettings"]}
    assert "AzureWebJobsStorage" not in settings
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert set(settings) <= guest_variables(), set(settings) - guest_variables()
    # Flex Consumption rejects these two; the runtime comes from functionAppConfig.
    assert "FUNCTIONS_WORKER_RUNTIME" not in settings
    assert "FUNCTIONS_EXTENSION_VERSION" not in settings
    assert "AccountKey" not in json.dumps(template)
    assert "listKeys" not in json.dumps(template)


def test_template_storage_and_vault(template):
    (storage,) = resources_of(template, "Microsoft.Storage/storageAccounts")
    assert storage["properties"]["allowSharedKeyAccess"] is False
    (vault,) = resources_of(template, "Microsoft.KeyVault/vaults")
    assert vault["properties"]["enableRbacAuthorization"] is True


def test_template_role_assignments(template):
    assignments = resources_of(template, "Microsoft.Authorization/roleAssignments")
    roles = template["variables"]["roles"]
    granted = {}
    for assignment in assignments:
        role_expression = assignment["properties"]["roleDefinitionId"]
        role_name = re.search(r"variables\('roles'\)\.(\w+)", role_expression).group(1)
        granted[roles[role_name]] = assignment["scope"]
        assert assignment["properties"]["principalType"] == "ServicePrincipal"
        assert "identity.principalId" in assignment["properties"]["principalId"]
    assert "storageAccounts" in granted[STORAGE_TABLE_DATA_CONTRIBUTOR]
    assert "storageAccounts" in granted[STORAGE_BLOB_DATA_OWNER]
    assert "vaults" in granted[KEY_VAULT_SECRETS_OFFICER]


def test_deploy_script_syntax():
    completed = subprocess.run(["bash", "-n", DEPLOY_SCRIPT], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert DEPLOY_SCRIPT.stat().st_mode & 0o111, "deploy.sh is not executable"


def test_spin_manifest():
    manifest = tomllib.loads(SPIN_MANIFEST.read_text())
    assert manifest["spin_manifest_version"] == 2
    (trigger,) = manifest["trigger"]["http"]
    assert trigger["route"] == "/api/..."
    component = manifest["component"][trigger["component"]]
    assert component["source"] == "target/wasm32-wasip2/component/sharedmfa.wasm"
    assert set(component["environment"]) <= guest_variables()
    assert "cargo build" in component["build"]["command"]

    variables = manifest["variables"]
    for host in component["allowed_outbound_hosts"]:
        for name in re.findall(r"\{\{\s*(\w+)\s*\}\}", host):
            assert name in variables, f"{host} uses undefined variable {name}"
    for name, definition in variables.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert "default" in definition or definition.get("required") is True, name


def test_spinapp_manifest():
    manifest = yaml.safe_load(SPINAPP.read_text())
    assert manifest["apiVersion"] == "core.spinkube.dev/v1alpha1"
    assert manifest["kind"] == "SpinApp"
    spec = manifest["spec"]
    assert spec["executor"] == "containerd-shim-spin"
    assert spec["replicas"] >= 1
    spin_variables = set(tomllib.loads(SPIN_MANIFEST.read_text())["variables"])
    assert {v["name"] for v in spec["variables"]} <= spin_variables
    assert spec["checks"]["readiness"]["httpGet"]["path"] == "/api/health"
