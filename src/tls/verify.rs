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

use super::info::{name_to_string, san_strings};
use crate::error::VerifyFailure;

/// The first failure, and the names of the peer's own certificate when the failure is a name
/// mismatch (the peer certificate is not kept when the handshake fails).
type Slot = Mutex<Option<(VerifyFailure, Vec<String>)>>;

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
        let code = err.as_raw();
        let cert = ctx.current_cert();
        let names = match cert {
            Some(c) if is_name_mismatch(code) => san_strings(c),
            _ => Vec::new(),
        };
        let failure = VerifyFailure {
            code,
            text: err.error_string().to_string(),
            depth: ctx.error_depth() as i32,
            subject: cert
                .map(|c| name_to_string(c.subject_name()))
                .unwrap_or_default(),
        };
        *slot = Some((failure, names));
    }
}

/// `X509_V_ERR_HOSTNAME_MISMATCH` (62) or `X509_V_ERR_IP_ADDRESS_MISMATCH` (64).
pub(crate) fn is_name_mismatch(code: i32) -> bool {
    code == openssl_sys::X509_V_ERR_HOSTNAME_MISMATCH
        || code == openssl_sys::X509_V_ERR_IP_ADDRESS_MISMATCH
}

/// The subjectAltNames of the certificate that failed a name check (empty otherwise, or when
/// it has none).
pub(crate) fn mismatched_names(ssl: &SslRef) -> Vec<String> {
    SLOT.and_then(|idx| ssl.ex_data(idx))
        .and_then(|s| s.lock().as_ref().map(|(_, names)| names.clone()))
        .unwrap_or_default()
}

/// The verify failure of a finished (or failed) handshake: the recorded one, or else the final
/// verify result when it is not OK (depth unknown: -1).
pub(crate) fn failure(ssl: &SslRef) -> Option<VerifyFailure> {
    if let Some(idx) = *SLOT {
        if let Some((v, _)) = ssl.ex_data(idx).and_then(|s| s.lock().clone()) {
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
