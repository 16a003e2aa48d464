//! Times as qrdesk writes them: RFC 3339 for machines, local for people.

/// A timestamp column as RFC 3339 in UTC, for JSON (`2026-12-02T06:40:00.123Z`).
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `22.11.2026 14:05` at the configured offset from UTC.
pub fn format_local(ms: i64, offset_minutes: i32) -> String {
    use time::macros::format_description;
    let offset =
        time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .map(|t| t.to_offset(offset))
        .ok()
        .and_then(|t| {
            t.format(format_description!("[day].[month].[year] [hour]:[minute]"))
                .ok()
        })
        .unwrap_or_default()
}
