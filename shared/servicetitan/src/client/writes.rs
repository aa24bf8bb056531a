//! The only operations that change anything in ServiceTitan, and [`WRITES`] lists them:
//! the call update (reason, type, tags, job link — written as a read-modify-write of the
//! full record), the appointment confirmation, and booking's job create, appointment
//! reschedule, job cancel and customer create. A business grants exactly these; anything
//! new that writes belongs here, where a reviewer sees it. Settings, scheduling policies,
//! capacity planning, shifts, business hours and arrival windows are never written.
//!
//! A create is sent once: ServiceTitan has no idempotency key, so when its answer is lost
//! the caller looks the record up (a job by its external data) before creating again.

use super::TenantClient;
use crate::error::{ErrorKind, StError};
use crate::models::*;
use crate::update::{AssembleError, CallChange, CurrentCall};
use reqwest::Method;

/// Every operation name this client writes with (as errors, logs and metrics name them).
pub const WRITES: [&str; 7] = [
    "update call",
    "confirm appointment",
    "remove appointment confirmation",
    "create job",
    "reschedule appointment",
    "cancel job",
    "create customer",
];

impl TenantClient {
    /// `PUT /telecom/v2/tenant/{t}/calls/{id}` with the full body.
    pub async fn put_call(
        &self,
        id: i64,
        body: &CallInUpdateModelV2,
    ) -> Result<DetailedCall, StError> {
        let url = self.path("telecom", "v2", &format!("calls/{id}"));
        self.exchange("update call", Method::PUT, url, body).await
    }

    /// Read-modify-write: applies `change` to `current` and writes the full call back.
    pub async fn update_call(
        &self,
        current: &CurrentCall,
        change: &CallChange,
    ) -> Result<DetailedCall, StError> {
        let body = current
            .update(change)
            .map_err(|e| self.assemble_error("update call", e))?;
        self.put_call(current.id, &body).await
    }

    pub(super) fn assemble_error(&self, operation: &'static str, e: AssembleError) -> StError {
        // A stale export heals once the caller reads the export again; the rest cannot.
        let kind = if matches!(e, AssembleError::StaleExport { .. }) {
            ErrorKind::Transient
        } else {
            ErrorKind::Permanent
        };
        StError::new(operation, &self.settings.tenant, kind, e.to_string())
    }

    /// `PUT /jpm/v2/tenant/{t}/appointments/{id}/confirmation`.
    pub async fn confirm_appointment(&self, id: i64) -> Result<(), StError> {
        let url = self.path("jpm", "v2", &format!("appointments/{id}/confirmation"));
        self.execute("confirm appointment", Method::PUT, url, &Vec::new(), None)
            .await
            .map(|_| ())
    }

    /// `DELETE /jpm/v2/tenant/{t}/appointments/{id}/confirmation`.
    pub async fn unconfirm_appointment(&self, id: i64) -> Result<(), StError> {
        let url = self.path("jpm", "v2", &format!("appointments/{id}/confirmation"));
        self.execute(
            "remove appointment confirmation",
            Method::DELETE,
            url,
            &Vec::new(),
            None,
        )
        .await
        .map(|_| ())
    }

    /// `POST /jpm/v2/tenant/{t}/jobs`, sent once (see the module doc).
    pub async fn create_job(&self, body: &CreateJob) -> Result<Job, StError> {
        self.create("create job", self.path("jpm", "v2", "jobs"), body)
            .await
    }

    /// `POST /crm/v2/tenant/{t}/customers` with its first location, sent once.
    pub async fn create_customer(&self, body: &CreateCustomer) -> Result<CreatedCustomer, StError> {
        self.create("create customer", self.path("crm", "v2", "customers"), body)
            .await
    }

    /// `PATCH /jpm/v2/tenant/{t}/appointments/{id}/reschedule`: the same times sent twice
    /// leave the same appointment, so a lost answer is simply asked again.
    pub async fn reschedule_appointment(
        &self,
        id: i64,
        body: &RescheduleAppointment,
    ) -> Result<Appointment, StError> {
        let url = self.path("jpm", "v2", &format!("appointments/{id}/reschedule"));
        self.exchange("reschedule appointment", Method::PATCH, url, body)
            .await
    }

    /// `PUT /jpm/v2/tenant/{t}/jobs/{id}/cancel`.
    pub async fn cancel_job(&self, id: i64, body: &CancelJob) -> Result<(), StError> {
        let json = self.to_json("cancel job", body)?;
        let url = self.path("jpm", "v2", &format!("jobs/{id}/cancel"));
        self.execute("cancel job", Method::PUT, url, &Vec::new(), Some(json))
            .await
            .map(|_| ())
    }

    async fn create<T: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        url: String,
        body: &T,
    ) -> Result<R, StError> {
        let body = Some(self.to_json(operation, body)?);
        let query = Vec::new();
        let text = self
            .send(super::transport::ApiRequest {
                operation,
                method: Method::POST,
                url,
                query: &query,
                body,
                repeatable: false,
            })
            .await?;
        self.parse(operation, &text)
    }
}
