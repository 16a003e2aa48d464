//! qrdesk's vocabulary: stickers and tokens, contacts, the kinds things
//! come in, the ids and shapes of tasks. This folder imports nothing else
//! from the crate; every other folder may use it.

pub mod api_token;
pub mod codes;
pub mod contact;
pub mod kinds;
pub mod lang;
pub mod marker;
pub mod net;
pub mod request;
pub mod task;
pub mod time;
