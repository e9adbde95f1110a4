//! The Connect side: where snapshots of the agents come from.

mod convert;
pub mod sdk;

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use tokio::time::Instant;

use crate::model::Snapshot;

/// A fetched snapshot and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    pub snapshot: Snapshot,
    pub stats: FetchStats,
}

/// Counts for the tick log.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchStats {
    /// `GetCurrentUserData` calls, retries included.
    pub calls: u32,
    /// `GetCurrentUserData` pages that came back.
    pub pages: u32,
    /// Calls answered with `ThrottlingException` and retried.
    pub throttled_retries: u32,
    /// List calls made to resolve the scope (routing profiles), zero when the cache was warm.
    pub list_calls: u32,
    /// Distinct agents in the snapshot.
    pub agents: u32,
}

/// Where snapshots of the agents come from.
pub trait AgentSource {
    /// Takes one snapshot of the agents in scope, giving up on work that cannot finish by
    /// `deadline`. Chunks that fail are named in [`Snapshot::missing`], not returned as errors;
    /// an error means no snapshot at all (bad instance, no permission, no scope).
    fn fetch(&self, deadline: Instant) -> impl Future<Output = Result<Fetch, SourceError>> + Send;
}

/// Why no snapshot could be taken.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("Connect instance {instance_id} was not found: {message}")]
    InstanceNotFound { instance_id: String, message: String },
    #[error("Connect refused access ({code}): {message}")]
    AccessDenied { code: String, message: String },
    #[error("Connect rejected the request ({code}): {message}")]
    InvalidRequest { code: String, message: String },
    #[error("listing the agent scope failed ({code}): {message}")]
    Scope { code: String, message: String },
}

/// Which agents a snapshot covers, as `GetCurrentUserData` filters them. Set with `AGENT_SCOPE`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AgentScope {
    /// Every routing profile of the instance, listed with `ListRoutingProfiles`. Each agent has
    /// exactly one routing profile, so this covers every logged-in agent once.
    #[default]
    AllRoutingProfiles,
    RoutingProfiles(Vec<String>),
    /// Agents of routing profiles serving these queues; queues overlap, agents are deduplicated.
    Queues(Vec<String>),
    Agents(Vec<String>),
    /// Agents in one hierarchy group (Connect filters by one group per call).
    HierarchyGroup(String),
}

impl AgentScope {
    /// The scope's kind as `AGENT_SCOPE` spells it, without the ids: for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            AgentScope::AllRoutingProfiles => "all-routing-profiles",
            AgentScope::RoutingProfiles(_) => "routing-profiles",
            AgentScope::Queues(_) => "queues",
            AgentScope::Agents(_) => "agents",
            AgentScope::HierarchyGroup(_) => "hierarchy-group",
        }
    }

    const SYNTAX: &'static str = "expected `all-routing-profiles` (or empty), `routing-profiles:ID,...`, \
                                  `queues:ID,...`, `agents:ID,...` or `hierarchy-group:ID`";
}

impl FromStr for AgentScope {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if raw.is_empty() || raw == "all-routing-profiles" {
            return Ok(AgentScope::AllRoutingProfiles);
        }
        let Some((kind, list)) = raw.split_once(':') else {
            return Err(format!("AGENT_SCOPE `{raw}` is not a scope: {}", Self::SYNTAX));
        };

        let mut ids: Vec<String> = Vec::new();
        for id in list.split(',').map(str::trim).filter(|id| !id.is_empty()) {
            if !ids.iter().any(|seen| seen == id) {
                ids.push(id.to_owned());
            }
        }
        let kind = kind.trim();
        if ids.is_empty() {
            return Err(format!("AGENT_SCOPE `{raw}` names no ids after `{kind}:`"));
        }

        match kind {
            "routing-profiles" => Ok(AgentScope::RoutingProfiles(ids)),
            "queues" => Ok(AgentScope::Queues(ids)),
            "agents" => Ok(AgentScope::Agents(ids)),
            "hierarchy-group" => match <[String; 1]>::try_from(ids) {
                Ok([id]) => Ok(AgentScope::HierarchyGroup(id)),
                Err(ids) => Err(format!(
                    "AGENT_SCOPE `{raw}` names {} hierarchy groups; Connect filters by one group per call, \
                     so name exactly one",
                    ids.len()
                )),
            },
            other => Err(format!("AGENT_SCOPE kind `{other}` is unknown: {}", Self::SYNTAX)),
        }
    }
}

impl fmt::Display for AgentScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentScope::AllRoutingProfiles => f.write_str("all-routing-profiles"),
            AgentScope::RoutingProfiles(ids) => write!(f, "routing-profiles:{}", ids.join(",")),
            AgentScope::Queues(ids) => write!(f, "queues:{}", ids.join(",")),
            AgentScope::Agents(ids) => write!(f, "agents:{}", ids.join(",")),
            AgentScope::HierarchyGroup(id) => write!(f, "hierarchy-group:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<AgentScope, String> {
        raw.parse()
    }

    #[test]
    fn an_empty_scope_means_every_routing_profile() {
        assert_eq!(parse(""), Ok(AgentScope::AllRoutingProfiles));
        assert_eq!(parse("  "), Ok(AgentScope::AllRoutingProfiles));
        assert_eq!(parse("all-routing-profiles"), Ok(AgentScope::AllRoutingProfiles));
    }

    #[test]
    fn each_filter_kind_takes_a_comma_separated_list() {
        assert_eq!(
            parse("routing-profiles:rp-1,rp-2"),
            Ok(AgentScope::RoutingProfiles(vec!["rp-1".into(), "rp-2".into()]))
        );
        assert_eq!(parse("queues: q-1 , q-2 ,"), Ok(AgentScope::Queues(vec!["q-1".into(), "q-2".into()])));
        assert_eq!(parse("agents:a-1"), Ok(AgentScope::Agents(vec!["a-1".into()])));
        assert_eq!(parse("hierarchy-group:hg-1"), Ok(AgentScope::HierarchyGroup("hg-1".into())));
    }

    #[test]
    fn arns_are_ids_too() {
        let arn = "arn:aws:connect:us-east-1:123456789012:instance/i-1/queue/q-1";
        assert_eq!(parse(&format!("queues:{arn}")), Ok(AgentScope::Queues(vec![arn.into()])));
    }

    #[test]
    fn a_repeated_id_is_asked_for_once() {
        assert_eq!(parse("agents:a-1,a-2,a-1"), Ok(AgentScope::Agents(vec!["a-1".into(), "a-2".into()])));
    }

    #[test]
    fn mistakes_get_a_message_that_says_what_is_wrong() {
        let error = parse("queues:").unwrap_err();
        assert!(error.contains("names no ids"), "{error}");

        let error = parse("hierarchy-group:hg-1,hg-2").unwrap_err();
        assert!(error.contains("names 2 hierarchy groups") && error.contains("exactly one"), "{error}");

        let error = parse("teams:t-1").unwrap_err();
        assert!(error.contains("kind `teams` is unknown") && error.contains("routing-profiles:ID"), "{error}");

        let error = parse("routing-profiles").unwrap_err();
        assert!(error.contains("is not a scope"), "{error}");
    }

    #[test]
    fn a_scope_prints_as_it_is_written() {
        for raw in
            ["all-routing-profiles", "routing-profiles:rp-1,rp-2", "queues:q-1", "agents:a-1", "hierarchy-group:hg-1"]
        {
            assert_eq!(parse(raw).unwrap().to_string(), raw);
        }
    }
}
