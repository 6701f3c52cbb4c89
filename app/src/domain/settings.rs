//! The download engine's runtime controls (`GET/PUT /api/models/download/settings`): what the
//! environment gives as defaults and the models database keeps across restarts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppError;

/// Bounds of each setting, shared by the check and its messages.
pub const MAX_CONCURRENT_JOBS: u64 = 16;
pub const MAX_CONNECTIONS_PER_FILE: u64 = 64;
/// The smallest rate limit: slower than this, a stalled-connection check could not tell a
/// throttled download from a dead one.
pub const MIN_RATE_LIMIT: u64 = 64 << 10;

/// The settings in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadSettings {
    /// Jobs downloading at once; more wait as `queued`.
    pub max_concurrent_jobs: u32,
    /// All downloads together, bytes per second; 0 = no limit.
    pub rate_limit_bytes_per_second: u64,
    /// Connections per large file (and per host, all jobs together).
    pub connections_per_file: u32,
}

/// A change to some of the settings (`PUT` accepts a partial object); also what the database
/// keeps: the settings a user chose, over the environment's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadSettingsUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_jobs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_bytes_per_second: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections_per_file: Option<u32>,
}

impl DownloadSettingsUpdate {
    /// A `PUT` body: an object of known fields, each a whole number in range; errors name the
    /// field at fault.
    pub fn from_json(body: &Value) -> Result<Self, AppError> {
        let Some(fields) = body.as_object() else {
            return Err(AppError::invalid(
                "body",
                "send a JSON object, e.g. {\"maxConcurrentJobs\": 2}",
            ));
        };
        let mut update = Self::default();
        for (name, value) in fields {
            let number = || {
                value.as_u64().ok_or_else(|| {
                    AppError::invalid(name, format!("{name} must be a whole number, not {value}"))
                })
            };
            match name.as_str() {
                "maxConcurrentJobs" => update.max_concurrent_jobs = Some(clamp_u32(number()?)),
                "rateLimitBytesPerSecond" => update.rate_limit_bytes_per_second = Some(number()?),
                "connectionsPerFile" => update.connections_per_file = Some(clamp_u32(number()?)),
                other => {
                    return Err(AppError::invalid(
                        other,
                        format!("unknown setting {other}: the settings are maxConcurrentJobs, rateLimitBytesPerSecond and connectionsPerFile"),
                    ))
                }
            }
        }
        update.check()?;
        Ok(update)
    }

    /// Every given value within its bounds.
    pub fn check(&self) -> Result<(), AppError> {
        let within = |field: &str, value: Option<u32>, max: u64| match value {
            Some(v) if v == 0 || u64::from(v) > max => Err(AppError::invalid(
                field,
                format!("{field} must be between 1 and {max}, not {v}"),
            )),
            _ => Ok(()),
        };
        within(
            "maxConcurrentJobs",
            self.max_concurrent_jobs,
            MAX_CONCURRENT_JOBS,
        )?;
        within(
            "connectionsPerFile",
            self.connections_per_file,
            MAX_CONNECTIONS_PER_FILE,
        )?;
        match self.rate_limit_bytes_per_second {
            Some(rate) if rate != 0 && rate < MIN_RATE_LIMIT => Err(AppError::invalid(
                "rateLimitBytesPerSecond",
                format!("rateLimitBytesPerSecond must be 0 (no limit) or at least {MIN_RATE_LIMIT} (64 KiB/s), not {rate}"),
            )),
            _ => Ok(()),
        }
    }

    /// `self` with the fields `newer` gives replaced.
    pub fn merged(self, newer: Self) -> Self {
        Self {
            max_concurrent_jobs: newer.max_concurrent_jobs.or(self.max_concurrent_jobs),
            rate_limit_bytes_per_second: newer
                .rate_limit_bytes_per_second
                .or(self.rate_limit_bytes_per_second),
            connections_per_file: newer.connections_per_file.or(self.connections_per_file),
        }
    }

    /// `defaults` with the fields this update gives replaced.
    pub fn applied_to(self, defaults: DownloadSettings) -> DownloadSettings {
        DownloadSettings {
            max_concurrent_jobs: self
                .max_concurrent_jobs
                .unwrap_or(defaults.max_concurrent_jobs),
            rate_limit_bytes_per_second: self
                .rate_limit_bytes_per_second
                .unwrap_or(defaults.rate_limit_bytes_per_second),
            connections_per_file: self
                .connections_per_file
                .unwrap_or(defaults.connections_per_file),
        }
    }
}

/// Values beyond `u32` stay out of range (and are refused by the check) instead of wrapping.
fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field_of(body: Value) -> Option<String> {
        DownloadSettingsUpdate::from_json(&body).unwrap_err().field
    }

    #[test]
    fn a_partial_object_changes_only_what_it_names() {
        let update = DownloadSettingsUpdate::from_json(&json!({"maxConcurrentJobs": 3})).unwrap();
        let defaults = DownloadSettings {
            max_concurrent_jobs: 2,
            rate_limit_bytes_per_second: 0,
            connections_per_file: 16,
        };
        assert_eq!(
            update.applied_to(defaults),
            DownloadSettings {
                max_concurrent_jobs: 3,
                ..defaults
            }
        );
        let saved = DownloadSettingsUpdate {
            rate_limit_bytes_per_second: Some(1 << 20),
            max_concurrent_jobs: Some(1),
            connections_per_file: None,
        };
        assert_eq!(
            saved.merged(update),
            DownloadSettingsUpdate {
                max_concurrent_jobs: Some(3),
                ..saved
            }
        );
        assert_eq!(
            DownloadSettingsUpdate::from_json(&json!({"rateLimitBytesPerSecond": 0}))
                .unwrap()
                .rate_limit_bytes_per_second,
            Some(0)
        );
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        let cases = [
            (json!({"maxConcurrentJobs": 0}), "maxConcurrentJobs"),
            (json!({"maxConcurrentJobs": 17}), "maxConcurrentJobs"),
            (json!({"maxConcurrentJobs": -1}), "maxConcurrentJobs"),
            (json!({"maxConcurrentJobs": 1.5}), "maxConcurrentJobs"),
            (
                json!({"maxConcurrentJobs": 5_000_000_000u64}),
                "maxConcurrentJobs",
            ),
            (json!({"connectionsPerFile": 65}), "connectionsPerFile"),
            (json!({"connectionsPerFile": "4"}), "connectionsPerFile"),
            (
                json!({"rateLimitBytesPerSecond": 1000}),
                "rateLimitBytesPerSecond",
            ),
            (
                json!({"rateLimitBytesPerSecond": null}),
                "rateLimitBytesPerSecond",
            ),
            (json!({"maxConcurentJobs": 2}), "maxConcurentJobs"),
            (json!([1]), "body"),
        ];
        for (body, field) in cases {
            assert_eq!(field_of(body.clone()).as_deref(), Some(field), "{body}");
        }
    }
}
