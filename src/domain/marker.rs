//! The line qrdesk writes under what it posts to a task, and how it knows
//! its own posts again.

/// Written under each comment we post, so a retry can find it.
pub fn comment_marker(comment_id: &str) -> String {
    format!("— заявитель через qrdesk · {comment_id}")
}

/// Whether a message of the task's conversation is one qrdesk posted.
pub fn is_ours(text: &str) -> bool {
    text.contains("через qrdesk ·")
}
