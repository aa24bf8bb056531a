//! One business as the booking service knows it: its ServiceTitan client and booking
//! policy, its catalog (job types, business units, campaigns, cancel reasons, arrival
//! windows, business hours: read-only reference data, refreshed every few minutes), and
//! its capacity cache.
//!
//! Capacity is cached per (business unit, job type, tenant-local day) for at most
//! `booking.capacity_ttl_secs`, so an agent asking again and again costs ServiceTitan at
//! most one capacity request per key per TTL. The cache is dropped for a business unit's
//! day when Switchboard books, reschedules or cancels in it, for the whole tenant when
//! ServiceTitan says a job or appointment changed (its webhooks, as events), and for the
//! days ServiceTitan's appointments export shows changes on (what CSRs do in its UI). A
//! booking never trusts the cache: it re-checks its window in ServiceTitan.

use crate::capacity::{Calendar, Slot};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_config::TenantBooking;
use switchboard_servicetitan::models::{
    BusinessUnit, Campaign, CapacityRequest, JobCancelReason, JobType,
};
use switchboard_servicetitan::{StError, TenantClient, all_pages};

/// How long the catalog is trusted before it is read again.
const CATALOG_TTL: Duration = Duration::from_secs(300);

/// A business's reference data.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub job_types: Vec<JobType>,
    pub business_units: Vec<BusinessUnit>,
    pub campaigns: Vec<Campaign>,
    pub cancel_reasons: Vec<JobCancelReason>,
    pub calendar: Calendar,
}

impl Catalog {
    /// A job type by id or (case-insensitive) name, active ones only.
    pub fn job_type(&self, wanted: &str) -> Option<&JobType> {
        named(&self.job_types, wanted, |j| (j.id, &j.name, j.active))
    }

    pub fn business_unit(&self, wanted: &str) -> Option<&BusinessUnit> {
        named(&self.business_units, wanted, |b| (b.id, &b.name, b.active))
    }

    pub fn campaign(&self, wanted: &str) -> Option<&Campaign> {
        named(&self.campaigns, wanted, |c| (c.id, &c.name, c.active))
    }

    /// A cancel reason by name (the agent says what the caller said).
    pub fn cancel_reason(&self, wanted: &str) -> Option<&JobCancelReason> {
        named(&self.cancel_reasons, wanted, |r| (-1, &r.name, r.active))
    }
}

/// The active item whose id is `wanted`, or whose name is (any case).
fn named<'a, T>(
    items: &'a [T],
    wanted: &str,
    fields: impl Fn(&T) -> (i64, &String, bool),
) -> Option<&'a T> {
    items.iter().find(|item| {
        let (id, name, active) = fields(item);
        active && (id.to_string() == wanted || name.eq_ignore_ascii_case(wanted))
    })
}

type CapacityKey = (i64, i64, Date);

pub(crate) struct Tenant {
    pub name: String,
    pub client: Arc<TenantClient>,
    pub policy: TenantBooking,
    pub zone: TimeZone,
    catalog: tokio::sync::Mutex<Option<(Instant, Arc<Catalog>)>>,
    capacity: Mutex<HashMap<CapacityKey, (Instant, Vec<Slot>)>>,
    capacity_ttl: Duration,
}

impl Tenant {
    pub fn new(
        name: String,
        client: Arc<TenantClient>,
        policy: TenantBooking,
        zone: TimeZone,
        capacity_ttl: Duration,
    ) -> Self {
        Tenant {
            name,
            client,
            policy,
            zone,
            catalog: tokio::sync::Mutex::new(None),
            capacity: Mutex::new(HashMap::new()),
            capacity_ttl,
        }
    }

    /// The catalog, read from ServiceTitan when older than [`CATALOG_TTL`] (one reader at a
    /// time; the others wait for its answer).
    pub async fn catalog(&self) -> Result<Arc<Catalog>, StError> {
        let mut cached = self.catalog.lock().await;
        if let Some((at, catalog)) = cached.as_ref()
            && at.elapsed() < CATALOG_TTL
        {
            return Ok(catalog.clone());
        }
        let c = &self.client;
        let job_types = all_pages(200, |p, n| c.job_types(paged(p, n))).await?;
        let business_units = all_pages(200, |p, n| c.business_units(p, n)).await?;
        let campaigns = all_pages(200, |p, n| c.campaigns(paged(p, n))).await?;
        let cancel_reasons = all_pages(200, |p, n| c.job_cancel_reasons(paged(p, n))).await?;
        let windows = all_pages(200, |p, n| c.arrival_windows(paged(p, n))).await?;
        let hours = c.business_hours().await?;
        let catalog = Arc::new(Catalog {
            job_types,
            business_units,
            campaigns,
            cancel_reasons,
            calendar: Calendar::new(self.zone.clone(), &windows, hours),
        });
        *cached = Some((Instant::now(), catalog.clone()));
        Ok(catalog)
    }

    /// The capacity slots of `days` for a business unit and job type: cached ones while
    /// fresh, the rest asked of ServiceTitan in one request per run of consecutive days.
    /// `fresh` skips the cache (a booking's re-check). Returns the slots and how many
    /// requests ServiceTitan got.
    pub async fn capacity(
        &self,
        business_unit: i64,
        job_type: i64,
        days: &[Date],
        fresh: bool,
    ) -> Result<(Vec<Slot>, u64), StError> {
        let mut slots = Vec::new();
        let mut missing = Vec::new();
        {
            let cache = self.capacity.lock().unwrap_or_else(|e| e.into_inner());
            for day in days {
                match cache.get(&(business_unit, job_type, *day)) {
                    Some((at, cached)) if !fresh && at.elapsed() < self.capacity_ttl => {
                        slots.extend(cached.iter().cloned());
                    }
                    _ => missing.push(*day),
                }
            }
        }
        let mut requests = 0;
        for run in runs(&missing) {
            let (first, last) = (run[0], run[run.len() - 1]);
            let answer = self
                .client
                .capacity(&CapacityRequest {
                    starts_on_or_after: self.midnight(first),
                    ends_on_or_before: self.midnight(last.tomorrow().unwrap_or(last)),
                    business_unit_ids: Some(vec![business_unit]),
                    job_type_id: Some(job_type),
                    skill_based_availability: false,
                })
                .await?;
            requests += 1;
            let parsed: Vec<Slot> = answer
                .availabilities
                .iter()
                .filter_map(Slot::from_api)
                .collect();
            let mut cache = self.capacity.lock().unwrap_or_else(|e| e.into_inner());
            for day in run {
                let of_day: Vec<Slot> = parsed
                    .iter()
                    .filter(|s| s.start.to_zoned(self.zone.clone()).date() == *day)
                    .cloned()
                    .collect();
                cache.insert((business_unit, job_type, *day), (Instant::now(), of_day));
            }
            slots.extend(parsed);
        }
        slots.sort_by_key(|s| s.start);
        Ok((slots, requests))
    }

    /// Forgets the cached capacity of `business_unit` on `day` (every job type), or of the
    /// whole tenant with `None`.
    pub fn invalidate(&self, at: Option<(i64, Date)>) {
        let mut cache = self.capacity.lock().unwrap_or_else(|e| e.into_inner());
        match at {
            Some((bu, day)) => cache.retain(|(b, _, d), _| !(*b == bu && *d == day)),
            None => cache.clear(),
        }
    }

    /// Forgets the cached capacity of every business unit on `days`.
    pub fn invalidate_days(&self, days: &BTreeSet<Date>) {
        let mut cache = self.capacity.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(_, _, d), _| !days.contains(d));
    }

    /// Follows ServiceTitan's appointments export, every `poll`, and drops the cached
    /// capacity of each day an appointment changed on: what CSRs book, move and cancel in
    /// ServiceTitan's UI when no webhook says so. It starts from yesterday (older changes
    /// cannot touch a window still offered) and never ends; a failure is logged and the
    /// next poll tries again (a refusal, such as a missing permission, after 30 polls; the
    /// cache still expires after its TTL either way). A rescheduled
    /// appointment shows only its new day, so its old day frees up at the TTL: an
    /// under-offer, never an overbooking (bookings re-check anyway).
    pub async fn follow_appointments(&self, poll: Duration) {
        let yesterday = jiff::Timestamp::now()
            .to_zoned(TimeZone::UTC)
            .date()
            .yesterday()
            .map(|d| d.to_string())
            .unwrap_or_default();
        let mut from = yesterday;
        loop {
            match self.client.export_appointments(Some(&from), true).await {
                Ok(page) => {
                    let days: BTreeSet<Date> = page
                        .data
                        .iter()
                        .filter_map(|a| a.start.parse::<jiff::Timestamp>().ok())
                        .map(|t| self.day_of(t))
                        .collect();
                    if !days.is_empty() {
                        self.invalidate_days(&days);
                    }
                    if !page.continue_from.is_empty() {
                        from = page.continue_from;
                    }
                    if page.has_more {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(tenant = %self.name, error = %e,
                        "booking cannot read ServiceTitan's appointments export; cached capacity still expires after booking.capacity_ttl_secs");
                    // A refusal (a permission not granted) is not asked again every poll.
                    if !e.is_transient() {
                        tokio::time::sleep(poll * 29).await;
                    }
                }
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Midnight of `day` in the tenant's zone, RFC 3339 with its offset.
    pub fn midnight(&self, day: Date) -> String {
        day.to_zoned(self.zone.clone())
            .map(|z| self.rfc3339(z.timestamp()))
            .unwrap_or_default()
    }

    /// `t` in RFC 3339 with the tenant's offset at that instant.
    pub fn rfc3339(&self, t: jiff::Timestamp) -> String {
        let offset = self.zone.to_offset(t);
        switchboard_events::normalise::format_rfc3339(t, offset).unwrap_or_else(|| t.to_string())
    }

    /// The tenant-local day of `t`.
    pub fn day_of(&self, t: jiff::Timestamp) -> Date {
        t.to_zoned(self.zone.clone()).date()
    }
}

fn paged(page: u32, size: u32) -> switchboard_servicetitan::Query {
    vec![("page", page.to_string()), ("pageSize", size.to_string())]
}

/// Consecutive days grouped: `[1,2,3,5]` → `[[1,2,3],[5]]`.
fn runs(days: &[Date]) -> Vec<&[Date]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=days.len() {
        if i == days.len() || days[i - 1].tomorrow().ok() != Some(days[i]) {
            if start < i {
                runs.push(&days[start..i]);
            }
            start = i;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn consecutive_days_are_asked_together() {
        let d = |n| date(2026, 12, n);
        assert_eq!(
            runs(&[d(1), d(2), d(3), d(5), d(7), d(8)]),
            vec![&[d(1), d(2), d(3)][..], &[d(5)][..], &[d(7), d(8)][..]]
        );
        assert!(runs(&[]).is_empty());
    }
}
