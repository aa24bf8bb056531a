//! The read endpoints. Settings, scheduling and capacity planning are only ever read:
//! `capacity` is a POST by ServiceTitan's design but a query that changes nothing.

use super::{Query, TenantClient, all_pages, paging};
use crate::error::StError;
use crate::models::*;
use crate::update::CurrentCall;
use reqwest::Method;

impl TenantClient {
    // ---- telecom (calls) ----

    /// `GET /telecom/v3/tenant/{t}/calls` with filters such as `createdOnOrAfter`,
    /// `createdBefore`, `callerPhoneNumber`, `phoneNumberCalled`, `sid`, `page`, `pageSize`.
    pub async fn list_calls(&self, query: Query) -> Result<Page<CallListItem>, StError> {
        self.get("list calls", self.path("telecom", "v3", "calls"), query)
            .await
    }

    /// `GET /telecom/v2/tenant/{t}/calls/{id}`.
    pub async fn get_call(&self, id: i64) -> Result<CallRecord, StError> {
        self.get(
            "get call",
            self.path("telecom", "v2", &format!("calls/{id}")),
            Vec::new(),
        )
        .await
    }

    /// `GET /telecom/v2/tenant/{t}/export/calls?from=…`. Pass the previous page's
    /// `continueFrom` (persist it to resume later).
    pub async fn export_calls(
        &self,
        from: Option<&str>,
        include_recent_changes: bool,
    ) -> Result<ExportPage<ExportCall>, StError> {
        self.get(
            "export calls",
            self.path("telecom", "v2", "export/calls"),
            export_query(from, include_recent_changes),
        )
        .await
    }

    /// Reads everything a call update must send back: the call record, the location and
    /// its contacts. `export` is the call's latest export record (workers keep it).
    pub async fn current_call(&self, export: &ExportCall) -> Result<CurrentCall, StError> {
        self.current_call_with(export, None).await
    }

    /// [`Self::current_call`] with the location and its contacts already known (e.g. from a
    /// mirror of the CRM exports): one request, the v2 call record. A `known` location that
    /// is not the export's is ignored and read from CRM.
    pub async fn current_call_with(
        &self,
        export: &ExportCall,
        known: Option<(Location, Vec<LocationContact>)>,
    ) -> Result<CurrentCall, StError> {
        let record = self.get_call(export.id).await?;
        let location = match (&export.location, known) {
            (Some(l), Some(known)) if known.0.id == l.id => Some(known),
            (Some(l), _) => Some((
                self.get_location(l.id).await?,
                self.location_contacts(l.id).await?,
            )),
            (None, _) => None,
        };
        CurrentCall::assemble(
            &record,
            export,
            location.as_ref().map(|(l, c)| (l, c.as_slice())),
        )
        .map_err(|e| self.assemble_error("update call", e))
    }

    // ---- settings and reference data (read-only) ----

    /// `GET /jbce/v2/tenant/{t}/call-reasons`.
    pub async fn call_reasons(
        &self,
        page: u32,
        page_size: u32,
    ) -> Result<Page<CallReason>, StError> {
        self.get(
            "list call reasons",
            self.path("jbce", "v2", "call-reasons"),
            paging(page, page_size),
        )
        .await
    }

    /// `GET /settings/v2/tenant/{t}/tag-types`.
    pub async fn tag_types(&self, page: u32, page_size: u32) -> Result<Page<TagType>, StError> {
        self.get(
            "list tag types",
            self.path("settings", "v2", "tag-types"),
            paging(page, page_size),
        )
        .await
    }

    /// `GET /settings/v2/tenant/{t}/business-units`.
    pub async fn business_units(
        &self,
        page: u32,
        page_size: u32,
    ) -> Result<Page<BusinessUnit>, StError> {
        self.get(
            "list business units",
            self.path("settings", "v2", "business-units"),
            paging(page, page_size),
        )
        .await
    }

    /// `GET /crm/v2/tenant/{t}/locations/{id}`.
    pub async fn get_location(&self, id: i64) -> Result<Location, StError> {
        self.get(
            "get location",
            self.path("crm", "v2", &format!("locations/{id}")),
            Vec::new(),
        )
        .await
    }

    /// `GET /crm/v2/tenant/{t}/export/locations`: locations changed since `from`.
    pub async fn export_locations(
        &self,
        from: Option<&str>,
    ) -> Result<ExportPage<Location>, StError> {
        let query: Query = from.map(|f| ("from", f.to_owned())).into_iter().collect();
        self.get(
            "export locations",
            self.path("crm", "v2", "export/locations"),
            query,
        )
        .await
    }

    /// `GET /crm/v2/tenant/{t}/export/locations/contacts`: location contacts changed since
    /// `from` (removed ones with `active: false`).
    pub async fn export_location_contacts(
        &self,
        from: Option<&str>,
    ) -> Result<ExportPage<ExportLocationContact>, StError> {
        let query: Query = from.map(|f| ("from", f.to_owned())).into_iter().collect();
        self.get(
            "export location contacts",
            self.path("crm", "v2", "export/locations/contacts"),
            query,
        )
        .await
    }

    /// `GET /crm/v2/tenant/{t}/locations/{id}/contacts` (every page).
    pub async fn location_contacts(&self, id: i64) -> Result<Vec<LocationContact>, StError> {
        all_pages(500, |page, size| {
            self.get(
                "list location contacts",
                self.path("crm", "v2", &format!("locations/{id}/contacts")),
                paging(page, size),
            )
        })
        .await
    }

    // ---- jobs and appointments ----

    /// `GET /jpm/v2/tenant/{t}/jobs/{id}`.
    pub async fn get_job(&self, id: i64) -> Result<Job, StError> {
        self.get(
            "get job",
            self.path("jpm", "v2", &format!("jobs/{id}")),
            Vec::new(),
        )
        .await
    }

    /// `GET /jpm/v2/tenant/{t}/jobs` with filters (`page`, `pageSize`, `ids`, `modifiedOnOrAfter`, …).
    pub async fn list_jobs(&self, query: Query) -> Result<Page<Job>, StError> {
        self.get("list jobs", self.path("jpm", "v2", "jobs"), query)
            .await
    }

    /// `GET /jpm/v2/tenant/{t}/appointments/{id}`.
    pub async fn get_appointment(&self, id: i64) -> Result<Appointment, StError> {
        self.get(
            "get appointment",
            self.path("jpm", "v2", &format!("appointments/{id}")),
            Vec::new(),
        )
        .await
    }

    /// `GET /jpm/v2/tenant/{t}/export/appointments`: appointments changed since `from` (a
    /// previous page's `continueFrom`, or a date such as `2026-12-01`, as ServiceTitan
    /// takes it). Booking follows it to drop capacity it cached for the days that changed.
    pub async fn export_appointments(
        &self,
        from: Option<&str>,
        include_recent_changes: bool,
    ) -> Result<ExportPage<Appointment>, StError> {
        self.get(
            "export appointments",
            self.path("jpm", "v2", "export/appointments"),
            export_query(from, include_recent_changes),
        )
        .await
    }

    // ---- dispatch (read-only) ----

    /// `POST /dispatch/v2/tenant/{t}/capacity` — a query despite the verb; changes nothing.
    pub async fn capacity(&self, request: &CapacityRequest) -> Result<CapacityResponse, StError> {
        let url = self.path("dispatch", "v2", "capacity");
        self.exchange("query capacity", Method::POST, url, request)
            .await
    }

    /// `GET /dispatch/v2/tenant/{t}/technician-shifts` with filters (`startsOnOrAfter`, …).
    pub async fn technician_shifts(&self, query: Query) -> Result<Page<TechnicianShift>, StError> {
        self.get(
            "list technician shifts",
            self.path("dispatch", "v2", "technician-shifts"),
            query,
        )
        .await
    }

    // ---- booking (read-only) ----

    /// `GET /jpm/v2/tenant/{t}/job-types` (active ones by default).
    pub async fn job_types(&self, query: Query) -> Result<Page<JobType>, StError> {
        self.get("list job types", self.path("jpm", "v2", "job-types"), query)
            .await
    }

    /// `GET /jpm/v2/tenant/{t}/job-cancel-reasons`.
    pub async fn job_cancel_reasons(&self, query: Query) -> Result<Page<JobCancelReason>, StError> {
        self.get(
            "list job cancel reasons",
            self.path("jpm", "v2", "job-cancel-reasons"),
            query,
        )
        .await
    }

    /// `GET /dispatch/v2/tenant/{t}/arrival-windows` (active ones by default).
    pub async fn arrival_windows(&self, query: Query) -> Result<Page<ArrivalWindow>, StError> {
        self.get(
            "list arrival windows",
            self.path("dispatch", "v2", "arrival-windows"),
            query,
        )
        .await
    }

    /// `GET /dispatch/v2/tenant/{t}/business-hours`.
    pub async fn business_hours(&self) -> Result<BusinessHours, StError> {
        self.get(
            "get business hours",
            self.path("dispatch", "v2", "business-hours"),
            Vec::new(),
        )
        .await
    }

    /// `GET /crm/v2/tenant/{t}/customers` with filters (`phone`, `ids`, …).
    pub async fn customers(&self, query: Query) -> Result<Page<Customer>, StError> {
        self.get("list customers", self.path("crm", "v2", "customers"), query)
            .await
    }

    /// `GET /crm/v2/tenant/{t}/locations` with filters (`customerId`, …).
    pub async fn locations(&self, query: Query) -> Result<Page<Location>, StError> {
        self.get("list locations", self.path("crm", "v2", "locations"), query)
            .await
    }

    /// `GET /marketing/v2/tenant/{t}/campaigns` (ServiceTitan's Marketing API, whose
    /// OpenAPI document is not among those in `shared/servicetitan/openapi/`): the
    /// campaigns a job is booked under, by name.
    pub async fn campaigns(&self, query: Query) -> Result<Page<Campaign>, StError> {
        self.get(
            "list campaigns",
            self.path("marketing", "v2", "campaigns"),
            query,
        )
        .await
    }
}

/// An export's query: where to resume (`from`), and whether to see the most recent changes
/// at once (which may repeat some on the next page).
fn export_query(from: Option<&str>, include_recent_changes: bool) -> Query {
    let mut query: Query = from.map(|f| ("from", f.to_owned())).into_iter().collect();
    if include_recent_changes {
        query.push(("includeRecentChanges", "true".into()));
    }
    query
}
