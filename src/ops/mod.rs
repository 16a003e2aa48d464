//! Operations written once, for every face of qrdesk (admin pages,
//! `/api/v1`, the CLI): each takes domain values, runs in one transaction
//! with its audit line, and says what it did or why it would not.

pub mod codes;
pub mod state;
