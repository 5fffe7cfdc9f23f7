//! Structs that may grow: each starts with a `uint32_t struct_size`. The side that fills a struct
//! writes only the members both sides know (the smaller of the two sizes) and reports what it
//! wrote; members are only ever added at the end, so old hosts and new libraries (and the reverse)
//! keep working. Version 1.0 of every struct is its current full size.

use crate::error::{Error, Result};

/// A `#[repr(C)]` struct whose first member is its `u32` size.
///
/// # Safety
/// Implementors must be `#[repr(C)]`, start with a `u32` size member, and be valid when
/// all-zero (NULL pointers, `None` function pointers, zero numbers).
pub(crate) unsafe trait Versioned: Sized {
    /// Smallest size a host may pass (the struct as of ABI 1.0).
    const MIN_SIZE: usize = std::mem::size_of::<Self>();
}

fn host_size<T: Versioned>(p: *const T, what: &str) -> Result<usize> {
    if p.is_null() {
        return Err(Error::invalid(format!("{what} must not be NULL")));
    }
    // SAFETY: non-null and, by contract, valid for reads of at least its leading u32.
    let size = unsafe { p.cast::<u32>().read_unaligned() } as usize;
    if size < T::MIN_SIZE {
        return Err(Error::invalid(format!(
            "{what}->struct_size is {size}; set it to sizeof the struct (at least {})",
            T::MIN_SIZE
        )));
    }
    Ok(size)
}

/// Copy `value` into the host's `out`, up to the host's `struct_size`, and set `struct_size` to
/// the bytes written.
pub(crate) fn write_sized<T: Versioned>(out: *mut T, value: T, what: &str) -> Result<()> {
    let n = host_size(out, what)?.min(std::mem::size_of::<T>());
    // SAFETY: `out` is valid for `n` bytes (the host's own size, by contract) and `value` for
    // `size_of::<T>()`; the regions do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping((&value as *const T).cast::<u8>(), out.cast::<u8>(), n);
        out.cast::<u32>().write_unaligned(n as u32);
    }
    std::mem::forget(value);
    Ok(())
}

/// Read a host-filled struct: members beyond the host's `struct_size` stay zero.
pub(crate) fn read_sized<T: Versioned>(p: *const T, what: &str) -> Result<T> {
    let n = host_size(p, what)?.min(std::mem::size_of::<T>());
    // SAFETY: all-zero is a valid `T` (trait contract); `p` is valid for `n` bytes.
    unsafe {
        let mut v = std::mem::MaybeUninit::<T>::zeroed();
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), v.as_mut_ptr().cast::<u8>(), n);
        Ok(v.assume_init())
    }
}
