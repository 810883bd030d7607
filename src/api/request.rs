//! Turning an HTTP request into a typed [`Action`]: routing, method checks,
//! body limits and input validation all happen here, before any storage
//! call.

use serde_json::{Map, Value};
use url::form_urlencoded;

use super::error::ApiError;
use super::manage::{self, AppChanges, AuditFilter, NewKeyRequest};
use super::routes::{Matched, Operation, match_route};
use super::import::{self, Body, ImportRequest};
use crate::field_error::FieldError;
use crate::otp::params::{self, truncate};
use crate::otp::{Algorithm, Encoder, OtpParams, OtpType, ParsedUri, Seed, parse_otpauth_uri};

/// Largest request body the component reads, in bytes, except images (see
/// [`import::max_body_bytes`]). An otpauth URI is a few hundred bytes; 64 KiB
/// leaves room for long labels and lists of URIs while keeping a hostile
/// body from costing memory. Hosts may enforce a larger outer limit.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Maximum length of an issuer, account or custom name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// An incoming request in host-independent form.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    /// Path without the query, e.g. `/api/get-mfa-code`.
    pub path: String,
    /// Raw query string without `?`.
    pub query: Option<String>,
    /// Header names and values as received; names in any case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiRequest {
    /// Returns the first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The operation a valid request selects.
#[derive(Debug)]
pub enum Action {
    Health,
    OpenApi,
    AddApp(NewApp),
    Import(ImportRequest),
    ListApps,
    GetCode { id: String },
    UpdateApp { id: String, changes: AppChanges },
    DeleteApp { id: String },
    /// Replaces the seed and code parameters; the names and tags stay.
    RotateSeed { id: String, app: NewApp },
    ExportSeed { id: String },
    ListKeys,
    CreateKey(NewKeyRequest),
    RevokeKey { id: String },
    ReadAudit(AuditFilter),
}

/// A validated add request.
#[derive(Debug)]
pub struct NewApp {
    pub seed: Seed,
    pub issuer: String,
    pub account: String,
    pub custom_name: String,
    pub params: OtpParams,
    pub otp_type: OtpType,
    pub tags: Vec<String>,
    pub warnings: Vec<String>,
}

/// Parses a request into an action, or into the error to respond with.
/// [`super::handle`] does the same in two steps, with authorization between.
pub fn parse(request: &ApiRequest) -> Result<Action, ApiError> {
    let matched = match_route(&request.method, &request.path)?;
    parse_action(&matched, request)
}

/// Parses the body and query of a request whose route is already matched.
pub fn parse_action(matched: &Matched, request: &ApiRequest) -> Result<Action, ApiError> {
    let max_body_bytes = import::max_body_bytes(matched.route.path, request.header("content-type"));
    if request.body.len() > max_body_bytes {
        return Err(ApiError::payload_too_large(max_body_bytes));
    }
    let query = QueryParams::parse(request.query.as_deref());
    let body = request.body.as_slice();
    let param = || matched.params.first().map(String::as_str).unwrap_or_default();

    match matched.route.operation {
        Operation::Health => Ok(Action::Health),
        Operation::OpenApi => Ok(Action::OpenApi),
        Operation::AddApp => parse_add(request, &query).map(Action::AddApp),
        Operation::Import => {
            let custom_name = check_name("appname", query.get("appname").unwrap_or_default())?;
            import::parse_import(request, &custom_name).map(Action::Import)
        }
        Operation::ListApps => Ok(Action::ListApps),
        Operation::GetCode => parse_get_code(body, &query),
        Operation::UpdateApp => {
            let id = parse_app_id(param())?;
            Ok(Action::UpdateApp { id, changes: manage::parse_app_changes(&parse_object(body)?)? })
        }
        Operation::DeleteApp => Ok(Action::DeleteApp { id: parse_app_id(param())? }),
        Operation::RotateSeed => {
            let id = parse_app_id(param())?;
            Ok(Action::RotateSeed { id, app: parse_add(request, &QueryParams::parse(None))? })
        }
        Operation::ExportSeed => Ok(Action::ExportSeed { id: parse_app_id(param())? }),
        Operation::ListKeys => Ok(Action::ListKeys),
        Operation::CreateKey => Ok(Action::CreateKey(manage::parse_new_key(&parse_object(body)?)?)),
        Operation::RevokeKey => Ok(Action::RevokeKey { id: manage::parse_key_id(param())? }),
        Operation::ReadAudit => Ok(Action::ReadAudit(manage::parse_audit_filter(&query)?)),
    }
}

fn parse_add(request: &ApiRequest, query: &QueryParams) -> Result<NewApp, ApiError> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Err(FieldError::missing(
            "data",
            "the body is empty; send {\"data\": \"otpauth://totp/...\"} or {\"secret\": \"<base32>\", \"issuer\": \"...\"}",
        )
        .into());
    }
    let body = import::read_body(request)?;
    let object = match &body {
        Body::Json(object) => Some(object),
        Body::Text(_) | Body::Image(_) => None,
    };

    // The original took appname as a query parameter; the body may carry it too.
    let from_body = match object {
        Some(object) => optional_string(object, "appname")?,
        None => None,
    };
    let custom_name = check_name("appname", from_body.or_else(|| query.get("appname")).unwrap_or_default())?;

    let secret = match object {
        Some(object) => optional_string(object, "secret")?,
        None => None,
    };
    let tags = match object.and_then(|object| object.get("tags")) {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => manage::parse_tags(value)?,
    };

    let text = import::seed_text(&body)?;
    let mut app = match (text, secret, object) {
        (Some(_), Some(_), _) => {
            return Err(FieldError::invalid("data", "send either data (an otpauth URI) or secret, not both").into());
        }
        (Some(text), None, _) => new_app_from(parse_otpauth_uri(single_line(&text)?)?, custom_name)?,
        (None, Some(secret), Some(object)) => parse_fields(object, &secret, custom_name)?,
        _ => {
            return Err(FieldError::missing(
                "data",
                "send the seed as data (an otpauth:// URI) or as secret (base32), optionally with issuer and account",
            )
            .into());
        }
    };
    app.tags = tags;
    if let Some(object) = object {
        app.warnings.extend(unknown_field_warnings(object));
    }
    Ok(app)
}

/// Fields `add-totp-secret` reads from a JSON body.
const ADD_FIELDS: &[&str] = &[
    "data", "image", "secret", "issuer", "account", "algorithm", "digits", "period", "encoder", "type", "counter",
    "appname", "tags",
];

/// Warns about body fields the add ignores, so a misspelled `isuer` does not
/// pass unnoticed. They are not rejected: clients of the original may send
/// fields of their own.
fn unknown_field_warnings(object: &Map<String, Value>) -> Vec<String> {
    object
        .keys()
        .filter(|name| !ADD_FIELDS.contains(&name.as_str()))
        .map(|name| format!("ignored unknown field {:?}; the fields are {}", truncate(name), ADD_FIELDS.join(", ")))
        .collect()
}

/// Returns the one URI in `text`; several lines belong to an import.
fn single_line(text: &str) -> Result<&str, FieldError> {
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let first = lines.next().unwrap_or_default();
    if lines.next().is_some() {
        return Err(FieldError::invalid("data", "the data contains several URIs; send them to /api/import"));
    }
    Ok(first)
}

/// Turns a parsed URI into an add, checking its names.
pub(crate) fn new_app_from(parsed: ParsedUri, custom_name: String) -> Result<NewApp, FieldError> {
    Ok(NewApp {
        seed: parsed.seed,
        issuer: check_name("issuer", parsed.issuer.unwrap_or_default())?,
        account: check_name("account", parsed.account)?,
        custom_name,
        params: parsed.params,
        otp_type: parsed.otp_type,
        tags: Vec::new(),
        warnings: parsed.warnings,
    })
}

/// Parses the field form: `secret`, `issuer`, `account`, `algorithm`,
/// `digits`, `period`, `encoder`, `type` and, for HOTP, `counter`.
fn parse_fields(object: &Map<String, Value>, secret: &str, custom_name: String) -> Result<NewApp, ApiError> {
    let seed = Seed::from_base32(secret, "secret")?;
    let issuer = check_name("issuer", optional_string(object, "issuer")?.unwrap_or_default())?;
    let account = check_name("account", optional_string(object, "account")?.unwrap_or_default())?;

    let mut otp = OtpParams::default();
    if let Some(algorithm) = optional_string(object, "algorithm")? {
        otp.algorithm = Algorithm::parse(&algorithm, "algorithm")?;
    }
    if let Some(digits) = optional_number_text(object, "digits")? {
        otp.digits = params::parse_digits(&digits)?;
    }
    if let Some(period) = optional_number_text(object, "period")? {
        otp.period = params::parse_period(&period)?;
    }
    if let Some(encoder) = optional_string(object, "encoder")? {
        otp.encoder = Encoder::parse(&encoder, "encoder")?;
    }
    let params = otp.validate()?;
    let otp_type = parse_type_field(object, params)?;

    let warnings = seed.warnings();
    Ok(NewApp { seed, issuer, account, custom_name, params, otp_type, tags: Vec::new(), warnings })
}

/// Reads `type` (`totp`, the default, or `hotp`) and an HOTP's `counter`.
fn parse_type_field(object: &Map<String, Value>, params: OtpParams) -> Result<OtpType, FieldError> {
    let name = optional_string(object, "type")?.unwrap_or_default().trim().to_ascii_lowercase();
    match name.as_str() {
        "" | "totp" => Ok(OtpType::Totp),
        "hotp" if params.encoder == Encoder::Steam => {
            Err(FieldError::invalid("type", "type hotp cannot have Steam Guard codes, which are time-based; use totp"))
        }
        "hotp" => {
            let Some(counter) = optional_number_text(object, "counter")? else {
                return Err(FieldError::missing("counter", "type hotp needs a counter, e.g. \"counter\": 0"));
            };
            Ok(OtpType::Hotp { counter: params::parse_counter(&counter)? })
        }
        _ => Err(FieldError::invalid("type", format!("unknown OTP type {:?}; use totp or hotp", truncate(&name)))),
    }
}

fn parse_get_code(body: &[u8], query: &QueryParams) -> Result<Action, ApiError> {
    // The original also accepted {"uuid": ...} in a JSON body.
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        optional_string(&parse_object(body)?, "uuid")?
    };
    let Some(text) = query.get("uuid").or(from_body) else {
        return Err(FieldError::missing("uuid", "pass the app id as ?uuid=<id> or in a JSON body {\"uuid\": \"<id>\"}, as list-available-apps returns it").into());
    };
    Ok(Action::GetCode { id: parse_app_id(&text)? })
}

/// Normalizes an app id to the lowercase hyphenated form stored as RowKey.
pub fn parse_app_id(text: &str) -> Result<String, FieldError> {
    uuid::Uuid::try_parse(text.trim())
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| FieldError::invalid("uuid", format!("{:?} is not a UUID; use an id from list-available-apps", truncate(text))))
}

pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::invalid_json("the body must be a JSON object, e.g. {\"data\": \"otpauth://...\"}")),
        Err(error) => Err(ApiError::invalid_json(format!(
            "the body is not valid JSON (line {}, column {}); send a JSON object",
            error.line(),
            error.column()
        ))),
    }
}

pub(crate) fn optional_string(object: &Map<String, Value>, name: &'static str) -> Result<Option<String>, FieldError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(FieldError::invalid(name, format!("{name} must be a string"))),
    }
}

/// Accepts a JSON number or a numeric string, as clients send either.
fn optional_number_text(object: &Map<String, Value>, name: &'static str) -> Result<Option<String>, FieldError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(FieldError::invalid(name, format!("{name} must be a whole number"))),
    }
}

/// Trims a display name and rejects control characters and overlong text.
pub(crate) fn check_name(field: &'static str, value: String) -> Result<String, FieldError> {
    let value = value.trim().to_string();
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::invalid(field, format!("{field} is longer than {MAX_NAME_CHARS} characters; shorten it")));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::invalid(field, format!("{field} contains control characters; remove them")));
    }
    Ok(value)
}

/// Decoded query parameters; the first occurrence of a name wins.
pub(super) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(super) fn parse(query: Option<&str>) -> QueryParams {
        let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
        QueryParams(pairs)
    }

    pub(super) fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, query: Option<&str>, body: &str) -> ApiRequest {
        ApiRequest {
            method: method.into(),
            path: path.into(),
            query: query.map(Into::into),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn error_of(request: ApiRequest) -> ApiError {
        parse(&request).expect_err("request should be rejected")
    }

    #[test]
    fn add_from_uri_with_query_appname() {
        let body = r#"{"data": "otpauth://totp/Bank:ivan?secret=JBSWY3DPEHPK3PXP&digits=8"}"#;
        let Action::AddApp(app) = parse(&request("POST", "/api/add-totp-secret", Some("appname=Payments%20team"), body)).unwrap() else {
            panic!("expected AddApp");
        };
        assert_eq!(app.issuer, "Bank");
        assert_eq!(app.account, "ivan");
        assert_eq!(app.custom_name, "Payments team");
        assert_eq!(app.params.digits, 8);
    }

    #[test]
    fn add_from_fields_accepts_numeric_strings() {
        let body = r#"{"secret": "jbsw y3dp ehpk 3pxp", "issuer": "Shop", "account": "judy", "algorithm": "sha256", "digits": "8", "period": 60, "appname": "shop-admin"}"#;
        let Action::AddApp(app) = parse(&request("POST", "/api/add-totp-secret", None, body)).unwrap() else {
            panic!("expected AddApp");
        };
        assert_eq!(app.params, OtpParams { algorithm: Algorithm::Sha256, digits: 8, period: 60, encoder: Encoder::Decimal });
        assert_eq!(app.custom_name, "shop-admin");
        assert_eq!(app.otp_type, OtpType::Totp);
    }

    #[test]
    fn add_warns_about_unknown_fields() {
        let body = r#"{"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "isuer": "Shop"}"#;
        let Action::AddApp(app) = parse(&request("POST", "/api/add-totp-secret", None, body)).unwrap() else {
            panic!("expected AddApp");
        };
        assert_eq!(app.issuer, "");
        assert_eq!(app.warnings.len(), 1, "{:?}", app.warnings);
        assert!(app.warnings[0].starts_with("ignored unknown field \"isuer\"; the fields are data, image, secret, issuer"));
    }

    #[test]
    fn add_hotp_from_fields() {
        let body = r#"{"secret": "JBSWY3DPEHPK3PXP", "type": "HOTP", "counter": "12"}"#;
        let Action::AddApp(app) = parse(&request("POST", "/api/add-totp-secret", None, body)).unwrap() else {
            panic!("expected AddApp");
        };
        assert_eq!(app.otp_type, OtpType::Hotp { counter: 12 });
    }

    #[test]
    fn add_takes_one_uri_only() {
        let body = r#"{"data": "otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP\notpauth://totp/B:b?secret=JBSWY3DPEHPK3PXP"}"#;
        let error = error_of(request("POST", "/api/add-totp-secret", None, body));
        assert_eq!(error.message, "the data contains several URIs; send them to /api/import");
        let body = r#"{"data": "otpauth-migration://offline?data=CgA"}"#;
        assert_eq!(error_of(request("POST", "/api/add-totp-secret", None, body)).field, Some("uri"));
    }

    #[test]
    fn add_rejections_name_the_field() {
        let cases = [
            ("", "missing_field", "data"),
            ("[1]", "invalid_json", "body"),
            ("{", "invalid_json", "body"),
            ("{}", "missing_field", "data"),
            (r#"{"data": "x", "secret": "y"}"#, "invalid_field", "data"),
            (r#"{"data": 5}"#, "invalid_field", "data"),
            (r#"{"data": "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=12"}"#, "invalid_field", "digits"),
            (r#"{"secret": "JBSWY3DPEHPK3PXP", "period": -5}"#, "invalid_field", "period"),
            (r#"{"secret": "JBSWY3DPEHPK3PXP", "digits": [6]}"#, "invalid_field", "digits"),
            (r#"{"secret": "JBSWY3DPEHPK3PXP", "appname": "a\u0000b"}"#, "invalid_field", "appname"),
            (r#"{"secret": "JBSWY3DPEHPK3PXP", "type": "hotp"}"#, "missing_field", "counter"),
            (r#"{"secret": "JBSWY3DPEHPK3PXP", "type": "hotp", "counter": -1}"#, "invalid_field", "counter"),
            (r#"{"secret": "JBSWY3DPEHPK3PXP", "type": "motp"}"#, "invalid_field", "type"),
            (r#"{"secret": "JBSWY3DPEHPK3PXP", "type": "hotp", "counter": 0, "encoder": "steam"}"#, "invalid_field", "type"),
            (r#"{"image": "AAAA"}"#, "invalid_field", "image"),
            (r#"{"data": "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP", "image": "AAAA"}"#, "invalid_field", "data"),
        ];
        for (body, code, field) in cases {
            let error = error_of(request("POST", "/api/add-totp-secret", None, body));
            assert_eq!((error.status, error.code, error.field), (400, code, Some(field)), "body {body:?}: {}", error.message);
        }
    }

    #[test]
    fn get_code_takes_uuid_from_query_or_body() {
        let id = "0F8FAD5B-D9CB-469F-A165-70867728950E";
        let Action::GetCode { id: from_query } = parse(&request("GET", "/api/get-mfa-code", Some(&format!("uuid={id}")), "")).unwrap() else {
            panic!("expected GetCode");
        };
        assert_eq!(from_query, "0f8fad5b-d9cb-469f-a165-70867728950e");
        let Action::GetCode { id: from_body } = parse(&request("POST", "/api/get-mfa-code", None, &format!("{{\"uuid\": \"{id}\"}}"))).unwrap() else {
            panic!("expected GetCode");
        };
        assert_eq!(from_body, from_query);
    }

    #[test]
    fn get_code_rejects_missing_and_malformed_uuid() {
        let error = error_of(request("GET", "/api/get-mfa-code", None, ""));
        assert_eq!((error.code, error.field), ("missing_field", Some("uuid")));
        let error = error_of(request("GET", "/api/get-mfa-code", Some("uuid=12345"), ""));
        assert_eq!(error.message, "\"12345\" is not a UUID; use an id from list-available-apps");
    }

    #[test]
    fn header_lookup_ignores_case() {
        let request = request("GET", "/api/health", None, "");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("x-missing"), None);
    }

    #[test]
    fn routing_errors() {
        let error = error_of(request("GET", "/api/nope", None, ""));
        assert_eq!((error.status, error.code), (404, "route_not_found"));
        let error = error_of(request("DELETE", "/api/list-available-apps", None, ""));
        assert_eq!((error.status, error.allow.as_deref()), (405, Some("GET")));
        let error = error_of(request("POST", "/api/add-totp-secret", None, &" ".repeat(import::MAX_IMAGE_BODY_BYTES + 1)));
        assert_eq!(error.status, 413);
        let error = error_of(request("POST", "/api/get-mfa-code", None, &" ".repeat(MAX_BODY_BYTES + 1)));
        assert_eq!(error.status, 413);
        assert!(matches!(parse(&request("get", "/API/List-Available-Apps/", None, "")), Ok(Action::ListApps)));
    }
}
