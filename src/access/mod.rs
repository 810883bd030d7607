//! Access control: roles, scopes and the permission each route needs.
//!
//! - [`keys`]: API key format, generation and keyed hashing.
//! - [`identity`]: finding the caller from the request headers.
//!
//! Everything here is pure; storage lookups happen in the API layer.

pub mod identity;
pub mod keys;

use serde_json::{Value, json};

/// A caller's role. Each role includes the permissions of the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Lists apps and gets codes in scope.
    Reader,
    /// Also adds, changes, rotates and deletes apps in scope.
    Editor,
    /// Also manages API keys and reads the audit trail.
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text.to_ascii_lowercase().as_str() {
            "reader" => Some(Role::Reader),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

/// Requirement a route places on its caller, declared once per route in
/// the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Anyone, without credentials (health and the API description).
    Public,
    /// A role of at least this one; app routes check the scope as well.
    Role(Role),
    /// A key created with `"export": true`, whatever its role.
    Export,
}

/// The apps a caller may see: all, or those listed by id or carrying one of
/// the listed tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Limited { apps: Vec<String>, tags: Vec<String> },
}

impl Scope {
    /// True when an app with this id and these tags is in scope.
    pub fn includes(&self, app_id: &str, app_tags: &[String]) -> bool {
        match self {
            Scope::All => true,
            Scope::Limited { apps, tags } => {
                apps.iter().any(|id| id == app_id) || app_tags.iter().any(|tag| tags.contains(tag))
            }
        }
    }

    /// Returns the stored and returned form: `"all"` or `{"apps": [...], "tags": [...]}`.
    pub fn to_json(&self) -> Value {
        match self {
            Scope::All => json!("all"),
            Scope::Limited { apps, tags } => json!({ "apps": apps, "tags": tags }),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who, as the audit trail records it: `admin-key`, `key:<id>` or
    /// `easyauth:<name>`.
    pub actor: String,
    pub role: Role,
    pub scope: Scope,
    /// Whether this caller may read seeds back (off unless granted).
    pub export: bool,
}

impl Principal {
    /// True when the caller has `permission`.
    pub fn allows(&self, permission: Permission) -> bool {
        match permission {
            Permission::Public => true,
            Permission::Role(required) => self.role >= required,
            Permission::Export => self.export,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, export: bool) -> Principal {
        Principal { actor: "key:test".into(), role, scope: Scope::All, export }
    }

    #[test]
    fn roles_include_lower_roles() {
        assert!(principal(Role::Admin, false).allows(Permission::Role(Role::Reader)));
        assert!(principal(Role::Editor, false).allows(Permission::Role(Role::Editor)));
        assert!(!principal(Role::Editor, false).allows(Permission::Role(Role::Admin)));
        assert!(!principal(Role::Reader, false).allows(Permission::Role(Role::Editor)));
    }

    #[test]
    fn export_needs_the_flag_even_for_admins() {
        assert!(!principal(Role::Admin, false).allows(Permission::Export));
        assert!(principal(Role::Reader, true).allows(Permission::Export));
    }

    #[test]
    fn limited_scope_matches_ids_and_tags() {
        let scope = Scope::Limited { apps: vec!["a1".into()], tags: vec!["ops".into()] };
        assert!(scope.includes("a1", &[]));
        assert!(scope.includes("b2", &["ops".into()]));
        assert!(!scope.includes("b2", &["finance".into()]));
        assert!(Scope::All.includes("anything", &[]));
    }
}
