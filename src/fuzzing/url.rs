//! Client connect URLs (`ws://` / `wss://`), as `Client::connect` parses them.

use crate::client::WsUrl;

/// Parse `data` (as UTF-8, when it is) as a connect URL. What parses has a host, and a
/// resource that starts with `/` and holds nothing that would break the request line.
pub fn connect_url(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = WsUrl::parse(s) {
        assert!(!url.host.is_empty(), "empty host from {s:?}");
        assert!(url.resource.starts_with('/'), "resource {:?}", url.resource);
        assert!(
            !url.resource.contains([' ', '\r', '\n']),
            "resource {:?} would break the request line",
            url.resource
        );
        assert!(!url.host.contains(['\r', '\n']), "host {:?}", url.host);
    }
}
