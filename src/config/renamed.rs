//! Settings that moved out of `[hubex]`: their old names still work, each
//! with a warning naming the new one.

use toml::{Table, Value};

/// Keys that moved out of `[hubex]` because they apply to every task
/// system: the old name still works, with a warning naming the new one.
pub const RENAMED: &[(&str, &str)] = &[
    ("hubex.allowed_districts", "catalog.allowed_districts"),
    ("hubex.status_poll_secs", "status.poll_secs"),
    ("hubex.status_max_age_secs", "status.max_age_secs"),
    ("hubex.task_link", "status.task_link"),
    ("hubex.same_problem", "intake.same_problem"),
];

/// The environment variable of a key: `status.poll_secs` → `QRDESK_STATUS__POLL_SECS`.
pub fn env_name(key: &str) -> String {
    format!("QRDESK_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// Moves the old keys of a file's table to their new place.
pub(super) fn rename_in_table(table: &mut Table, origin: &str, warnings: &mut Vec<String>) {
    for (old, new) in RENAMED {
        let (old_section, old_key) = old.split_once('.').expect("section.key");
        let (new_section, new_key) = new.split_once('.').expect("section.key");
        let Some(Value::Table(section)) = table.get_mut(old_section) else {
            continue;
        };
        let Some(value) = section.remove(old_key) else {
            continue;
        };
        let target = table
            .entry(new_section)
            .or_insert_with(|| Value::Table(Table::new()));
        if let Value::Table(t) = target {
            if t.contains_key(new_key) {
                warnings.push(format!(
                    "{origin}: `{old}` is ignored: `{new}` is set too (its new name)"
                ));
            } else {
                t.insert(new_key.to_owned(), value);
                warnings.push(format!("{origin}: `{old}` is an old name, use `{new}`"));
            }
        }
    }
}
