//! ServiceTitan's REST endpoints as st-sim imitates them — its paths, shapes and status
//! codes — one file per ServiceTitan module (`telecom`, `crm`, `jpm`, `dispatch`, and
//! `settings` for the reference lookups), so each file mirrors one part of ServiceTitan's
//! API docs. Shared plumbing sits beside them: `query` (paging, filters, exports, JSON
//! answers) and `views` (seed data → wire models, also used by the admin endpoints).

/// Runs [`Api::admit`] (faults, app key, token, tenant, rate limit) and yields the tenant
/// id, or returns the refusal from the calling handler.
macro_rules! admit {
    ($api:expr, $op:expr) => {
        match $api.admit($op).await {
            Ok(id) => id,
            Err(response) => return response,
        }
    };
}

/// The request body as exactly `$t` (ServiceTitan refuses unknown and missing fields), or
/// its 400 problem document naming `$field`, from the calling handler.
macro_rules! strict_body {
    ($t:ty, $body:expr, $field:expr) => {
        match serde_json::from_slice::<$t>(&$body) {
            Ok(value) => value,
            Err(e) => {
                return crate::state::validation(
                    "One or more validation errors occurred.",
                    $field,
                    e.to_string(),
                );
            }
        }
    };
}

/// The path's record id, or ServiceTitan's 404 from the calling handler.
macro_rules! record_id {
    ($api:expr) => {
        match $api.id() {
            Ok(id) => id,
            Err(response) => return response,
        }
    };
}

use crate::Shared;
use crate::seed::TenantData;
use crate::state::problem;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

mod crm;
mod customers;
mod dispatch;
mod jobs;
mod jpm;
mod query;
mod settings;
mod telecom;
mod views;

/// A ServiceTitan API request as every handler takes it: the simulator, the caller's
/// headers, the path's tenant (and record id, on routes with `{id}`) and the query string.
/// One extractor, so a handler's signature says only what is particular to it.
pub(crate) struct Api {
    pub s: Shared,
    headers: HeaderMap,
    tenant: String,
    id: Option<String>,
    pub p: HashMap<String, String>,
}

impl FromRequestParts<Shared> for Api {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let Path(mut path) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(p) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Api {
            s: state.clone(),
            headers: parts.headers.clone(),
            tenant: path.remove("tenant").unwrap_or_default(),
            id: path.remove("id"),
            p,
        })
    }
}

impl Api {
    /// Admits the request as `operation` (counted under that name): the tenant's id, or
    /// the answer to give instead.
    pub async fn admit(&self, operation: &str) -> Result<u64, Response> {
        self.s
            .sim
            .admit(operation, &self.headers, &self.tenant)
            .await
    }

    /// `GET …/{id}`: admits the request as `operation`, then answers the record `find`
    /// makes of the tenant's data and the path's id, or ServiceTitan's 404 naming `what`.
    pub async fn get_record<T: serde::Serialize>(
        self,
        operation: &str,
        what: &str,
        find: impl FnOnce(&TenantData, i64) -> Option<T>,
    ) -> Response {
        let tid = admit!(self, operation);
        let id = record_id!(self);
        match self.s.sim.with_tenant(tid, |t, _| find(t, id)) {
            Some(record) => query::json(&record),
            None => problem(StatusCode::NOT_FOUND, &format!("{what} not found")),
        }
    }

    /// `GET …` of a paged list: admits the request as `operation`, then answers the page
    /// the query asks for of the items `items` makes of the tenant's data and the query.
    pub async fn list<T: serde::Serialize + Clone>(
        self,
        operation: &str,
        items: impl FnOnce(&TenantData, &HashMap<String, String>) -> Vec<T>,
    ) -> Response {
        let tid = admit!(self, operation);
        self.list_admitted(tid, items)
    }

    /// `GET …/export/…` (version-ordered, whole records per page): admits the request as
    /// `operation`, reads the `from` cursor (ServiceTitan's 400 if it is not one) and the
    /// seed's export page size, then answers what `page` makes of the tenant's data, the
    /// cursor and the page size.
    pub async fn export(
        self,
        operation: &str,
        page: impl FnOnce(&TenantData, u64, usize) -> Response,
    ) -> Response {
        let tid = admit!(self, operation);
        let from = match query::export_cursor(&self.p) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let page_size = query::export_page_size(&self.s);
        self.s.sim.with_tenant(tid, |t, _| page(t, from, page_size))
    }

    /// [`Self::list`] for a request already admitted (tenant `tid`).
    pub fn list_admitted<T: serde::Serialize + Clone>(
        self,
        tid: u64,
        items: impl FnOnce(&TenantData, &HashMap<String, String>) -> Vec<T>,
    ) -> Response {
        let items = self.s.sim.with_tenant(tid, |t, _| items(t, &self.p));
        query::paginate(items, &self.p).map_or_else(|r| r, |page| query::json(&page))
    }

    /// The path's record id; a route whose id is not a number is not found, as in
    /// ServiceTitan (its routes take numeric ids only).
    pub fn id(&self) -> Result<i64, Response> {
        self.id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| problem(StatusCode::NOT_FOUND, "Not Found"))
    }
}

pub(crate) use crm::{export_location_contacts, export_locations, get_location, location_contacts};
pub(crate) use customers::{create_customer, customers, locations};
pub(crate) use dispatch::{arrival_windows, business_hours, capacity, technician_shifts};
pub(crate) use jobs::{cancel, create_job, job_cancel_reasons, job_types, reschedule};
pub(crate) use jpm::{
    confirm, export_appointments, get_appointment, get_job, list_jobs, unconfirm,
};
pub(crate) use settings::{business_units, call_reasons, campaigns, tag_types};
pub(crate) use telecom::{export_calls, get_call, list_calls, update_call};
pub(crate) use views::{export_call, job_json};
