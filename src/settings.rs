//! Settings from the environment, read once at start-up; every problem is reported at once.

use std::fmt::Display;
use std::num::{NonZeroU32, NonZeroUsize};
use std::str::FromStr;
use std::time::Duration;

use crate::connect::sdk::ConnectSourceConfig as Connect;
use crate::connect::AgentScope;
use crate::diff::DiffSettings;
use crate::tick::TickSettings;

/// Everything the function is told by its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The Connect instance id (the last part of the instance ARN).
    pub instance_id: String,
    pub table_name: String,
    pub event_bus_name: String,
    pub event_source: String,
    pub scope: AgentScope,
    pub connect_max_rps: NonZeroU32,
    pub connect_max_concurrency: NonZeroUsize,
    pub routing_profile_cache: Duration,
    pub polls_per_invocation: NonZeroU32,
    pub poll_interval: Duration,
    pub snapshot_ttl: Duration,
    pub publish_max_concurrency: usize,
}

/// Settings that cannot be used, each with the variable's name.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {}", .problems.join("; "))]
pub struct SettingsError {
    pub problems: Vec<String>,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut reader = Reader { lookup: &lookup, problems: Vec::new() };

        let instance_id = reader.required("CONNECT_INSTANCE_ID", parse_instance_id);
        let table_name = reader.required("SNAPSHOT_TABLE_NAME", non_empty);
        let event_bus_name = reader.optional("EVENT_BUS_NAME", "default".to_owned(), non_empty);
        let event_source = reader.optional("EVENT_SOURCE", "connect-pulse".to_owned(), parse_event_source);
        let scope = reader.optional("AGENT_SCOPE", AgentScope::AllRoutingProfiles, str::parse);
        let connect_max_rps = reader.optional("CONNECT_MAX_RPS", Connect::DEFAULT_CALLS_PER_SECOND, positive);
        let connect_max_concurrency =
            reader.optional("CONNECT_MAX_CONCURRENCY", Connect::DEFAULT_CONCURRENT_CALLS, positive);
        let routing_profile_cache =
            reader.optional("ROUTING_PROFILE_CACHE_SECONDS", Connect::DEFAULT_ROUTING_PROFILE_TTL, seconds);
        let polls_per_invocation = reader.optional("POLLS_PER_INVOCATION", NonZeroU32::MIN, positive);
        let poll_interval = reader.optional("POLL_INTERVAL_SECONDS", Duration::from_secs(15), seconds);
        let snapshot_ttl =
            reader.optional("SNAPSHOT_TTL_DAYS", days(7), |raw| Ok(days(positive::<NonZeroU32>(raw)?.get())));
        let publish_max_concurrency =
            reader.optional("PUBLISH_MAX_CONCURRENCY", 4, |raw| Ok(positive::<NonZeroUsize>(raw)?.get()));

        if !reader.problems.is_empty() {
            return Err(SettingsError { problems: reader.problems });
        }
        Ok(Settings {
            instance_id: instance_id.unwrap_or_default(),
            table_name: table_name.unwrap_or_default(),
            event_bus_name,
            event_source,
            scope,
            connect_max_rps,
            connect_max_concurrency,
            routing_profile_cache,
            polls_per_invocation,
            poll_interval,
            snapshot_ttl,
            publish_max_concurrency,
        })
    }
}

impl Settings {
    /// How the Connect source calls Connect.
    pub fn connect_source(&self) -> Connect {
        Connect {
            max_calls_per_second: self.connect_max_rps,
            max_concurrent_calls: self.connect_max_concurrency,
            routing_profile_ttl: self.routing_profile_cache,
            ..Connect::new(self.instance_id.clone(), self.scope.clone())
        }
    }

    /// What each tick needs besides its adapters.
    pub fn tick(&self) -> TickSettings {
        TickSettings {
            instance_id: self.instance_id.clone(),
            diff: DiffSettings { source: self.event_source.as_str().into() },
            polls_per_invocation: self.polls_per_invocation.get(),
            poll_interval: self.poll_interval,
        }
    }
}

struct Reader<'a, F> {
    lookup: &'a F,
    problems: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    fn required<T>(&mut self, name: &str, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        match (self.lookup)(name) {
            Some(raw) => self.parse(name, &raw, parse),
            None => {
                self.problems.push(format!("{name} is required"));
                None
            }
        }
    }

    fn optional<T>(&mut self, name: &str, default: T, parse: impl Fn(&str) -> Result<T, String>) -> T {
        match (self.lookup)(name) {
            Some(raw) if !raw.trim().is_empty() => self.parse(name, &raw, parse).unwrap_or(default),
            _ => default,
        }
    }

    fn parse<T>(&mut self, name: &str, raw: &str, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        match parse(raw.trim()) {
            Ok(value) => Some(value),
            Err(why) => {
                self.problems.push(format!("{name}: {why}"));
                None
            }
        }
    }
}

/// Accepts an instance id or an instance ARN (`arn:aws:connect:<region>:<account>:instance/<id>`).
fn parse_instance_id(raw: &str) -> Result<String, String> {
    let id = match raw.strip_prefix("arn:") {
        Some(_) => {
            raw.split_once(":instance/").map(|(_, id)| id).filter(|id| !id.is_empty() && !id.contains('/')).ok_or_else(
                || format!("'{raw}' is not a Connect instance ARN (arn:aws:connect:REGION:ACCOUNT:instance/ID)"),
            )?
        }
        None => raw,
    };
    if id.is_empty() || id.len() > 100 {
        return Err("an instance id has 1 to 100 characters".to_owned());
    }
    Ok(id.to_owned())
}

fn parse_event_source(raw: &str) -> Result<String, String> {
    let source = non_empty(raw)?;
    if source.starts_with("aws.") {
        return Err(format!("'{source}' starts with 'aws.', which EventBridge reserves for AWS services"));
    }
    if source.len() > 256 {
        return Err("an event source has at most 256 characters".to_owned());
    }
    Ok(source)
}

fn non_empty(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("must not be empty".to_owned());
    }
    Ok(raw.to_owned())
}

/// A whole number above zero; `NonZero*` types refuse zero while parsing.
fn positive<T: FromStr>(raw: &str) -> Result<T, String>
where
    T::Err: Display,
{
    raw.parse().map_err(|err| format!("'{raw}' is not a whole number above zero ({err})"))
}

fn seconds(raw: &str) -> Result<Duration, String> {
    Ok(Duration::from_secs(positive::<std::num::NonZeroU64>(raw)?.get()))
}

fn days(days: u32) -> Duration {
    Duration::from_secs(u64::from(days) * 86_400)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_two_required_settings_are_enough() {
        let settings = settings(&[("CONNECT_INSTANCE_ID", "inst-1"), ("SNAPSHOT_TABLE_NAME", "pulse")]).unwrap();
        assert_eq!(settings.instance_id, "inst-1");
        assert_eq!(settings.event_bus_name, "default");
        assert_eq!(settings.event_source, "connect-pulse");
        assert_eq!(settings.scope, AgentScope::AllRoutingProfiles);
        assert_eq!(settings.connect_max_rps.get(), 2);
        assert_eq!(settings.polls_per_invocation.get(), 1);
        assert_eq!(settings.snapshot_ttl, Duration::from_secs(7 * 86_400));
    }

    #[test]
    fn an_instance_arn_is_reduced_to_its_id() {
        let arn = "arn:aws:connect:eu-west-2:123456789012:instance/aaaaaaaa-bbbb-cccc-dddd-111111111111";
        let settings = settings(&[("CONNECT_INSTANCE_ID", arn), ("SNAPSHOT_TABLE_NAME", "pulse")]).unwrap();
        assert_eq!(settings.instance_id, "aaaaaaaa-bbbb-cccc-dddd-111111111111");
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_variable() {
        let err = settings(&[
            ("EVENT_SOURCE", "aws.connect"),
            ("CONNECT_MAX_RPS", "0"),
            ("POLLS_PER_INVOCATION", "many"),
            ("AGENT_SCOPE", "teams:x"),
        ])
        .unwrap_err();
        let names: Vec<&str> = err.problems.iter().map(|p| p.split([':', ' ']).next().unwrap()).collect();
        assert_eq!(
            names,
            [
                "CONNECT_INSTANCE_ID",
                "SNAPSHOT_TABLE_NAME",
                "EVENT_SOURCE",
                "AGENT_SCOPE",
                "CONNECT_MAX_RPS",
                "POLLS_PER_INVOCATION"
            ]
        );
        assert!(err.to_string().starts_with("invalid settings: CONNECT_INSTANCE_ID is required"));
    }

    #[test]
    fn a_malformed_instance_arn_is_refused() {
        let err =
            settings(&[("CONNECT_INSTANCE_ID", "arn:aws:connect:eu-west-2:1:queue/x"), ("SNAPSHOT_TABLE_NAME", "t")])
                .unwrap_err();
        assert!(err.problems[0].contains("is not a Connect instance ARN"), "{err}");
    }
}
