//! What the public pages read, kept in memory so a page view costs no
//! database work: a code's form, a request's status page, the intake counts.
//!
//! Every write in this process that changes what a public page shows calls
//! [`changed`], which makes every remembered value stale at once. Writes by
//! another instance on the same database, or by hand, are seen when a value
//! is [`MAX_AGE`] old.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a remembered value is used.
pub const MAX_AGE: Duration = Duration::from_secs(2);

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Marks every remembered value stale; called by the store's writes.
pub fn changed() {
    GENERATION.fetch_add(1, Ordering::Release);
}

fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

struct Slot<V> {
    generation: u64,
    at: Instant,
    value: Arc<V>,
}

/// Values by key, each good until the next [`changed`] or [`MAX_AGE`].
pub struct Memo<V> {
    slots: Mutex<HashMap<String, Slot<V>>>,
    capacity: usize,
}

impl<V> Memo<V> {
    /// Holds at most `capacity` keys; past that it starts over (a flood of
    /// distinct keys costs database reads, never memory).
    pub fn new(capacity: usize) -> Memo<V> {
        Memo {
            slots: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = slots.get(key)?;
        (slot.generation == generation() && slot.at.elapsed() < MAX_AGE).then(|| slot.value.clone())
    }

    /// Remembers `value` as read under `generation` (taken with [`Memo::begin`]
    /// before the read, so a write during the read leaves it stale).
    pub fn put(&self, key: &str, read_at: Reading, value: V) -> Arc<V> {
        let value = Arc::new(value);
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= self.capacity && !slots.contains_key(key) {
            slots.clear();
        }
        slots.insert(
            key.to_owned(),
            Slot {
                generation: read_at.generation,
                at: read_at.at,
                value: value.clone(),
            },
        );
        value
    }

    /// Marks the start of a read from the database.
    pub fn begin(&self) -> Reading {
        Reading {
            generation: generation(),
            at: Instant::now(),
        }
    }

    /// The remembered value, or `read()`'s, remembered.
    pub async fn get_or<E, F>(&self, key: &str, read: F) -> Result<Arc<V>, E>
    where
        F: std::future::Future<Output = Result<V, E>>,
    {
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let reading = self.begin();
        Ok(self.put(key, reading, read.await?))
    }
}

/// When a read began; see [`Memo::put`].
#[derive(Clone, Copy)]
pub struct Reading {
    generation: u64,
    at: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_makes_values_stale() {
        let memo: Memo<i32> = Memo::new(2);
        // Other tests write too (each write is a `changed`): a value put and
        // read with no write between is fresh.
        let fresh = (0..100).any(|_| {
            let r = memo.begin();
            memo.put("a", r, 1);
            memo.get("a").as_deref() == Some(&1)
        });
        assert!(fresh, "a value is remembered");
        changed();
        assert!(memo.get("a").is_none(), "stale after a write");
        // A read that a write overtook is not remembered as fresh.
        let r = memo.begin();
        changed();
        memo.put("a", r, 2);
        assert!(memo.get("a").is_none());
        let r = memo.begin();
        memo.put("b", r, 3);
        memo.put("c", r, 4);
        memo.put("d", r, 5);
        assert!(memo.slots.lock().unwrap().len() <= 2, "bounded");
    }
}
