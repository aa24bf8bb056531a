//! What changed between two configs, by key and never by value: a live reload logs the keys
//! it applied, and a service decides from them what it can apply and what needs a restart.
//!
//! The fingerprint is taken from the expanded file (after `${VAR}` and `*_file` secrets are
//! read), so a secret file that changed counts as a change of its key. Values are kept only
//! as hashes, inside the process.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};

/// Every leaf key of a config (`tenants.acme.sources.st.secrets`) with a hash of its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint(BTreeMap<String, u64>);

impl Fingerprint {
    pub(crate) fn of(table: &toml::Table) -> Self {
        let mut keys = BTreeMap::new();
        walk(&mut keys, "", table);
        Fingerprint(keys)
    }

    /// The keys set, removed or given another value in `new`, in key order.
    pub fn changed(&self, new: &Fingerprint) -> Vec<String> {
        let mut keys: Vec<String> = self
            .0
            .iter()
            .filter(|(k, v)| new.0.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .collect();
        keys.extend(new.0.keys().filter(|k| !self.0.contains_key(*k)).cloned());
        keys.sort();
        keys
    }
}

fn walk(keys: &mut BTreeMap<String, u64>, prefix: &str, table: &toml::Table) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(t) => walk(keys, &key, t),
            leaf => {
                let mut h = DefaultHasher::new();
                format!("{leaf:?}").hash(&mut h);
                keys.insert(key, h.finish());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> Fingerprint {
        Fingerprint::of(&text.parse::<toml::Table>().unwrap())
    }

    #[test]
    fn changes_are_named_by_key() {
        let old = fp("[ingest]\nlisten = \"a\"\n[tenants.acme.sources.st]\nsecrets = [\"x\"]\n");
        let new = fp(
            "[ingest]\nlisten = \"a\"\n[tenants.acme.sources.st]\nsecrets = [\"x\", \"y\"]\n[tenants.globex.sources.st]\nsecrets = [\"z\"]\n",
        );
        assert_eq!(
            old.changed(&new),
            [
                "tenants.acme.sources.st.secrets",
                "tenants.globex.sources.st.secrets"
            ]
        );
        assert_eq!(
            new.changed(&old),
            [
                "tenants.acme.sources.st.secrets",
                "tenants.globex.sources.st.secrets"
            ]
        );
        assert!(old.changed(&old.clone()).is_empty());
    }
}
