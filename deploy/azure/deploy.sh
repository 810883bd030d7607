#!/usr/bin/env bash
# Build sharedmfa, create its Azure resources from azuredeploy.json and publish the
# Functions package by zip deploy.
#
# Usage: deploy/azure/deploy.sh RESOURCE_GROUP APP_NAME [LOCATION]
#
# Needs the Azure CLI (`az`), signed in (`az login`) to the subscription to deploy to, plus
# what scripts/test needs to build: rustup, Python 3 and, for the musl target, musl-gcc.
# Running it again updates the resources in place and publishes the current build.
#
# NOTE: this script and the template have not been run against Azure from this
# repository; they are checked only for syntax and structure (tests/e2e/test_deploy_files.py).
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 RESOURCE_GROUP APP_NAME [LOCATION]" >&2
    exit 2
fi
resource_group=$1
app_name=$2
location=${3:-}

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

step() {
    printf '\n==> %s\n' "$*"
}

step "build the component and the static host"
rustup target add wasm32-wasip2 x86_64-unknown-linux-musl
cargo build -p sharedmfa --target wasm32-wasip2 --profile component
cargo build --release -p sharedmfa-host-shim --target x86_64-unknown-linux-musl

step "package target/sharedmfa-functions.zip"
python3 scripts/package-functions

if ! az group show --name "$resource_group" >/dev/null 2>&1; then
    if [[ -z "$location" ]]; then
        echo "error: resource group $resource_group does not exist; pass a LOCATION to create it" >&2
        exit 1
    fi
    step "az group create $resource_group in $location"
    az group create --name "$resource_group" --location "$location" --output none
fi

# The bootstrap admin key is created once and kept in .local/, like scripts/run
# does, so running the script again keeps the same key. Set SHAREDMFA_ADMIN_KEY
# to use your own.
admin_key_file=.local/azure-admin-key-$app_name
if [[ -z "${SHAREDMFA_ADMIN_KEY:-}" ]]; then
    if [[ ! -s "$admin_key_file" ]]; then
        mkdir -p .local
        (umask 077 && openssl rand -hex 32 > "$admin_key_file")
    fi
    SHAREDMFA_ADMIN_KEY=$(cat "$admin_key_file")
fi

step "deploy deploy/azure/azuredeploy.json"
az deployment group create \
    --resource-group "$resource_group" \
    --name sharedmfa \
    --template-file deploy/azure/azuredeploy.json \
    --parameters appName="$app_name" adminKey="$SHAREDMFA_ADMIN_KEY" \
    --output none

step "publish the package (zip deploy)"
az functionapp deployment source config-zip \
    --resource-group "$resource_group" \
    --name "$app_name" \
    --src target/sharedmfa-functions.zip

api_base=$(az deployment group show --resource-group "$resource_group" --name sharedmfa \
    --query properties.outputs.apiBaseUrl.value --output tsv)
cat <<DONE

Deployed. The API is at $api_base. The health check needs no key:

  curl -s $api_base/health

The other endpoints need a function key (header x-functions-key or ?code=):

  az functionapp keys list --resource-group $resource_group --name $app_name --query functionKeys.default --output tsv

and an API key (Authorization: Bearer ...). The bootstrap admin key is in
$admin_key_file (unless you set SHAREDMFA_ADMIN_KEY); use it to create
narrower keys with POST $api_base/keys.
DONE
