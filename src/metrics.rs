//! One CloudWatch Embedded Metric Format record set per tick, in the `ConnectPulse` namespace.

use metrics::{counter, describe_gauge, gauge, Unit};
use metrics_cloudwatch_embedded::{Builder, Collector};

use crate::tick::TickSummary;

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

/// Records a tick's counts; a no-op until [`init`] installed the recorder.
pub fn record(summary: &TickSummary) {
    if summary.skipped.is_some() {
        counter!("SkippedTicks").increment(1);
        return;
    }

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
    gauge!("TickDuration").set(summary.duration_ms as f64);
}

/// Records a failed tick, so the error alarm has a metric as well as the Lambda Errors count.
pub fn record_failure(error_type: &str) {
    counter!("FailedTicks", "ErrorType" => error_type.to_owned()).increment(1);
}
