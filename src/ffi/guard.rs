//! The panic boundary every entry point goes through, the thread-local last error, and the C view
//! of an [`Error`] (`wss_error_info`).

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use super::result::*;
use crate::error::{Error, ErrorKind, Result};

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

/// Everything known about a failure. Strings are UTF-8, NUL-terminated; optional ones are NULL
/// when absent. From `wss_last_error`: valid until the next failing call on the same thread.
/// In `on_error` and events: valid during the callback / until `wss_event_free`.
#[repr(C)]
pub struct wss_error_info {
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
    /// OpenSSL's text for `verify_code`, or NULL.
    pub verify_text: *const c_char,
    /// Chain depth of the failing certificate (0 = peer's own), -1 if unknown.
    pub verify_depth: i32,
    /// Subject of the failing certificate, or NULL.
    pub verify_subject: *const c_char,
    /// OS error number, 0 if none.
    pub os_errno: i32,
    /// Peer address ("ip:port"), or NULL.
    pub peer_address: *const c_char,
    /// HTTP status of a refused upgrade, 0 if none.
    pub http_status: u16,
}

fn cs(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// An [`Error`] converted to C strings; `info` points into this value's heap storage, so it stays
/// valid while this value lives (moving it is fine).
pub(crate) struct CError {
    _strings: Vec<CString>,
    _entries: Vec<wss_openssl_error>,
    pub info: wss_error_info,
}

// SAFETY: the raw pointers point into heap data owned by the same value.
unsafe impl Send for CError {}

impl CError {
    pub(crate) fn new(e: &Error) -> Box<CError> {
        let mut strings = Vec::new();
        let mut keep = |s: &str| {
            let c = cs(s);
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
            verify_text,
            verify_depth,
            verify_subject,
            os_errno: e.errno.unwrap_or(0),
            peer_address,
            http_status: e.http_status.unwrap_or(0),
        };
        Box::new(CError {
            _strings: strings,
            _entries: entries,
            info,
        })
    }
}

thread_local! {
    static LAST: RefCell<Option<Box<CError>>> = const { RefCell::new(None) };
}

/// Record `e` as this thread's last error and return its code. On a thread that is exiting (a
/// pthread key or C++ `thread_local` destructor running after `LAST` was destroyed) the detail is
/// dropped and the code still returned: `wss_last_error` then reports [`thread_exiting`].
pub(crate) fn fail(e: &Error) -> wss_result {
    let c = CError::new(e);
    let code = c.info.code;
    let _ = LAST.try_with(|l| *l.borrow_mut() = Some(c));
    code
}

/// What `wss_last_error` reports when the thread's storage is already destroyed (static data).
fn thread_exiting() -> wss_error_info {
    wss_error_info {
        code: WSS_ERR_INVALID_STATE,
        kind: ErrorKind::InvalidState.name().as_ptr(),
        message: c"no error detail: this thread is exiting and its last error is gone".as_ptr(),
        hint: ptr::null(),
        openssl_errors: ptr::null(),
        openssl_error_count: 0,
        verify_code: 0,
        verify_text: ptr::null(),
        verify_depth: -1,
        verify_subject: ptr::null(),
        os_errno: 0,
        peer_address: ptr::null(),
        http_status: 0,
    }
}

/// Set in a child process by the `pthread_atfork` handler: the I/O threads did not survive the
/// fork, so every entry point but the `*_free` functions and the error/version queries refuses.
static FORKED: AtomicBool = AtomicBool::new(false);

/// Register the fork handler (once, before the first entry point creates any state) and tell
/// whether this process is a child forked after that.
fn forked() -> bool {
    #[cfg(unix)]
    {
        static REGISTER: std::sync::Once = std::sync::Once::new();
        extern "C" fn in_child() {
            FORKED.store(true, Ordering::Relaxed);
        }
        // SAFETY: registers a handler that only stores to an atomic (async-signal-safe).
        REGISTER.call_once(|| unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        });
    }
    FORKED.load(Ordering::Relaxed)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// Run an entry point: catch panics, turn errors into codes and the thread's last error.
pub(crate) fn guard(f: impl FnOnce() -> Result<()>) -> wss_result {
    if forked() {
        return fail(&Error::new(
            ErrorKind::InvalidState,
            "called in a process forked after the library was used: a forked child may only free handles",
        ));
    }
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => WSS_OK,
        Ok(Err(e)) => fail(&e),
        Err(p) => fail(&Error::new(
            ErrorKind::Internal,
            format!("internal error (caught panic): {}", panic_message(&*p)),
        )),
    }
}

/// Run a callback-side body (no error to return): panics are contained and dropped.
pub(crate) fn contain(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Borrow a required UTF-8 string argument.
pub(crate) fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::invalid(format!("{what} must not be NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string that outlives the call.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|e| Error::invalid(format!("{what} is not valid UTF-8: {e}")))
}

/// Borrow an optional UTF-8 string argument (NULL = None).
pub(crate) fn opt_str_arg<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        str_arg(p, what).map(Some)
    }
}

/// Borrow a byte buffer (NULL allowed only with length 0).
pub(crate) fn bytes_arg<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::invalid(format!("{what} is NULL with length {len}")));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("{what} length {len} is too large")));
    }
    // SAFETY: the caller promises `len` readable bytes at `p` for the duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Check an out-pointer.
pub(crate) fn out_arg<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: non-null and, by contract, valid for writes of T.
    unsafe { p.as_mut() }.ok_or_else(|| Error::invalid(format!("{what} (output) must not be NULL")))
}

/// Borrow a handle.
pub(crate) fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: by contract, a live handle from this library or NULL.
    unsafe { p.as_ref() }.ok_or_else(|| Error::invalid(format!("{what} must not be NULL")))
}

/// Fill `out` with the last failure recorded on the calling thread (read it right after the call
/// that failed). Returns `WSS_OK`, or `WSS_ERR_INVALID_ARGUMENT` when `out` is NULL. With no
/// failure recorded, `out->code` is `WSS_OK` and `out->message` is "no error". On a thread that is
/// exiting (called from a pthread key or C++ `thread_local` destructor, after the library's
/// thread storage is gone) the detail is lost: `out` gets `WSS_ERR_INVALID_STATE` with a static
/// message saying so.
///
/// # Safety
/// `out` must be NULL or point to writable memory for one `wss_error_info`.
#[no_mangle]
pub unsafe extern "C" fn wss_last_error(out: *mut wss_error_info) -> wss_result {
    let Some(out) = (unsafe { out.as_mut() }) else {
        return WSS_ERR_INVALID_ARGUMENT;
    };
    let read = LAST.try_with(|l| {
        let mut l = l.borrow_mut();
        if l.is_none() {
            let mut none = CError::new(&Error::new(ErrorKind::Internal, "no error"));
            none.info.code = WSS_OK;
            none.info.kind = c"ok".as_ptr();
            *l = Some(none);
        }
        let c = l.as_ref().expect("set above");
        *out = copy(&c.info);
    });
    if read.is_err() {
        *out = thread_exiting();
    }
    WSS_OK
}

/// Shallow copy of an info (pointers shared).
pub(crate) fn copy(i: &wss_error_info) -> wss_error_info {
    wss_error_info {
        code: i.code,
        kind: i.kind,
        message: i.message,
        hint: i.hint,
        openssl_errors: i.openssl_errors,
        openssl_error_count: i.openssl_error_count,
        verify_code: i.verify_code,
        verify_text: i.verify_text,
        verify_depth: i.verify_depth,
        verify_subject: i.verify_subject,
        os_errno: i.os_errno,
        peer_address: i.peer_address,
        http_status: i.http_status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_catches_panics_and_records_errors() {
        assert_eq!(guard(|| Ok(())), WSS_OK);
        let code = guard(|| panic!("boom"));
        assert_eq!(code, WSS_ERR_INTERNAL);
        let mut info = std::mem::MaybeUninit::<wss_error_info>::uninit();
        assert_eq!(unsafe { wss_last_error(info.as_mut_ptr()) }, WSS_OK);
        let info = unsafe { info.assume_init() };
        assert_eq!(info.code, WSS_ERR_INTERNAL);
        let msg = unsafe { CStr::from_ptr(info.message) }.to_str().unwrap();
        assert!(msg.contains("boom"), "{msg}");
        let mut e = Error::invalid("bad\0arg");
        e.hint = Some("h".into());
        assert_eq!(guard(|| Err(e.clone())), WSS_ERR_INVALID_ARGUMENT);
        assert_eq!(
            unsafe { wss_last_error(ptr::null_mut()) },
            WSS_ERR_INVALID_ARGUMENT
        );
    }
}
