//! The system trust store for clients given no CA.
//!
//! OpenSSL looks for it where it was configured to (`OPENSSLDIR`). The system OpenSSL's paths
//! fit its system; a vendored OpenSSL's (`/usr/local/ssl`) usually do not exist, and a client
//! then trusts nothing. When neither OpenSSL's defaults nor `SSL_CERT_FILE`/`SSL_CERT_DIR`
//! exist, the usual locations are probed (`openssl-probe`: Debian, Red Hat, Alpine, SUSE, ...).

use std::ffi::CStr;
use std::os::raw::c_char;
use std::path::{Path, PathBuf};

use once_cell::sync::Lazy;
use openssl::error::ErrorStack;
use openssl::ssl::SslContextBuilder;

/// Where trusted roots come from when OpenSSL's own defaults lead nowhere.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Fallback {
    pub(crate) file: Option<PathBuf>,
    pub(crate) dirs: Vec<PathBuf>,
}

/// Probed once per process: the answer does not change while it runs.
static FALLBACK: Lazy<Option<Fallback>> = Lazy::new(|| {
    fallback_for(
        &c_path(unsafe { openssl_sys::X509_get_default_cert_file() }),
        &c_path(unsafe { openssl_sys::X509_get_default_cert_dir() }),
        |name| std::env::var_os(name).is_some(),
        openssl_probe::probe,
    )
});

/// Load the system's trusted roots into a client context.
pub(crate) fn load(b: &mut SslContextBuilder) -> Result<(), ErrorStack> {
    b.set_default_verify_paths()?;
    if let Some(fallback) = FALLBACK.as_ref() {
        if let Some(file) = &fallback.file {
            b.load_verify_locations(Some(file), None)?;
        }
        for dir in &fallback.dirs {
            b.load_verify_locations(None, Some(dir))?;
        }
    }
    Ok(())
}

/// `None` when OpenSSL's defaults (or the variables that override them) are to be used;
/// otherwise the probed locations.
fn fallback_for(
    default_file: &Path,
    default_dir: &Path,
    env_is_set: impl Fn(&str) -> bool,
    probe: impl FnOnce() -> openssl_probe::ProbeResult,
) -> Option<Fallback> {
    if env_is_set("SSL_CERT_FILE") || env_is_set("SSL_CERT_DIR") {
        return None;
    }
    if default_file.is_file() || default_dir.is_dir() {
        return None;
    }
    let found = probe();
    let fallback = Fallback {
        file: found.cert_file,
        dirs: found.cert_dir,
    };
    (fallback != Fallback::default()).then_some(fallback)
}

fn c_path(p: *const c_char) -> PathBuf {
    if p.is_null() {
        return PathBuf::new();
    }
    // SAFETY: OpenSSL returns a static NUL-terminated string.
    let s = unsafe { CStr::from_ptr(p) };
    PathBuf::from(s.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ssl::SslMethod;

    fn probe_finding(file: &str) -> impl FnOnce() -> openssl_probe::ProbeResult + '_ {
        move || openssl_probe::ProbeResult {
            cert_file: Some(PathBuf::from(file)),
            cert_dir: vec![],
        }
    }

    #[test]
    fn openssl_defaults_that_exist_are_kept() {
        let dir = std::env::temp_dir();
        let got = fallback_for(
            Path::new("/nonexistent/cert.pem"),
            &dir,
            |_| false,
            || panic!("probed although the default folder exists"),
        );
        assert_eq!(got, None);
    }

    #[test]
    fn environment_overrides_are_kept() {
        let got = fallback_for(
            Path::new("/nonexistent/cert.pem"),
            Path::new("/nonexistent/certs"),
            |name| name == "SSL_CERT_DIR",
            || panic!("probed although SSL_CERT_DIR is set"),
        );
        assert_eq!(got, None);
    }

    #[test]
    fn missing_defaults_are_probed_as_a_vendored_openssl_needs() {
        let got = fallback_for(
            Path::new("/usr/local/ssl/cert.pem.absent"),
            Path::new("/usr/local/ssl/certs.absent"),
            |_| false,
            probe_finding("/etc/ssl/certs/ca-certificates.crt"),
        );
        assert_eq!(
            got,
            Some(Fallback {
                file: Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")),
                dirs: vec![],
            })
        );
        let nothing = fallback_for(
            Path::new("/absent/file"),
            Path::new("/absent/dir"),
            |_| false,
            || openssl_probe::ProbeResult {
                cert_file: None,
                cert_dir: vec![],
            },
        );
        assert_eq!(nothing, None);
    }

    /// The probe on this machine finds a bundle, and loading it fills a context's store: what a
    /// vendored build's client gets instead of an empty trust store.
    #[test]
    fn probed_roots_load_into_a_context() {
        let found = openssl_probe::probe();
        let Some(file) = found.cert_file else {
            eprintln!("no system CA bundle on this machine; nothing to load");
            return;
        };
        let mut b = SslContextBuilder::new(SslMethod::tls_client()).unwrap();
        b.load_verify_locations(Some(&file), None).unwrap();
        let ctx = b.build();
        assert!(
            ctx.cert_store().all_certificates().len() > 10,
            "{} gave almost no roots",
            file.display()
        );
    }

    /// A vendored OpenSSL (prefix /usr/local/ssl) on a system that keeps its roots elsewhere
    /// falls back to them. Run by `cargo test --features vendored`.
    #[cfg(feature = "vendored")]
    #[test]
    fn vendored_openssl_finds_the_system_roots() {
        if Path::new("/usr/local/ssl/certs").is_dir() || std::env::var_os("SSL_CERT_FILE").is_some()
        {
            eprintln!("this system has OpenSSL's vendored prefix or an override; nothing to probe");
            return;
        }
        let fallback = FALLBACK
            .as_ref()
            .expect("no fallback for the vendored prefix");
        assert!(fallback.file.is_some() || !fallback.dirs.is_empty());
    }
}
