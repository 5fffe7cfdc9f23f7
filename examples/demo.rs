//! The demo: a mutual-TLS WebSocket echo over wss, then the same client with an expired
//! certificate, to show what a failed handshake reports on both sides.
//!
//! Run: `cargo run --example demo`

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{unbounded, Sender};
use wss::pki::{init, CertSpec, InitOptions};
use wss::{
    Client, ClientConfig, Connection, Error, Handler, MessageKind, Server, ServerConfig, TlsConfig,
    VerifyMode,
};

struct Echo;
impl Handler for Echo {
    fn on_open(&self, conn: &Connection) {
        let i = conn.info();
        let peer = i.tls.as_ref().and_then(|t| t.peer_certificate.as_ref());
        println!(
            "[server] open #{} from {} path {} client cert {:?}",
            i.id,
            i.remote,
            i.path,
            peer.map(|p| &p.subject)
        );
    }
    fn on_message(&self, conn: &Connection, kind: MessageKind, data: &[u8]) {
        let _ = conn.send(kind, data);
    }
    fn on_error(&self, _conn: Option<&Connection>, err: &Error) {
        println!("[server] error: {err}");
        if let Some(v) = &err.verify {
            println!(
                "[server]   X509 verify {} ({}) at depth {} for {}",
                v.code, v.text, v.depth, v.subject
            );
        }
    }
}

struct Printer(Sender<String>);
impl Handler for Printer {
    fn on_message(&self, _conn: &Connection, _kind: MessageKind, data: &[u8]) {
        let _ = self.0.send(String::from_utf8_lossy(data).into_owned());
    }
    fn on_close(&self, _conn: &Connection, code: u16, reason: &str) {
        println!("[client] closed {code} {reason:?}");
    }
}

/// Password of the demo's PFX files (a real deployment reads it from a file or a prompt).
const PFX_PASSWORD: &str = "demo-password";

/// A folder under the system temp dir, removed when the demo ends.
struct Scratch(std::path::PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() -> Result<(), Error> {
    let scratch = Scratch(std::env::temp_dir().join(format!("wss-demo-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&scratch.0);
    let mut opts = InitOptions::new(PFX_PASSWORD);
    opts.add_sans("localhost,127.0.0.1,::1")?
        .add_client("demo-client")?;
    let pki = init(&scratch.0, &opts)?;
    println!("wss {} with {}", wss::version(), wss::openssl_version());
    println!(
        "PKI in {} (root CA, server, client, PFX files, hashed CA folder, CRL)",
        pki.dir.display()
    );

    let mut server_tls = TlsConfig::new();
    server_tls
        .load_pfx_file(&pki.server.pfx, PFX_PASSWORD)?
        .load_ca_dir(&pki.hashed_ca_dir)?
        .set_verify_mode(VerifyMode::Required);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            tls: Some(server_tls),
            ..Default::default()
        },
        Arc::new(Echo),
    )?;
    let url = format!("wss://localhost:{}/echo", server.port());
    println!("[server] listening on {url} (mutual TLS, CA folder in hashed layout)");

    let mut client_tls = TlsConfig::new();
    client_tls
        .load_pfx_file(&pki.clients[0].pfx, PFX_PASSWORD)?
        .load_ca_file(&pki.ca_cert)?;
    let (tx, rx) = unbounded();
    let client = Client::connect(
        &url,
        &ClientConfig {
            tls: Some(client_tls),
            ..Default::default()
        },
        Arc::new(Printer(tx)),
    )?;
    let tls = client.connection().info().tls.clone().unwrap_or_default();
    println!(
        "[client] open: {} {} server cert {:?}",
        tls.version,
        tls.cipher,
        tls.peer_certificate.map(|p| p.sans)
    );
    for text in ["hello", "über", "wss"] {
        client.connection().send_text(text)?;
        let echo = rx
            .recv_timeout(Duration::from_secs(5))
            .map_err(|_| Error::new(wss::ErrorKind::Timeout, "no echo"))?;
        println!("[client] echo: {echo}");
    }
    client.close(1000, "done", Duration::from_secs(5))?;

    println!("\n-- the same client with an expired certificate --");
    let expired = pki
        .ca
        .issue(&CertSpec::client("demo-client").with_validity(-30, -1))?;
    let mut bad = TlsConfig::new();
    bad.load_pem_chain_mem(&expired.cert_pem()?, &expired.key_pem()?, None)?
        .load_ca_file(&pki.ca_cert)?;
    let (tx, _rx) = unbounded();
    match Client::connect(
        &url,
        &ClientConfig {
            tls: Some(bad),
            ..Default::default()
        },
        Arc::new(Printer(tx)),
    ) {
        Ok(_) => println!("[client] unexpectedly connected"),
        Err(e) => {
            println!("[client] connect failed: {:?}: {}", e.kind, e.message);
            for o in &e.openssl {
                println!(
                    "[client]   openssl {:#x} {}: {}",
                    o.code, o.library, o.reason
                );
            }
            if let Some(h) = &e.hint {
                println!("[client]   hint: {h}");
            }
        }
    }
    server.shutdown(Duration::from_secs(5))?;
    Ok(())
}
