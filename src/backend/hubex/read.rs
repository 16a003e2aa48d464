//! Reading HubEx answers tolerantly, in one place.
//!
//! HubEx answers a list either as an array of items that carry their `id` or
//! as an object keyed by id whose items carry none, and which list does which
//! is not reliable (API.md §3). Empty fields are omitted, unknown fields
//! appear, names come in camelCase or PascalCase, and a field we never use
//! (`coordinate`) comes as a string or an object. So: every answer's keys are
//! brought to HubEx's camelCase first, every list is split into (key, item)
//! here, each item is parsed on its own, and an item that cannot be read is
//! skipped with a warning that names it — never the whole list.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Brings a key to HubEx's camelCase-with-`ID` spelling: `TaskTypeID` →
/// `taskTypeID`, `ID`/`Id` → `id`, `parentId` → `parentID`.
pub fn camel_key(key: &str) -> String {
    if key.is_empty() {
        return String::new();
    }
    if key.chars().all(|c| !c.is_lowercase()) {
        return key.to_lowercase();
    }
    let mut chars = key.chars();
    let first = chars.next().expect("not empty");
    let mut out: String = first.to_lowercase().chain(chars).collect();
    if out.len() > 2 && out.ends_with("Id") {
        out.truncate(out.len() - 2);
        out.push_str("ID");
    }
    out
}

/// Rewrites every object key below `v` with [`camel_key`]. Returns whether any
/// key changed, so a PascalCase tenant is noticed once.
pub fn normalize(v: &mut Value) -> bool {
    match v {
        Value::Object(map) => {
            let mut changed = false;
            let old = std::mem::take(map);
            for (k, mut item) in old {
                changed |= normalize(&mut item);
                let key = camel_key(&k);
                changed |= key != k;
                map.insert(key, item);
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, i| normalize(i) | c),
        _ => false,
    }
}

/// Reads one answer (not a list) into `T`, after [`normalize`].
pub fn parse_one<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    normalize(&mut v);
    // A single object is sometimes wrapped in an array (errors, creation answers).
    if let Value::Array(items) = &v {
        if items.len() == 1 && items[0].is_object() {
            if let Ok(t) = serde_json::from_value::<T>(items[0].clone()) {
                return Ok(t);
            }
        }
    }
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// A list's items with their keys, when it came keyed.
pub type KeyedItems = Vec<(Option<String>, Value)>;

/// Splits a list answer into (key, item): an array gives no keys, an object
/// keyed by id gives its keys. `{"items": [...]}`-style wrappers are opened.
pub fn split_list(answer: Value) -> Result<KeyedItems, String> {
    match answer {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => Ok(items.into_iter().map(|v| (None, v)).collect()),
        Value::Object(map) => {
            if map.is_empty() {
                return Ok(Vec::new());
            }
            let wrapped = ["items", "data", "result", "value"]
                .iter()
                .find(|k| map.get(**k).is_some_and(Value::is_array));
            if let Some(k) = wrapped {
                let mut map = map;
                let inner = map.remove(*k).expect("checked");
                return split_list(inner);
            }
            Ok(map.into_iter().map(|(k, v)| (Some(k), v)).collect())
        }
        other => Err(format!(
            "expected a list, got {}",
            short(&other.to_string())
        )),
    }
}

/// An id as HubEx may write it: a number or a numeric string.
pub fn as_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The item's own `id`, or else its key.
pub fn item_id(key: Option<&str>, item: &Value) -> Option<i64> {
    item.get("id")
        .and_then(as_id)
        .or_else(|| key.and_then(|k| k.trim().parse().ok()))
}

/// Parses the items of one page. Items that fail are skipped and noted.
pub fn parse_items<T: DeserializeOwned>(
    path: &str,
    items: KeyedItems,
    surprises: &Surprises,
) -> Vec<(Option<i64>, T)> {
    let mut out = Vec::with_capacity(items.len());
    for (key, item) in items {
        let id = item_id(key.as_deref(), &item);
        let name = describe(key.as_deref(), id, &item);
        if !item.is_object() {
            surprises.note(path, "item is not an object", &name, "");
            continue;
        }
        match serde_json::from_value::<T>(item) {
            Ok(t) => out.push((id, t)),
            Err(e) => surprises.note(path, "unreadable item skipped", &name, &e.to_string()),
        }
    }
    out
}

/// "id 17" / "key 17" / "item {"name":…}": how a warning names an item.
fn describe(key: Option<&str>, id: Option<i64>, item: &Value) -> String {
    match (id, key) {
        (Some(id), _) => format!("id {id}"),
        (None, Some(k)) => format!("key {}", short(k)),
        (None, None) => format!("item {}", short(&item.to_string())),
    }
}

pub fn short(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Shape surprises seen during one piece of work (a sync, a poll round):
/// each kind is logged at warn the first time, and counted after that.
#[derive(Default)]
pub struct Surprises {
    seen: Mutex<HashMap<(String, &'static str), usize>>,
}

impl Surprises {
    /// Notes a surprise at `path` (ids in the path are folded, so every
    /// asset's districts count as one path).
    pub fn note(&self, path: &str, kind: &'static str, item: &str, detail: &str) {
        let path = fold_path(path);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let n = seen.entry((path.clone(), kind)).or_insert(0);
        *n += 1;
        if *n == 1 {
            tracing::warn!(%path, kind, item, detail, "HubEx answer in an unexpected shape (further ones of this kind are counted, not logged)");
        }
    }

    /// Every kind seen with its count, for the end-of-sync summary.
    pub fn counts(&self) -> Vec<(String, &'static str, usize)> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = seen.iter().map(|((p, k), n)| (p.clone(), *k, *n)).collect();
        v.sort();
        v
    }

    /// Logs how many of each kind there were, once, if any was seen more than once.
    pub fn log_summary(&self, what: &str) {
        for (path, kind, n) in self.counts() {
            if n > 1 {
                tracing::warn!(%path, kind, count = n, "{what}: HubEx shape surprises");
            }
        }
    }
}

/// `/ES/Assets/123/districts` → `/ES/Assets/{id}/districts`.
pub fn fold_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Field readers for `#[serde(deserialize_with = …)]` that never fail: a
/// value of an unexpected type reads as absent.
pub mod lenient {
    use super::*;
    use serde::{Deserialize, Deserializer};

    fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    /// Text, or a number written as text; empty text is absent.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match value(d)? {
            Value::String(s) if !s.trim().is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    }

    /// Like [`string`], with absent as empty.
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(string(d)?.unwrap_or_default())
    }

    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(as_id(&value(d)?))
    }

    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match value(d)? {
            Value::Bool(b) => Some(b),
            Value::Number(n) => n.as_i64().map(|i| i != 0),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        })
    }

    /// A nested object (`{"id":…,"name":…}`), or a bare id standing for one.
    pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned + super::FromId,
    {
        Ok(match value(d)? {
            v @ Value::Object(_) => serde_json::from_value(v).ok(),
            v => as_id(&v).map(T::from_id),
        })
    }

    /// A list of objects; unreadable entries are dropped.
    pub fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        Ok(match value(d)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
            Value::Object(map) => map
                .into_iter()
                .filter_map(|(_, v)| serde_json::from_value(v).ok())
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Anything at all, kept as it came (fields we never read).
    pub fn any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Ok(match value(d)? {
            Value::Null => None,
            v => Some(v),
        })
    }
}

/// A nested reference that may come as a bare id.
pub trait FromId {
    fn from_id(id: i64) -> Self;
}

/// For the simulator: the same keys in PascalCase (`taskTypeID` → `TaskTypeID`, `id` → `ID`).
pub fn pascal(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let old = std::mem::take(map);
            let mut new = Map::new();
            for (k, mut item) in old {
                pascal(&mut item);
                let key = if k == "id" {
                    "ID".to_owned()
                } else {
                    let mut c = k.chars();
                    match c.next() {
                        Some(f) => f.to_uppercase().chain(c).collect(),
                        None => k,
                    }
                };
                new.insert(key, item);
            }
            *map = new;
        }
        Value::Array(items) => items.iter_mut().for_each(pascal),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_to_camel_case() {
        assert_eq!(camel_key("TaskTypeID"), "taskTypeID");
        assert_eq!(camel_key("ID"), "id");
        assert_eq!(camel_key("Id"), "id");
        assert_eq!(camel_key("parentId"), "parentID");
        assert_eq!(camel_key("serialNumber"), "serialNumber");
        assert_eq!(camel_key("SerialNumber"), "serialNumber");
        assert_eq!(camel_key("access_token"), "access_token");
        let mut v = serde_json::json!({"TaskStatus": {"Name": "Новая", "ID": 1}});
        assert!(normalize(&mut v));
        assert_eq!(
            v,
            serde_json::json!({"taskStatus": {"name": "Новая", "id": 1}})
        );
        let mut back = v.clone();
        pascal(&mut back);
        normalize(&mut back);
        assert_eq!(back, v);
    }

    #[test]
    fn paths_fold_their_ids() {
        assert_eq!(
            fold_path("/ES/Assets/1001/districts"),
            "/ES/Assets/{id}/districts"
        );
    }

    #[test]
    fn wrapped_lists_open() {
        let items = split_list(serde_json::json!({"items": [{"id": 1}]})).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].0, None, "array items carry no key");
        assert!(split_list(serde_json::json!("x")).is_err());
    }
}
