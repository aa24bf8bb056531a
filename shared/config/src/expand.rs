//! `${VAR}` expansion and `*_file` secrets, applied to the parsed TOML tree before it is
//! turned into typed config.
//!
//! Doing this on the untyped tree (rather than in each field's deserializer) means every
//! string in the file follows the same rules, and every error can name the exact key it
//! came from — `tenants.acme.sources.twilio.secrets[0]` — which is what an operator needs
//! when a deployment refuses to start.
//!
//! Rules:
//! - `${VAR}` is replaced by the variable's value; unset is an error (never a silent literal).
//! - `${VAR:-default}` uses `default` when `VAR` is unset *or empty*, as in POSIX shells.
//! - `$$` is a literal `$`. A `$` followed by anything else is kept as is.
//! - A key `name_file = "path"` is replaced by `name = <file contents, trailing newline
//!   trimmed>`; for `secrets_file` every non-empty line is one secret. Setting both
//!   `name` and `name_file` is an error.

use crate::ConfigError;
use toml::{Table, Value};

/// Where `${VAR}` values come from. The process environment in production; a map in tests,
/// so tests never mutate global state.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<S: std::hash::BuildHasher> Env for std::collections::HashMap<String, String, S> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Expands every string in `table` in place. `path` is the dotted key of `table`.
pub(crate) fn expand_table(
    table: &mut Table,
    path: &str,
    env: &dyn Env,
) -> Result<(), ConfigError> {
    // First expand values, then resolve `*_file` keys (their paths may use `${VAR}` too).
    for (key, value) in table.iter_mut() {
        expand_value(value, &join(path, key), env)?;
    }
    // Only string values: a table named `call_file` (a valid source name) is not a file key.
    let file_keys: Vec<String> = table
        .iter()
        .filter(|(k, v)| k.ends_with("_file") && k.len() > "_file".len() && v.is_str())
        .map(|(k, _)| k.clone())
        .collect();
    for file_key in file_keys {
        let target = file_key.trim_end_matches("_file").to_owned();
        let key_path = join(path, &file_key);
        if table.contains_key(&target) {
            return Err(ConfigError::Invalid {
                key: key_path,
                message: format!("set either `{target}` or `{file_key}`, not both"),
            });
        }
        let Some(Value::String(file)) = table.remove(&file_key) else {
            return Err(ConfigError::Invalid {
                key: key_path,
                message: "expected a file path (a string)".into(),
            });
        };
        let contents = std::fs::read_to_string(&file).map_err(|err| ConfigError::SecretFile {
            key: key_path.clone(),
            path: file.clone(),
            reason: err.to_string(),
        })?;
        let value = if target == "secrets" {
            Value::Array(
                contents
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_owned()))
                    .collect(),
            )
        } else {
            Value::String(contents.trim_end_matches(['\n', '\r']).to_owned())
        };
        table.insert(target, value);
    }
    Ok(())
}

fn expand_value(value: &mut Value, path: &str, env: &dyn Env) -> Result<(), ConfigError> {
    match value {
        Value::String(s) if s.contains('$') => *s = expand_str(s, path, env)?,
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_value(item, &format!("{path}[{i}]"), env)?;
            }
        }
        Value::Table(t) => expand_table(t, path, env)?,
        _ => {}
    }
    Ok(())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Expands `${VAR}`, `${VAR:-default}` and `$$` in one string.
pub fn expand_str(input: &str, key: &str, env: &dyn Env) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('{') {
            let Some(end) = inner.find('}') else {
                return Err(ConfigError::Invalid {
                    key: key.to_owned(),
                    message: "unterminated `${` (write `$$` for a literal `$`)".into(),
                });
            };
            let expr = &inner[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (expr, None),
            };
            if default.is_some_and(|d| d.contains('$')) {
                // `${A:-${B}}` would otherwise end at the first `}` and leave a literal.
                return Err(ConfigError::Invalid {
                    key: key.to_owned(),
                    message: format!(
                        "`${{{expr}` nests a reference in a default, which is not supported"
                    ),
                });
            }
            if !is_var_name(name) {
                return Err(ConfigError::Invalid {
                    key: key.to_owned(),
                    message: format!("`${{{expr}}}` is not a valid variable reference"),
                });
            }
            match (env.var(name), default) {
                (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(ConfigError::UnsetVariable {
                        variable: name.to_owned(),
                        key: key.to_owned(),
                    });
                }
            }
            rest = &inner[end + 1..];
        } else if after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            // `$VAR` without braces would be kept literally — and a literal where a secret
            // was meant is a secret anyone reading the file knows.
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            return Err(ConfigError::Invalid {
                key: key.to_owned(),
                message: format!(
                    "write ${{{name}}} to use the variable {name} (or $$ for a literal $)"
                ),
            });
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expands_set_variables_and_defaults() {
        let e = env(&[("A", "alpha"), ("EMPTY", "")]);
        assert_eq!(expand_str("x${A}y", "k", &e).unwrap(), "xalphay");
        assert_eq!(expand_str("${B:-beta}", "k", &e).unwrap(), "beta");
        assert_eq!(expand_str("${A:-beta}", "k", &e).unwrap(), "alpha");
        assert_eq!(expand_str("${EMPTY:-d}", "k", &e).unwrap(), "d");
        assert_eq!(expand_str("${B:-}", "k", &e).unwrap(), "");
        assert_eq!(
            expand_str("cost $$5 $1 $", "k", &e).unwrap(),
            "cost $5 $1 $"
        );
    }

    #[test]
    fn unset_variable_names_variable_and_key() {
        let err = expand_str("${NOPE}", "tenants.acme.x", &env(&[])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("NOPE") && msg.contains("tenants.acme.x"),
            "{msg}"
        );
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(expand_str("${A", "k", &env(&[])).is_err());
        assert!(expand_str("${1A}", "k", &env(&[])).is_err());
        assert!(expand_str("${}", "k", &env(&[])).is_err());
        // Would silently become literals (and thus known "secrets") if accepted.
        assert!(
            expand_str("$ACME_KEY", "k", &env(&[("ACME_KEY", "x")]))
                .unwrap_err()
                .to_string()
                .contains("${ACME_KEY}")
        );
        assert!(expand_str("${A:-${B}}", "k", &env(&[("B", "x")])).is_err());
    }

    proptest::proptest! {
        #[test]
        fn strings_without_dollar_are_unchanged(s in "[^$]*") {
            proptest::prop_assert_eq!(expand_str(&s, "k", &env(&[])).unwrap(), s);
        }
    }
}
