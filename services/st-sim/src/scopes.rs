//! Which OAuth scope each ServiceTitan operation st-sim imitates needs, so a tenant's API
//! user can be given less than everything (`withheld_scopes` in the seed, or
//! `POST /_sim/tenants/{tenant}/scopes`): the token response then names only the granted
//! scopes, and an operation whose scope is withheld answers `403`, as ServiceTitan does
//! when the business granted a custom permission set without it. `switchboard doctor` is
//! tested against exactly this.
//!
//! The scope names follow ServiceTitan's (`tn.{module}.{resource}:{r|w}`); the capacity
//! query is a `POST` and needs the write scope, as ServiceTitan's documents say.

/// (operation, scope), every operation st-sim serves.
pub const OPERATION_SCOPES: [(&str, &str); 30] = [
    ("list calls", "tn.tlc.calls:r"),
    ("get call", "tn.tlc.calls:r"),
    ("export calls", "tn.tlc.calls:r"),
    ("update call", "tn.tlc.calls:w"),
    ("list call reasons", "tn.jbce.callreasons:r"),
    ("list tag types", "tn.stt.tagtypes:r"),
    ("list business units", "tn.stt.businessunits:r"),
    ("list jobs", "tn.jpm.jobs:r"),
    ("get job", "tn.jpm.jobs:r"),
    ("list job types", "tn.jpm.jobtypes:r"),
    ("list job cancel reasons", "tn.jpm.jobcancelreasons:r"),
    ("create job", "tn.jpm.jobs:w"),
    ("cancel job", "tn.jpm.jobs:w"),
    ("get appointment", "tn.jpm.appointments:r"),
    ("export appointments", "tn.jpm.appointments:r"),
    ("reschedule appointment", "tn.jpm.appointments:w"),
    ("confirm appointment", "tn.jpm.appointments:w"),
    ("remove appointment confirmation", "tn.jpm.appointments:w"),
    ("query capacity", "tn.dis.capacity:w"),
    ("list technician shifts", "tn.dis.technicianshifts:r"),
    ("list arrival windows", "tn.dis.arrivalwindows:r"),
    ("get business hours", "tn.dis.businesshours:r"),
    ("list customers", "tn.crm.customers:r"),
    ("create customer", "tn.crm.customers:w"),
    ("list locations", "tn.crm.locations:r"),
    ("get location", "tn.crm.locations:r"),
    ("list location contacts", "tn.crm.locations:r"),
    ("export locations", "tn.crm.locations:r"),
    ("export location contacts", "tn.crm.locations:r"),
    ("list campaigns", "tn.mkt.campaigns:r"),
];

/// The scope `operation` needs, if st-sim knows the operation.
pub fn scope_of(operation: &str) -> Option<&'static str> {
    OPERATION_SCOPES
        .iter()
        .find(|(op, _)| *op == operation)
        .map(|(_, scope)| *scope)
}

/// Every scope, once each, in a stable order: what a token grants by default.
pub fn all_scopes() -> Vec<&'static str> {
    let mut scopes: Vec<&str> = OPERATION_SCOPES.iter().map(|(_, s)| *s).collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}

/// The `scope` of a token for a tenant that withholds `withheld`.
pub fn granted(withheld: &[String]) -> String {
    all_scopes()
        .into_iter()
        .filter(|s| !withheld.iter().any(|w| w == s))
        .collect::<Vec<_>>()
        .join(" ")
}
