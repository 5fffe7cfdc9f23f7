//! Orders the generated header by topic, so that include/wss.h reads as the manual: cbindgen
//! writes all constants, then all types, then all functions; this regroups every item (its doc
//! comment and declaration) under the topic its name belongs to, types before the functions that
//! use them, each topic under a banner.

/// Topics in header order: a banner and a test on an item's declared name. Types a later topic
/// uses come earlier (the callbacks before the server and client that take them).
/// A topic: its banner title and whether an item name belongs to it.
type Topic = (&'static str, fn(&str) -> bool);

const TOPICS: &[Topic] = &[
    // Opaque handle declarations also land here (see `topic_of`).
    ("Handles and ownership", |n| n == "wss_release_fn"),
    ("Library version, results and errors", |n| {
        n == "wss_result"
            || n == "WSS_OK"
            || n.starts_with("WSS_ERR_")
            || n.starts_with("wss_error")
            || n.starts_with("wss_openssl_error")
            || n.starts_with("wss_version")
            || n == "wss_openssl_version"
            || n == "wss_last_error"
            || n == "wss_result_str"
    }),
    ("TLS configuration", |n| {
        n.starts_with("wss_tls_")
            || n.starts_with("WSS_TLS_")
            || n.starts_with("WSS_VERIFY_")
            || n == "wss_verify_mode"
            || n == "wss_peer_cert"
    }),
    ("Endpoint options", |n| n.starts_with("wss_options")),
    ("Connections (by id, from any thread)", |n| {
        n.starts_with("wss_send")
            || n == "wss_close_conn"
            || n == "wss_ping"
            || n.starts_with("wss_conn_")
            || n.starts_with("WSS_MESSAGE_")
            || n.starts_with("WSS_SEND_")
            || n == "wss_message_kind"
            || n.starts_with("WSS_CLOSE_")
    }),
    ("Callbacks, user data and upgrade decisions", |n| {
        n == "wss_callbacks"
            || n == "wss_header"
            || n == "wss_upgrade_request"
            || n.starts_with("wss_accept_decision")
    }),
    ("Pull mode: events taken on the host's thread", |n| {
        n.contains("event") || n.starts_with("WSS_EVENT_")
    }),
    ("Servers", |n| n.starts_with("wss_server")),
    ("Clients", |n| n.starts_with("wss_client")),
];

/// The name an item declares (its last non-comment text decides).
fn declared_name(item: &str) -> Option<String> {
    let code: Vec<&str> = item
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("/*") || t.starts_with('*') || t.is_empty())
        })
        .collect();
    let first = code.first()?.trim();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    if let Some(rest) = first.strip_prefix("#define ") {
        return Some(ident(rest));
    }
    if first.starts_with("typedef struct") && first.ends_with(';') && !first.contains('{') {
        // `typedef struct X X;`
        return first.split_whitespace().nth(2).map(ident);
    }
    if first.starts_with("typedef struct") {
        return first.split_whitespace().nth(2).map(ident);
    }
    if let Some(p) = first.find("(*") {
        if first.starts_with("typedef") {
            return Some(ident(&first[p + 2..]));
        }
    }
    if first.starts_with("typedef") {
        let last = first.trim_end_matches(';').split_whitespace().last()?;
        return Some(ident(last));
    }
    // A function: the identifier right before the first '('.
    let joined = code.join(" ");
    let open = joined.find('(')?;
    let before = joined[..open].trim_end();
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    Some(before[start..].to_string())
}

/// The topic of an item: opaque handle declarations (`typedef struct X X;`) go to the first
/// topic, everything else by name.
fn topic_of(name: &str, item: &str) -> usize {
    if item
        .lines()
        .any(|l| l == format!("typedef struct {name} {name};"))
    {
        return 0;
    }
    TOPICS.iter().position(|(_, f)| f(name)).unwrap_or_else(|| {
        panic!("header item '{name}' belongs to no topic: add it to build/topics.rs")
    })
}

fn items(block: &str) -> Vec<String> {
    block
        .split("\n\n")
        .map(|s| s.trim_matches('\n').to_string())
        .filter(|s| !s.trim().is_empty())
        .collect()
}

/// Regroup `header` (cbindgen's output) by topic. Panics (failing the build) on an item that
/// fits no topic, or when the layout is not what cbindgen writes.
pub fn by_topic(header: &str) -> String {
    const OPEN: &str = "#ifdef __cplusplus\nextern \"C\" {\n#endif // __cplusplus\n";
    const CLOSE: &str = "#ifdef __cplusplus\n}  // extern \"C\"\n#endif  // __cplusplus\n";
    let body_start = header.find("\n/**").expect("a documented item") + 1;
    let open = header.find(OPEN).expect("extern \"C\" block");
    let close = header.find(CLOSE).expect("end of extern \"C\" block");
    let (prefix, types, funcs, suffix) = (
        &header[..body_start],
        &header[body_start..open],
        &header[open + OPEN.len()..close],
        &header[close + CLOSE.len()..],
    );
    let mut groups: Vec<(Vec<String>, Vec<String>)> = vec![(Vec::new(), Vec::new()); TOPICS.len()];
    for item in items(types) {
        let name = declared_name(&item).expect("declared name");
        groups[topic_of(&name, &item)].0.push(item);
    }
    for item in items(funcs) {
        let name = declared_name(&item).expect("declared name");
        groups[topic_of(&name, &item)].1.push(item);
    }
    let mut out = String::from(prefix);
    out.push_str(OPEN);
    for ((title, _), (types, funcs)) in TOPICS.iter().zip(groups) {
        if types.is_empty() && funcs.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n/* ==== {title} {} */\n",
            "=".repeat(88usize.saturating_sub(title.len()))
        ));
        for item in types.iter().chain(funcs.iter()) {
            out.push('\n');
            out.push_str(item);
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(CLOSE);
    out.push_str(suffix);
    out
}
