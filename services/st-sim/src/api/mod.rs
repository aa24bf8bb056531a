//! ServiceTitan's REST endpoints as st-sim imitates them — its paths, shapes and status
//! codes — one file per ServiceTitan module (`telecom`, `crm`, `jpm`, `dispatch`, and
//! `settings` for the reference lookups), so each file mirrors one part of ServiceTitan's
//! API docs. Shared plumbing sits beside them: `query` (paging, filters, exports, JSON
//! answers) and `views` (seed data → wire models, also used by the admin endpoints).

/// Runs `Sim::admit` (faults, app key, token, tenant, rate limit) and yields the tenant id,
/// or returns the refusal from the calling handler.
macro_rules! admit {
    ($sim:expr, $op:expr, $headers:expr, $tenant:expr) => {
        match $sim.admit($op, &$headers, &$tenant).await {
            Ok(id) => id,
            Err(response) => return response,
        }
    };
}

mod crm;
mod dispatch;
mod jpm;
mod query;
mod settings;
mod telecom;
mod views;

pub(crate) use crm::{export_location_contacts, export_locations, get_location, location_contacts};
pub(crate) use dispatch::{capacity, technician_shifts};
pub(crate) use jpm::{confirm, get_appointment, get_job, list_jobs, unconfirm};
pub(crate) use settings::{business_units, call_reasons, tag_types};
pub(crate) use telecom::{export_calls, get_call, list_calls, update_call};
pub(crate) use views::{export_call, job_json};
