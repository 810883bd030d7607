//! Log lines from the component: one JSON object per line on stderr, which
//! every host (the shim, Spin, `wasmtime serve`) passes to its own log.
//!
//! Callers pass ids, service names and error messages, never a seed, a
//! code, a token or a connection string.

use serde_json::{Map, Value};

/// Writes one line with `level`, `event` and the given fields.
pub fn write(level: &str, event: &str, fields: &[(&str, &str)]) {
    let mut line = Map::new();
    line.insert("level".into(), Value::from(level));
    line.insert("event".into(), Value::from(event));
    for (name, value) in fields {
        line.insert((*name).into(), Value::from(*value));
    }
    eprintln!("{}", Value::Object(line));
}

pub fn info(event: &str, fields: &[(&str, &str)]) {
    write("info", event, fields);
}

pub fn warn(event: &str, fields: &[(&str, &str)]) {
    write("warn", event, fields);
}

pub fn error(event: &str, fields: &[(&str, &str)]) {
    write("error", event, fields);
}
