//! [`CallClass`], the one classification vocabulary of Switchboard.
//!
//! A call is booked, unbooked, excused, not a lead or abandoned — ServiceTitan's own
//! classification. The same five values are the agent's verdict (`outcome` of `call.outcome`
//! and `call.reclassify.requested`), the key of a tenant's calls policy
//! (`[tenants.x.calls.outcomes.booked]`) and the class analytics counts in both views, so
//! they are one type, defined here in the bottom crate every other one depends on. Its
//! serde spelling is snake_case (`not_lead`); the JSON Schema (feature `schema`) keeps the
//! name and description the checked-in `docs/schemas/` have always had (`Outcome`).
//!
//! ServiceTitan spells the same values in PascalCase (`NotLead`). Its wire type,
//! `switchboard_servicetitan::models::CallType`, stays a separate external type with one
//! `From` each way; [`CallClass::servicetitan_name`] and
//! [`CallClass::from_servicetitan_name`] are that spelling for the places that hold it as
//! text (the config's `call_type` override, events' `StCallState.call_type`).

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// How a call is classified (ServiceTitan's vocabulary): what the agent made of it, what a
/// policy maps, what analytics counts.
///
/// * `Booked`: a job was booked;
/// * `Unbooked`: a lead that was not booked — counts against the booking rate;
/// * `Excused`: a lead that could not be booked for an acceptable reason — excluded from
///   the rate;
/// * `NotLead`: not a lead (vendor, wrong number, existing job) — excluded from the rate;
/// * `Abandoned`: the caller hung up — counted beside the rate, not in it.
///
/// The variants carry no doc comments of their own on purpose: schemars would turn each
/// into a `oneOf` branch and change the checked-in schemas. The derived `Ord` (declaration
/// order) is part of analytics' last-writer-wins tie-break, and the derived `Debug` (the
/// variant name) is part of analytics' reclassification signatures: keep both as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(
        rename = "Outcome",
        description = "What the agent made of a call (ServiceTitan's classification vocabulary)."
    )
)]
pub enum CallClass {
    Booked,
    Unbooked,
    Excused,
    NotLead,
    Abandoned,
}

/// ServiceTitan's spellings, in the order its `CallType` declares them (the order the
/// config's error message has always listed them in).
const SERVICETITAN_NAMES: &[&str] = &["Abandoned", "Unbooked", "Excused", "Booked", "NotLead"];

impl CallClass {
    /// Every class, in declaration order.
    pub const ALL: [CallClass; 5] = [
        CallClass::Booked,
        CallClass::Unbooked,
        CallClass::Excused,
        CallClass::NotLead,
        CallClass::Abandoned,
    ];

    /// The serde (snake_case) spelling: `booked`, `not_lead`, ….
    pub const fn as_str(self) -> &'static str {
        match self {
            CallClass::Booked => "booked",
            CallClass::Unbooked => "unbooked",
            CallClass::Excused => "excused",
            CallClass::NotLead => "not_lead",
            CallClass::Abandoned => "abandoned",
        }
    }

    /// ServiceTitan's (PascalCase) spelling: `Booked`, `NotLead`, ….
    pub const fn servicetitan_name(self) -> &'static str {
        match self {
            CallClass::Booked => "Booked",
            CallClass::Unbooked => "Unbooked",
            CallClass::Excused => "Excused",
            CallClass::NotLead => "NotLead",
            CallClass::Abandoned => "Abandoned",
        }
    }

    /// The class ServiceTitan spells `name` (exactly, case-sensitive); `None` for anything
    /// else.
    pub fn from_servicetitan_name(name: &str) -> Option<CallClass> {
        CallClass::ALL
            .into_iter()
            .find(|c| c.servicetitan_name() == name)
    }
}

impl fmt::Display for CallClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A [`CallClass`] written in ServiceTitan's spelling (the config's `call_type`).
struct ServiceTitanSpelling(CallClass);

impl<'de> Deserialize<'de> for ServiceTitanSpelling {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ServiceTitanSpelling;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a ServiceTitan call type (Abandoned, Unbooked, Excused, Booked or NotLead)",
                )
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                CallClass::from_servicetitan_name(v)
                    .map(ServiceTitanSpelling)
                    .ok_or_else(|| E::unknown_variant(v, SERVICETITAN_NAMES))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// `deserialize_with` for an optional class in ServiceTitan's spelling (`NotLead`), as
/// users write ServiceTitan's call types in the config file. Unknown names fail with
/// serde's "unknown variant `…`, expected one of `Abandoned`, …" (the config's message
/// has always been that). Put `#[serde(default)]` beside it so a missing key is `None`.
pub(crate) fn deserialize_servicetitan_spelling<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<CallClass>, D::Error> {
    Ok(Option::<ServiceTitanSpelling>::deserialize(deserializer)?.map(|s| s.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Snake {
        c: CallClass,
    }

    #[derive(Debug, Deserialize)]
    struct Pascal {
        #[serde(default, deserialize_with = "deserialize_servicetitan_spelling")]
        c: Option<CallClass>,
    }

    #[test]
    fn spellings_agree_with_serde_and_each_other() {
        for c in CallClass::ALL {
            let parsed: Snake = toml::from_str(&format!("c = \"{}\"", c.as_str())).unwrap();
            assert_eq!(parsed.c, c);
            assert_eq!(c.to_string(), c.as_str());
            assert_eq!(
                CallClass::from_servicetitan_name(c.servicetitan_name()),
                Some(c)
            );
            assert!(SERVICETITAN_NAMES.contains(&c.servicetitan_name()));
            let parsed: Pascal =
                toml::from_str(&format!("c = \"{}\"", c.servicetitan_name())).unwrap();
            assert_eq!(parsed.c, Some(c));
        }
        assert_eq!(CallClass::NotLead.as_str(), "not_lead");
        assert_eq!(CallClass::NotLead.servicetitan_name(), "NotLead");
        assert_eq!(CallClass::from_servicetitan_name("not_lead"), None);
    }

    #[test]
    fn the_servicetitan_spelling_is_exact_and_optional() {
        let missing: Pascal = toml::from_str("").unwrap();
        assert_eq!(missing.c, None);
        let err = toml::from_str::<Pascal>("c = \"not_lead\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "unknown variant `not_lead`, expected one of `Abandoned`, `Unbooked`, `Excused`, `Booked`, `NotLead`"
            ),
            "{err}"
        );
    }
}
