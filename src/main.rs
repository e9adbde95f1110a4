//! The Lambda entry point: settings, clients and adapters are built once per container; each
//! invocation runs one tick.

// The runtime's future wraps the whole tick (three SDK clients' futures deep); a clean build
// needs more than the default query depth to lay it out.
#![recursion_limit = "256"]

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use connect_pulse::connect::sdk::ConnectSource;
use connect_pulse::publish::eventbridge::EventBridgePublisher;
use connect_pulse::settings::Settings;
use connect_pulse::store::dynamodb::DynamoDbStore;
use connect_pulse::tick::Ticker;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();

    // One line that names every bad variable, then exit: Lambda reports the init failure.
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            tracing::error!(error = %err, "connect-pulse cannot start");
            std::process::exit(1);
        }
    };
    // A stalled connection must fail one attempt, to be retried, not eat the whole tick.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .build();
    let config = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts).load().await;
    let ticker = Ticker::new(
        ConnectSource::new(&aws_sdk_connect::Client::new(&config), settings.connect_source()),
        DynamoDbStore::new(aws_sdk_dynamodb::Client::new(&config), &settings.table_name, settings.snapshot_ttl),
        EventBridgePublisher::new(
            aws_sdk_eventbridge::Client::new(&config),
            &settings.event_bus_name,
            settings.publish_max_concurrency,
        ),
        settings.tick(),
    );
    let metrics = connect_pulse::metrics::init(&settings.instance_id)?;

    let (ticker, instance_id) = (&ticker, settings.instance_id.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        connect_pulse::lambda::handle(ticker, instance_id, metrics, event)
    }))
    .await
}
