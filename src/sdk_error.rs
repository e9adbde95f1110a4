//! What the three AWS adapters say about an SDK error: its message, or the whole error chain.

use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The service's message when it sent one, else the error with its sources (a timeout, a
/// connection refused), so logs and errors never say just "service error".
pub(crate) fn message(err: &(impl ProvideErrorMetadata + std::error::Error)) -> String {
    err.message().map_or_else(|| DisplayErrorContext(err).to_string(), str::to_owned)
}
