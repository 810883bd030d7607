//! The OpenAPI 3 description of the API, served at `/api/openapi.json` as
//! the same bytes as `docs/openapi.json`.

/// The document, compiled in so every host serves the same version.
pub const OPENAPI_JSON: &str = include_str!("../../docs/openapi.json");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::routes::ROUTES;
    use std::collections::BTreeSet;

    /// The Swagger 2.0 form for Power Platform, kept beside the OpenAPI 3 one.
    const OPENAPI_V2_JSON: &str = include_str!("../../docs/openapi-v2.json");

    /// Returns the (method, path) pairs a document describes.
    fn operations(text: &str) -> BTreeSet<(String, String)> {
        let document: serde_json::Value = serde_json::from_str(text).expect("document is JSON");
        let mut operations = BTreeSet::new();
        for (path, item) in document["paths"].as_object().expect("paths object") {
            for method in item.as_object().expect("path item object").keys() {
                if method != "parameters" {
                    operations.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        operations
    }

    #[test]
    fn both_documents_list_the_same_operations() {
        assert_eq!(operations(OPENAPI_JSON), operations(OPENAPI_V2_JSON));
    }

    #[test]
    fn document_and_route_table_list_the_same_operations() {
        let documented = operations(OPENAPI_JSON);
        let routed: BTreeSet<(String, String)> =
            ROUTES.iter().map(|route| (route.method.to_string(), route.path.to_string())).collect();

        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(undocumented.is_empty(), "routes missing from docs/openapi.json: {undocumented:?}");
        assert!(unrouted.is_empty(), "documented operations with no route: {unrouted:?}");
    }
}
