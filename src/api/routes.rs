//! The route table: every method and path the API serves, the operation it
//! selects and the permission it requires. Adding a route means adding one
//! row here, a parser arm in `request.rs` and the path in `docs/openapi.json`
//! (a unit test compares the two).

use super::error::ApiError;
use crate::access::{Permission, Role};

/// The operation a route selects, before its body is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Health,
    OpenApi,
    AddApp,
    Import,
    ListApps,
    GetCode,
    UpdateApp,
    DeleteApp,
    RotateSeed,
    ExportSeed,
    ListKeys,
    CreateKey,
    RevokeKey,
    ReadAudit,
}

/// Returns the name audit entries record for an operation.
pub fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Health => "health",
        Operation::OpenApi => "openapi",
        Operation::AddApp => "add_app",
        Operation::Import => "import",
        Operation::ListApps => "list_apps",
        Operation::GetCode => "get_code",
        Operation::UpdateApp => "update_app",
        Operation::DeleteApp => "delete_app",
        Operation::RotateSeed => "rotate_seed",
        Operation::ExportSeed => "export_seed",
        Operation::ListKeys => "list_keys",
        Operation::CreateKey => "create_key",
        Operation::RevokeKey => "revoke_key",
        Operation::ReadAudit => "read_audit",
    }
}

/// One row of the route table. `{name}` in a path matches one segment.
#[derive(Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub operation: Operation,
    pub permission: Permission,
}

const fn route(method: &'static str, path: &'static str, operation: Operation, permission: Permission) -> Route {
    Route { method, path, operation, permission }
}

const READER: Permission = Permission::Role(Role::Reader);
const EDITOR: Permission = Permission::Role(Role::Editor);
const ADMIN: Permission = Permission::Role(Role::Admin);

/// Every route. App routes also check the caller's scope in the handler.
pub const ROUTES: &[Route] = &[
    route("GET", "/api/health", Operation::Health, Permission::Public),
    route("GET", "/api/openapi.json", Operation::OpenApi, Permission::Public),
    route("POST", "/api/add-totp-secret", Operation::AddApp, EDITOR),
    // Each imported app is added, scope-checked and audited like one add.
    route("POST", "/api/import", Operation::Import, EDITOR),
    route("GET", "/api/list-available-apps", Operation::ListApps, READER),
    route("GET", "/api/get-mfa-code", Operation::GetCode, READER),
    route("POST", "/api/get-mfa-code", Operation::GetCode, READER),
    route("PATCH", "/api/apps/{uuid}", Operation::UpdateApp, EDITOR),
    route("DELETE", "/api/apps/{uuid}", Operation::DeleteApp, EDITOR),
    route("PUT", "/api/apps/{uuid}/seed", Operation::RotateSeed, EDITOR),
    route("POST", "/api/apps/{uuid}/export", Operation::ExportSeed, Permission::Export),
    route("GET", "/api/keys", Operation::ListKeys, ADMIN),
    route("POST", "/api/keys", Operation::CreateKey, ADMIN),
    route("DELETE", "/api/keys/{id}", Operation::RevokeKey, ADMIN),
    route("GET", "/api/audit", Operation::ReadAudit, ADMIN),
];

/// A matched route with its path parameters in order.
#[derive(Debug)]
pub struct Matched {
    pub route: &'static Route,
    pub params: Vec<String>,
}

/// Finds the route for a method and path: 404 when no path matches, 405
/// (with the `Allow` methods) when the path matches but the method does
/// not. Fixed segments compare case-insensitively, as Azure Functions
/// routes do.
pub fn match_route(method: &str, path: &str) -> Result<Matched, ApiError> {
    let trimmed = path.trim_end_matches('/');
    let method = method.to_ascii_uppercase();

    let mut allowed = Vec::new();
    for route in ROUTES {
        let Some(params) = match_path(route.path, trimmed) else {
            continue;
        };
        if route.method == method {
            return Ok(Matched { route, params });
        }
        allowed.push(route.method);
    }

    if allowed.is_empty() {
        return Err(ApiError::route_not_found(path));
    }
    Err(ApiError::method_not_allowed(&method, trimmed, allowed.join(", ")))
}

/// Returns the parameter values if `path` fits `pattern`.
fn match_path(pattern: &str, path: &str) -> Option<Vec<String>> {
    let pattern_segments: Vec<&str> = pattern.split('/').collect();
    let path_segments: Vec<&str> = path.split('/').collect();
    if pattern_segments.len() != path_segments.len() {
        return None;
    }

    let mut params = Vec::new();
    for (expected, actual) in pattern_segments.iter().zip(&path_segments) {
        if expected.starts_with('{') {
            if actual.is_empty() {
                return None;
            }
            params.push(percent_encoding::percent_decode_str(actual).decode_utf8_lossy().into_owned());
        } else if !expected.eq_ignore_ascii_case(actual) {
            return None;
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_paths_ignore_case_and_trailing_slash() {
        let matched = match_route("get", "/API/List-Available-Apps/").unwrap();
        assert_eq!(matched.route.operation, Operation::ListApps);
    }

    #[test]
    fn parameters_are_extracted() {
        let matched = match_route("PUT", "/api/apps/0f8fad5b-d9cb-469f-a165-70867728950e/seed").unwrap();
        assert_eq!(matched.route.operation, Operation::RotateSeed);
        assert_eq!(matched.params, vec!["0f8fad5b-d9cb-469f-a165-70867728950e".to_string()]);
    }

    #[test]
    fn wrong_method_lists_allowed_ones() {
        let error = match_route("PUT", "/api/apps/x").unwrap_err();
        assert_eq!((error.status, error.allow.as_deref()), (405, Some("PATCH, DELETE")));
        let error = match_route("DELETE", "/api/get-mfa-code").unwrap_err();
        assert_eq!(error.allow.as_deref(), Some("GET, POST"));
    }

    #[test]
    fn only_health_and_openapi_are_public() {
        let public: Vec<Operation> =
            ROUTES.iter().filter(|route| route.permission == Permission::Public).map(|route| route.operation).collect();
        assert_eq!(public, vec![Operation::Health, Operation::OpenApi]);
    }

    #[test]
    fn unknown_paths_are_404() {
        assert_eq!(match_route("GET", "/api/apps").unwrap_err().code, "route_not_found");
        assert_eq!(match_route("GET", "/api/apps//seed").unwrap_err().code, "route_not_found");
    }
}
