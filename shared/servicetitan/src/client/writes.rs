//! The only operations that change anything in ServiceTitan: the call update (reason,
//! type, tags, job link — written as a read-modify-write of the full record) and the
//! appointment confirmation. A business grants exactly these; anything new that writes
//! belongs here, where a reviewer sees it.

use super::TenantClient;
use crate::error::{ErrorKind, StError};
use crate::models::*;
use crate::update::{AssembleError, CallChange, CurrentCall};
use reqwest::Method;

impl TenantClient {
    /// `PUT /telecom/v2/tenant/{t}/calls/{id}` with the full body.
    pub async fn put_call(
        &self,
        id: i64,
        body: &CallInUpdateModelV2,
    ) -> Result<DetailedCall, StError> {
        let json = self.to_json("update call", body)?;
        let url = self.path("telecom", "v2", &format!("calls/{id}"));
        let text = self
            .execute("update call", Method::PUT, url, &Vec::new(), Some(json))
            .await?;
        self.parse("update call", &text)
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
}
