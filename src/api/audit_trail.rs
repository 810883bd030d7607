//! Writing audit entries for the operations the API carries out.

use std::time::SystemTime;

use super::error::ApiError;
use super::handlers::Services;
use crate::access::Principal;
use crate::log;
use crate::store::audit::{AuditEntry, ClientAddress};
use crate::transport::Transport;

/// The caller, client address and time of a request: the parts of an
/// audit entry that do not depend on the operation.
#[derive(Debug)]
pub struct Context {
    pub principal: Principal,
    pub client: ClientAddress,
    pub now: SystemTime,
}

/// Outcome recorded when an operation succeeded.
pub const OK: &str = "ok";
/// Outcome recorded when a request was turned away (401, 403, or 404 for an
/// app outside the caller's scope).
pub const DENIED: &str = "denied";

impl<T: Transport> Services<'_, T> {
    /// Writes the audit entry of a successful operation. When it cannot be
    /// written, the entry goes to the log instead and the caller gets 503.
    /// For reads (codes, exports) this happens before anything is returned.
    /// For changes it happens after they were applied, and the message
    /// states that.
    pub async fn record(
        &self,
        context: &Context,
        action: &'static str,
        app_id: Option<&str>,
        status: u16,
        detail: Option<String>,
    ) -> Result<(), ApiError> {
        let entry = entry(context, action, app_id, OK, status, detail);
        self.write_entry(&entry).await.map_err(|()| {
            let message = if action_changes_state(action) {
                "the change was applied, but its audit entry could not be written; the server log holds the entry, and storage needs attention"
            } else {
                "the audit entry could not be written, so nothing is returned; retry shortly"
            };
            ApiError::audit_unavailable(message)
        })
    }

    /// Writes the audit entry of a denied request. A failure is logged, and
    /// the caller still gets the denial.
    pub async fn record_denial(
        &self,
        actor: &str,
        client: ClientAddress,
        now: SystemTime,
        action: &'static str,
        app_id: Option<&str>,
        status: u16,
    ) {
        let entry = AuditEntry {
            time: now,
            actor: actor.to_string(),
            action,
            app_id: app_id.map(str::to_string),
            outcome: DENIED,
            status,
            client,
            detail: None,
        };
        let _ = self.write_entry(&entry).await;
    }

    async fn write_entry(&self, entry: &AuditEntry) -> Result<(), ()> {
        let suffix = match random_suffix() {
            Ok(suffix) => suffix,
            Err(error) => {
                log_unwritten(entry, &error);
                return Err(());
            }
        };
        match self.audit.write(entry, &suffix).await {
            Ok(()) => Ok(()),
            Err(error) => {
                log_unwritten(entry, &error.to_string());
                Err(())
            }
        }
    }
}

fn entry(
    context: &Context,
    action: &'static str,
    app_id: Option<&str>,
    outcome: &'static str,
    status: u16,
    detail: Option<String>,
) -> AuditEntry {
    AuditEntry {
        time: context.now,
        actor: context.principal.actor.clone(),
        action,
        app_id: app_id.map(str::to_string),
        outcome,
        status,
        client: context.client.clone(),
        detail,
    }
}

fn action_changes_state(action: &str) -> bool {
    !matches!(action, "get_code" | "export_seed")
}

/// Logs an entry that could not be stored, so the record is not lost.
fn log_unwritten(entry: &AuditEntry, error: &str) {
    let status = entry.status.to_string();
    log::error(
        "audit_write_failed",
        &[
            ("error", error),
            ("actor", &entry.actor),
            ("action", entry.action),
            ("app_id", entry.app_id.as_deref().unwrap_or_default()),
            ("outcome", entry.outcome),
            ("status", &status),
            ("client", entry.client.peer.as_deref().unwrap_or_default()),
            ("forwarded_for", entry.client.forwarded_for.as_deref().unwrap_or_default()),
            ("detail", entry.detail.as_deref().unwrap_or_default()),
        ],
    );
}

/// Eight random hex digits that keep RowKeys of the same millisecond apart.
fn random_suffix() -> Result<String, String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|e| format!("random source failed: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
