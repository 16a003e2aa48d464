//! Reading JSON answers tolerantly: ids as numbers or strings, a field
//! under any of its spellings, lists as arrays or id-keyed maps.

use serde_json::Value;

/// An integer sent as a number or a string.
pub fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A field under any of its spellings (`status`, `STATUS`).
pub fn field<'a>(o: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| o.get(*n))
        .filter(|v| !v.is_null())
}

pub fn text(o: &Value, names: &[&str]) -> Option<String> {
    match field(o, names)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn time_of(o: &Value, names: &[&str]) -> Option<i64> {
    text(o, names)
        .filter(|s| !s.is_empty())
        .and_then(|s| crate::backend::hubex::types::parse_time(&s))
}

/// The items of a list answer: an array, or a map keyed by id.
pub fn items(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Object(m)) => m.values().collect(),
        _ => Vec::new(),
    }
}
