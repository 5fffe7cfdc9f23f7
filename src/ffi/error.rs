//! Errors as C hosts see them: `wss_error` (an owned, reference-counted error object a host may
//! keep, copy, move to another thread and free) and `wss_error_info` (a plain struct view of one).

use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr;
use std::sync::Arc;

use super::guard::*;
use super::info::c_string;
use super::result::*;
use super::sized::{write_sized, Versioned};
use crate::error::Error;

/// One entry of the OpenSSL error queue.
#[repr(C)]
pub struct wss_openssl_error {
    /// Packed error code (`ERR_get_error`): library in bits 23..30, reason in bits 0..22.
    pub code: u64,
    /// Library name, e.g. "SSL routines".
    pub library: *const c_char,
    /// Reason, e.g. "certificate verify failed".
    pub reason: *const c_char,
    /// Function name OpenSSL recorded ("" if none).
    pub function: *const c_char,
    /// Extra data OpenSSL attached ("" if none).
    pub data: *const c_char,
}

/// Everything known about a failure, as a struct to read. Set `struct_size` to
/// `sizeof(wss_error_info)` before passing it to `wss_error_get_info` or `wss_last_error`; the
/// library fills the members it knows up to that size and sets `struct_size` to what it wrote
/// (members are only ever added at the end). Strings are UTF-8, NUL-terminated; optional ones are
/// NULL when absent. The pointers stay valid as long as the `wss_error` they came from (for
/// `wss_last_error`: until the next failing call on the same thread, or the thread's end).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wss_error_info {
    /// Size of this struct as the host knows it (in) and as filled (out).
    pub struct_size: u32,
    /// The result code (`WSS_ERR_*`).
    pub code: wss_result,
    /// Short description of the code.
    pub kind: *const c_char,
    /// What failed, with context.
    pub message: *const c_char,
    /// Advice for a common mistake, or NULL.
    pub hint: *const c_char,
    /// The OpenSSL error queue at the failure, oldest first (NULL when empty).
    pub openssl_errors: *const wss_openssl_error,
    /// Number of entries in `openssl_errors`.
    pub openssl_error_count: usize,
    /// X509 verify result (`X509_V_ERR_*`), 0 when no certificate failed.
    pub verify_code: i32,
    /// Chain depth of the failing certificate (0 = peer's own), -1 if unknown.
    pub verify_depth: i32,
    /// OpenSSL's text for `verify_code`, or NULL.
    pub verify_text: *const c_char,
    /// Subject of the failing certificate, or NULL.
    pub verify_subject: *const c_char,
    /// Peer address ("ip:port"), or NULL.
    pub peer_address: *const c_char,
    /// OS error number, 0 if none.
    pub os_errno: i32,
    /// HTTP status of a refused upgrade, 0 if none.
    pub http_status: u16,
}

// SAFETY: plain C data; the first member is the `u32` struct size.
unsafe impl Versioned for wss_error_info {}

/// Opaque error object: one failure with all its detail. Reference-counted and immutable, so it
/// may be read from any thread; `wss_error_copy` gives another reference, `wss_error_free`
/// drops one. Handed to hosts by `wss_error_last`, `on_error` (borrowed for the call: copy it to
/// keep it) and pull-mode events (owned by the event).
pub struct wss_error {
    _strings: Vec<CString>,
    _entries: Vec<wss_openssl_error>,
    info: wss_error_info,
}

// SAFETY: the raw pointers point into heap data owned by the same immutable value.
unsafe impl Send for wss_error {}
unsafe impl Sync for wss_error {}

impl wss_error {
    /// The C view of `e`, with its strings.
    pub(crate) fn new(e: &Error) -> Arc<wss_error> {
        let mut strings = Vec::new();
        let mut keep = |s: &str| {
            let c = c_string(s);
            let p = c.as_ptr();
            strings.push(c);
            p
        };
        let kind = keep(e.kind.as_str());
        let message = keep(&e.message);
        let hint = e.hint.as_deref().map_or(ptr::null(), &mut keep);
        let entries: Vec<wss_openssl_error> = e
            .openssl
            .iter()
            .map(|o| wss_openssl_error {
                code: o.code,
                library: keep(&o.library),
                reason: keep(&o.reason),
                function: keep(&o.function),
                data: keep(&o.data),
            })
            .collect();
        let (verify_code, verify_text, verify_depth, verify_subject) = match &e.verify {
            Some(v) => (
                v.code,
                keep(&v.text),
                v.depth,
                if v.subject.is_empty() {
                    ptr::null()
                } else {
                    keep(&v.subject)
                },
            ),
            None => (0, ptr::null(), -1, ptr::null()),
        };
        let peer_address = e.peer.map_or(ptr::null(), |p| keep(&p.to_string()));
        let info = wss_error_info {
            struct_size: std::mem::size_of::<wss_error_info>() as u32,
            code: e.kind.code(),
            kind,
            message,
            hint,
            openssl_errors: if entries.is_empty() {
                ptr::null()
            } else {
                entries.as_ptr()
            },
            openssl_error_count: entries.len(),
            verify_code,
            verify_depth,
            verify_text,
            verify_subject,
            peer_address,
            os_errno: e.errno.unwrap_or(0),
            http_status: e.http_status.unwrap_or(0),
        };
        Arc::new(wss_error {
            _strings: strings,
            _entries: entries,
            info,
        })
    }

    /// The view (pointers into this object).
    pub(crate) fn info(&self) -> &wss_error_info {
        &self.info
    }

    /// Hand a new reference to the host.
    pub(crate) fn into_raw(this: Arc<wss_error>) -> *mut wss_error {
        Arc::into_raw(this).cast_mut()
    }
}

/// Fill `out` (whose `struct_size` the host set) from `info`.
pub(crate) fn fill_info(info: &wss_error_info, out: *mut wss_error_info) -> Result<(), Error> {
    write_sized(out, *info, "info")
}

/// A new reference to the calling thread's last failure (read it right after the call that
/// failed), or NULL in `*out` when this thread has recorded none. Free it with `wss_error_free`;
/// unlike `wss_last_error`'s view, it stays valid on any thread until freed.
///
/// # Safety
/// `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wss_error_last(out: *mut *mut wss_error) -> wss_result {
    let Some(out) = (unsafe { out.as_mut() }) else {
        return WSS_ERR_INVALID_ARGUMENT;
    };
    *out = last().map_or(ptr::null_mut(), wss_error::into_raw);
    WSS_OK
}

/// A new reference to `err` (cheap: errors are immutable and shared). Free each reference with
/// `wss_error_free`.
///
/// # Safety
/// `err` a live error; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_error_copy(
    err: *const wss_error,
    out: *mut *mut wss_error,
) -> wss_result {
    guard(|| {
        let out = out_arg(out, "out")?;
        handle(err, "err")?;
        // SAFETY: a live pointer from `Arc::into_raw`, by contract.
        unsafe { Arc::increment_strong_count(err) };
        *out = err.cast_mut();
        Ok(())
    })
}

/// Drop one reference to an error. NULL is a no-op.
///
/// # Safety
/// `err` NULL or a reference the host owns, freed once.
#[no_mangle]
pub unsafe extern "C" fn wss_error_free(err: *mut wss_error) {
    if !err.is_null() {
        // SAFETY: a pointer from `Arc::into_raw`, owned by the host.
        contain(|| drop(unsafe { Arc::from_raw(err.cast_const()) }));
    }
}

/// Fill `out` (set `out->struct_size` first) with the detail of `err`. The strings stay valid
/// while `err` lives.
///
/// # Safety
/// `err` a live error; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_error_get_info(
    err: *const wss_error,
    out: *mut wss_error_info,
) -> wss_result {
    guard(|| fill_info(handle(err, "err")?.info(), out))
}

/// The error's result code (`WSS_ERR_*`); `WSS_ERR_INVALID_ARGUMENT` for NULL.
///
/// # Safety
/// `err` NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn wss_error_code(err: *const wss_error) -> wss_result {
    // SAFETY: NULL or live, by contract.
    unsafe { err.as_ref() }.map_or(WSS_ERR_INVALID_ARGUMENT, |e| e.info.code)
}

/// The error's message (valid while `err` lives; "" for NULL).
///
/// # Safety
/// `err` NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn wss_error_message(err: *const wss_error) -> *const c_char {
    // SAFETY: NULL or live, by contract.
    unsafe { err.as_ref() }.map_or(c"".as_ptr(), |e| e.info.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::ffi::CStr;

    #[test]
    fn an_owned_error_outlives_its_thread_and_counts_references() {
        let mut e = Error::new(ErrorKind::CertVerify, "verify failed");
        e.hint = Some("trust the CA".into());
        let raw = wss_error::into_raw(wss_error::new(&e));
        let mut copy = ptr::null_mut();
        assert_eq!(unsafe { wss_error_copy(raw, &mut copy) }, WSS_OK);
        assert_eq!(copy, raw);
        let sent = copy as usize;
        let t = std::thread::spawn(move || {
            let p = sent as *mut wss_error;
            let mut info: wss_error_info = unsafe { std::mem::zeroed() };
            info.struct_size = std::mem::size_of::<wss_error_info>() as u32;
            assert_eq!(unsafe { wss_error_get_info(p, &mut info) }, WSS_OK);
            let hint = unsafe { CStr::from_ptr(info.hint) }
                .to_str()
                .unwrap()
                .to_string();
            unsafe { wss_error_free(p) };
            (info.code, hint)
        });
        assert_eq!(
            t.join().unwrap(),
            (WSS_ERR_CERT_VERIFY, "trust the CA".to_string())
        );
        assert_eq!(unsafe { wss_error_code(raw) }, WSS_ERR_CERT_VERIFY);
        let msg = unsafe { CStr::from_ptr(wss_error_message(raw)) };
        assert_eq!(msg.to_str().unwrap(), "verify failed");
        unsafe { wss_error_free(raw) };
        unsafe { wss_error_free(ptr::null_mut()) };
        assert_eq!(
            unsafe { wss_error_code(ptr::null()) },
            WSS_ERR_INVALID_ARGUMENT
        );
    }

    #[test]
    fn an_info_struct_smaller_than_version_one_is_refused() {
        let raw = wss_error::into_raw(wss_error::new(&Error::invalid("x")));
        let mut info: wss_error_info = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { wss_error_get_info(raw, &mut info) },
            WSS_ERR_INVALID_ARGUMENT
        );
        unsafe { wss_error_free(raw) };
    }
}
