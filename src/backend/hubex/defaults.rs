//! HubEx's policy for new tasks: which task type, request method and
//! criticality they get, and who is named as their initiator; and the words
//! for how a catalog sync learnt the assets' участки.

use crate::backend::UserId;
use crate::config::HubexConfig;
use crate::store::{self, catalog, Pool};

/// How a sync learnt the assets' участки (stored as these keys; `per_asset`
/// is followed by `:N`, the assets read one by one).
pub const SOURCE_EXPORT: &str = "export";
pub const SOURCE_ASSET_FILTER: &str = "asset_filter";
pub const SOURCE_PER_ASSET: &str = "per_asset";
pub const SOURCE_UNCHANGED: &str = "unchanged";

/// A district source key in words.
pub fn source_text(key: &str, lang: crate::domain::lang::Lang) -> String {
    use crate::domain::lang::Lang;
    let (kind, n) = key.split_once(':').unwrap_or((key, ""));
    match (kind, lang) {
        (SOURCE_EXPORT, Lang::Ru) => "участками, GET /EXPORT/Assets?districtID=".into(),
        (SOURCE_EXPORT, Lang::En) => "per участок, GET /EXPORT/Assets?districtID=".into(),
        (SOURCE_ASSET_FILTER, Lang::Ru) => "участками, GET /ES/Assets?districtID=".into(),
        (SOURCE_ASSET_FILTER, Lang::En) => "per участок, GET /ES/Assets?districtID=".into(),
        (SOURCE_PER_ASSET, Lang::Ru) => format!(
            "по одному запросу на новое или изменённое оборудование ({n}); нет права AssetsExport, а GET /ES/Assets не фильтрует по участку"
        ),
        (SOURCE_PER_ASSET, Lang::En) => format!(
            "one call per new or changed asset ({n}); no AssetsExport right and GET /ES/Assets ignores districtID"
        ),
        (SOURCE_UNCHANGED, Lang::Ru) => "ничего не изменилось, участки оставлены с прошлой синхронизации".into(),
        (SOURCE_UNCHANGED, Lang::En) => "unchanged since the last sync (участки kept)".into(),
        (other, _) => other.to_owned(),
    }
}

/// Which task type, request method and criticality a new task gets, and who
/// is named as its initiator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefaults {
    pub task_type_id: i64,
    pub request_method_id: i64,
    pub criticality_id: Option<i64>,
    pub requested_by: Option<UserId>,
}

/// Why a task type, request method or criticality was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Set in the configuration.
    Configured,
    /// The task system marks it as the default.
    MarkedDefault,
    /// Its name says QR, "Паспорт объекта" or web.
    Named(&'static str),
    /// Id 4, HubEx's advice for integrations.
    Integration,
    /// The first in the list.
    First,
}

/// The task type: configured, else the one marked default, else the first.
pub fn pick_task_type(configured: i64, types: &[(i64, &str, bool)]) -> Option<(i64, Why)> {
    if configured > 0 {
        return Some((configured, Why::Configured));
    }
    types
        .iter()
        .find(|t| t.2)
        .map(|t| (t.0, Why::MarkedDefault))
        .or_else(|| types.first().map(|t| (t.0, Why::First)))
}

/// The criticality: configured, else the one marked default, else none.
pub fn pick_criticality(configured: i64, items: &[(i64, bool)]) -> Option<(i64, Why)> {
    if configured > 0 {
        return Some((configured, Why::Configured));
    }
    items
        .iter()
        .find(|c| c.1)
        .map(|c| (c.0, Why::MarkedDefault))
}

/// The request method: configured, else one named for QR codes, then
/// HubEx's own "Паспорт объекта", then anything web-like, then id 4
/// (HubEx's advice for integrations), then the first.
pub fn pick_request_method_why(configured: i64, methods: &[(i64, &str)]) -> Option<(i64, Why)> {
    if configured > 0 {
        return Some((configured, Why::Configured));
    }
    let by = |needle: &'static str| {
        methods
            .iter()
            .find(|(_, n)| n.to_lowercase().contains(needle))
            .map(|(id, _)| (*id, Why::Named(needle)))
    };
    by("qr")
        .or_else(|| by("паспорт объекта"))
        .or_else(|| by("web"))
        .or_else(|| by("веб"))
        .or_else(|| {
            methods
                .iter()
                .find(|(id, _)| *id == 4)
                .map(|(id, _)| (*id, Why::Integration))
        })
        .or_else(|| methods.first().map(|(id, _)| (*id, Why::First)))
}

/// [`pick_request_method_why`] without the reason.
pub fn pick_request_method(methods: &[(i64, &str)]) -> Option<i64> {
    pick_request_method_why(0, methods).map(|(id, _)| id)
}

/// Configured ids win; otherwise the catalog's default task type and
/// criticality, and the request method that looks like QR or web intake.
pub async fn task_defaults(pool: &Pool, hubex: &HubexConfig) -> anyhow::Result<TaskDefaults> {
    let types = catalog::task_types(pool).await?;
    let types: Vec<(i64, &str, bool)> = types
        .iter()
        .map(|t| (t.id, t.name.as_str(), t.is_default != 0))
        .collect();
    let (task_type_id, _) = pick_task_type(hubex.task_type_id, &types).ok_or_else(|| {
        anyhow::anyhow!(
            "no task types in the catalog yet; sync the catalog or set hubex.task_type_id"
        )
    })?;
    let methods = catalog::request_methods(pool).await?;
    let methods: Vec<(i64, &str)> = methods.iter().map(|m| (m.id, m.name.as_str())).collect();
    let (request_method_id, _) = pick_request_method_why(hubex.request_method_id, &methods)
        .ok_or_else(|| {
            anyhow::anyhow!("no request methods in the catalog yet; sync the catalog or set hubex.request_method_id")
        })?;
    let criticalities: Vec<(i64, bool)> = catalog::criticalities(pool)
        .await?
        .into_iter()
        .map(|c| (c.id, c.is_default != 0))
        .collect();
    let criticality_id = pick_criticality(hubex.criticality_id, &criticalities).map(|(id, _)| id);
    let requested_by = store::get_setting(pool, "anonymous_user_id")
        .await?
        .and_then(|v| v.parse().ok())
        .map(UserId);
    Ok(TaskDefaults {
        task_type_id,
        request_method_id,
        criticality_id,
        requested_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_method_prefers_qr_then_passport() {
        assert_eq!(
            pick_request_method(&[(1, "Телефон"), (7, "QR-код")]),
            Some(7)
        );
        assert_eq!(
            pick_request_method(&[(1, "Телефон"), (3, "Паспорт объекта")]),
            Some(3)
        );
        assert_eq!(pick_request_method(&[(1, "Телефон"), (4, "API")]), Some(4));
        assert_eq!(pick_request_method(&[(2, "Телефон")]), Some(2));
        assert_eq!(pick_request_method(&[]), None);
    }
}
