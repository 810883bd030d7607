//! The SDK's async runtime and retry policy for the component.
//!
//! azure_core's default runtime sleeps on a new thread, and spawning a
//! thread traps in a WASI 0.2 component on the first retry. [`install`]
//! replaces it with one that sleeps on a `wasi:clocks/monotonic-clock`
//! pollable, registered with spin-sdk's executor like spin-sdk's own I/O.

use std::error::Error as StdError;
use std::future::{Future, ready};
use std::pin::Pin;
use std::sync::{Arc, Once};
use std::task::{Context, Poll};

use async_trait::async_trait;
use azure_core::async_runtime::{AbortableTask, AsyncRuntime, SpawnedTask, TaskFuture, set_async_runtime};
use azure_core::http::StatusCode;
use azure_core::http::headers::{RETRY_AFTER, RETRY_AFTER_MS, X_MS_RETRY_AFTER_MS};
use azure_core::http::policies::{RetryHeaders, RetryPolicy};
use azure_core::time::Duration as SdkDuration;
use spin_executor::CancelOnDropToken;
use wasi::clocks::monotonic_clock::{self, Instant};

use super::{MAX_RETRIES, retry_delay};
use crate::log;

/// Statuses worth another attempt: timeouts, throttling and server errors,
/// the same list azure_core 1.1 retries by default.
const RETRY_STATUS_CODES: &[StatusCode] = &[
    StatusCode::RequestTimeout,
    StatusCode::TooManyRequests,
    StatusCode::InternalServerError,
    StatusCode::BadGateway,
    StatusCode::ServiceUnavailable,
    StatusCode::GatewayTimeout,
];

/// Installs [`WasiRuntime`] as the SDK's runtime, once per instance. Once
/// any code has requested the runtime, the SDK keeps its default and
/// rejects another, so this runs before any client is built.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if set_async_runtime(Arc::new(WasiRuntime)).is_err() {
            // Retries would then sleep on a thread, which traps.
            log::error("keyvault_runtime_not_installed", &[("error", "the SDK's async runtime was already set")]);
        }
    });
}

/// Runtime for a single-threaded component instance: sleeps on the WASI
/// clock and rejects spawning.
#[derive(Debug)]
pub struct WasiRuntime;

impl AsyncRuntime for WasiRuntime {
    /// Rejects the task: a component instance has no threads, and a task
    /// that is never polled would never run. azure_core 1.1 and the secrets
    /// crate 1.0 spawn nothing on the calls this component makes.
    fn spawn(&self, _task: TaskFuture) -> SpawnedTask {
        log::error("keyvault_spawn_rejected", &[("error", "the SDK tried to spawn a task")]);
        Box::pin(SpawnRejected)
    }

    fn sleep(&self, duration: SdkDuration) -> TaskFuture {
        let nanoseconds = u64::try_from(duration.whole_nanoseconds().max(0)).unwrap_or(u64::MAX);
        let deadline = monotonic_clock::now().saturating_add(nanoseconds);
        Box::pin(WasiSleep { deadline, registration: None })
    }

    /// Completes at once: the instance runs one task, so there is nothing
    /// to yield to, and spin-sdk's executor rejects a pending future that
    /// waits on no pollable.
    fn yield_now(&self) -> TaskFuture {
        Box::pin(ready(()))
    }
}

/// Completes once the monotonic clock reaches `deadline` (nanoseconds).
struct WasiSleep {
    deadline: Instant,
    /// The pollable registered with the executor; dropping it unregisters.
    registration: Option<CancelOnDropToken>,
}

impl Future for WasiSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if monotonic_clock::now() >= self.deadline {
            self.registration = None;
            return Poll::Ready(());
        }
        let pollable = monotonic_clock::subscribe_instant(self.deadline);
        let token = spin_executor::push_waker_and_get_token(pollable, context.waker().clone());
        self.registration = Some(CancelOnDropToken::from(token));
        Poll::Pending
    }
}

/// The task [`WasiRuntime::spawn`] returns: it fails when awaited.
struct SpawnRejected;

impl Future for SpawnRejected {
    type Output = Result<(), Box<dyn StdError + Send>>;

    fn poll(self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<Self::Output> {
        let error: Box<dyn StdError + Send + Sync> =
            "spawning a task is not supported inside the WASI component; the task did not run".into();
        Poll::Ready(Err(error))
    }
}

impl AbortableTask for SpawnRejected {
    fn abort(&self) {}
}

/// Retries a vault call at most [`MAX_RETRIES`] times, waiting
/// [`retry_delay`] before each.
#[derive(Debug)]
pub struct BoundedRetryPolicy {
    retry_headers: RetryHeaders,
}

impl BoundedRetryPolicy {
    pub fn new() -> Self {
        BoundedRetryPolicy {
            retry_headers: RetryHeaders { retry_headers: vec![X_MS_RETRY_AFTER_MS, RETRY_AFTER_MS, RETRY_AFTER] },
        }
    }
}

#[async_trait]
impl RetryPolicy for BoundedRetryPolicy {
    fn is_expired(&self, _duration_since_start: SdkDuration, retry_count: u32) -> bool {
        retry_count >= MAX_RETRIES
    }

    fn retry_headers(&self) -> Option<&RetryHeaders> {
        Some(&self.retry_headers)
    }

    fn retry_status_codes(&self) -> &[StatusCode] {
        RETRY_STATUS_CODES
    }

    fn sleep_duration(&self, retry_count: u32) -> SdkDuration {
        to_sdk_duration(retry_delay(retry_count, None))
    }

    async fn wait(&self, retry_count: u32, retry_after: Option<SdkDuration>) {
        let retry_after = retry_after.and_then(|value| std::time::Duration::try_from(value).ok());
        let delay = retry_delay(retry_count, retry_after);
        let retry = retry_count.to_string();
        let delay_ms = delay.as_millis().to_string();
        log::warn("keyvault_retry", &[("retry", &retry), ("delay_ms", &delay_ms)]);
        azure_core::sleep(to_sdk_duration(delay)).await;
    }
}

fn to_sdk_duration(duration: std::time::Duration) -> SdkDuration {
    SdkDuration::try_from(duration).unwrap_or(SdkDuration::MAX)
}
