//! Handles as C hosts hold them, and the host's `user_data` with its release function.
//!
//! `wss_server*` and `wss_client*` are reference-counted: every call holds its own reference for
//! as long as it runs, so a `*_free` (or `*_close`) racing with a call on another thread (a .NET
//! `Dispose` against a reader thread, or a finalizer) never frees memory under it. Only calls
//! that *start* after `*_free` returned are host bugs.

use std::os::raw::c_void;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Called exactly once with `user_data` when the library will never use it again: after the last
/// callback that receives it has returned and no other can start. It may run on any thread
/// (often an I/O thread, or the thread that frees the handle). NULL when the host needs none.
/// A call that fails does not take ownership: its `release` is never called.
pub type wss_release_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The host's pointer and its release function, called when this value is dropped (once armed).
pub(crate) struct HostData {
    ptr: *mut c_void,
    release: wss_release_fn,
}

// SAFETY: the host promises `user_data` may be used and released from the library's threads
// (documented on `wss_release_fn` and the callbacks).
unsafe impl Send for HostData {}
unsafe impl Sync for HostData {}

impl HostData {
    pub(crate) fn new(ptr: *mut c_void, release: wss_release_fn) -> Self {
        HostData { ptr, release }
    }

    /// The host's pointer.
    pub(crate) fn ptr(&self) -> *mut c_void {
        self.ptr
    }

    /// The host's pointer inside per-connection data set through the C ABI (NULL for none, or
    /// for data a Rust host attached).
    pub(crate) fn ptr_in(data: Option<&crate::pull::UserData>) -> *mut c_void {
        data.and_then(|d| d.downcast_ref::<HostData>())
            .map_or(std::ptr::null_mut(), HostData::ptr)
    }

    /// Give up the release (the call that took it failed: the host keeps ownership).
    pub(crate) fn disown(mut self) {
        self.release = None;
    }
}

impl Drop for HostData {
    fn drop(&mut self) {
        if let Some(f) = self.release.take() {
            // SAFETY: the host's function with the host's pointer, called once.
            unsafe { f(self.ptr) };
        }
    }
}

/// Hand a new handle to the host.
pub(crate) fn publish<T>(v: Arc<T>) -> *mut T {
    Arc::into_raw(v).cast_mut()
}

/// A reference to a live handle for the duration of a call.
pub(crate) fn acquire<T>(p: *const T, what: &str) -> Result<Arc<T>> {
    if p.is_null() {
        return Err(Error::invalid(format!("{what} must not be NULL")));
    }
    // SAFETY: by contract a live pointer from `publish` (its count is at least one).
    unsafe {
        Arc::increment_strong_count(p);
        Ok(Arc::from_raw(p))
    }
}

/// Take back the host's reference (in `*_free`).
///
/// # Safety
/// `p` from `publish`, not yet taken back.
pub(crate) unsafe fn take_back<T>(p: *mut T) -> Arc<T> {
    // SAFETY: by the caller's contract.
    unsafe { Arc::from_raw(p.cast_const()) }
}
