//! Validation of the management requests: app changes, tags, new API keys
//! and audit queries.

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::request::{QueryParams, check_name, optional_string, parse_app_id};
use crate::access::keys::is_key_id;
use crate::access::{Role, Scope};
use crate::field_error::FieldError;
use crate::otp::params::truncate;
use crate::rfc3339;
use crate::store::audit::Cursor;
use crate::store::keys::parse_scope;

/// Maximum tags on one app. Scopes select apps by tag, and a handful per
/// app covers team and purpose.
pub const MAX_TAGS: usize = 16;
/// Maximum tag length, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Maximum API key name length, in characters.
pub const MAX_KEY_NAME_CHARS: usize = 100;
/// Audit entries per page when the request gives no `limit`.
pub const DEFAULT_AUDIT_LIMIT: u32 = 50;
/// Maximum audit entries per page. One Table Storage page contains up to
/// 1,000 entities, and 200 keeps a response small.
pub const MAX_AUDIT_LIMIT: u32 = 200;

/// Requested changes to an app's names and tags; `None` leaves a value as is.
#[derive(Debug, Default)]
pub struct AppChanges {
    pub issuer: Option<String>,
    pub custom_name: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// A validated request to create an API key.
#[derive(Debug)]
pub struct NewKeyRequest {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub export: bool,
    pub expires: Option<SystemTime>,
}

/// A validated audit query. The handler fills in the default times
/// because it has the clock.
#[derive(Debug)]
pub struct AuditFilter {
    pub app: Option<String>,
    pub actor: Option<String>,
    pub from: Option<SystemTime>,
    pub to: Option<SystemTime>,
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

/// Parses `{"issuer", "appname", "tags"}`; at least one must be present.
pub fn parse_app_changes(object: &Map<String, Value>) -> Result<AppChanges, FieldError> {
    if let Some(unknown) = object.keys().find(|k| !matches!(k.as_str(), "issuer" | "appname" | "tags")) {
        return Err(FieldError::invalid(
            "body",
            format!("unknown field {:?}; change issuer, appname or tags (PUT /api/apps/{{uuid}}/seed replaces the seed)", truncate(unknown)),
        ));
    }
    let changes = AppChanges {
        issuer: optional_string(object, "issuer")?.map(|v| check_name("issuer", v)).transpose()?,
        custom_name: optional_string(object, "appname")?.map(|v| check_name("appname", v)).transpose()?,
        tags: object.get("tags").filter(|v| !v.is_null()).map(parse_tags).transpose()?,
    };
    if changes.issuer.is_none() && changes.custom_name.is_none() && changes.tags.is_none() {
        return Err(FieldError::missing("body", "nothing to change; send issuer, appname or tags"));
    }
    Ok(changes)
}

/// Parses a list of tags: lowercase letters, digits, `-`, `_` and `.`,
/// sorted and without duplicates.
pub fn parse_tags(value: &Value) -> Result<Vec<String>, FieldError> {
    let Value::Array(items) = value else {
        return Err(FieldError::invalid("tags", "tags must be a list of strings, e.g. [\"ops\"]"));
    };
    let mut tags = Vec::new();
    for item in items {
        let Some(tag) = item.as_str() else {
            return Err(FieldError::invalid("tags", "tags must be a list of strings, e.g. [\"ops\"]"));
        };
        let tag = tag.trim().to_ascii_lowercase();
        let valid = (1..=MAX_TAG_CHARS).contains(&tag.len())
            && tag.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(FieldError::invalid(
                "tags",
                format!("tag {:?} is invalid; use 1-{MAX_TAG_CHARS} letters, digits, '-', '_' or '.'", truncate(&tag)),
            ));
        }
        tags.push(tag);
    }
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS {
        return Err(FieldError::invalid("tags", format!("tags lists {} tags; use at most {MAX_TAGS}", tags.len())));
    }
    Ok(tags)
}

/// Parses `{"name", "role", "scope", "export", "expires_at"}`.
pub fn parse_new_key(object: &Map<String, Value>) -> Result<NewKeyRequest, FieldError> {
    let name = optional_string(object, "name")?.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let name = name.ok_or_else(|| FieldError::missing("name", "name is missing; name the key after its holder, e.g. \"ops readers\""))?;
    if name.chars().count() > MAX_KEY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(FieldError::invalid("name", format!("name must be at most {MAX_KEY_NAME_CHARS} characters without control characters")));
    }

    let role = optional_string(object, "role")?
        .ok_or_else(|| FieldError::missing("role", "role is missing; use admin, editor or reader"))?;
    let role = Role::parse(&role)
        .ok_or_else(|| FieldError::invalid("role", format!("role {:?} is unknown; use admin, editor or reader", truncate(&role))))?;

    let scope = object
        .get("scope")
        .ok_or_else(|| FieldError::missing("scope", "scope is missing; use \"all\" or {\"apps\": [...], \"tags\": [...]}"))?;
    let scope = normalize_scope(parse_scope(scope).map_err(|e| FieldError::invalid("scope", format!("scope is invalid: {e}")))?)?;

    // An admin can create keys of any scope and read the whole trail, so a
    // narrower scope on an admin key would promise a limit it cannot keep.
    if role == Role::Admin && scope != Scope::All {
        return Err(FieldError::invalid("scope", "admin keys manage every key and app, so their scope must be \"all\""));
    }

    let export = match object.get("export") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => return Err(FieldError::invalid("export", "export must be true or false")),
    };

    let expires = match optional_string(object, "expires_at")? {
        None => None,
        Some(text) => Some(rfc3339::parse(&text).ok_or_else(|| {
            FieldError::invalid("expires_at", format!("expires_at {:?} is not an RFC 3339 time, e.g. 2027-01-31T00:00:00Z", truncate(&text)))
        })?),
    };
    Ok(NewKeyRequest { name, role, scope, export, expires })
}

/// Lowercases app ids and checks tags, so stored scopes compare exactly.
fn normalize_scope(scope: Scope) -> Result<Scope, FieldError> {
    let Scope::Limited { apps, tags } = scope else {
        return Ok(Scope::All);
    };
    let apps = apps
        .iter()
        .map(|id| parse_app_id(id).map_err(|_| FieldError::invalid("scope", format!("scope app {:?} is not a UUID", truncate(id)))))
        .collect::<Result<Vec<_>, _>>()?;
    let tags = parse_tags(&Value::from(tags)).map_err(|e| FieldError::invalid("scope", format!("scope {}", e.message)))?;
    if apps.is_empty() && tags.is_empty() {
        return Err(FieldError::invalid("scope", "scope selects no app; list apps or tags, or use \"all\""));
    }
    Ok(Scope::Limited { apps, tags })
}

/// Checks a key id from the path (16 lowercase hex digits).
pub fn parse_key_id(text: &str) -> Result<String, FieldError> {
    let id = text.trim().to_ascii_lowercase();
    if !is_key_id(&id) {
        return Err(FieldError::invalid("id", format!("key id {:?} is not 16 hex digits; GET /api/keys lists the ids", truncate(text))));
    }
    Ok(id)
}

/// Parses `?app=&actor=&from=&to=&limit=&cursor=`.
pub(super) fn parse_audit_filter(query: &QueryParams) -> Result<AuditFilter, FieldError> {
    let time = |name: &'static str| -> Result<Option<SystemTime>, FieldError> {
        match query.get(name) {
            None => Ok(None),
            Some(text) => rfc3339::parse(&text).map(Some).ok_or_else(|| {
                FieldError::invalid(name, format!("{name} {:?} is not an RFC 3339 time, e.g. 2026-12-01T00:00:00Z", truncate(&text)))
            }),
        }
    };
    let limit = match query.get("limit") {
        None => DEFAULT_AUDIT_LIMIT,
        Some(text) => match text.parse::<u32>() {
            Ok(limit) if (1..=MAX_AUDIT_LIMIT).contains(&limit) => limit,
            _ => return Err(FieldError::invalid("limit", format!("limit {:?} is out of range; use 1 to {MAX_AUDIT_LIMIT}", truncate(&text)))),
        },
    };
    let cursor = match query.get("cursor") {
        None => None,
        Some(text) => Some(Cursor::decode(&text).ok_or_else(|| {
            FieldError::invalid("cursor", "cursor is not one this API returned; pass next_cursor from the previous page unchanged")
        })?),
    };
    Ok(AuditFilter {
        app: query.get("app").map(|id| parse_app_id(&id).map_err(|_| FieldError::invalid("app", "app must be an app uuid"))).transpose()?,
        actor: query.get("actor").map(|actor| actor.trim().to_string()).filter(|a| !a.is_empty()),
        from: time("from")?,
        to: time("to")?,
        limit,
        cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn tags_are_normalized() {
        assert_eq!(parse_tags(&json!(["Ops", "finance", "ops"])).unwrap(), vec!["finance", "ops"]);
        assert_eq!(parse_tags(&json!(["a b"])).unwrap_err().field, "tags");
        assert_eq!(parse_tags(&json!("ops")).unwrap_err().field, "tags");
    }

    #[test]
    fn app_changes_need_a_known_field() {
        assert_eq!(parse_app_changes(&object(json!({}))).unwrap_err().field, "body");
        assert_eq!(parse_app_changes(&object(json!({"secret": "x"}))).unwrap_err().field, "body");
        let changes = parse_app_changes(&object(json!({"appname": " Team ", "tags": ["ops"]}))).unwrap();
        assert_eq!(changes.custom_name.as_deref(), Some("Team"));
        assert_eq!(changes.tags, Some(vec!["ops".to_string()]));
        assert_eq!(changes.issuer, None);
    }

    #[test]
    fn new_key_fields() {
        let key = parse_new_key(&object(json!({
            "name": "ops", "role": "Reader",
            "scope": {"apps": ["0F8FAD5B-D9CB-469F-A165-70867728950E"], "tags": ["Ops"]},
            "expires_at": "2027-01-01T00:00:00Z"
        })))
        .unwrap();
        assert_eq!(key.role, Role::Reader);
        assert_eq!(
            key.scope,
            Scope::Limited { apps: vec!["0f8fad5b-d9cb-469f-a165-70867728950e".into()], tags: vec!["ops".into()] }
        );
        assert!(!key.export);
        assert!(key.expires.is_some());

        for (body, field) in [
            (json!({"role": "reader", "scope": "all"}), "name"),
            (json!({"name": "x", "role": "owner", "scope": "all"}), "role"),
            (json!({"name": "x", "role": "reader"}), "scope"),
            (json!({"name": "x", "role": "reader", "scope": {"apps": []}}), "scope"),
            (json!({"name": "x", "role": "admin", "scope": {"tags": ["ops"]}}), "scope"),
            (json!({"name": "x", "role": "reader", "scope": "all", "export": "yes"}), "export"),
            (json!({"name": "x", "role": "reader", "scope": "all", "expires_at": "soon"}), "expires_at"),
        ] {
            assert_eq!(parse_new_key(&object(body.clone())).unwrap_err().field, field, "{body}");
        }
    }

    #[test]
    fn audit_filter_defaults_and_errors() {
        let filter = parse_audit_filter(&QueryParams::parse(None)).unwrap();
        assert_eq!(filter.limit, DEFAULT_AUDIT_LIMIT);
        assert!(filter.from.is_none());
        assert!(filter.cursor.is_none());
        for (query, field) in [("limit=0", "limit"), ("limit=201", "limit"), ("from=yesterday", "from"), ("cursor=zz", "cursor"), ("app=12", "app")] {
            assert_eq!(parse_audit_filter(&QueryParams::parse(Some(query))).unwrap_err().field, field, "{query}");
        }
    }
}
