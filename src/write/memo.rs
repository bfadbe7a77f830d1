//! A content-addressed memo of what the writers render, kept across the builds of one long-lived
//! process (`watch`, `serve`): a document whose inputs hash to a key already seen is not
//! rendered again. The key is a SHA-256 of everything the rendering reads, so a hit is the same
//! result by construction — the memo can make a build faster, never different. Like typst's
//! `comemo`, an entry unused for a number of builds is evicted, so memory stays bounded.
//!
//! The memo is off until [`enable`] is called: a one-shot build would only pay for the copies.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The key of a memoised result: SHA-256 of its inputs.
pub type Key = [u8; 32];

/// Builds a [`Key`] from a domain (what is rendered) and the inputs, each length-prefixed so
/// that two different input lists never hash the same bytes.
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    /// A key for results of `domain` (e.g. `html-part`).
    pub fn new(domain: &str) -> KeyBuilder {
        KeyBuilder(Sha256::new()).bytes(domain.as_bytes())
    }

    /// Add raw bytes.
    pub fn bytes(mut self, bytes: &[u8]) -> KeyBuilder {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// Add a string.
    pub fn str(self, s: &str) -> KeyBuilder {
        self.bytes(s.as_bytes())
    }

    /// Add a value by its JSON form. A value that cannot be serialised makes the key unique
    /// to this call (a miss), never a false hit.
    ///
    /// The JSON is streamed into the hash (a part of a large book is megabytes of it) and ended
    /// by a NUL byte, which JSON text never contains, instead of a length prefix.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> KeyBuilder {
        struct Into<'a>(&'a mut Sha256);
        impl std::io::Write for Into<'_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        self.0.update(b"json:");
        let mut writer = std::io::BufWriter::with_capacity(64 * 1024, Into(&mut self.0));
        let ok = serde_json::to_writer(&mut writer, value).is_ok();
        drop(writer);
        if ok {
            self.0.update([0u8]);
            self
        } else {
            static UNIQUE: AtomicU64 = AtomicU64::new(0);
            let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
            self.str("unserialisable").bytes(&n.to_le_bytes())
        }
    }

    /// Add a value by its `Debug` form (for small settings with a deterministic `Debug`, such
    /// as enums and `BTreeMap`s).
    pub fn debug<T: std::fmt::Debug + ?Sized>(self, value: &T) -> KeyBuilder {
        self.str(&format!("{value:?}"))
    }

    /// The key.
    pub fn finish(self) -> Key {
        self.0.finalize().into()
    }
}

struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    /// The build it was last used in.
    used: u64,
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static BUILD: AtomicU64 = AtomicU64::new(0);
static MEMO: Mutex<Option<HashMap<Key, Entry>>> = Mutex::new(None);

/// Keep rendered documents between builds (called by `watch` and `serve`).
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// Whether the memo is on.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The result for `key`: memoised, or made by `make` (and memoised when the memo is on).
pub fn cached<V: Clone + Send + Sync + 'static>(key: Key, make: impl FnOnce() -> V) -> V {
    if !enabled() {
        return make();
    }
    let build = BUILD.load(Ordering::Relaxed);
    if let Ok(mut guard) = MEMO.lock()
        && let Some(entry) = guard.get_or_insert_with(HashMap::new).get_mut(&key)
        && let Some(v) = entry.value.downcast_ref::<V>()
    {
        entry.used = build;
        return v.clone();
    }
    // Made outside the lock: documents are rendered in parallel.
    let value = make();
    if let Ok(mut guard) = MEMO.lock() {
        guard.get_or_insert_with(HashMap::new).insert(
            key,
            Entry {
                value: Arc::new(value.clone()),
                used: build,
            },
        );
    }
    value
}

/// End of a build: entries not used in the last `max_age` builds are dropped.
pub fn evict(max_age: u64) {
    let build = BUILD.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut guard) = MEMO.lock()
        && let Some(map) = guard.as_mut()
    {
        map.retain(|_, e| e.used + max_age > build);
    }
}

/// Number of memoised results (for tests and the benchmark).
pub fn len() -> usize {
    MEMO.lock()
        .ok()
        .and_then(|g| g.as_ref().map(HashMap::len))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_inputs_and_the_memo_reuses_and_evicts() {
        // Length prefixes: ("ab", "c") and ("a", "bc") are different inputs.
        let a = KeyBuilder::new("t").str("ab").str("c").finish();
        let b = KeyBuilder::new("t").str("a").str("bc").finish();
        assert_ne!(a, b);
        assert_eq!(a, KeyBuilder::new("t").str("ab").str("c").finish());
        assert_ne!(a, KeyBuilder::new("u").str("ab").str("c").finish());

        enable();
        let key = KeyBuilder::new("memo-test").str("x").finish();
        let mut made = 0;
        let first: Arc<String> = cached(key, || {
            made += 1;
            Arc::new("one".to_owned())
        });
        let second: Arc<String> = cached(key, || {
            made += 1;
            Arc::new("two".to_owned())
        });
        assert_eq!((first.as_str(), second.as_str(), made), ("one", "one", 1));
        // A different type under the same key is made, not mistaken for the first.
        let other: u32 = cached(key, || 7);
        assert_eq!(other, 7);
        // Unused for `max_age` builds: gone, made again.
        for _ in 0..3 {
            evict(2);
        }
        let again: Arc<String> = cached(KeyBuilder::new("memo-test").str("x").finish(), || {
            Arc::new("three".to_owned())
        });
        assert_eq!(again.as_str(), "three");
    }
}
