//! Configuration read from environment variables.
//!
//! The component imports only `wasi:*` interfaces, so it cannot use Spin
//! variables: every setting arrives as an environment variable. The host shim
//! parses the same settings at start-up to fail fast and to build its outbound
//! allow-list, so this module is plain Rust shared by both.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use url::Url;

pub mod access;
pub use access::AccessConfig;

/// Environment variables the component reads. Hosts pass exactly these to
/// the guest and nothing else from their own environment.
pub const GUEST_ENV_VARS: &[&str] = &[
    STORAGE_VAR,
    STORAGE_ACCOUNT_NAME_VAR,
    STORAGE_TABLE_URI_VAR,
    STORAGE_CREDENTIAL_VAR,
    STORAGE_CLIENT_ID_VAR,
    SECRET_STORE_VAR,
    SEAL_KEY_VAR,
    APPS_TABLE_VAR,
    SEEDS_TABLE_VAR,
    KEY_VAULT_NAME_VAR,
    KEY_VAULT_URL_VAR,
    IDENTITY_ENDPOINT_VAR,
    IDENTITY_HEADER_VAR,
    CLIENT_ID_VAR,
    ADMIN_KEY_VAR,
    KEY_HASH_SECRET_VAR,
    KEYS_TABLE_VAR,
    AUDIT_TABLE_VAR,
    EASY_AUTH_VAR,
    EASY_AUTH_ROLES_VAR,
];

/// Storage connection string, named as Azure Functions names it.
pub const STORAGE_VAR: &str = "AzureWebJobsStorage";
/// Identity-based storage connection, used when `AzureWebJobsStorage` is
/// unset: the account name (table endpoint `https://{name}.table.core.windows.net`).
pub const STORAGE_ACCOUNT_NAME_VAR: &str = "AzureWebJobsStorage__accountName";
/// Identity-based storage connection: the table service URL; overrides the
/// account name (other clouds, Azurite).
pub const STORAGE_TABLE_URI_VAR: &str = "AzureWebJobsStorage__tableServiceUri";
/// Identity-based storage connection: `managedidentity`, the only credential
/// supported (and the default).
pub const STORAGE_CREDENTIAL_VAR: &str = "AzureWebJobsStorage__credential";
/// Identity-based storage connection: client id of a user-assigned identity;
/// unset means system-assigned.
pub const STORAGE_CLIENT_ID_VAR: &str = "AzureWebJobsStorage__clientId";
/// `keyvault` (default) or `sealed-table`.
pub const SECRET_STORE_VAR: &str = "SHAREDMFA_SECRET_STORE";
/// Base64 of the 32-byte AES-256-GCM key for the sealed-table store.
pub const SEAL_KEY_VAR: &str = "SHAREDMFA_SEAL_KEY";
pub const APPS_TABLE_VAR: &str = "SHAREDMFA_APPS_TABLE";
pub const SEEDS_TABLE_VAR: &str = "SHAREDMFA_SEEDS_TABLE";
pub const KEY_VAULT_NAME_VAR: &str = "KEY_VAULT_NAME";
/// Full vault URL; overrides `KEY_VAULT_NAME` (other clouds, test servers).
pub const KEY_VAULT_URL_VAR: &str = "KEY_VAULT_URL";
pub const IDENTITY_ENDPOINT_VAR: &str = "IDENTITY_ENDPOINT";
pub const IDENTITY_HEADER_VAR: &str = "IDENTITY_HEADER";
/// Client id of a user-assigned managed identity; unset means system-assigned.
pub const CLIENT_ID_VAR: &str = "AZURE_CLIENT_ID";

pub const KEYS_TABLE_VAR: &str = "SHAREDMFA_KEYS_TABLE";
pub const AUDIT_TABLE_VAR: &str = "SHAREDMFA_AUDIT_TABLE";
pub use access::{ADMIN_KEY_VAR, EASY_AUTH_ROLES_VAR, EASY_AUTH_VAR, KEY_HASH_SECRET_VAR};

/// Table of app records. The original sharedmfa used `apps`.
pub const DEFAULT_APPS_TABLE: &str = "apps";
/// Table of sealed seeds, used only by the sealed-table secret store.
pub const DEFAULT_SEEDS_TABLE: &str = "seeds";
/// Table of API key records (hashes only).
pub const DEFAULT_KEYS_TABLE: &str = "apikeys";
/// Table of audit entries.
pub const DEFAULT_AUDIT_TABLE: &str = "audit";

/// Azurite's published development account (documented by Microsoft for
/// `UseDevelopmentStorage=true`); not a secret.
const DEV_ACCOUNT: &str = "devstoreaccount1";
const DEV_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const DEV_TABLE_ENDPOINT: &str = "http://127.0.0.1:10002/devstoreaccount1";

/// Everything the component needs to reach its storage.
#[derive(Debug, Clone)]
pub struct Config {
    pub storage: StorageAccount,
    pub apps_table: String,
    pub seeds_table: String,
    pub keys_table: String,
    pub audit_table: String,
    pub secret_store: SecretStoreConfig,
    pub access: AccessConfig,
}

/// A storage account and how requests to it are authorized.
#[derive(Debug, Clone)]
pub struct StorageAccount {
    /// Account name. Shared Key signatures include it; bearer requests do
    /// not use it.
    pub account: String,
    pub credential: StorageCredential,
    /// Table service base URL without a trailing slash, e.g.
    /// `https://acct.table.core.windows.net` or Azurite's path-style
    /// `http://127.0.0.1:10002/devstoreaccount1`.
    pub table_endpoint: String,
}

/// Credential for Table Storage requests.
#[derive(Debug, Clone)]
pub enum StorageCredential {
    /// Shared Key signatures with the account key (connection strings).
    SharedKey(AccountKey),
    /// Bearer tokens for `https://storage.azure.com/` from the managed
    /// identity endpoint (identity-based connections).
    ManagedIdentity(ManagedIdentity),
}

/// Decoded storage account key. `Debug` never prints it.
#[derive(Clone)]
pub struct AccountKey(pub Vec<u8>);

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountKey(<redacted>)")
    }
}

/// The seed store and its settings.
#[derive(Debug, Clone)]
pub enum SecretStoreConfig {
    KeyVault {
        /// Vault base URL without a trailing slash.
        vault_url: String,
        identity: ManagedIdentity,
    },
    SealedTable {
        key: SealKey,
    },
}

/// App Service / Functions managed identity endpoint (API version 2019-08-01).
#[derive(Clone)]
pub struct ManagedIdentity {
    pub endpoint: String,
    /// Value for the `X-IDENTITY-HEADER` request header; a secret.
    pub header: String,
    pub client_id: Option<String>,
}

impl fmt::Debug for ManagedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentity")
            .field("endpoint", &self.endpoint)
            .field("header", &"<redacted>")
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// AES-256-GCM key of the sealed-table store. `Debug` never prints it.
#[derive(Clone)]
pub struct SealKey(pub [u8; 32]);

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

/// A configuration problem, phrased as one line that names the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn config_error(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

impl Config {
    /// Reads and validates the configuration through `lookup`, which returns
    /// an environment variable's value (`std::env::var(name).ok()` in practice).
    pub fn from_env_lookup<F>(lookup: F) -> Result<Config, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());

        let storage = match get(STORAGE_VAR) {
            Some(connection_string) => parse_connection_string(&connection_string)?,
            None => identity_storage(&get)?,
        };

        let apps_table = table_name(APPS_TABLE_VAR, get(APPS_TABLE_VAR), DEFAULT_APPS_TABLE)?;
        let seeds_table = table_name(SEEDS_TABLE_VAR, get(SEEDS_TABLE_VAR), DEFAULT_SEEDS_TABLE)?;
        let keys_table = table_name(KEYS_TABLE_VAR, get(KEYS_TABLE_VAR), DEFAULT_KEYS_TABLE)?;
        let audit_table = table_name(AUDIT_TABLE_VAR, get(AUDIT_TABLE_VAR), DEFAULT_AUDIT_TABLE)?;
        check_distinct_tables(&[
            (APPS_TABLE_VAR, &apps_table),
            (SEEDS_TABLE_VAR, &seeds_table),
            (KEYS_TABLE_VAR, &keys_table),
            (AUDIT_TABLE_VAR, &audit_table),
        ])?;

        let store = get(SECRET_STORE_VAR).unwrap_or_else(|| "keyvault".to_string());
        let secret_store = match store.to_ascii_lowercase().as_str() {
            "keyvault" => key_vault_config(&get)?,
            "sealed-table" => SecretStoreConfig::SealedTable {
                key: parse_seal_key(get(SEAL_KEY_VAR))?,
            },
            other => {
                return Err(config_error(
                    SECRET_STORE_VAR,
                    format!("unknown secret store {other:?}; use keyvault or sealed-table"),
                ));
            }
        };

        let access = AccessConfig::from_lookup(&get)?;

        Ok(Config { storage, apps_table, seeds_table, keys_table, audit_table, secret_store, access })
    }

    /// Origins the component may call, as lowercase `scheme://host:port` with
    /// an explicit port. Hosts allow outbound requests to these and no others.
    pub fn outbound_origins(&self) -> Vec<String> {
        let mut urls = vec![self.storage.table_endpoint.as_str()];
        if let StorageCredential::ManagedIdentity(identity) = &self.storage.credential {
            urls.push(&identity.endpoint);
        }
        if let SecretStoreConfig::KeyVault { vault_url, identity } = &self.secret_store {
            urls.push(vault_url);
            urls.push(&identity.endpoint);
        }

        let mut origins: Vec<String> = urls.into_iter().filter_map(origin_of).collect();
        origins.sort();
        origins.dedup();
        origins
    }
}

/// Returns `scheme://host:port` for a URL, with the scheme's default port
/// filled in.
pub fn origin_of(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some(format!("{}://{}:{}", url.scheme(), host.to_ascii_lowercase(), port))
}

/// Parses an Azure Storage connection string: `UseDevelopmentStorage=true`,
/// `AccountName`/`AccountKey` with `DefaultEndpointsProtocol` and
/// `EndpointSuffix`, or an explicit `TableEndpoint`.
pub fn parse_connection_string(value: &str) -> Result<StorageAccount, ConfigError> {
    let mut account = None;
    let mut key = None;
    let mut protocol = None;
    let mut suffix = None;
    let mut table_endpoint = None;
    let mut development = false;

    for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        // Values (keys, SAS tokens) may contain '=', so split at the first one.
        let Some((name, val)) = part.split_once('=') else {
            return Err(config_error(
                STORAGE_VAR,
                "malformed connection string; expected Name=Value pairs separated by ';'",
            ));
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "usedevelopmentstorage" => development = val.trim().eq_ignore_ascii_case("true"),
            "accountname" => account = Some(val.trim().to_string()),
            "accountkey" => key = Some(val.trim().to_string()),
            "defaultendpointsprotocol" => protocol = Some(val.trim().to_ascii_lowercase()),
            "endpointsuffix" => suffix = Some(val.trim().to_string()),
            "tableendpoint" => table_endpoint = Some(val.trim().trim_end_matches('/').to_string()),
            "sharedaccesssignature" => {
                return Err(config_error(
                    STORAGE_VAR,
                    "SharedAccessSignature connection strings are not supported; use AccountName and AccountKey",
                ));
            }
            // Blob, queue and file endpoints do not concern the table client.
            _ => {}
        }
    }

    if development && account.is_none() {
        return Ok(StorageAccount {
            account: DEV_ACCOUNT.to_string(),
            credential: StorageCredential::SharedKey(AccountKey(
                BASE64.decode(DEV_ACCOUNT_KEY).expect("published key is valid base64"),
            )),
            table_endpoint: table_endpoint.unwrap_or_else(|| DEV_TABLE_ENDPOINT.to_string()),
        });
    }

    let account = account.ok_or_else(|| config_error(STORAGE_VAR, "AccountName is missing from the connection string"))?;
    let key = key.ok_or_else(|| config_error(STORAGE_VAR, "AccountKey is missing from the connection string"))?;
    let key = BASE64
        .decode(key)
        .map_err(|_| config_error(STORAGE_VAR, "AccountKey is not valid base64; copy it again from the storage account"))?;

    let table_endpoint = match table_endpoint {
        Some(endpoint) => endpoint,
        None => {
            let protocol = protocol.unwrap_or_else(|| "https".to_string());
            let suffix = suffix.unwrap_or_else(|| "core.windows.net".to_string());
            format!("{protocol}://{account}.table.{suffix}")
        }
    };
    check_endpoint_url(STORAGE_VAR, &table_endpoint)?;

    Ok(StorageAccount { account, credential: StorageCredential::SharedKey(AccountKey(key)), table_endpoint })
}

/// Reads an identity-based storage connection (`AzureWebJobsStorage__*`), as
/// Azure Functions defines it for its own storage, when no connection string
/// is set.
fn identity_storage<G>(get: &G) -> Result<StorageAccount, ConfigError>
where
    G: Fn(&str) -> Option<String>,
{
    let (account, table_endpoint) = match (get(STORAGE_TABLE_URI_VAR), get(STORAGE_ACCOUNT_NAME_VAR)) {
        (Some(uri), name) => {
            let uri = uri.trim_end_matches('/').to_string();
            check_endpoint_url(STORAGE_TABLE_URI_VAR, &uri)?;
            let account = name.or_else(|| account_of_table_endpoint(&uri)).unwrap_or_default();
            (account, uri)
        }
        (None, Some(name)) => {
            let valid = (3..=24).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !valid {
                return Err(config_error(
                    STORAGE_ACCOUNT_NAME_VAR,
                    format!("{name:?} is not a storage account name; use 3-24 lowercase letters and digits"),
                ));
            }
            let endpoint = format!("https://{name}.table.core.windows.net");
            (name, endpoint)
        }
        (None, None) => {
            return Err(config_error(
                STORAGE_VAR,
                "missing; set it to a storage connection string (UseDevelopmentStorage=true for Azurite), \
                 or set AzureWebJobsStorage__accountName to connect with the managed identity",
            ));
        }
    };
    if !table_endpoint.starts_with("https://") {
        return Err(config_error(
            STORAGE_TABLE_URI_VAR,
            "must be an https:// URL; Table Storage accepts bearer tokens over HTTPS only",
        ));
    }

    if let Some(credential) = get(STORAGE_CREDENTIAL_VAR) {
        if !credential.eq_ignore_ascii_case("managedidentity") {
            return Err(config_error(
                STORAGE_CREDENTIAL_VAR,
                format!("unsupported credential {credential:?}; use managedidentity, or set AzureWebJobsStorage to a connection string"),
            ));
        }
    }
    let identity = managed_identity(get, get(STORAGE_CLIENT_ID_VAR))?;

    Ok(StorageAccount { account, credential: StorageCredential::ManagedIdentity(identity), table_endpoint })
}

/// Returns the account name in a table endpoint: the first label of
/// `acct.table.core.windows.net`, or the first path segment of a path-style
/// URL on an IP address or localhost (Azurite).
fn account_of_table_endpoint(endpoint: &str) -> Option<String> {
    let url = Url::parse(endpoint).ok()?;
    let path_style = matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)))
        || url.host_str() == Some("localhost");
    let name = if path_style {
        url.path_segments()?.next()?
    } else {
        url.host_str()?.split('.').next()?
    };
    Some(name.to_string()).filter(|name| !name.is_empty())
}

fn key_vault_config<G>(get: &G) -> Result<SecretStoreConfig, ConfigError>
where
    G: Fn(&str) -> Option<String>,
{
    let vault_url = match (get(KEY_VAULT_URL_VAR), get(KEY_VAULT_NAME_VAR)) {
        (Some(url), _) => url.trim_end_matches('/').to_string(),
        (None, Some(name)) => {
            let valid = (3..=24).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !valid {
                return Err(config_error(
                    KEY_VAULT_NAME_VAR,
                    format!("{name:?} is not a vault name; use 3-24 letters, digits and hyphens"),
                ));
            }
            format!("https://{name}.vault.azure.net")
        }
        (None, None) => {
            return Err(config_error(
                KEY_VAULT_NAME_VAR,
                "missing; set KEY_VAULT_NAME (or KEY_VAULT_URL), or set SHAREDMFA_SECRET_STORE=sealed-table",
            ));
        }
    };
    check_endpoint_url(KEY_VAULT_URL_VAR, &vault_url)?;
    if !vault_url.starts_with("https://") {
        return Err(config_error(KEY_VAULT_URL_VAR, "must be an https:// URL; Key Vault only serves HTTPS"));
    }

    let identity = managed_identity(get, get(CLIENT_ID_VAR))?;
    Ok(SecretStoreConfig::KeyVault { vault_url, identity })
}

/// Reads the managed identity endpoint that the platform sets.
fn managed_identity<G>(get: &G, client_id: Option<String>) -> Result<ManagedIdentity, ConfigError>
where
    G: Fn(&str) -> Option<String>,
{
    let endpoint = get(IDENTITY_ENDPOINT_VAR).ok_or_else(|| {
        config_error(IDENTITY_ENDPOINT_VAR, "missing; enable a managed identity on the app so the platform sets it")
    })?;
    check_endpoint_url(IDENTITY_ENDPOINT_VAR, &endpoint)?;
    let header = get(IDENTITY_HEADER_VAR).ok_or_else(|| {
        config_error(IDENTITY_HEADER_VAR, "missing; the platform sets it together with IDENTITY_ENDPOINT")
    })?;
    Ok(ManagedIdentity { endpoint, header, client_id })
}

fn parse_seal_key(value: Option<String>) -> Result<SealKey, ConfigError> {
    let value = value.ok_or_else(|| {
        config_error(SEAL_KEY_VAR, "missing; set it to 32 random bytes in base64, e.g. `openssl rand -base64 32`")
    })?;
    let bytes = BASE64
        .decode(value)
        .map_err(|_| config_error(SEAL_KEY_VAR, "is not valid base64; generate one with `openssl rand -base64 32`"))?;
    let key: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        config_error(SEAL_KEY_VAR, format!("decodes to {} bytes; AES-256 needs exactly 32", bytes.len()))
    })?;
    Ok(SealKey(key))
}

/// Table names: 3-63 alphanumeric characters starting with a letter
/// (Table Storage naming rules).
fn table_name(variable: &'static str, value: Option<String>, default: &str) -> Result<String, ConfigError> {
    let name = value.unwrap_or_else(|| default.to_string());
    let valid = (3..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    if !valid {
        return Err(config_error(
            variable,
            format!("{name:?} is not a valid table name; use 3-63 letters and digits, starting with a letter"),
        ));
    }
    Ok(name)
}

/// Every table must have its own name: a shared table would mix app
/// records with keys or audit entries.
fn check_distinct_tables(tables: &[(&'static str, &String)]) -> Result<(), ConfigError> {
    for (index, (variable, name)) in tables.iter().enumerate() {
        if let Some((other, _)) = tables[..index].iter().find(|(_, earlier)| earlier.eq_ignore_ascii_case(name)) {
            return Err(config_error(variable, format!("table {name:?} is already used by {other}; choose another name")));
        }
    }
    Ok(())
}

fn check_endpoint_url(variable: &'static str, value: &str) -> Result<(), ConfigError> {
    let url = Url::parse(value)
        .map_err(|e| config_error(variable, format!("{value:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(config_error(variable, format!("{value:?} must be an http:// or https:// URL")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    const SEAL: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn development_storage_maps_to_azurite() {
        let account = parse_connection_string("UseDevelopmentStorage=true").unwrap();
        assert_eq!(account.account, "devstoreaccount1");
        assert_eq!(account.table_endpoint, "http://127.0.0.1:10002/devstoreaccount1");
        assert!(matches!(&account.credential, StorageCredential::SharedKey(key) if key.0.len() == 64));
    }

    #[test]
    fn account_key_form_builds_table_endpoint() {
        let account = parse_connection_string(
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
        )
        .unwrap();
        assert_eq!(account.table_endpoint, "https://acme.table.core.chinacloudapi.cn");
        assert!(matches!(&account.credential, StorageCredential::SharedKey(key) if key.0 == b"key"));
    }

    #[test]
    fn explicit_table_endpoint_wins() {
        let account = parse_connection_string(
            "AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:20002/devstoreaccount1/;BlobEndpoint=http://x",
        )
        .unwrap();
        assert_eq!(account.table_endpoint, "http://127.0.0.1:20002/devstoreaccount1");
    }

    #[test]
    fn connection_string_errors_name_the_problem() {
        let err = parse_connection_string("AccountName=acme").unwrap_err();
        assert_eq!(err.to_string(), "invalid configuration: AzureWebJobsStorage: AccountKey is missing from the connection string");
        let err = parse_connection_string("AccountName=acme;AccountKey=***").unwrap_err();
        assert!(err.message.contains("not valid base64"), "{}", err.message);
        let err = parse_connection_string("BlobEndpoint=x;SharedAccessSignature=sv=1").unwrap_err();
        assert!(err.message.contains("SharedAccessSignature"), "{}", err.message);
    }

    #[test]
    fn sealed_table_config_and_origins() {
        let config = Config::from_env_lookup(lookup(&[
            (STORAGE_VAR, "UseDevelopmentStorage=true"),
            (SECRET_STORE_VAR, "sealed-table"),
            (SEAL_KEY_VAR, SEAL),
        ]))
        .unwrap();
        assert_eq!(config.apps_table, "apps");
        assert_eq!(config.seeds_table, "seeds");
        assert_eq!(config.outbound_origins(), vec!["http://127.0.0.1:10002".to_string()]);
    }

    #[test]
    fn key_vault_config_and_origins() {
        let config = Config::from_env_lookup(lookup(&[
            (STORAGE_VAR, "AccountName=acme;AccountKey=a2V5"),
            (KEY_VAULT_NAME_VAR, "team-vault"),
            (IDENTITY_ENDPOINT_VAR, "http://localhost:8081/msi/token"),
            (IDENTITY_HEADER_VAR, "s3cret-header"),
        ]))
        .unwrap();
        assert_eq!(
            config.outbound_origins(),
            vec![
                "http://localhost:8081".to_string(),
                "https://acme.table.core.windows.net:443".to_string(),
                "https://team-vault.vault.azure.net:443".to_string(),
            ]
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret-header"), "{debug}");
        assert!(!debug.contains("107, 101, 121"), "{debug}");
    }

    #[test]
    fn access_tables_default_and_must_differ() {
        let sealed = [(STORAGE_VAR, "UseDevelopmentStorage=true"), (SECRET_STORE_VAR, "sealed-table"), (SEAL_KEY_VAR, SEAL)];
        let config = Config::from_env_lookup(lookup(&sealed)).unwrap();
        assert_eq!(config.keys_table, "apikeys");
        assert_eq!(config.audit_table, "audit");
        assert!(config.access.admin_key.is_none());

        let clashing = [sealed.as_slice(), &[(AUDIT_TABLE_VAR, "Apps")]].concat();
        let error = Config::from_env_lookup(lookup(&clashing)).unwrap_err();
        assert_eq!(error.variable, AUDIT_TABLE_VAR);
        assert_eq!(error.message, "table \"Apps\" is already used by SHAREDMFA_APPS_TABLE; choose another name");
    }

    #[test]
    fn hosts_pass_the_access_settings() {
        for variable in [ADMIN_KEY_VAR, KEY_HASH_SECRET_VAR, KEYS_TABLE_VAR, AUDIT_TABLE_VAR, EASY_AUTH_VAR, EASY_AUTH_ROLES_VAR] {
            assert!(GUEST_ENV_VARS.contains(&variable), "{variable} is missing from GUEST_ENV_VARS");
        }
    }

    #[test]
    fn identity_storage_from_account_name() {
        let config = Config::from_env_lookup(lookup(&[
            (STORAGE_ACCOUNT_NAME_VAR, "acme"),
            (STORAGE_CREDENTIAL_VAR, "managedidentity"),
            (STORAGE_CLIENT_ID_VAR, "storage-client"),
            (SECRET_STORE_VAR, "sealed-table"),
            (SEAL_KEY_VAR, SEAL),
            (IDENTITY_ENDPOINT_VAR, "http://localhost:8081/msi/token"),
            (IDENTITY_HEADER_VAR, "s3cret-header"),
        ]))
        .unwrap();
        assert_eq!(config.storage.account, "acme");
        assert_eq!(config.storage.table_endpoint, "https://acme.table.core.windows.net");
        let StorageCredential::ManagedIdentity(identity) = &config.storage.credential else {
            panic!("expected a managed identity credential: {config:?}");
        };
        assert_eq!(identity.client_id.as_deref(), Some("storage-client"));
        assert_eq!(
            config.outbound_origins(),
            vec!["http://localhost:8081".to_string(), "https://acme.table.core.windows.net:443".to_string()]
        );
        assert!(!format!("{config:?}").contains("s3cret-header"));
    }

    #[test]
    fn identity_storage_table_uri_wins() {
        let config = Config::from_env_lookup(lookup(&[
            (STORAGE_TABLE_URI_VAR, "https://127.0.0.1:10102/devstoreaccount1/"),
            (STORAGE_ACCOUNT_NAME_VAR, "ignored"),
            (SECRET_STORE_VAR, "sealed-table"),
            (SEAL_KEY_VAR, SEAL),
            (IDENTITY_ENDPOINT_VAR, "http://localhost:8081/msi/token"),
            (IDENTITY_HEADER_VAR, "h"),
        ]))
        .unwrap();
        assert_eq!(config.storage.table_endpoint, "https://127.0.0.1:10102/devstoreaccount1");
        assert_eq!(config.storage.account, "ignored");
        assert_eq!(account_of_table_endpoint("https://127.0.0.1:10102/devstoreaccount1").as_deref(), Some("devstoreaccount1"));
        assert_eq!(account_of_table_endpoint("https://acme.table.core.windows.net").as_deref(), Some("acme"));
    }

    #[test]
    fn identity_storage_errors_are_named() {
        let identity = [(IDENTITY_ENDPOINT_VAR, "http://localhost:8081/msi/token"), (IDENTITY_HEADER_VAR, "h")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = vec![(SECRET_STORE_VAR, "sealed-table"), (SEAL_KEY_VAR, SEAL)];
            pairs.extend_from_slice(extra);
            Config::from_env_lookup(lookup(&pairs)).unwrap_err()
        };

        let err = with(&[(STORAGE_ACCOUNT_NAME_VAR, "Bad_Name"), identity[0], identity[1]]);
        assert_eq!(err.variable, STORAGE_ACCOUNT_NAME_VAR);

        let err = with(&[(STORAGE_TABLE_URI_VAR, "http://127.0.0.1:10002/devstoreaccount1"), identity[0], identity[1]]);
        assert_eq!(err.variable, STORAGE_TABLE_URI_VAR);
        assert!(err.message.contains("https://"), "{err}");

        let err = with(&[(STORAGE_ACCOUNT_NAME_VAR, "acme"), (STORAGE_CREDENTIAL_VAR, "secret"), identity[0], identity[1]]);
        assert_eq!(err.variable, STORAGE_CREDENTIAL_VAR);

        let err = with(&[(STORAGE_ACCOUNT_NAME_VAR, "acme")]);
        assert_eq!(err.variable, IDENTITY_ENDPOINT_VAR);
    }

    #[test]
    fn missing_and_bad_settings_are_named() {
        let err = Config::from_env_lookup(lookup(&[])).unwrap_err();
        assert_eq!(err.variable, STORAGE_VAR);

        let err = Config::from_env_lookup(lookup(&[(STORAGE_VAR, "UseDevelopmentStorage=true")])).unwrap_err();
        assert_eq!(err.variable, KEY_VAULT_NAME_VAR);

        let err = Config::from_env_lookup(lookup(&[
            (STORAGE_VAR, "UseDevelopmentStorage=true"),
            (SECRET_STORE_VAR, "sealed-table"),
            (SEAL_KEY_VAR, "c2hvcnQ="),
        ]))
        .unwrap_err();
        assert_eq!(err.to_string(), "invalid configuration: SHAREDMFA_SEAL_KEY: decodes to 5 bytes; AES-256 needs exactly 32");

        let err = Config::from_env_lookup(lookup(&[
            (STORAGE_VAR, "UseDevelopmentStorage=true"),
            (KEY_VAULT_URL_VAR, "http://127.0.0.1:8443"),
            (IDENTITY_ENDPOINT_VAR, "http://127.0.0.1:8081/msi/token"),
            (IDENTITY_HEADER_VAR, "h"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, KEY_VAULT_URL_VAR);

        let err = Config::from_env_lookup(lookup(&[
            (STORAGE_VAR, "UseDevelopmentStorage=true"),
            (SECRET_STORE_VAR, "sealed-table"),
            (SEAL_KEY_VAR, SEAL),
            (APPS_TABLE_VAR, "1bad"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, APPS_TABLE_VAR);
    }
}
