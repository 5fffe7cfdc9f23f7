//! The C ABI as a C host sees it: the programs in tests/c are compiled with
//! `gcc -std=c99 -Wall -Wextra -Werror -pedantic` against include/wss.h and the built
//! `libwss.so`, then run natively and under valgrind (memcheck, definite leaks are errors);
//! the programs written for C ABI 1.0 (release callbacks, frees racing other calls, routes,
//! owned errors, accept decisions, limits) also run built with AddressSanitizer
//! (`-fsanitize=address`, leaks included; no valgrind for that build), which catches a host's
//! `user_data` used after its release inside the host's own callbacks.
//! Also checks that include/wss.h compiles as C99 and as C++17 (and links from C++), and that
//! the C compiler lays out every public struct as the Rust `#[repr(C)]` types do.
//!
//! Each test generates the test PKI (`TestPki::generate`, well under a second) into its own
//! temporary folder, with a private copy of `libwss.so` and the compiled program; the PKI file
//! paths reach the program through `WSS_*` environment variables. Each program counts its own
//! checks and ends with "N passed, N failed"; `WSS_TEST_LIGHT=1` (set for valgrind runs) scales
//! the work down. `WSS_C_ABI_KEEP=1` keeps the folders for rerunning a program by hand.
//! Linux-only (gcc, g++, valgrind, `-Wl,-rpath`).
#![cfg(target_os = "linux")]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "common/pki.rs"]
mod pki;
use pki::{TempDir, TestPki, PFX_PASSWORD};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
/// Bound for one native run.
const NATIVE_LIMIT: Duration = Duration::from_secs(120);
/// Bound for one valgrind run.
const VALGRIND_LIMIT: Duration = Duration::from_secs(240);

/// One test's temporary folder: the PKI files and the compiled programs (removed on drop,
/// unless `WSS_C_ABI_KEEP` is set: then it is kept and its path printed, to rerun a program by
/// hand with the `WSS_*` variables the failure message lists).
struct Fixture {
    dir: Option<TempDir>,
    pki: TestPki,
    lib_dir: PathBuf,
}

impl Fixture {
    fn path(&self) -> &Path {
        self.dir.as_ref().expect("fixture folder").path()
    }

    fn new() -> Fixture {
        let dir = TempDir::new("wss-c-abi").expect("temp dir");
        let pki = TestPki::generate(&dir.path().join("pki")).expect("test PKI");
        Fixture {
            lib_dir: private_library(dir.path()),
            dir: Some(dir),
            pki,
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if std::env::var_os("WSS_C_ABI_KEEP").is_some() {
            if let Some(d) = self.dir.take() {
                eprintln!("kept {}", d.path().display());
                std::mem::forget(d);
            }
        }
    }
}

/// The `libwss.so` built for this test binary. `cargo test` builds the library target with all
/// its crate types (rlib, cdylib, staticlib) into `<target>/<profile>/deps/`, next to the test
/// executable; only `cargo build` also copies it up to `<target>/<profile>/`, so that copy may be
/// stale and is used only as a fallback (after `cargo build --lib`).
fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("test executable folder");
    let so = deps.join("libwss.so");
    if so.exists() {
        return so;
    }
    let profile_dir = deps.parent().expect("<target>/<profile>");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--lib"]).current_dir(MANIFEST_DIR);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build --lib");
    assert!(status.success(), "cargo build --lib failed");
    let so = profile_dir.join("libwss.so");
    assert!(so.exists(), "{} not found after building", so.display());
    so
}

/// A private copy of the library in the fixture folder: programs link and load exactly this
/// build, even if another cargo process rebuilds `target/` meanwhile.
fn private_library(dir: &Path) -> PathBuf {
    let lib_dir = dir.join("lib");
    std::fs::create_dir_all(&lib_dir).expect("lib dir");
    std::fs::copy(built_library(), lib_dir.join("libwss.so")).expect("copy libwss.so");
    // Programs linked with -lwss record the SONAME, libwss.so.1, and load that name at run time.
    std::os::unix::fs::symlink("libwss.so", lib_dir.join("libwss.so.1")).expect("symlink");
    lib_dir
}

fn tool_present(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn require_tool(tool: &str, why: &str) {
    assert!(
        tool_present(tool),
        "`{tool}` is required for the C ABI tests ({why}); install it (Debian: apt-get install {tool})"
    );
}

/// Run `cmd` with a bound; kill it (SIGKILL) if it takes longer.
fn run_bounded(mut cmd: Command, limit: Duration, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pid = child.id();
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("stdout")));
    let err = reader(Box::new(child.stderr.take().expect("stderr")));
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        status
    });
    let timed_out = rx.recv_timeout(limit).is_err();
    if timed_out {
        // SAFETY: plain kill(2) on our own child, which has not been reaped yet (the waiter
        // thread is still blocked in wait()).
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    }
    let status = waiter.join().expect("waiter thread").expect("wait");
    let output = Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    };
    assert!(
        !timed_out,
        "{what} did not finish within {limit:?} and was killed\n{}",
        describe(&output)
    );
    output
}

fn describe(o: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn include_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("include")
}

fn c_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("tests/c")
}

/// Compile tests/c/`name`.c into the fixture folder.
fn compile(f: &Fixture, name: &str) -> PathBuf {
    compile_with(f, name, &[])
}

/// Compile tests/c/`name`.c into the fixture folder with `extra` compiler flags.
fn compile_with(f: &Fixture, name: &str, extra: &[&str]) -> PathBuf {
    require_tool("gcc", "the C programs are compiled with it");
    let exe = f.path().join(name);
    let mut cmd = Command::new("gcc");
    cmd.args([
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-g",
        "-O1",
    ])
    .args(extra)
    .arg("-I")
    .arg(include_dir())
    .arg("-I")
    .arg(c_dir())
    .arg(c_dir().join(format!("{name}.c")))
    .arg("-o")
    .arg(&exe)
    .arg("-L")
    .arg(&f.lib_dir)
    .args(["-lwss", "-lpthread"])
    .arg(format!("-Wl,-rpath,{}", f.lib_dir.display()));
    let o = run_bounded(cmd, Duration::from_secs(120), &format!("gcc {name}.c"));
    assert!(
        o.status.success(),
        "compiling tests/c/{name}.c failed\n{}",
        describe(&o)
    );
    exe
}

/// The environment the programs read: paths into the test PKI.
fn pki_vars(f: &Fixture) -> Vec<(&'static str, String)> {
    let p = &f.pki;
    let paths: [(&str, &Path); 14] = [
        ("WSS_CA_PEM", &p.ca_cert),
        ("WSS_CA_DIR", &p.hashed_ca_dir),
        ("WSS_SERVER_P12", &p.server_pfx),
        ("WSS_CLIENT_P12", &p.client_pfx),
        ("WSS_SERVER_CERT", &p.server_cert),
        ("WSS_SERVER_LEAF_CERT", &p.server_leaf_cert),
        ("WSS_SERVER_KEY", &p.server_key),
        ("WSS_CLIENT_CERT", &p.client_cert),
        ("WSS_CLIENT_KEY", &p.client_key),
        ("WSS_EXPIRED_CLIENT_CERT", &p.expired_client_cert),
        ("WSS_EXPIRED_CLIENT_KEY", &p.expired_client_key),
        ("WSS_ROGUE_CA", &p.rogue_ca_cert),
        ("WSS_MISMATCHED_KEY", &p.mismatched_key),
        ("WSS_GARBAGE_FILE", &p.garbage_file),
    ];
    let mut v: Vec<_> = paths
        .into_iter()
        .map(|(k, path)| (k, path.display().to_string()))
        .collect();
    v.push(("WSS_PFX_PASSWORD", PFX_PASSWORD.to_string()));
    v
}

/// A shell line that reruns `exe` by hand (useful with `WSS_C_ABI_KEEP=1`).
fn rerun_line(f: &Fixture, prefix: &str, exe: &Path) -> String {
    let vars: Vec<String> = pki_vars(f)
        .into_iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    format!("to rerun: {} {prefix}{}", vars.join(" "), exe.display())
}

/// Appends "c PASSED FAILED 0 LABEL" for one C program run to `$WSS_TEST_COUNTS` (set by
/// scripts/test.sh): the program's own counts, or one failure when it printed none.
fn report_counts(label: &str, o: &Output) {
    let Some(path) = std::env::var_os("WSS_TEST_COUNTS") else {
        return;
    };
    let stdout = String::from_utf8_lossy(&o.stdout);
    let counts = stdout
        .lines()
        .rev()
        .find(|l| l.ends_with(" failed") && l.contains(" passed, "))
        .and_then(|l| {
            let mut n = l
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty());
            Some((
                n.next()?.parse::<u64>().ok()?,
                n.next()?.parse::<u64>().ok()?,
            ))
        });
    let (passed, failed) = match counts {
        Some((p, f)) if o.status.success() || f > 0 => (p, f),
        Some((p, _)) => (p, 1), // exited non-zero after a clean summary (e.g. valgrind)
        None => (0, 1),
    };
    let line = format!("c {passed} {failed} 0 {label}\n");
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
}

/// The program's own summary line: "N passed, 0 failed" with N > 0.
fn assert_summary(name: &str, o: &Output) {
    let stdout = String::from_utf8_lossy(&o.stdout);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.ends_with(" failed") && l.contains(" passed, "))
        .unwrap_or_else(|| panic!("{name} printed no summary line\n{}", describe(o)));
    let mut nums = summary
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u64>().expect("number"));
    let (passed, failed) = (nums.next().unwrap_or(0), nums.next().unwrap_or(u64::MAX));
    assert!(
        passed > 0 && failed == 0,
        "{name}: {summary}\n{}",
        describe(o)
    );
}

/// Compile and run tests/c/`name`.c natively; its output, once it passed.
fn run_native(name: &str) -> Output {
    let f = Fixture::new();
    let exe = compile(&f, name);
    let mut cmd = Command::new(&exe);
    cmd.envs(pki_vars(&f));
    let started = Instant::now();
    let o = run_bounded(cmd, NATIVE_LIMIT, name);
    report_counts(name, &o);
    eprintln!("{name}: native run took {:?}", started.elapsed());
    assert!(
        o.status.success(),
        "{name} failed\n{}\n{}",
        describe(&o),
        rerun_line(&f, "", &exe)
    );
    assert_summary(name, &o);
    o
}

/// Compile and run tests/c/`name`.c under valgrind memcheck, scaled down (`WSS_TEST_LIGHT=1`).
/// Memory errors and definite leaks fail the run. "Possibly lost" and "still reachable" blocks
/// are allowed: the process-wide client I/O thread pool lives until exit, as do OpenSSL's
/// one-time tables. No suppressions are needed today; should OpenSSL's one-time allocations ever
/// be reported as errors, list them in tests/c/valgrind.supp (used when present) with the reason
/// each is not a leak of ours.
fn run_valgrind(name: &str) {
    require_tool(
        "valgrind",
        "memory errors and leaks across the C ABI are checked with memcheck",
    );
    let f = Fixture::new();
    let exe = compile(&f, name);
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--error-exitcode=99",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite",
        "--show-leak-kinds=definite",
        "--num-callers=40",
        "--fair-sched=yes",
    ]);
    let supp = c_dir().join("valgrind.supp");
    if supp.exists() {
        cmd.arg(format!("--suppressions={}", supp.display()));
    }
    cmd.arg(&exe).env("WSS_TEST_LIGHT", "1");
    cmd.envs(pki_vars(&f));
    let started = Instant::now();
    let o = run_bounded(cmd, VALGRIND_LIMIT, &format!("valgrind {name}"));
    report_counts(&format!("{name}(valgrind)"), &o);
    eprintln!("{name}: valgrind run took {:?}", started.elapsed());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let rerun = rerun_line(&f, "WSS_TEST_LIGHT=1 valgrind --leak-check=full ", &exe);
    assert!(
        o.status.code() != Some(99),
        "valgrind found memory errors or definite leaks in {name}\n{}\n{rerun}",
        describe(&o)
    );
    assert!(
        o.status.success(),
        "{name} failed under valgrind\n{}\n{rerun}",
        describe(&o)
    );
    assert!(
        stderr.contains("ERROR SUMMARY: 0 errors"),
        "{name}: valgrind reported errors\n{}",
        describe(&o)
    );
    if let Some(line) = stderr.lines().find(|l| l.contains("definitely lost:")) {
        assert!(
            line.contains("definitely lost: 0 bytes"),
            "{name}: {line}\n{}",
            describe(&o)
        );
    }
    assert_summary(name, &o);
}

/// Compile tests/c/`name`.c with AddressSanitizer and run it natively (full work, not
/// `WSS_TEST_LIGHT`). ASan instruments the program, not the Rust library, so it sees what a C
/// host would do wrong: touching its `user_data` after `release` freed it, double frees, leaks
/// of what the host allocated (LeakSanitizer runs at exit). gcc's runtime (`libasan`) comes with
/// the compiler on Debian (gcc → libgcc-N-dev → libasanN).
fn run_asan(name: &str) {
    let f = Fixture::new();
    let exe = compile_with(&f, name, &["-fsanitize=address", "-fno-omit-frame-pointer"]);
    let mut cmd = Command::new(&exe);
    cmd.envs(pki_vars(&f)).env(
        "ASAN_OPTIONS",
        "abort_on_error=0:exitcode=98:detect_leaks=1",
    );
    let started = Instant::now();
    let o = run_bounded(cmd, NATIVE_LIMIT, &format!("{name} (ASan)"));
    eprintln!("{name}: ASan run took {:?}", started.elapsed());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let rerun = rerun_line(&f, "", &exe);
    assert!(
        !stderr.contains("ERROR: AddressSanitizer") && !stderr.contains("ERROR: LeakSanitizer"),
        "AddressSanitizer found errors in {name}\n{}\n{rerun}",
        describe(&o)
    );
    assert!(
        o.status.success(),
        "{name} failed under AddressSanitizer\n{}\n{rerun}",
        describe(&o)
    );
    assert_summary(name, &o);
}

#[test]
fn header_compiles_as_c99() {
    require_tool("gcc", "the header is checked with it");
    let mut cmd = Command::new("gcc");
    cmd.args([
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-fsyntax-only",
        "-x",
        "c",
    ])
    .arg(include_dir().join("wss.h"));
    let o = run_bounded(cmd, Duration::from_secs(60), "gcc -fsyntax-only wss.h");
    assert!(
        o.status.success(),
        "include/wss.h does not compile as C99\n{}",
        describe(&o)
    );
}

const CPP_USER: &str = r#"// Uses a few declarations of wss.h from C++17; linked and run by tests/c_abi.rs.
#include "wss.h"
#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(std::is_same<wss_result, int32_t>::value, "wss_result is int32_t");
static_assert(WSS_OK == 0 && WSS_ERR_INVALID_STATE == -14, "stable codes");

extern "C" void on_open(void *, uint64_t) {}

int main() {
    wss_callbacks cb{};
    cb.struct_size = sizeof cb;
    cb.on_open = on_open;
    wss_result (*send)(uint64_t, const uint8_t *, size_t, wss_message_kind) = wss_send;
    if (send(0, nullptr, 0, WSS_MESSAGE_BINARY) != WSS_ERR_NOT_CONNECTED) return 1;
    wss_error_info info{};
    info.struct_size = sizeof info;
    if (wss_last_error(&info) != WSS_OK || info.code != WSS_ERR_NOT_CONNECTED) return 2;
    wss_tls_config *cfg = nullptr;
    if (wss_tls_config_new(&cfg) != WSS_OK || cfg == nullptr) return 3;
    wss_tls_config_free(cfg);
    if (std::strlen(wss_version()) == 0 || cb.on_open == nullptr) return 4;
    std::printf("wss %s from C++\n", wss_version());
    return 0;
}
"#;

#[test]
fn header_compiles_as_cpp17() {
    require_tool("g++", "the header is checked as C++ with it");
    let f = Fixture::new();
    let src = f.path().join("header_user.cpp");
    std::fs::write(&src, CPP_USER).expect("write C++ source");
    let flags = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"];
    let mut syntax = Command::new("g++");
    syntax
        .args(flags)
        .arg("-fsyntax-only")
        .arg("-I")
        .arg(include_dir())
        .arg(&src);
    let o = run_bounded(syntax, Duration::from_secs(60), "g++ -fsyntax-only");
    assert!(
        o.status.success(),
        "include/wss.h does not compile as C++17\n{}",
        describe(&o)
    );
    // Linking and calling proves the declarations have C linkage (extern "C").
    let exe = f.path().join("header_user");
    let mut build = Command::new("g++");
    build
        .args(flags)
        .arg("-I")
        .arg(include_dir())
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&f.lib_dir)
        .arg("-lwss")
        .arg(format!("-Wl,-rpath,{}", f.lib_dir.display()));
    let o = run_bounded(build, Duration::from_secs(120), "g++ header_user.cpp");
    assert!(
        o.status.success(),
        "a C++17 program using wss.h does not link\n{}",
        describe(&o)
    );
    let o = run_bounded(Command::new(&exe), NATIVE_LIMIT, "header_user");
    assert!(o.status.success(), "header_user failed\n{}", describe(&o));
}

/// The functions `include/wss.h` declares (top-level declarations: unindented lines whose first
/// identifier before `(` starts with `wss_`).
fn declared_functions() -> Vec<String> {
    let header = std::fs::read_to_string(include_dir().join("wss.h")).expect("read wss.h");
    let mut names = Vec::new();
    for line in header.lines() {
        if line.starts_with([' ', '\t', '*', '/', '#', '}', '{']) {
            continue;
        }
        let Some(open) = line.find('(') else { continue };
        let before = &line[..open];
        let name: String = before
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("")
            .to_string();
        if name.starts_with("wss_") {
            names.push(name);
        }
    }
    names
}

/// bad_args.c goes through the header one function at a time: a function added to the header
/// without a bad-argument check there fails this test.
#[test]
fn bad_args_covers_every_function() {
    let names = declared_functions();
    assert!(names.len() > 50, "found only {names:?} in wss.h");
    let src = std::fs::read_to_string(c_dir().join("bad_args.c")).expect("read bad_args.c");
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !src.contains(&format!("{n}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "tests/c/bad_args.c never calls {missing:?}"
    );
}

#[test]
fn echo_mtls() {
    run_native("echo_mtls");
}

#[test]
fn echo_mtls_valgrind() {
    run_valgrind("echo_mtls");
}

#[test]
fn handshake_fail() {
    run_native("handshake_fail");
}

#[test]
fn handshake_fail_valgrind() {
    run_valgrind("handshake_fail");
}

#[test]
fn pull_mode() {
    run_native("pull_mode");
}

#[test]
fn pull_mode_valgrind() {
    run_valgrind("pull_mode");
}

#[test]
fn bad_args() {
    run_native("bad_args");
}

#[test]
fn bad_args_valgrind() {
    run_valgrind("bad_args");
}

#[test]
fn thread_stress() {
    run_native("thread_stress");
}

#[test]
fn thread_stress_valgrind() {
    run_valgrind("thread_stress");
}

#[test]
fn release() {
    run_native("release");
}

#[test]
fn release_valgrind() {
    run_valgrind("release");
}

#[test]
fn release_asan() {
    run_asan("release");
}

#[test]
fn close_race() {
    run_native("close_race");
}

#[test]
fn close_race_valgrind() {
    run_valgrind("close_race");
}

#[test]
fn close_race_asan() {
    run_asan("close_race");
}

#[test]
fn free_wakes_takers() {
    run_native("free_wakes_takers");
}

#[test]
fn free_wakes_takers_valgrind() {
    run_valgrind("free_wakes_takers");
}

#[test]
fn free_wakes_takers_asan() {
    run_asan("free_wakes_takers");
}

/// The structs include/wss.h declares, each with its members in order (from the generated
/// text: `typedef struct wss_x {` ... `} wss_x;`, one member per statement, function pointer
/// members named inside `(*name)`).
fn declared_structs() -> Vec<(String, Vec<String>)> {
    let header = std::fs::read_to_string(include_dir().join("wss.h")).expect("read wss.h");
    let mut structs = Vec::new();
    let mut current: Option<(String, Vec<String>, String)> = None;
    for line in header.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("typedef struct wss_") {
            if let Some(name) = rest.strip_suffix(" {") {
                current = Some((format!("wss_{name}"), Vec::new(), String::new()));
                continue;
            }
        }
        let Some((name, members, stmt)) = current.as_mut() else {
            continue;
        };
        if t.starts_with('}') {
            structs.push((std::mem::take(name), std::mem::take(members)));
            current = None;
            continue;
        }
        if t.starts_with("/*") || t.starts_with('*') || t.is_empty() {
            continue;
        }
        stmt.push_str(t);
        stmt.push(' ');
        if t.ends_with(';') {
            let member = match (stmt.find("(*"), stmt.find(')')) {
                (Some(a), Some(b)) if b > a => stmt[a + 2..b].to_string(),
                _ => stmt
                    .trim_end_matches([';', ' '])
                    .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            members.push(member);
            stmt.clear();
        }
    }
    structs
}

/// The Rust side of every public struct: "size <struct> <bytes>" and
/// "offset <struct> <member> <bytes>" lines, as tests/c/struct_layout.c prints them.
fn rust_layout() -> Vec<String> {
    use std::mem::{offset_of, size_of};
    use wss::ffi::accept::{wss_accept_decision, wss_header, wss_upgrade_request};
    use wss::ffi::callbacks::wss_callbacks;
    use wss::ffi::error::{wss_error_info, wss_openssl_error};
    use wss::ffi::info::{wss_conn_info, wss_peer_cert};
    use wss::ffi::pull::wss_event;
    macro_rules! layout {
        ($out:ident, $t:ident, [$($m:ident),* $(,)?]) => {
            $out.push(format!("size {} {}", stringify!($t), size_of::<$t>()));
            $($out.push(format!(
                "offset {} {} {}",
                stringify!($t),
                stringify!($m),
                offset_of!($t, $m)
            ));)*
        };
    }
    let mut v = Vec::new();
    layout!(v, wss_header, [name, value]);
    layout!(
        v,
        wss_peer_cert,
        [
            struct_size,
            verified,
            subject,
            issuer,
            serial,
            not_before,
            not_after,
            sha256_fingerprint,
            sans,
            san_count
        ]
    );
    layout!(
        v,
        wss_upgrade_request,
        [
            struct_size,
            is_tls,
            id,
            path,
            query,
            remote_address,
            headers,
            header_count,
            subprotocols,
            subprotocol_count,
            peer_certificate
        ]
    );
    layout!(
        v,
        wss_accept_decision,
        [
            struct_size,
            status,
            subprotocol_index,
            reason,
            headers,
            header_count
        ]
    );
    layout!(
        v,
        wss_callbacks,
        [
            struct_size,
            on_accept,
            on_open,
            on_message,
            on_pong,
            on_close,
            on_error
        ]
    );
    layout!(
        v,
        wss_event,
        [
            struct_size,
            event_type,
            conn,
            conn_user_data,
            kind,
            close_code,
            data,
            len,
            reason,
            error,
            request
        ]
    );
    layout!(
        v,
        wss_openssl_error,
        [code, library, reason, function, data]
    );
    layout!(
        v,
        wss_error_info,
        [
            struct_size,
            code,
            kind,
            message,
            hint,
            openssl_errors,
            openssl_error_count,
            verify_code,
            verify_depth,
            verify_text,
            verify_subject,
            peer_address,
            os_errno,
            http_status
        ]
    );
    layout!(
        v,
        wss_conn_info,
        [
            struct_size,
            is_client,
            resumed,
            id,
            remote_address,
            path,
            subprotocol,
            tls_version,
            cipher,
            alpn,
            server_name,
            peer_certificate,
            extensions,
            response_headers,
            response_header_count
        ]
    );
    v
}

/// Every public struct has the same size and member offsets in C (gcc on include/wss.h) and in
/// Rust (the `#[repr(C)]` types), and tests/c/struct_layout.c lists every struct and member of
/// the header, in order: a member added to one side only, or a struct left out, fails here.
#[test]
fn struct_layout_matches_rust() {
    let o = run_native("struct_layout");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let c: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with("size ") || l.starts_with("offset "))
        .map(str::to_string)
        .collect();
    let rust = rust_layout();
    assert_eq!(c, rust, "C layout (left) differs from Rust layout (right)");
    let mut from_header = Vec::new();
    for (name, members) in declared_structs() {
        from_header.push(format!("size {name}"));
        from_header.extend(members.iter().map(|m| format!("offset {name} {m}")));
    }
    let mut listed: Vec<String> = c
        .iter()
        .map(|l| {
            l.rsplit_once(' ')
                .map_or(l.clone(), |(head, _)| head.to_string())
        })
        .collect();
    // The header orders structs by topic; the offsets above already pin each member's place.
    listed.sort();
    from_header.sort();
    assert_eq!(
        listed, from_header,
        "tests/c/struct_layout.c (left) does not list the structs and members of wss.h (right)"
    );
}

#[test]
fn conn_data() {
    run_native("conn_data");
}

#[test]
fn conn_data_valgrind() {
    run_valgrind("conn_data");
}

#[test]
fn conn_data_asan() {
    run_asan("conn_data");
}

#[test]
fn routes() {
    run_native("routes");
}

#[test]
fn routes_valgrind() {
    run_valgrind("routes");
}

#[test]
fn routes_asan() {
    run_asan("routes");
}

#[test]
fn owned_error() {
    run_native("owned_error");
}

#[test]
fn owned_error_valgrind() {
    run_valgrind("owned_error");
}

#[test]
fn owned_error_asan() {
    run_asan("owned_error");
}

#[test]
fn accept() {
    run_native("accept");
}

#[test]
fn accept_valgrind() {
    run_valgrind("accept");
}

#[test]
fn accept_asan() {
    run_asan("accept");
}

#[test]
fn async_connect() {
    run_native("async_connect");
}

#[test]
fn async_connect_valgrind() {
    run_valgrind("async_connect");
}

#[test]
fn async_connect_asan() {
    run_asan("async_connect");
}

#[test]
fn accept_events() {
    run_native("accept_events");
}

#[test]
fn accept_events_valgrind() {
    run_valgrind("accept_events");
}

#[test]
fn accept_events_asan() {
    run_asan("accept_events");
}

#[test]
fn pfx_mem() {
    run_native("pfx_mem");
}

#[test]
fn pfx_mem_valgrind() {
    run_valgrind("pfx_mem");
}

#[test]
fn pfx_mem_asan() {
    run_asan("pfx_mem");
}

#[test]
fn limits() {
    run_native("limits");
}

#[test]
fn limits_valgrind() {
    run_valgrind("limits");
}

#[test]
fn limits_asan() {
    run_asan("limits");
}

#[test]
fn deflate() {
    run_native("deflate");
}

#[test]
fn deflate_valgrind() {
    run_valgrind("deflate");
}

#[test]
fn deflate_asan() {
    run_asan("deflate");
}

#[test]
fn strict() {
    run_native("strict");
}

#[test]
fn strict_valgrind() {
    run_valgrind("strict");
}

#[test]
fn strict_asan() {
    run_asan("strict");
}
