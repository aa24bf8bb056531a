//! What a tenant books with: job types (with durations), arrival windows, business hours,
//! job-cancel reasons, the ideal booking percentage, and technicians' daily shifts
//! generated from the day st-sim starts, so a demo always has capacity to offer.

use super::Shift;
use serde::{Deserialize, Serialize};

/// `Jpm.V2.JobTypeResponse`'s source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobType {
    pub id: i64,
    pub name: String,
    /// Seconds; absent or 0 is what ServiceTitan warns "will massively overbook".
    #[serde(default)]
    pub duration_secs: Option<i64>,
    #[serde(default)]
    pub business_unit_ids: Vec<i64>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default = "normal_priority")]
    pub priority: String,
    #[serde(default = "super::yes")]
    pub active: bool,
}

pub(crate) fn normal_priority() -> String {
    "Normal".into()
}

/// An arrival window: `start` and `duration` as ServiceTitan writes them (`"08:00:00"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalWindow {
    pub id: i64,
    pub start: String,
    pub duration: String,
    #[serde(default)]
    pub business_unit_ids: Vec<i64>,
    #[serde(default = "super::yes")]
    pub active: bool,
}

/// Opening hours, tenant-local: `[from_hour, to_hour]` ranges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusinessHours {
    pub weekdays: Vec<[i32; 2]>,
    pub saturday: Vec<[i32; 2]>,
    pub sunday: Vec<[i32; 2]>,
}

/// Every technician on a Normal shift from `from_hour` to `to_hour` (in `timezone`) on each
/// of `days` days from the day st-sim loads the seed, weekends included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyShifts {
    pub days: u32,
    pub from_hour: i8,
    pub to_hour: i8,
    pub timezone: String,
}

/// A key/value of a job's external data, with the application that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

impl DailyShifts {
    /// The shifts from the zone's day at `now`, numbered from `first_id`. Days whose times
    /// do not exist in the zone (or an unknown zone) give no shift.
    pub fn expand(&self, technicians: &[i64], first_id: i64, now: jiff::Timestamp) -> Vec<Shift> {
        let Ok(zone) = jiff::tz::TimeZone::get(&self.timezone) else {
            return Vec::new();
        };
        let today = now.to_zoned(zone.clone()).date();
        let mut shifts = Vec::new();
        let mut id = first_id;
        for n in 0..self.days {
            let Ok(day) = today.checked_add(jiff::Span::new().days(i64::from(n))) else {
                break;
            };
            let at = |hour: i8| {
                day.at(hour, 0, 0, 0)
                    .to_zoned(zone.clone())
                    .map(|z| z.timestamp().to_string())
            };
            let (Ok(start), Ok(end)) = (at(self.from_hour), at(self.to_hour)) else {
                continue;
            };
            for technician in technicians {
                shifts.push(Shift {
                    id,
                    technician_id: *technician,
                    shift_type: "Normal".into(),
                    title: "Day shift".into(),
                    start: start.clone(),
                    end: end.clone(),
                    active: true,
                });
                id += 1;
            }
        }
        shifts
    }
}
