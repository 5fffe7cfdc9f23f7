//! The demo: a mutual-TLS WebSocket echo over wss, then the same client with an expired
//! certificate, to show what a failed handshake reports on both sides.
//!
//! Run: `cargo run --example demo`

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{unbounded, Sender};
use wss::pki::{TempDir, TestPki};
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

fn main() -> Result<(), Error> {
    let dir = TempDir::new("wss-demo").map_err(|e| Error::from_io("temp dir", &e))?;
    let pki = TestPki::generate(dir.path()).map_err(|e| Error::from_io("PKI", &e))?;
    println!("wss {} with {}", wss::version(), wss::openssl_version());

    let mut server_tls = TlsConfig::new();
    server_tls
        .load_pfx_file(&pki.server_pfx, "pfx-pass")?
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
        .load_pfx_file(&pki.client_pfx, "pfx-pass")?
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
    let mut bad = TlsConfig::new();
    bad.load_pem_chain(&pki.expired_client_cert, &pki.expired_client_key, None)?
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
