//! One CloudWatch Embedded Metric Format record set per tick, in the `ConnectPulse` namespace.

use std::io::stdout;

use metrics::{counter, describe_gauge, gauge, Unit};
use metrics_cloudwatch_embedded::{Builder, Collector};

use crate::tick::{TickError, TickSummary};

pub const NAMESPACE: &str = "ConnectPulse";

/// Installs the EMF recorder once per container, with the instance id as a dimension.
pub fn init(instance_id: &str) -> Result<&'static Collector, lambda_runtime::Error> {
    let collector = Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension("InstanceId", instance_id.to_owned())
        .emit_zeros(true)
        .init()?;
    describe_gauge!("TickDuration", Unit::Milliseconds, "wall time of one invocation");
    Ok(collector)
}

/// Writes the metrics of one invocation to stdout, where Lambda picks them up. A skipped or failed
/// tick writes only its own count, so the gauges of the last good tick are not repeated as current;
/// a dry run writes nothing.
pub fn emit(collector: &Collector, outcome: &Result<TickSummary, TickError>) {
    let written = match outcome {
        Ok(summary) if summary.dry_run => Ok(()),
        Ok(summary) if summary.skipped.is_some() => {
            collector.write_single("SkippedTicks", Some(Unit::Count), 1, stdout())
        }
        Ok(summary) => {
            record(summary);
            collector.flush(stdout())
        }
        Err(_) => collector.write_single("FailedTicks", Some(Unit::Count), 1, stdout()),
    };
    if let Err(err) = written {
        tracing::warn!(error = %err, "could not write the metrics record");
    }
}

fn record(summary: &TickSummary) {
    gauge!("Agents").set(summary.agents);
    for (activity, count) in &summary.agents_by_activity {
        gauge!("Agents", "Activity" => *activity).set(*count);
    }
    for (detail_type, count) in &summary.events_by_type {
        counter!("Events", "DetailType" => *detail_type).increment(u64::from(*count));
    }
    counter!("EventsPublished").increment(u64::from(summary.events_published));
    counter!("ConnectCalls").increment(u64::from(summary.connect.calls));
    counter!("ConnectPages").increment(u64::from(summary.connect.pages));
    counter!("ConnectThrottles").increment(u64::from(summary.connect.throttled_retries));
    counter!("IncompleteSnapshots").increment(u64::from(!summary.complete));
    counter!("ItemsWritten").increment(u64::from(summary.items_written));
    counter!("TicksCompleted").increment(1);
    gauge!("TickDuration").set(summary.duration_ms as f64);
}
