//! Compact storage for the engine: call keys in one text arena, repeated strings interned,
//! classes as one-byte codes.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Arc;
use switchboard_config::CallClass;

/// A class as a stable small code (its declaration index, also its tally slot in the
/// engine), for compact storage.
pub(crate) const fn class_code(class: CallClass) -> u8 {
    match class {
        CallClass::Booked => 0,
        CallClass::Unbooked => 1,
        CallClass::Excused => 2,
        CallClass::NotLead => 3,
        CallClass::Abandoned => 4,
    }
}

/// The class of a [`class_code`]; `None` for any other byte.
pub(crate) const fn class_of_code(code: u8) -> Option<CallClass> {
    match code {
        0 => Some(CallClass::Booked),
        1 => Some(CallClass::Unbooked),
        2 => Some(CallClass::Excused),
        3 => Some(CallClass::NotLead),
        4 => Some(CallClass::Abandoned),
        _ => None,
    }
}

/// Hasher for keys that already are keyed hashes: passes a `u64` through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; stay correct (FNV-1a) for anything else.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Call key ↔ dense id. Key text lives once, in an arena; the map is from a keyed 64-bit
/// hash to the id (about 17 bytes a call instead of a boxed string and its map entry). Two
/// keys with the same hash are resolved through `collisions`, checked against the arena.
pub(crate) struct KeyIndex<S = RandomState> {
    hasher: S,
    arena: String,
    /// Key `i` is `arena[bounds[i]..bounds[i + 1]]`.
    bounds: Vec<usize>,
    by_hash: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    collisions: HashMap<Box<str>, u32>,
}

impl KeyIndex {
    pub(crate) fn new() -> Self {
        KeyIndex::with_hasher(RandomState::new())
    }
}

impl<S: BuildHasher> KeyIndex<S> {
    fn with_hasher(hasher: S) -> Self {
        KeyIndex {
            hasher,
            arena: String::new(),
            bounds: vec![0],
            by_hash: HashMap::default(),
            collisions: HashMap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    pub(crate) fn key(&self, id: u32) -> &str {
        let i = id as usize;
        &self.arena[self.bounds[i]..self.bounds[i + 1]]
    }

    pub(crate) fn get(&self, key: &str) -> Option<u32> {
        let id = *self.by_hash.get(&self.hasher.hash_one(key))?;
        if self.key(id) == key {
            Some(id)
        } else {
            self.collisions.get(key).copied()
        }
    }

    /// The id of `key`, adding it with the next id if new; `true` if it was added.
    ///
    /// # Panics
    /// Past `u32::MAX` calls per tenant.
    pub(crate) fn get_or_insert(&mut self, key: &str) -> (u32, bool) {
        let hash = self.hasher.hash_one(key);
        let existing = self.by_hash.get(&hash).copied();
        if let Some(id) = existing {
            if self.key(id) == key {
                return (id, false);
            }
            if let Some(&id) = self.collisions.get(key) {
                return (id, false);
            }
        }
        let id = u32::try_from(self.len()).expect("fewer than 2^32 calls per tenant");
        self.arena.push_str(key);
        self.bounds.push(self.arena.len());
        if existing.is_some() {
            self.collisions.insert(key.into(), id);
        } else {
            self.by_hash.insert(hash, id);
        }
        (id, true)
    }
}

/// Interned strings of one kind (agent names, business units, ...). Id 0 means "absent", so
/// an `Option<String>` is stored in a `u32`.
pub(crate) struct Interner {
    ids: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Interner {
    pub(crate) fn new() -> Self {
        Interner {
            ids: HashMap::new(),
            names: vec![Arc::from("")],
        }
    }

    /// Ids in use, including the "absent" id 0.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// # Panics
    /// Past `u32::MAX` distinct strings.
    pub(crate) fn intern(&mut self, value: Option<&str>) -> u32 {
        let Some(value) = value else { return 0 };
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct strings");
        let name: Arc<str> = Arc::from(value);
        self.names.push(Arc::clone(&name));
        self.ids.insert(name, id);
        id
    }

    pub(crate) fn get(&self, id: u32) -> Option<&str> {
        (id != 0).then(|| &*self.names[id as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_codes_are_declaration_indexes_and_round_trip() {
        for (i, class) in CallClass::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(class_code(class)), i);
            assert_eq!(class_of_code(class_code(class)), Some(class));
        }
        assert_eq!(class_of_code(5), None);
        assert_eq!(class_of_code(u8::MAX), None);
    }

    #[test]
    fn keys_round_trip() {
        let mut k = KeyIndex::new();
        assert_eq!(k.get_or_insert("a"), (0, true));
        assert_eq!(k.get_or_insert("bb"), (1, true));
        assert_eq!(k.get_or_insert(""), (2, true));
        assert_eq!(k.get_or_insert("a"), (0, false));
        assert_eq!(k.get("bb"), Some(1));
        assert_eq!(k.get(""), Some(2));
        assert_eq!(k.get("c"), None);
        assert_eq!((k.key(0), k.key(1), k.key(2)), ("a", "bb", ""));
    }

    /// Every key hashes to the same value.
    #[derive(Default)]
    struct Constant;

    impl Hasher for Constant {
        fn finish(&self) -> u64 {
            42
        }

        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn hash_collisions_are_resolved_by_text() {
        let mut k = KeyIndex::with_hasher(BuildHasherDefault::<Constant>::default());
        let keys = ["a", "b", "c", "", "ab"];
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(k.get(key), None);
            assert_eq!(k.get_or_insert(key), (n as u32, true));
        }
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(k.get(key), Some(n as u32));
            assert_eq!(k.get_or_insert(key), (n as u32, false));
            assert_eq!(k.key(n as u32), *key);
        }
        assert_eq!(k.by_hash.len(), 1);
        assert_eq!(k.collisions.len(), keys.len() - 1);
        assert_eq!(k.get("abc"), None);
    }

    #[test]
    fn interner_keeps_absent_apart() {
        let mut i = Interner::new();
        assert_eq!(i.intern(None), 0);
        let x = i.intern(Some("x"));
        let empty = i.intern(Some(""));
        assert_ne!(x, 0);
        assert_ne!(empty, 0);
        assert_eq!(i.intern(Some("x")), x);
        assert_eq!(i.get(0), None);
        assert_eq!(i.get(x), Some("x"));
        assert_eq!(i.get(empty), Some(""));
        assert_eq!(i.len(), 3);
    }
}
