//! How the tool reports errors on stderr: the library's message, OpenSSL's queue, the X509
//! verify result and the hint, one per line.

/// Prints a usage error and returns exit status 2.
pub fn usage(command: Option<&str>, message: &str) -> u8 {
    eprintln!("wss-pki: {message}");
    match command {
        Some(c) => eprintln!("Run 'wss-pki {c} --help' for usage."),
        None => eprintln!("Run 'wss-pki --help' for usage."),
    }
    2
}

/// Prints a library error with all its detail and returns exit status 2.
pub fn error(e: &wss::Error) -> u8 {
    eprintln!("wss-pki: error: {}", e.message);
    for d in detail(e) {
        eprintln!("  {d}");
    }
    2
}

/// The detail lines of an error: OpenSSL entries, the verify result, errno, the hint.
pub fn detail(e: &wss::Error) -> Vec<String> {
    let mut out = Vec::new();
    for o in &e.openssl {
        out.push(format!(
            "openssl: {:#x} {}: {}",
            o.code, o.library, o.reason
        ));
    }
    if let Some(v) = &e.verify {
        out.push(format!(
            "X509 verify error {}: {} (depth {}, subject {})",
            v.code, v.text, v.depth, v.subject
        ));
    }
    if let Some(errno) = e.errno {
        out.push(format!("errno {errno}"));
    }
    if let Some(h) = &e.hint {
        out.push(format!("hint: {h}"));
    }
    out.push(format!("({}, code {})", e.kind.as_str(), e.kind.code()));
    out
}
