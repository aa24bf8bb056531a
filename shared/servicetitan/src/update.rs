//! Read-modify-write for call updates.
//!
//! `PUT /telecom/v2/tenant/{t}/calls/{id}` takes the **full** `CallInUpdateModelV2`: any
//! field left out or sent empty is overwritten. No single read returns all of it — the v2
//! call record has the customer's address and contacts and the reason's lead flag, the
//! export record has `excuseMemo`, `tag` and the location, and the location's address and
//! contacts come from CRM — so [`CurrentCall::assemble`] merges them (taking everything the
//! fresh v2 record has from it, and only `excuseMemo`, `tag` and the location from the
//! export record, which must be as recent as the v2 record), and
//! [`CurrentCall::update`] applies a [`CallChange`] to produce the body. Both are pure.

use crate::models::*;

/// Everything a call update must send back, as ServiceTitan currently records it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentCall {
    pub id: i64,
    pub call_type: Option<CallType>,
    pub excuse_memo: String,
    pub campaign_id: Option<i64>,
    pub job_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub reason: Option<ReasonInput>,
    pub customer: PartyInput,
    pub location: PartyInput,
    pub tag: String,
}

/// What to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallChange {
    pub call_type: Option<Option<CallType>>,
    pub reason: Option<ReasonInput>,
    pub job_id: Option<Option<i64>>,
    pub excuse_memo: Option<String>,
    pub tag: Option<String>,
    pub campaign_id: Option<Option<i64>>,
    pub agent_id: Option<Option<i64>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssembleError {
    #[error("call {0}: the records disagree on which call this is")]
    Mismatch(i64),
    #[error(
        "call {id} changed after its export record (modifiedOn {export} vs {current}): read the export again before updating it"
    )]
    StaleExport {
        id: i64,
        export: String,
        current: String,
    },
    #[error("call {0} has no customer; ServiceTitan requires one in a call update")]
    NoCustomer(i64),
    #[error("call {0} has no location; ServiceTitan requires one in a call update")]
    NoLocation(i64),
    #[error("call {0} has no reason and the change sets none; ServiceTitan requires one")]
    NoReason(i64),
}

fn address_from_output(a: &AddressOutput) -> AddressInput {
    AddressInput {
        street: a.street.clone(),
        unit: a.unit.clone(),
        country: a.country.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        zip: a.zip.clone(),
        latitude: a.latitude,
        longitude: a.longitude,
    }
}

fn address_from_crm(a: &CrmAddress) -> AddressInput {
    AddressInput {
        street: a.street.clone(),
        unit: a.unit.clone().unwrap_or_default(),
        country: a.country.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        zip: a.zip.clone(),
        latitude: a.latitude,
        longitude: a.longitude,
    }
}

impl CurrentCall {
    /// Merges the three reads. `location` and `contacts` are the CRM records of the
    /// export's `location.id`.
    pub fn assemble(
        record: &CallRecord,
        export: &ExportCall,
        location: Option<(&Location, &[LocationContact])>,
    ) -> Result<Self, AssembleError> {
        let call = &record.lead_call;
        if call.id != export.id {
            return Err(AssembleError::Mismatch(export.id));
        }
        if export.modified_on != call.modified_on {
            // excuseMemo and tag come only from the export: an older export would put back
            // values someone has changed since.
            return Err(AssembleError::StaleExport {
                id: call.id,
                export: export.modified_on.clone(),
                current: call.modified_on.clone(),
            });
        }
        let customer = call
            .customer
            .as_ref()
            .ok_or(AssembleError::NoCustomer(call.id))?;
        let (location, contacts) = location.ok_or(AssembleError::NoLocation(call.id))?;
        if export
            .location
            .as_ref()
            .is_some_and(|l| l.id != location.id)
        {
            return Err(AssembleError::Mismatch(call.id));
        }
        Ok(Self {
            id: call.id,
            // Everything the fresh v2 record carries comes from it.
            call_type: call.call_type,
            excuse_memo: export.excuse_memo.clone(),
            campaign_id: call.campaign.as_ref().map(|c| c.id),
            // The v2 record is the job "bundle": its id is the linked job's (0 = none).
            job_id: (record.id > 0).then_some(record.id),
            agent_id: call.agent.as_ref().map(|a| a.id),
            reason: call.reason.as_ref().map(|r| ReasonInput {
                name: r.name.clone(),
                lead: r.lead,
            }),
            customer: PartyInput {
                id: customer.id,
                name: customer.name.clone(),
                address: address_from_output(&customer.address),
                contacts: customer
                    .contacts
                    .iter()
                    .map(|c| ContactInput {
                        id: c.id,
                        kind: c.kind.clone(),
                        value: c.value.clone(),
                        memo: c.memo.clone(),
                    })
                    .collect(),
            },
            location: PartyInput {
                id: location.id,
                name: location.name.clone(),
                address: address_from_crm(&location.address),
                contacts: contacts
                    .iter()
                    .map(|c| ContactInput {
                        id: Some(c.id),
                        kind: c.kind.clone(),
                        value: c.value.clone(),
                        memo: c.memo.clone().unwrap_or_default(),
                    })
                    .collect(),
            },
            tag: export.tag.clone(),
        })
    }

    /// The full update body: the current call with `change` applied.
    /// The call as it will be once `change` is written.
    pub fn apply(&self, change: &CallChange) -> Result<CurrentCall, AssembleError> {
        let reason = change
            .reason
            .clone()
            .or_else(|| self.reason.clone())
            .ok_or(AssembleError::NoReason(self.id))?;
        Ok(CurrentCall {
            call_type: change.call_type.unwrap_or(self.call_type),
            excuse_memo: change
                .excuse_memo
                .clone()
                .unwrap_or_else(|| self.excuse_memo.clone()),
            campaign_id: change.campaign_id.unwrap_or(self.campaign_id),
            job_id: change.job_id.unwrap_or(self.job_id),
            agent_id: change.agent_id.unwrap_or(self.agent_id),
            reason: Some(reason),
            tag: change.tag.clone().unwrap_or_else(|| self.tag.clone()),
            ..self.clone()
        })
    }

    /// The full update body: the current call with `change` applied.
    pub fn update(&self, change: &CallChange) -> Result<CallInUpdateModelV2, AssembleError> {
        let after = self.apply(change)?;
        Ok(CallInUpdateModelV2 {
            call_id: None,
            call_type: after.call_type,
            excuse_memo: after.excuse_memo,
            campaign_id: after.campaign_id,
            job_id: after.job_id,
            agent_id: after.agent_id,
            reason: after.reason.expect("apply always sets a reason"),
            customer: after.customer,
            location: after.location,
            tag: after.tag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> CurrentCall {
        CurrentCall {
            id: 7,
            call_type: Some(CallType::Unbooked),
            excuse_memo: "memo".into(),
            campaign_id: Some(3),
            job_id: None,
            agent_id: Some(9),
            reason: Some(ReasonInput {
                name: "Service".into(),
                lead: true,
            }),
            customer: PartyInput {
                id: 1,
                name: "Ann".into(),
                address: AddressInput::default(),
                contacts: vec![],
            },
            location: PartyInput {
                id: 2,
                name: "Home".into(),
                address: AddressInput::default(),
                contacts: vec![],
            },
            tag: "vip".into(),
        }
    }

    #[test]
    fn an_empty_change_writes_back_exactly_what_is_there() {
        let current = sample();
        let body = current.update(&CallChange::default()).unwrap();
        assert_eq!(body.call_type, Some(CallType::Unbooked));
        assert_eq!(body.excuse_memo, "memo");
        assert_eq!(
            (body.campaign_id, body.job_id, body.agent_id),
            (Some(3), None, Some(9))
        );
        assert_eq!(body.tag, "vip");
        assert_eq!(body.customer, current.customer);
        assert_eq!(body.location, current.location);
    }

    #[test]
    fn a_change_touches_only_its_fields() {
        let change = CallChange {
            call_type: Some(Some(CallType::Booked)),
            job_id: Some(Some(55)),
            ..CallChange::default()
        };
        let body = sample().update(&change).unwrap();
        assert_eq!(
            (body.call_type, body.job_id),
            (Some(CallType::Booked), Some(55))
        );
        assert_eq!(
            (body.excuse_memo.as_str(), body.tag.as_str(), body.agent_id),
            ("memo", "vip", Some(9))
        );
    }

    #[test]
    fn the_body_has_exactly_the_fields_the_spec_allows() {
        let json = serde_json::to_value(sample().update(&CallChange::default()).unwrap()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "agentId",
                "callType",
                "campaignId",
                "customer",
                "excuseMemo",
                "jobId",
                "location",
                "reason",
                "tag"
            ]
        );
        // And it round-trips through the strict (deny_unknown_fields) model.
        let back: CallInUpdateModelV2 = serde_json::from_value(json).unwrap();
        assert_eq!(back.tag, "vip");
        let extra = serde_json::json!({"excuseMemo":"","reason":{"name":"x","lead":true},"customer":{"id":1,"name":"","address":{"street":"","unit":"","country":"","city":"","state":"","zip":""},"contacts":[]},"location":{"id":1,"name":"","address":{"street":"","unit":"","country":"","city":"","state":"","zip":""},"contacts":[]},"tag":"","priority":1});
        assert!(serde_json::from_value::<CallInUpdateModelV2>(extra).is_err());
    }

    #[test]
    fn a_missing_reason_is_an_error_unless_the_change_sets_one() {
        let mut current = sample();
        current.reason = None;
        assert_eq!(
            current.update(&CallChange::default()),
            Err(AssembleError::NoReason(7))
        );
        let change = CallChange {
            reason: Some(ReasonInput {
                name: "Install".into(),
                lead: true,
            }),
            ..CallChange::default()
        };
        assert!(current.update(&change).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn fields_outside_the_change_are_preserved(memo in ".{0,20}", tag in ".{0,20}", job in proptest::option::of(1i64..1000),
                                                   set_type in proptest::bool::ANY) {
            let mut current = sample();
            current.excuse_memo = memo.clone();
            current.tag = tag.clone();
            current.job_id = job;
            let change = CallChange { call_type: set_type.then_some(Some(CallType::Excused)), ..CallChange::default() };
            let body = current.update(&change).unwrap();
            proptest::prop_assert_eq!(body.excuse_memo, memo);
            proptest::prop_assert_eq!(body.tag, tag);
            proptest::prop_assert_eq!(body.job_id, job);
            proptest::prop_assert_eq!(body.call_type, if set_type { Some(CallType::Excused) } else { Some(CallType::Unbooked) });
        }
    }
}
