//! The `wss-pki` tool end to end: every command and every bad input, run as the built binary;
//! the certificates it makes accepted by the library (a real mutual-TLS echo), by `openssl
//! verify`, by Python `ssl` and by Node `tls`, and refused for the right reason once expired or
//! revoked. One PKI (`shared()`) serves the tests that only read; the others make their own.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use openssl::x509::X509;

mod common;
// The PKI unit tests' helpers; here for `run_tool` (a missing openssl, python3 or node fails).
#[allow(dead_code)]
#[path = "../src/pki/testing.rs"]
mod testing;
use common::{assert_no_errors, recorder, until, wait_msg, wait_open, Ev, Events, WAIT};
use testing::run_tool;
use wss::{Client, ClientConfig, MessageKind, Server, ServerConfig, TlsConfig, VerifyMode};

const BIN: &str = env!("CARGO_BIN_EXE_wss-pki");
const PASSWORD: &str = "tool test password";

/// A fresh folder under cargo's per-target temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "wss-pki-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What one run of the tool printed, and its exit status.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the tool with `args`, stdin not a terminal, and `env` (no inherited password).
fn run_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("WSS_PKI_PASSWORD")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().expect("running wss-pki");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The user root's tests run the tool as (`nobody`), where permissions must bite: root may
/// write into any folder and read any file. The scratch folders and the binary are reachable
/// by other users (mode 0755 folders); tests using this make the rest readable themselves.
#[cfg(unix)]
const NOBODY: u32 = 65534;

/// A copy of the tool that `nobody` can run: the checkout may sit under a folder only root can
/// enter (a CI clone under /root).
#[cfg(unix)]
fn nobody_bin() -> &'static Path {
    use std::os::unix::fs::PermissionsExt;
    static COPY: OnceLock<PathBuf> = OnceLock::new();
    COPY.get_or_init(|| {
        // One copy per build of the tool, reused by later runs (named by size and mtime).
        let meta = fs::metadata(BIN).unwrap();
        let mtime = meta.modified().unwrap();
        let stamp = mtime
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join("wss-pki-nobody");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join(format!("wss-pki-{}-{stamp}", meta.len()));
        if !bin.exists() {
            let part = dir.join(format!("part-{}", std::process::id()));
            fs::copy(BIN, &part).unwrap();
            fs::set_permissions(&part, fs::Permissions::from_mode(0o755)).unwrap();
            fs::rename(&part, &bin).unwrap();
        }
        bin
    })
}

/// Like [`run`], but as `nobody` when the tests run as root (CI does), so that a folder without
/// write permission or a file without read permission is refused as it would be for a user.
#[cfg(unix)]
fn run_unprivileged(args: &[&str]) -> Run {
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let mut cmd = Command::new(if root { nobody_bin() } else { Path::new(BIN) });
    cmd.args(args)
        .env("WSS_PKI_PASSWORD", PASSWORD)
        .stdin(Stdio::null());
    if root {
        cmd.uid(NOBODY)
            .gid(NOBODY)
            .current_dir(std::env::temp_dir());
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running wss-pki as nobody: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the tool with the test password in `WSS_PKI_PASSWORD`.
fn run(args: &[&str]) -> Run {
    run_env(args, &[("WSS_PKI_PASSWORD", PASSWORD)])
}

/// Runs the tool and asserts it succeeded.
fn ok(args: &[&str]) -> Run {
    let r = run(args);
    assert_eq!(r.code, 0, "wss-pki {args:?} failed: {r:#?}");
    r
}

/// Asserts `r` failed with `code` and an stderr message containing `needle`.
fn failed(r: &Run, code: i32, needle: &str) {
    assert_eq!(r.code, code, "{r:#?}");
    assert!(
        r.stderr.contains(needle),
        "stderr lacks {needle:?}: {}",
        r.stderr
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file under `dir` (relative paths, sorted), to show nothing else was written.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            }
            out.push(p.strip_prefix(base).unwrap().display().to_string());
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn cert(p: &Path) -> X509 {
    X509::from_pem(&fs::read(p).unwrap()).unwrap()
}

/// `openssl verify` with `args` (`None`: skipped, see [`run_tool`]).
fn openssl_verify(args: &[&str]) -> Option<Output> {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    run_tool("openssl", &all)
}

/// One PKI for the tests that only read it: server for localhost/127.0.0.1/::1, clients
/// `alice` (from init) and `bob` (add-client), `old` (add-client --expired).
struct Shared {
    dir: PathBuf,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wss-pki-shared");
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        let dir = root.join(format!("pki-{}", std::process::id()));
        ok(&[
            "init",
            s(&dir),
            "--san",
            "localhost,127.0.0.1",
            "--san",
            "::1",
            "--client",
            "alice",
        ]);
        ok(&["add-client", s(&dir), "bob"]);
        ok(&["add-client", s(&dir), "old", "--expired"]);
        Shared { dir }
    })
}

#[test]
fn init_writes_the_layout_with_private_keys() {
    let dir = &shared().dir;
    let hash = format!("{:08x}", cert(&dir.join("ca.pem")).subject_name_hash());
    let mut expected: Vec<String> = [
        "ca.pem",
        "ca.key",
        "ca.crl.pem",
        "ca-hashed",
        &format!("ca-hashed/{hash}.0"),
        &format!("ca-hashed/{hash}.r0"),
        "server.pem",
        "server.key",
        "server.p12",
        "clients",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["alice", "bob", "old"].iter().flat_map(|n| {
        ["pem", "key", "p12"]
            .iter()
            .map(move |e| format!("clients/{n}.{e}"))
    }))
    .collect();
    expected.sort();
    assert_eq!(listing(dir), expected);
    #[cfg(unix)]
    for f in listing(dir) {
        let p = dir.join(&f);
        if f.ends_with(".key") || f.ends_with(".p12") {
            assert_eq!(mode(&p), 0o600, "{f}");
        } else if p.is_file() {
            assert_eq!(mode(&p) & 0o022, 0, "{f} is writable by others");
        }
    }
    let server = cert(&dir.join("server.pem"));
    let sans: Vec<String> = server
        .subject_alt_names()
        .unwrap()
        .iter()
        .map(|g| {
            g.dnsname()
                .map(str::to_owned)
                .or_else(|| g.ipaddress().map(|b| format!("{b:?}")))
                .unwrap()
        })
        .collect();
    assert_eq!(sans.len(), 3, "{sans:?}");
    assert_eq!(sans[0], "localhost");
}

#[test]
fn openssl_verify_accepts_with_the_ca_file_and_the_hashed_folder() {
    let dir = &shared().dir;
    let ca = dir.join("ca.pem");
    let hashed = dir.join("ca-hashed");
    let leaves = ["server.pem", "clients/alice.pem", "clients/bob.pem"].map(|f| dir.join(f));
    for leaf in &leaves {
        for how in [["-CAfile", s(&ca)], ["-CApath", s(&hashed)]] {
            let Some(out) = openssl_verify(&[how[0], how[1], s(leaf)]) else {
                return;
            };
            assert!(
                out.status.success(),
                "{leaf:?} {how:?}: {}",
                String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // The CRL in the hashed folder is found and checked; it revokes nothing yet.
    let Some(out) = openssl_verify(&["-crl_check", "-CApath", s(&hashed), s(&leaves[1])]) else {
        return;
    };
    assert!(out.status.success(), "{out:?}");
    // The expired client is refused with X509 error 10.
    let Some(out) = openssl_verify(&["-CAfile", s(&ca), s(&dir.join("clients/old.pem"))]) else {
        return;
    };
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("error 10 "), "{text}");
}

#[test]
fn init_refuses_bad_input_and_leaves_nothing() {
    let tmp = Scratch::new("init-bad");
    let dir = tmp.join("pki");
    let d = s(&dir);
    let cases: &[(&[&str], &str)] = &[
        (&["init", d], "--san is required"),
        (&["init", d, "--san", "exa mple"], "bad subjectAltName"),
        (
            &["init", d, "--san", "localhost", "--client", "../x"],
            "bad client name",
        ),
        (
            &[
                "init",
                d,
                "--san",
                "localhost",
                "--client",
                "a",
                "--client",
                "a",
            ],
            "listed twice",
        ),
        (
            &["init", d, "--san", "localhost", "--key", "dsa"],
            "--key is ecdsa or rsa",
        ),
        (
            &["init", d, "--san", "localhost", "--days", "0"],
            "--days needs a whole number",
        ),
        (
            &["init", d, "--san", "localhost", "--ca-days", "x"],
            "--ca-days needs",
        ),
        (
            &["init", d, "--san", "localhost", "--bogus"],
            "unknown option --bogus",
        ),
        (&["init", d, "--san"], "--san needs a value"),
        (&["init"], "missing arguments"),
        (
            &["init", d, "extra", "--san", "localhost"],
            "unexpected argument \"extra\"",
        ),
        (
            &[
                "init",
                d,
                "--san",
                "localhost",
                "--days",
                "1",
                "--days",
                "2",
            ],
            "given twice",
        ),
        (
            &[
                "init",
                d,
                "--san",
                "localhost",
                "--password",
                "a",
                "--password-file",
                "f",
            ],
            "either --password or --password-file",
        ),
        (
            &[
                "init",
                d,
                "--san",
                "localhost",
                "--password-file",
                "/nonexistent/pw",
            ],
            "cannot read the password file",
        ),
        (&["nonsense"], "unknown command"),
    ];
    for (args, needle) in cases {
        failed(&run(args), 2, needle);
    }
    // No password, not on a terminal: a clear error, not a default.
    failed(
        &run_env(&["init", d, "--san", "localhost"], &[]),
        2,
        "no password",
    );
    failed(
        &run_env(
            &["init", d, "--san", "localhost"],
            &[("WSS_PKI_PASSWORD", "")],
        ),
        2,
        "no password",
    );
    assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));

    // An existing folder with files in it is never written into.
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("keep.txt"), "mine").unwrap();
    failed(
        &run(&["init", d, "--san", "localhost"]),
        2,
        "not an empty folder",
    );
    assert_eq!(listing(&dir), ["keep.txt"]);
    assert_eq!(fs::read_to_string(dir.join("keep.txt")).unwrap(), "mine");

    // An unwritable parent: an I/O error naming the path, nothing left. As root the tool runs
    // as nobody, for whom the root-owned folder is just as read-only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let locked = tmp.join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        let r = run_unprivileged(&["init", s(&locked.join("pki")), "--san", "localhost"]);
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
        failed(&r, 2, "Permission denied");
        assert!(r.stderr.contains(s(&locked)), "{}", r.stderr);
        assert!(listing(&locked).is_empty(), "{:?}", listing(&locked));
    }
    // A parent that is a file, or under one: ENOTDIR for every user, root included.
    let file = tmp.join("file");
    fs::write(&file, "x").unwrap();
    for (dir, names) in [
        (file.join("pki"), "creating pki in"),
        (file.join("sub/pki"), "creating"),
    ] {
        let r = run(&["init", s(&dir), "--san", "localhost"]);
        failed(&r, 2, "Not a directory");
        assert!(
            r.stderr.contains(names) && r.stderr.contains(s(&file)),
            "{}",
            r.stderr
        );
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
    assert_eq!(
        listing(tmp.path()),
        ["file", "locked", "pki", "pki/keep.txt"]
    );
}

/// Certificate, key, CA, CRL and PFX paths that cannot be read: a clear error naming the file
/// and exit 2 from every command reading them. Each case fails for root too: a folder where a
/// file is expected, a dangling symbolic link, and a mode-000 file read as nobody.
#[cfg(unix)]
#[test]
fn unreadable_files_are_refused_with_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = &shared().dir;
    let tmp = Scratch::new("unreadable");
    let folder = tmp.join("folder.pem");
    fs::create_dir(&folder).unwrap();
    let dangling = tmp.join("dangling.pem");
    std::os::unix::fs::symlink(tmp.join("gone.pem"), &dangling).unwrap();
    let locked = tmp.join("locked.pem");
    fs::copy(dir.join("server.pem"), &locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // What the unprivileged runs read besides the bad file (certificates are mode 0644).
    let (ca, server) = (dir.join("ca.pem"), dir.join("server.pem"));
    let (ca, server) = (s(&ca), s(&server));
    let cases = [
        (&folder, "a folder, not a regular file", false),
        (&dangling, "No such file or directory", false),
        (&locked, "Permission denied", true),
    ];
    for (bad, why, unprivileged) in cases {
        let b = s(bad);
        let mut commands: Vec<Vec<&str>> = vec![
            vec!["check", "--cert", b, "--ca-file", ca],
            vec!["check", "--pfx", b, "--ca-file", ca],
            vec!["check", "--cert", server, "--key", b, "--ca-file", ca],
            vec!["check", "--cert", server, "--ca-file", b],
            vec!["check", "--cert", server, "--ca-file", ca, "--crl", b],
        ];
        if bad != &folder {
            commands.push(vec!["inspect", b]); // a folder is what inspect reads as a CA folder
        }
        for args in &commands {
            let r = if unprivileged {
                run_unprivileged(args)
            } else {
                run(args)
            };
            failed(&r, 2, why);
            assert!(r.stderr.contains(b), "{args:?}: {}", r.stderr);
            assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        }
    }
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn passwords_come_from_a_file_flag_or_the_environment() {
    let tmp = Scratch::new("passwords");
    let pw_file = tmp.join("pw.txt");
    fs::write(&pw_file, "from the file\nsecond line ignored\n").unwrap();
    let a = tmp.join("a");
    let r = run_env(
        &[
            "init",
            s(&a),
            "--san",
            "localhost",
            "--password-file",
            s(&pw_file),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let pfx = fs::read(a.join("server.p12")).unwrap();
    assert!(wss::pki::Issued::from_pfx(&pfx, "from the file").is_ok());
    assert!(wss::pki::Issued::from_pfx(&pfx, PASSWORD).is_err());

    // --password works and warns that others can see it.
    let b = tmp.join("b");
    let r = run_env(
        &["init", s(&b), "--san", "localhost", "--password", "flag pw"],
        &[],
    );
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stderr.contains("visible to other users"), "{}", r.stderr);
    let pfx = fs::read(b.join("server.p12")).unwrap();
    assert!(wss::pki::Issued::from_pfx(&pfx, "flag pw").is_ok());

    let empty = tmp.join("empty.txt");
    fs::write(&empty, "\n").unwrap();
    failed(
        &run_env(
            &[
                "init",
                s(&tmp.join("c")),
                "--san",
                "x",
                "--password-file",
                s(&empty),
            ],
            &[],
        ),
        2,
        "first line is empty",
    );
}

/// The tool on a pseudo-terminal: its stdin, stdout, stderr and controlling terminal (what
/// `/dev/tty` opens), as for a user at a shell; no password in the environment.
#[cfg(target_os = "linux")]
struct Terminal {
    master: fs::File,
    child: std::process::Child,
    output: std::sync::mpsc::Receiver<Vec<u8>>,
    /// Everything the terminal showed so far, and how far [`Terminal::expect`] has read.
    shown: String,
    read: usize,
}

#[cfg(target_os = "linux")]
impl Terminal {
    fn run(args: &[&str]) -> Terminal {
        use std::ffi::CStr;
        use std::io::Read;
        use std::os::fd::{AsRawFd, FromRawFd};
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::process::CommandExt;
        // SAFETY: posix_openpt returns a new descriptor (or -1), which the File then owns.
        let master = unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
            assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
            fs::File::from_raw_fd(fd)
        };
        let fd = master.as_raw_fd();
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: fd is the open master; `name` is writable for its length.
        unsafe {
            assert_eq!(libc::grantpt(fd), 0, "grantpt");
            assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
            assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
        }
        // SAFETY: ptsname_r wrote a NUL-terminated name.
        let name = unsafe { CStr::from_ptr(name.as_ptr()) }.to_str().unwrap();
        let side = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(name)
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_remove("WSS_PKI_PASSWORD")
            .stdin(side.try_clone().unwrap())
            .stdout(side.try_clone().unwrap())
            .stderr(side);
        // SAFETY: setsid and ioctl are async-signal-safe; stdin is the terminal by now.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("running wss-pki on a terminal");
        drop(cmd); // our copies of the terminal side: the master reads EOF when the tool exits
        let mut reader = master.try_clone().unwrap();
        let (tx, output) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            // EIO once the last terminal-side descriptor is closed.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Terminal {
            master,
            child,
            output,
            shown: String::new(),
            read: 0,
        }
    }

    /// Waits until the terminal shows `text` (after what was expected before).
    fn expect(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(at) = self.shown[self.read..].find(text) {
                self.read += at + text.len();
                return;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.output.recv_timeout(left) {
                Ok(b) => self.shown.push_str(&String::from_utf8_lossy(&b)),
                Err(e) => panic!(
                    "no {text:?} on the terminal ({e}); it shows {:?}",
                    self.shown
                ),
            }
        }
    }

    /// Types `line` and Enter.
    fn answer(&mut self, line: &str) {
        use std::io::Write;
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// Waits for the tool to exit; its status and everything the terminal showed.
    fn finish(&mut self) -> (i32, String) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.output.recv_timeout(left) {
                Ok(b) => self.shown.push_str(&String::from_utf8_lossy(&b)),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(e) => panic!("wss-pki did not exit ({e}); it shows {:?}", self.shown),
            }
        }
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), self.shown.clone())
    }
}

#[cfg(target_os = "linux")]
impl Drop for Terminal {
    fn drop(&mut self) {
        // A failed test leaves no tool waiting for input.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_password_prompt_asks_on_the_terminal_without_echo() {
    let tmp = Scratch::new("prompt");
    let dir = tmp.join("pki");
    let typed = "typed at the prompt";
    let mut t = Terminal::run(&["init", s(&dir), "--san", "localhost", "--client", "alice"]);
    t.expect("PFX password: ");
    t.answer(typed);
    t.expect("PFX password (again): ");
    t.answer(typed);
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("Made a PKI"), "{shown}");
    assert!(!shown.contains(typed), "the password was echoed: {shown}");
    for pfx in ["server.p12", "clients/alice.p12"] {
        let der = fs::read(dir.join(pfx)).unwrap();
        assert!(wss::pki::Issued::from_pfx(&der, typed).is_ok(), "{pfx}");
        assert!(wss::pki::Issued::from_pfx(&der, PASSWORD).is_err(), "{pfx}");
        TlsConfig::new()
            .load_pfx_file(dir.join(pfx), typed)
            .unwrap_or_else(|e| panic!("{pfx}: {e}"));
    }

    // Opening existing files asks once.
    let mut t = Terminal::run(&["add-client", s(&dir), "bob"]);
    t.expect("PFX password: ");
    t.answer(typed);
    let (code, shown) = t.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(
        !shown.contains("again") && !shown.contains(typed),
        "{shown}"
    );
    let der = fs::read(dir.join("clients/bob.p12")).unwrap();
    assert!(wss::pki::Issued::from_pfx(&der, typed).is_ok());

    // A repeat that differs, or nothing typed: refused before anything is written.
    let before = listing(tmp.path());
    let other = tmp.join("other");
    let refusals: &[(&str, &str, &str)] = &[
        (typed, "typo at the prompt", "the two passwords differ"),
        ("", "", "the password is empty"),
    ];
    for (first, again, needle) in refusals {
        let mut t = Terminal::run(&["init", s(&other), "--san", "localhost"]);
        t.expect("PFX password: ");
        t.answer(first);
        t.expect("PFX password (again): ");
        t.answer(again);
        let (code, shown) = t.finish();
        assert_eq!(code, 2, "{shown}");
        assert!(shown.contains(needle), "{shown}");
        assert_eq!(
            listing(tmp.path()),
            before,
            "{needle}: something was written"
        );
    }
}

#[test]
fn add_client_issues_from_the_folder_ca_and_refuses_bad_input() {
    let tmp = Scratch::new("add-client");
    let dir = tmp.join("pki");
    let d = s(&dir);
    ok(&["init", d, "--san", "localhost", "--key", "rsa"]);
    assert!(!dir.join("clients").exists());
    let r = ok(&["add-client", d, "carol", "--days", "30"]);
    assert!(r.stdout.contains("carol"), "{}", r.stdout);
    let carol = cert(&dir.join("clients/carol.pem"));
    let ca = cert(&dir.join("ca.pem"));
    assert_eq!(ca.issued(&carol), openssl::x509::X509VerifyResult::OK);
    assert_eq!(
        carol.public_key().unwrap().bits(),
        3072,
        "the CA's key kind"
    );
    let days = openssl::asn1::Asn1Time::days_from_now(0)
        .unwrap()
        .diff(carol.not_after())
        .unwrap()
        .days;
    assert!((29..=30).contains(&days), "{days}");
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("clients/carol.key")), 0o600);

    let before = listing(&dir);
    let nope = tmp.join("nope");
    let cases: &[(&[&str], &str)] = &[
        (&["add-client", d, "carol"], "was issued already"),
        (&["add-client", d, "server"], "cannot be named \"server\""),
        (&["add-client", d, "a/b"], "bad client name"),
        (&["add-client", d], "missing arguments"),
        (
            &["add-client", d, "x", "--expired", "--days", "3"],
            "do not go together",
        ),
        (&["add-client", s(&nope), "x"], "not a PKI folder"),
    ];
    for (args, needle) in cases {
        failed(&run(args), 2, needle);
    }
    failed(
        &run_env(&["add-client", d, "dave"], &[("WSS_PKI_PASSWORD", "wrong")]),
        2,
        "does not open",
    );
    failed(&run_env(&["add-client", d, "dave"], &[]), 2, "no password");
    assert_eq!(
        listing(&dir),
        before,
        "nothing written by a refused add-client"
    );

    // A broken CA key is reported, not half-used.
    fs::remove_file(dir.join("ca.key")).unwrap();
    failed(&run(&["add-client", d, "erin"]), 2, "ca.key");
    assert!(!dir.join("clients/erin.pem").exists());
}

#[test]
fn help_and_version() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    for c in [
        "init",
        "add-client",
        "rehash",
        "revoke",
        "renew",
        "inspect",
        "check",
    ] {
        assert!(r.stdout.contains(c), "{}", r.stdout);
        let h = run(&[c, "--help"]);
        assert_eq!(h.code, 0, "{h:#?}");
        assert!(
            h.stdout.starts_with(&format!("Usage: wss-pki {c}")),
            "{}",
            h.stdout
        );
    }
    assert!(run(&["add-client", "--help"])
        .stdout
        .contains("TESTING AID"));
    let v = run(&["--version"]);
    assert_eq!(v.code, 0);
    assert!(v
        .stdout
        .starts_with(&format!("wss-pki {}", env!("CARGO_PKG_VERSION"))));
    assert_eq!(run(&[]).code, 2, "no command is a usage error");
}

#[test]
fn check_explains_with_the_library_codes_and_hints() {
    let dir = &shared().dir;
    let p = |f: &str| dir.join(f).to_str().unwrap().to_owned();
    let (ca, hashed) = (p("ca.pem"), p("ca-hashed"));
    let (server, alice, old) = (
        p("server.pem"),
        p("clients/alice.pem"),
        p("clients/old.pem"),
    );
    #[rustfmt::skip]
    let cases: &[(&[&str], i32, &[&str])] = &[
        (&["--cert", &server, "--ca-file", &ca, "--host", "localhost"], 0, &["OK:", "CN=localhost", "CN=wss root CA"]),
        (&["--cert", &server, "--ca-dir", &hashed, "--host", "127.0.0.1"], 0, &["OK:", "revocation checked"]),
        (&["--cert", &server, "--ca-dir", &hashed, "--host", "::1"], 0, &["OK:"]),
        (&["--cert", &server, "--key", &p("server.key"), "--ca-file", &ca], 0, &["key belongs"]),
        (&["--pfx", &p("clients/alice.p12"), "--ca-dir", &hashed, "--client"], 0, &["OK:", "clientAuth"]),
        (&["--cert", &server, "--ca-file", &ca, "--host", "other.example"], 1, &["X509 verify error 62", "hint: the certificate's names do not match"]),
        (&["--cert", &server, "--ca-file", &ca, "--host", "10.0.0.1"], 1, &["X509 verify error 64", "IP SAN"]),
        (&["--cert", &alice, "--ca-file", &ca], 1, &["X509 verify error 26", "unsuitable certificate purpose", "code -4"]),
        (&["--cert", &server, "--ca-file", &ca, "--client"], 1, &["X509 verify error 26"]),
        (&["--cert", &old, "--ca-file", &ca, "--client"], 1, &["X509 verify error 10", "depth 0, subject CN=old", "hint: the peer's certificate has expired"]),
        (&["--cert", &alice, "--ca-file", &server, "--client"], 1, &["X509 verify error 20", "hint: the issuer"]),
        (&["--cert", &alice, "--key", &p("clients/bob.key"), "--ca-file", &ca, "--client"], 1, &["does not belong", "key values mismatch"]),
    ];
    for (args, code, needles) in cases {
        let mut all = vec!["check"];
        all.extend_from_slice(args);
        let r = run(&all);
        assert_eq!(r.code, *code, "{args:?}: {r:#?}");
        for n in *needles {
            assert!(r.stdout.contains(n), "{args:?}: no {n:?} in {}", r.stdout);
        }
    }
    let bad: &[(&[&str], &str)] = &[
        (&["check", "--ca-file", &ca], "one of --cert or --pfx"),
        (&["check", "--cert", &server], "--ca-file or --ca-dir"),
        (
            &[
                "check",
                "--cert",
                &alice,
                "--ca-file",
                &ca,
                "--client",
                "--host",
                "x",
            ],
            "does not go with --client",
        ),
        (
            &[
                "check",
                "--pfx",
                &p("server.p12"),
                "--key",
                "k",
                "--ca-file",
                &ca,
            ],
            "--key goes with --cert",
        ),
        (
            &["check", "--cert", &p("ca.key"), "--ca-file", &ca],
            "no certificate found",
        ),
        (
            &["check", "--cert", &p("nope.pem"), "--ca-file", &ca],
            "nope.pem",
        ),
        (
            &["check", "--cert", &server, "--ca-dir", &p("clients/nope")],
            "CA folder",
        ),
        (
            &["check", "--cert", &server, "--ca-file", &ca, "--crl", &ca],
            "CRL",
        ),
    ];
    for (args, needle) in bad {
        failed(&run(args), 2, needle);
    }
    let wrong = run_env(
        &["check", "--pfx", &p("server.p12"), "--ca-file", &ca],
        &[("WSS_PKI_PASSWORD", "wrong")],
    );
    failed(&wrong, 2, "the PFX password is wrong");
}

#[test]
fn revoke_and_renew_rewrite_the_folder() {
    let tmp = Scratch::new("revoke");
    let dir = tmp.join("pki");
    let d = s(&dir);
    ok(&[
        "init",
        d,
        "--san",
        "localhost,127.0.0.1",
        "--client",
        "a",
        "--client",
        "b",
    ]);
    let hash = format!("{:08x}", cert(&dir.join("ca.pem")).subject_name_hash());
    let r0 = dir.join(format!("ca-hashed/{hash}.r0"));
    let r = ok(&["revoke", d, "a", "--reason", "keyCompromise"]);
    assert!(r.stdout.contains("Revoked a"), "{}", r.stdout);
    ok(&["revoke", d, "b"]);
    let crl_pem = fs::read(dir.join("ca.crl.pem")).unwrap();
    assert_eq!(crl_pem, fs::read(&r0).unwrap(), "both copies rewritten");
    let crl = openssl::x509::X509Crl::from_pem(&crl_pem).unwrap();
    let entries = wss::pki::Revocation::read_all(&crl).unwrap();
    let serial = |n: &str| {
        cert(&dir.join(format!("clients/{n}.pem")))
            .serial_number()
            .to_bn()
            .unwrap()
    };
    let find = |n: &str| entries.iter().find(|e| e.serial == serial(n)).unwrap();
    assert_eq!(entries.len(), 2, "the first entry is kept");
    assert_eq!(
        find("a").reason,
        Some(wss::pki::RevocationReason::KeyCompromise)
    );
    assert_eq!(find("b").reason, None);
    assert!(crl
        .verify(&cert(&dir.join("ca.pem")).public_key().unwrap())
        .unwrap());

    if let Some(out) = openssl_verify(&[
        "-crl_check",
        "-CApath",
        s(&dir.join("ca-hashed")),
        s(&dir.join("clients/a.pem")),
    ]) {
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("error 23 "), "{text}");
    }
    let crl_path = dir.join("ca.crl.pem");
    let checked = run(&[
        "check",
        "--cert",
        s(&dir.join("clients/b.pem")),
        "--ca-file",
        s(&dir.join("ca.pem")),
        "--crl",
        s(&crl_path),
        "--client",
    ]);
    assert_eq!(checked.code, 1);
    assert!(
        checked.stdout.contains("X509 verify error 23"),
        "{}",
        checked.stdout
    );

    let before = listing(&dir);
    failed(&run(&["revoke", d, "a"]), 2, "revoked already");
    failed(
        &run(&["revoke", d, "zed"]),
        2,
        "no certificate named \"zed\" in",
    );
    failed(
        &run(&["revoke", d, "b", "--reason", "boredom"]),
        2,
        "unknown revocation reason",
    );
    failed(
        &run(&["revoke", s(&tmp.join("nope")), "a"]),
        2,
        "not a PKI folder",
    );
    assert_eq!(listing(&dir), before);

    // renew: same names, new key, new expiry; the old files replaced, nothing else.
    let old = cert(&dir.join("server.pem"));
    let old_key = fs::read(dir.join("server.key")).unwrap();
    failed(
        &run_env(&["renew", d, "server"], &[("WSS_PKI_PASSWORD", "wrong")]),
        2,
        "does not open",
    );
    failed(&run(&["renew", d, "nobody"]), 2, "no certificate named");
    assert_eq!(
        fs::read(dir.join("server.key")).unwrap(),
        old_key,
        "a refused renew changes nothing"
    );
    let r = ok(&["renew", d, "server", "--days", "30"]);
    assert!(r.stdout.contains("Renewed server"), "{}", r.stdout);
    assert_eq!(listing(&dir), before, "no file added or left behind");
    let new = cert(&dir.join("server.pem"));
    assert_ne!(
        new.serial_number().to_bn().unwrap(),
        old.serial_number().to_bn().unwrap()
    );
    assert_ne!(fs::read(dir.join("server.key")).unwrap(), old_key);
    assert!(new.not_after() < old.not_after(), "30 days instead of 397");
    let names = |c: &X509| -> Vec<String> {
        c.subject_alt_names()
            .unwrap()
            .iter()
            .map(|g| format!("{:?}{:?}", g.dnsname(), g.ipaddress()))
            .collect()
    };
    assert_eq!(names(&new), names(&old));
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("server.key")), 0o600);
    let pfx = fs::read(dir.join("server.p12")).unwrap();
    let (id, _) = wss::pki::Issued::from_pfx(&pfx, PASSWORD).unwrap();
    assert_eq!(id.cert.to_der().unwrap(), new.to_der().unwrap());
    let checked = run(&[
        "check",
        "--cert",
        s(&dir.join("server.pem")),
        "--key",
        s(&dir.join("server.key")),
        "--ca-dir",
        s(&dir.join("ca-hashed")),
        "--host",
        "127.0.0.1",
    ]);
    assert_eq!(checked.code, 0, "{checked:#?}");
    // A revoked client renewed gets a new serial, which the CRL does not list.
    ok(&["renew", d, "a"]);
    let checked = run(&[
        "check",
        "--cert",
        s(&dir.join("clients/a.pem")),
        "--ca-dir",
        s(&dir.join("ca-hashed")),
        "--client",
    ]);
    assert_eq!(checked.code, 0, "{checked:#?}");
}

#[test]
fn rehash_names_a_folder_like_openssl_rehash() {
    let tmp = Scratch::new("rehash");
    let src = &shared().dir;
    let cas = tmp.join("cas");
    fs::create_dir(&cas).unwrap();
    fs::copy(src.join("ca.pem"), cas.join("root.pem")).unwrap();
    fs::copy(src.join("ca.crl.pem"), cas.join("root.crl")).unwrap();
    // Skipped by rehash, ignored by CA-folder loading (which refuses a .pem that is no certificate).
    fs::write(cas.join("junk.crl"), "not a CRL").unwrap();
    let r = ok(&["rehash", s(&cas)]);
    let hash = format!("{:08x}", cert(&src.join("ca.pem")).subject_name_hash());
    assert!(
        r.stdout.contains(&format!("{hash}.0 -> root.pem")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("{hash}.r0 -> root.crl")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("skipped junk.crl"), "{}", r.stdout);
    assert!(cas.join(format!("{hash}.0")).exists());
    let checked = run(&[
        "check",
        "--cert",
        s(&src.join("clients/bob.pem")),
        "--ca-dir",
        s(&cas),
        "--client",
    ]);
    assert_eq!(checked.code, 0, "{checked:#?}");
    failed(&run(&["rehash", s(&tmp.join("missing"))]), 2, "missing");
    failed(&run(&["rehash"]), 2, "missing arguments");
}

#[test]
fn inspect_describes_files_and_folders_and_flags_problems() {
    let dir = &shared().dir;
    let tmp = Scratch::new("inspect");
    let read = |f: &str| fs::read(dir.join(f)).unwrap();
    let good = tmp.join("chain.pem");
    fs::write(
        &good,
        [read("server.pem"), read("ca.pem"), read("server.key")].concat(),
    )
    .unwrap();
    let bad = tmp.join("bad.pem");
    fs::write(
        &bad,
        [read("ca.pem"), read("server.pem"), read("clients/bob.key")].concat(),
    )
    .unwrap();
    let r = ok(&["inspect", s(&good)]);
    for n in [
        "2 certificate(s), 1 private key(s)",
        "certificate [0]: CN=localhost",
        "issuer:  CN=wss root CA",
        "SANs:    DNS:localhost, IP:127.0.0.1",
        "extended key usage: serverAuth",
        "basic constraints: CA, path length 0",
        "key usage: keyCertSign, cRLSign",
        "key:     ECDSA P-256",
        "chain order: OK",
        "matches certificate [0]",
        "No problems found.",
    ] {
        assert!(r.stdout.contains(n), "no {n:?} in {}", r.stdout);
    }
    let r = ok(&["inspect", s(&bad)]);
    assert!(
        r.stdout
            .contains("PROBLEM: chain order: [1] did not issue [0]"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("PROBLEM: the private key matches none"),
        "{}",
        r.stdout
    );
    let r = ok(&["inspect", s(&dir.join("clients/old.p12"))]);
    assert!(
        r.stdout
            .contains("PFX/PKCS#12 with 2 certificate(s) and a private key"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("PROBLEM: [0] expired"), "{}", r.stdout);
    let r = ok(&["inspect", s(&dir.join("ca.crl.pem"))]);
    assert!(r.stdout.contains("revokes nothing"), "{}", r.stdout);

    // A folder: hash names checked, missing links reported.
    let cas = tmp.join("cas");
    fs::create_dir(&cas).unwrap();
    let hash = format!("{:08x}", cert(&dir.join("ca.pem")).subject_name_hash());
    fs::write(cas.join("00000000.0"), read("ca.pem")).unwrap();
    fs::write(cas.join("other.pem"), read("server.pem")).unwrap();
    let r = ok(&["inspect", s(&cas)]);
    assert!(
        r.stdout
            .contains(&format!("its hash is {hash}: name it {hash}.0")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("other.pem has no"), "{}", r.stdout);
    let r = ok(&["inspect", s(&dir.join("ca-hashed"))]);
    assert!(
        r.stdout.contains("hash name OK") && r.stdout.contains("No problems"),
        "{}",
        r.stdout
    );

    let junk = tmp.join("junk.txt");
    fs::write(&junk, "hello").unwrap();
    failed(
        &run(&["inspect", s(&junk)]),
        2,
        "not a certificate, key, CRL or PFX",
    );
    failed(&run(&["inspect", s(&tmp.join("missing"))]), 2, "missing");
    let pfx = dir.join("server.p12");
    failed(&run_env(&["inspect", s(&pfx)], &[]), 2, "no password");
    failed(
        &run_env(&["inspect", s(&pfx)], &[("WSS_PKI_PASSWORD", "wrong")]),
        2,
        "cannot open the PFX",
    );
}

/// A wss echo server with the PKI's server PFX and hashed CA folder, requiring client certificates.
fn pki_server(dir: &Path) -> (Server, Events) {
    let mut tls = TlsConfig::new();
    tls.load_pfx_file(dir.join("server.p12"), PASSWORD)
        .unwrap()
        .load_ca_dir(dir.join("ca-hashed"))
        .unwrap()
        .set_verify_mode(VerifyMode::Required);
    let (h, rx) = recorder(true);
    let config = ServerConfig {
        tls: Some(tls),
        ..Default::default()
    };
    (Server::bind("127.0.0.1:0", config, h).unwrap(), rx)
}

/// Connects to `server` as `host` with client `name`'s PFX, trusting the PKI's CA file.
fn pki_connect(
    dir: &Path,
    server: &Server,
    host: &str,
    name: &str,
) -> wss::Result<(Client, Events)> {
    let mut tls = TlsConfig::new();
    tls.load_pfx_file(dir.join(format!("clients/{name}.p12")), PASSWORD)?
        .load_ca_file(dir.join("ca.pem"))?;
    let (h, rx) = recorder(false);
    let config = ClientConfig {
        tls: Some(tls),
        connect_timeout: WAIT,
        ..Default::default()
    };
    let url = format!("wss://{host}:{}/echo", server.port());
    Client::connect(&url, &config, h).map(|c| (c, rx))
}

/// SHA-256 fingerprint of the certificate in `pem`, as [`wss::PeerCertificate`] shows it.
fn fingerprint(pem: &Path) -> String {
    let digest = cert(pem)
        .digest(openssl::hash::MessageDigest::sha256())
        .unwrap();
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// Client `name` connects to `server` as `host` and gets a text and a binary message echoed;
/// each side saw, verified, the other's certificate from the PKI folder.
fn echo(dir: &Path, server: &Server, srx: &Events, host: &str, name: &str) -> (Client, Events) {
    let (client, crx) = pki_connect(dir, server, host, name).unwrap();
    wait_open(&crx);
    let conn = client.connection();
    conn.send_text("hello").unwrap();
    assert_eq!(wait_msg(&crx), (MessageKind::Text, b"hello".to_vec()));
    conn.send_binary(&[0, 255]).unwrap();
    assert_eq!(wait_msg(&crx), (MessageKind::Binary, vec![0, 255]));
    let peer = |c: &wss::Connection| c.info().tls.clone().unwrap().peer_certificate.unwrap();
    let theirs = peer(&wait_open(srx));
    assert!(theirs.verified, "{theirs:?}");
    assert!(theirs.subject.contains(&format!("CN={name}")), "{theirs:?}");
    let pem = dir.join(format!("clients/{name}.pem"));
    assert_eq!(theirs.sha256_fingerprint, fingerprint(&pem));
    let ours = peer(conn);
    assert!(ours.verified, "{ours:?}");
    assert_eq!(
        ours.sha256_fingerprint,
        fingerprint(&dir.join("server.pem"))
    );
    (client, crx)
}

/// The server's error for a connection it refused during the TLS handshake.
fn refused(server_rx: &Events) -> wss::Error {
    until(server_rx, |e| match e {
        Ev::Error(None, err) => Some(err.clone()),
        _ => None,
    })
}

#[test]
fn the_library_accepts_its_certificates_and_refuses_expired_and_revoked_ones() {
    let tmp = Scratch::new("library");
    let dir = tmp.join("pki");
    let d = s(&dir);
    ok(&[
        "init",
        d,
        "--san",
        "localhost,127.0.0.1",
        "--client",
        "alice",
        "--client",
        "victim",
    ]);
    ok(&["add-client", d, "old", "--expired"]);
    let (server, srx) = pki_server(&dir);
    for host in ["localhost", "127.0.0.1"] {
        echo(&dir, &server, &srx, host, "alice");
    }
    // The victim is accepted before it is revoked.
    let (_victim, vrx) = pki_connect(&dir, &server, "localhost", "victim").unwrap();
    wait_open(&vrx);
    wait_open(&srx);

    // Expired: refused by the server with X509 error 10, as `check` predicted.
    assert!(pki_connect(&dir, &server, "localhost", "old").is_err());
    let err = refused(&srx);
    let v = err.verify.as_ref().unwrap_or_else(|| panic!("{err}"));
    assert_eq!((v.code, v.depth), (10, 0), "{err}");
    assert!(v.subject.contains("CN=old"), "{err}");
    let predicted = run(&[
        "check",
        "--cert",
        s(&dir.join("clients/old.pem")),
        "--ca-dir",
        s(&dir.join("ca-hashed")),
        "--client",
    ]);
    assert!(
        predicted
            .stdout
            .contains(&format!("X509 verify error 10: {}", v.text)),
        "{}",
        predicted.stdout
    );
    assert!(
        predicted.stdout.contains(err.hint.as_deref().unwrap()),
        "same hint: {}",
        predicted.stdout
    );
    server.shutdown(WAIT).unwrap();

    // Revoked: once the server loads the rewritten hashed folder, X509 error 23.
    ok(&["revoke", d, "victim", "--reason", "keyCompromise"]);
    let (server, srx) = pki_server(&dir);
    assert!(pki_connect(&dir, &server, "localhost", "victim").is_err());
    let err = refused(&srx);
    assert_eq!(err.verify.as_ref().map(|v| v.code), Some(23), "{err}");
    let (_alice, arx) = pki_connect(&dir, &server, "localhost", "alice").unwrap();
    wait_open(&arx);
    wait_open(&srx);
    server.shutdown(WAIT).unwrap();
}

#[test]
fn rsa_certificates_serve_a_mutual_tls_echo_and_pass_openssl_verify() {
    let tmp = Scratch::new("rsa");
    let dir = tmp.join("pki");
    let d = s(&dir);
    ok(&[
        "init",
        d,
        "--san",
        "localhost,127.0.0.1",
        "--client",
        "alice",
        "--key",
        "rsa",
    ]);
    ok(&["add-client", d, "bob"]);
    for f in [
        "ca.pem",
        "server.pem",
        "clients/alice.pem",
        "clients/bob.pem",
    ] {
        let key = cert(&dir.join(f)).public_key().unwrap();
        assert_eq!(
            (key.id(), key.bits()),
            (openssl::pkey::Id::RSA, 3072),
            "{f}"
        );
    }
    // Each leaf for its role, with the CA file, and with the hashed folder and its CRL.
    let (ca, hashed) = (dir.join("ca.pem"), dir.join("ca-hashed"));
    for (leaf, purpose) in [
        ("server.pem", "sslserver"),
        ("clients/alice.pem", "sslclient"),
        ("clients/bob.pem", "sslclient"),
    ] {
        let leaf = dir.join(leaf);
        for trust in [
            &["-CAfile", s(&ca)][..],
            &["-CApath", s(&hashed), "-crl_check"][..],
        ] {
            let args = [trust, &["-purpose", purpose, s(&leaf)]].concat();
            let Some(out) = openssl_verify(&args) else {
                break;
            };
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    let (server, srx) = pki_server(&dir);
    for (host, name) in [("localhost", "alice"), ("127.0.0.1", "bob")] {
        let (client, crx) = echo(&dir, &server, &srx, host, name);
        client.close(1000, "done", WAIT).unwrap();
        assert_no_errors(&crx);
    }
    server.shutdown(WAIT).unwrap();
    assert_no_errors(&srx);
}

#[test]
fn a_missing_tool_fails_the_test_unless_skipping_is_allowed() {
    let allowed = std::env::var(testing::ALLOW_MISSING_TOOLS).as_deref() == Ok("1");
    let r = std::panic::catch_unwind(|| run_tool("wss-pki-test-no-such-tool", &["x"]));
    match r {
        Ok(None) => assert!(allowed, "a missing tool was skipped without being allowed"),
        Ok(Some(out)) => panic!("ran a missing tool: {out:?}"),
        Err(e) => {
            assert!(!allowed, "failed although skipping is allowed");
            let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(
                msg.contains("wss-pki-test-no-such-tool not found")
                    && msg.contains(testing::ALLOW_MISSING_TOOLS),
                "{msg}"
            );
        }
    }
}

const PYTHON_TLS: &str = r#"
import socket, ssl, sys, threading
d, host = sys.argv[1], sys.argv[2]
srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
srv.load_cert_chain(d + "/server.pem", d + "/server.key")
srv.verify_mode = ssl.CERT_REQUIRED
srv.load_verify_locations(capath=d + "/ca-hashed")
cli = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
cli.load_verify_locations(cafile=d + "/ca.pem")
cli.load_cert_chain(d + "/clients/alice.pem", d + "/clients/alice.key")
a, b = socket.socketpair()
a.settimeout(30); b.settimeout(30)
seen = {}
def serve():
    with srv.wrap_socket(a, server_side=True) as s:
        seen["client"] = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
        s.sendall(s.recv(5))
t = threading.Thread(target=serve)
t.start()
with cli.wrap_socket(b, server_hostname=host) as c:
    c.sendall(b"hello")
    echoed = c.recv(5).decode()
    server_cn = dict(x[0] for x in c.getpeercert()["subject"])["commonName"]
t.join()
print("OK", echoed, server_cn, seen["client"])
"#;

#[test]
fn python_ssl_accepts_the_certificates() {
    let dir = &shared().dir;
    for host in ["localhost", "127.0.0.1"] {
        let Some(out) = run_tool("python3", &["-c", PYTHON_TLS, s(dir), host]) else {
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{host}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.trim(), "OK hello localhost alice", "{host}");
    }
}

const NODE_TLS: &str = r#"
const tls = require("tls"), fs = require("fs");
const [d, host, pw] = process.argv.slice(1);
setTimeout(() => { console.error("timed out"); process.exit(3); }, 30000).unref();
const srv = tls.createServer({
  pfx: fs.readFileSync(d + "/server.p12"), passphrase: pw,
  ca: fs.readFileSync(d + "/ca.pem"), requestCert: true, rejectUnauthorized: true,
}, (s) => {
  const cn = s.getPeerCertificate().subject.CN;
  s.on("data", (x) => s.end(x + " " + cn));
});
srv.listen(0, "127.0.0.1", () => {
  const c = tls.connect({
    port: srv.address().port, host: "127.0.0.1", servername: host === "127.0.0.1" ? undefined : host,
    checkServerIdentity: (_, cert) => tls.checkServerIdentity(host, cert),
    ca: fs.readFileSync(d + "/ca.pem"),
    pfx: fs.readFileSync(d + "/clients/alice.p12"), passphrase: pw,
  }, () => c.write("hello"));
  let got = "";
  c.on("data", (x) => { got += x; });
  c.on("end", () => { console.log("OK " + got + " " + c.getPeerCertificate().subject.CN); srv.close(); });
  c.on("error", (e) => { console.error(e.message); process.exit(1); });
});
"#;

#[test]
fn node_tls_accepts_the_certificates() {
    let dir = &shared().dir;
    for host in ["localhost", "127.0.0.1"] {
        let Some(out) = run_tool("node", &["-e", NODE_TLS, s(dir), host, PASSWORD]) else {
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{host}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.trim(), "OK hello alice localhost", "{host}");
    }
}
