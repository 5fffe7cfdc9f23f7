//! The built library as the linker and the loader see it, and process-level behaviour of the C
//! ABI: the shared library exports only `wss_*` and has the SONAME `libwss.so.1`; the static
//! library links into a C program; the header's version macros match the library; a failing call
//! from a thread-exit path (pthread key or C++ `thread_local` destructor) does not abort; a forked
//! child's calls are refused. Linux-only (gcc, g++, nm, readelf).
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/pki.rs"]
mod pki;
use pki::TempDir;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// `libwss.so` / `libwss.a` as `cargo test` built them for this test binary (all the library's
/// crate types land in `<target>/<profile>/deps/`, next to the test executable).
fn built(file: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let path = exe.parent().expect("deps folder").join(file);
    assert!(path.exists(), "{} not built", path.display());
    path
}

fn run(cmd: &mut Command) -> Output {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    o
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Functions declared in include/wss.h.
fn declared_functions() -> BTreeSet<String> {
    let header = std::fs::read_to_string(Path::new(MANIFEST_DIR).join("include/wss.h"))
        .expect("include/wss.h");
    header
        .lines()
        .filter(|l| !l.starts_with([' ', '\t', '*', '/', '#', '}', '{']))
        .filter_map(|l| {
            let before = &l[..l.find('(')?];
            let name = before
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()?;
            name.starts_with("wss_").then(|| name.to_string())
        })
        .collect()
}

/// Defined dynamic symbols of the shared library, as (type, name).
#[test]
fn shared_library_exports_only_the_declared_wss_functions() {
    let o = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(built("libwss.so")));
    assert!(o.status.success(), "nm failed\n{}", text(&o));
    let mut exported = BTreeSet::new();
    let mut other = Vec::new();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let mut parts = line.split_whitespace();
        let (Some(_addr), Some(kind), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if name.starts_with("wss_") && kind == "T" {
            exported.insert(name.to_string());
        } else {
            other.push(line.to_string());
        }
    }
    // Nothing else: no Rust runtime, no dependency's #[no_mangle] symbol, no OpenSSL.
    assert!(
        other.is_empty(),
        "exported besides wss_* functions: {other:#?}"
    );
    let declared = declared_functions();
    assert!(declared.len() > 50, "{declared:?}");
    assert_eq!(
        exported, declared,
        "exported functions differ from the header's"
    );
}

#[test]
fn shared_library_has_the_soname() {
    let o = run(Command::new("readelf").arg("-d").arg(built("libwss.so")));
    assert!(o.status.success(), "readelf failed\n{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines()
            .any(|l| l.contains("(SONAME)") && l.contains("[libwss.so.1]")),
        "no SONAME libwss.so.1:\n{out}"
    );
}

#[test]
fn static_library_keeps_every_function() {
    let o = run(Command::new("nm")
        .args(["--defined-only", "-g"])
        .arg(built("libwss.a")));
    assert!(o.status.success(), "nm failed\n{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let defined: BTreeSet<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).filter(|_| l.contains(" T ")))
        .collect();
    for f in declared_functions() {
        assert!(defined.contains(f.as_str()), "libwss.a lacks {f}");
    }
}

/// A temporary folder with a private copy of the shared library and its SONAME link.
struct Build {
    dir: TempDir,
}

impl Build {
    fn new() -> Build {
        let dir = TempDir::new("wss-exports").expect("temp dir");
        std::fs::copy(built("libwss.so"), dir.path().join("libwss.so")).expect("copy");
        std::os::unix::fs::symlink("libwss.so", dir.path().join("libwss.so.1")).expect("link");
        Build { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Compile tests/c/`source` with `compiler` against the shared library (or `libwss.a`).
    fn compile(&self, compiler: &str, source: &str, flags: &[&str], static_lib: bool) -> PathBuf {
        let exe = self.path().join(source.replace('.', "_"));
        let mut cmd = Command::new(compiler);
        cmd.args(["-Wall", "-Wextra", "-Werror", "-g"])
            .args(flags)
            .arg("-I")
            .arg(Path::new(MANIFEST_DIR).join("include"))
            .arg("-I")
            .arg(Path::new(MANIFEST_DIR).join("tests/c"))
            .arg(Path::new(MANIFEST_DIR).join("tests/c").join(source))
            .arg("-o")
            .arg(&exe);
        if static_lib {
            cmd.arg(built("libwss.a"))
                .args(["-lssl", "-lcrypto", "-lpthread", "-ldl", "-lm"]);
        } else {
            cmd.arg("-L")
                .arg(self.path())
                .args(["-lwss", "-lpthread"])
                .arg(format!("-Wl,-rpath,{}", self.path().display()));
        }
        let o = run(&mut cmd);
        assert!(
            o.status.success(),
            "{compiler} {source} failed\n{}",
            text(&o)
        );
        exe
    }
}

/// Run a program; it must exit 0 (a SIGABRT shows as a signal in the status) within 120 s (a
/// hang is killed and shows as status 124).
fn run_ok(exe: &Path) -> String {
    let o = run(Command::new("timeout").arg("120").arg(exe));
    assert!(o.status.success(), "{} failed\n{}", exe.display(), text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains(" passed, 0 failed"), "{out}");
    out
}

#[test]
fn version_macros_match_the_shared_library() {
    let b = Build::new();
    let exe = b.compile("gcc", "version_check.c", &["-std=c99", "-pedantic"], false);
    // The program loads the library by its SONAME.
    let o = run(Command::new("ldd").arg(&exe));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("libwss.so.1 => "),
        "{}",
        text(&o)
    );
    run_ok(&exe);
}

#[test]
fn version_macros_match_the_static_library() {
    let b = Build::new();
    let exe = b.compile("gcc", "version_check.c", &["-std=c99", "-pedantic"], true);
    let o = run(Command::new("ldd").arg(&exe));
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("libwss"),
        "{}",
        text(&o)
    );
    run_ok(&exe);
}

/// Issue 16 defect 3: a failing call from a pthread key destructor used to abort the process.
#[test]
fn failing_call_from_a_pthread_key_destructor() {
    let b = Build::new();
    run_ok(&b.compile("gcc", "thread_exit.c", &["-std=c99", "-pedantic"], false));
}

/// Issue 16 defect 3 from C++: a `thread_local` destructor making a failing call.
#[test]
fn failing_call_from_a_cpp_thread_local_destructor() {
    let b = Build::new();
    run_ok(&b.compile("g++", "thread_exit_tls.cpp", &["-std=c++17"], false));
}

/// Issue 16 defect 6: a forked child's calls are refused with `WSS_ERR_INVALID_STATE`; freeing
/// handles works in the child, and the parent is unaffected.
#[test]
fn forked_child_may_only_free() {
    let b = Build::new();
    run_ok(&b.compile("gcc", "fork_child.c", &["-std=c99", "-pedantic"], false));
}
