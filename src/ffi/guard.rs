//! The panic boundary every entry point goes through, argument checks, and the thread-local last
//! error.

use std::cell::RefCell;
use std::ffi::CStr;
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::error::{fill_info, wss_error, wss_error_info};
use super::result::*;
use crate::error::{Error, ErrorKind, Result};

thread_local! {
    static LAST: RefCell<Option<Arc<wss_error>>> = const { RefCell::new(None) };
}

/// Record `e` as this thread's last error and return its code. On a thread that is exiting
/// (a pthread key or C++ `thread_local` destructor calling in), the thread-local is gone: the
/// code is still returned, the detail is not kept.
pub(crate) fn fail(e: &Error) -> wss_result {
    let code = e.kind.code();
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = Some(wss_error::new(e));
        }
    });
    code
}

/// This thread's last failure (None when none was recorded or the thread is exiting).
pub(crate) fn last() -> Option<Arc<wss_error>> {
    LAST.try_with(|l| l.try_borrow().ok().and_then(|l| l.clone()))
        .ok()
        .flatten()
}

/// Whether this thread's storage is already destroyed (a pthread key or C++ `thread_local`
/// destructor calling in while the thread exits).
fn thread_exiting() -> bool {
    LAST.try_with(|_| ()).is_err()
}

/// Set in a child process by the `pthread_atfork` handler: the I/O threads did not survive the
/// fork, so every entry point but the `*_free` functions and the error/version queries refuses.
static FORKED: AtomicBool = AtomicBool::new(false);

/// Register the fork handler (once, before the first entry point creates any state) and tell
/// whether this process is a child forked after that.
pub(crate) fn forked() -> bool {
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

/// A boolean argument: 0 or 1 (other values are refused, so a garbage byte is not read as true).
pub(crate) fn flag(v: u8, what: &str) -> Result<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::invalid(format!(
            "{what} must be 0 or 1, not {other}"
        ))),
    }
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

/// Fill `out` (set `out->struct_size = sizeof(wss_error_info)` first) with the last failure
/// recorded on the calling thread; read it right after the call that failed. The strings stay
/// valid until the next failing call on this thread (or the thread's end): to keep the error
/// longer or hand it to another thread, take it with `wss_error_last`. With no failure recorded,
/// `out->code` is `WSS_OK` and `out->message` is "no error". On a thread that is exiting (called
/// from a pthread key or C++ `thread_local` destructor, after the library's thread storage is
/// gone) the detail is lost: `out` gets `WSS_ERR_INVALID_STATE` with a message saying so.
/// Returns `WSS_ERR_INVALID_ARGUMENT` when `out` is NULL or its `struct_size` too small.
///
/// # Safety
/// `out` must be NULL or point to writable memory of its `struct_size`.
#[no_mangle]
pub unsafe extern "C" fn wss_last_error(out: *mut wss_error_info) -> wss_result {
    static NONE: once_cell::sync::Lazy<Arc<wss_error>> =
        once_cell::sync::Lazy::new(|| wss_error::new(&Error::new(ErrorKind::Internal, "no error")));
    static EXITING: once_cell::sync::Lazy<Arc<wss_error>> = once_cell::sync::Lazy::new(|| {
        wss_error::new(&Error::new(
            ErrorKind::InvalidState,
            "no error detail: this thread is exiting and its last error is gone",
        ))
    });
    let r = catch_unwind(AssertUnwindSafe(|| {
        let e = last();
        let exiting = e.is_none() && thread_exiting();
        let src = e
            .as_deref()
            .unwrap_or(if exiting { &EXITING } else { &NONE });
        let mut info = *src.info();
        if e.is_none() && !exiting {
            info.code = WSS_OK;
            info.kind = c"ok".as_ptr();
        }
        // `NONE`/`EXITING` are static and `e` is also held by the thread-local: the pointers stay valid.
        fill_info(&info, out)
    }));
    match r {
        Ok(Ok(())) => WSS_OK,
        _ => WSS_ERR_INVALID_ARGUMENT,
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
        let mut info: wss_error_info = unsafe { std::mem::zeroed() };
        info.struct_size = std::mem::size_of::<wss_error_info>() as u32;
        assert_eq!(unsafe { wss_last_error(&mut info) }, WSS_OK);
        assert_eq!(info.code, WSS_ERR_INTERNAL);
        let msg = unsafe { CStr::from_ptr(info.message) }.to_str().unwrap();
        assert!(msg.contains("boom"), "{msg}");
        let mut e = Error::invalid("bad\0arg");
        e.hint = Some("h".into());
        assert_eq!(guard(|| Err(e.clone())), WSS_ERR_INVALID_ARGUMENT);
        assert_eq!(
            unsafe { wss_last_error(std::ptr::null_mut()) },
            WSS_ERR_INVALID_ARGUMENT
        );
    }
}
