//! Capture of the X509 verify failure (code, text, depth, subject) during a handshake.
//!
//! OpenSSL reports only the final verify code after a handshake; the depth and subject of the
//! certificate that failed are known only inside the verify callback. The callback stores the
//! first failure in the `Ssl`'s ex-data, and never turns a failure into success (no fail-open).

use once_cell::sync::Lazy;
use openssl::ex_data::Index;
use openssl::ssl::{Ssl, SslRef};
use openssl::x509::{X509StoreContext, X509StoreContextRef, X509VerifyResult};
use parking_lot::Mutex;

use super::info::name_to_string;
use crate::error::VerifyFailure;

type Slot = Mutex<Option<VerifyFailure>>;

static SLOT: Lazy<Option<Index<Ssl, Slot>>> = Lazy::new(|| Ssl::new_ex_index().ok());

/// Prepare `ssl` so the verify callback can record failures.
pub(crate) fn attach(ssl: &mut SslRef) {
    if let Some(idx) = *SLOT {
        ssl.set_ex_data(idx, Mutex::new(None));
    }
}

/// The verify callback installed on every context: records the first failure, returns OpenSSL's
/// own verdict unchanged.
pub(crate) fn callback(preverify_ok: bool, ctx: &mut X509StoreContextRef) -> bool {
    if !preverify_ok {
        record(ctx);
    }
    preverify_ok
}

fn record(ctx: &X509StoreContextRef) {
    let Some(idx) = *SLOT else { return };
    let Ok(ssl_idx) = X509StoreContext::ssl_idx() else {
        return;
    };
    let Some(ssl) = ctx.ex_data(ssl_idx) else {
        return;
    };
    let Some(slot) = ssl.ex_data(idx) else { return };
    let mut slot = slot.lock();
    if slot.is_none() {
        let err = ctx.error();
        *slot = Some(VerifyFailure {
            code: err.as_raw(),
            text: err.error_string().to_string(),
            depth: ctx.error_depth() as i32,
            subject: ctx
                .current_cert()
                .map(|c| name_to_string(c.subject_name()))
                .unwrap_or_default(),
        });
    }
}

/// The verify failure of a finished (or failed) handshake: the recorded one, or else the final
/// verify result when it is not OK (depth unknown: -1).
pub(crate) fn failure(ssl: &SslRef) -> Option<VerifyFailure> {
    if let Some(idx) = *SLOT {
        if let Some(v) = ssl.ex_data(idx).and_then(|s| s.lock().clone()) {
            return Some(v);
        }
    }
    let r = ssl.verify_result();
    (r != X509VerifyResult::OK).then(|| VerifyFailure {
        code: r.as_raw(),
        text: r.error_string().to_string(),
        depth: -1,
        subject: String::new(),
    })
}
