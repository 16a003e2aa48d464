//! The filters of the admin lists, as they arrive in a query string and as
//! paging links write them again.

use serde::Deserialize;

use crate::backend::{CompanyId, DistrictId, LocationId};
use crate::store::catalog::AssetFilter;

/// Filters as they arrive in the query string (empty means "any").
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FilterQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub has_code: String,
    #[serde(default)]
    pub page: Option<i64>,
    pub done: Option<String>,
}

impl FilterQuery {
    pub fn filter(&self) -> AssetFilter {
        AssetFilter {
            q: self.q.chars().take(200).collect(),
            district: self.district.parse().ok().map(DistrictId),
            location: self.location.parse().ok().map(LocationId),
            company: self.company.parse().ok().map(CompanyId),
            has_code: match self.has_code.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
        }
    }

    /// The filters that are set, as (name, value).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        set_fields([
            ("q", &self.q),
            ("district", &self.district),
            ("location", &self.location),
            ("company", &self.company),
            ("has_code", &self.has_code),
        ])
    }

    /// The filters as a query string, for paging links.
    pub fn query_string(&self) -> String {
        query_string(&self.fields())
    }
}

/// The filters of a list that are set (not empty), as (name, value).
pub fn set_fields<'a>(
    all: impl IntoIterator<Item = (&'static str, &'a String)>,
) -> Vec<(&'static str, String)> {
    all.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .collect()
}

/// `name=value&…`, percent-encoded.
pub fn query_string(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
