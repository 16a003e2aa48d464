//! What integrators use: API tokens (and, to come, the JSON API under
//! `/api/v1` and signed webhooks).

pub mod token;
