#!/usr/bin/env python3
"""Source and ctest checks for the C++ wrapper, run by scripts/test-cpp.sh.

    checks.py no-raw-new DIR...        no `new`/`delete` expression in the C++ files under DIR
                                       (comments, string literals and `= delete` ignored)
    checks.py ctest-properties BUILD [--sanitize]
                                       every discovered GoogleTest case of BUILD has the whole
                                       ENVIRONMENT (WSS_TEST_PKI; with --sanitize also ASAN_,
                                       LSAN_ and UBSAN_OPTIONS) and TIMEOUT 300
    checks.py self-test                each check catches what it is for and passes clean input

Exit status 0 when the check holds, 1 with one line per finding otherwise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

CPP_SUFFIXES = {".hpp", ".h", ".cpp", ".cc", ".hh", ".cxx"}
NEW = re.compile(r"(?<![\w.>])new\b")
DELETE = re.compile(r"(?<![\w.>])delete\b")


def strip_comments_and_literals(text: str) -> str:
    """`text` with comments and string/char literals blanked (newlines kept for line numbers)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def raw_new_delete(text: str) -> list[tuple[int, str]]:
    """(line, source line) of every `new` or `delete` expression in C++ source `text`."""
    code = strip_comments_and_literals(text)
    lines = text.splitlines()
    found = []
    for m in NEW.finditer(code):
        found.append(m.start())
    for m in DELETE.finditer(code):
        if not code[:m.start()].rstrip().endswith("="):  # `= delete`: a deleted function
            found.append(m.start())
    result = []
    for pos in sorted(found):
        line = code.count("\n", 0, pos) + 1
        result.append((line, lines[line - 1].strip()))
    return result


def no_raw_new(dirs: list[str]) -> int:
    bad = 0
    files = 0
    for d in dirs:
        for path in sorted(Path(d).rglob("*")):
            if path.suffix not in CPP_SUFFIXES or not path.is_file():
                continue
            files += 1
            for line, src in raw_new_delete(path.read_text(errors="replace")):
                print(f"{path}:{line}: raw new/delete: {src}")
                bad += 1
    if files == 0:
        print(f"no C++ files under {' '.join(dirs)}")
        return 1
    return 1 if bad else 0


def property_findings(tests: list[dict], sanitize: bool) -> list[str]:
    """What is missing from the discovered GoogleTest cases in ctest's json-v1 `tests`."""
    want = ["WSS_TEST_PKI="] + (["ASAN_OPTIONS=", "LSAN_OPTIONS=suppressions=", "UBSAN_OPTIONS="]
                                if sanitize else [])
    findings = []
    gtests = 0
    for t in tests:
        cmd = t.get("command") or []
        if not any(a.startswith("--gtest_filter=") for a in cmd):
            continue
        gtests += 1
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        env = props.get("ENVIRONMENT", [])
        for w in want:
            if not any(e.startswith(w) for e in env):
                findings.append(f"{t['name']}: ENVIRONMENT lacks {w}... (has {env})")
        if props.get("TIMEOUT") != 300:
            findings.append(f"{t['name']}: TIMEOUT is {props.get('TIMEOUT')}, not 300")
        stray = [k for k in props if "=" in k or k.isdigit()]
        if stray:
            findings.append(f"{t['name']}: bogus properties {stray} (a list value was split)")
    if gtests == 0:
        findings.append("no GoogleTest cases discovered")
    return findings


def ctest_properties(build: str, sanitize: bool) -> int:
    out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"ctest --show-only=json-v1 failed: {out.stderr.strip()}")
        return 1
    findings = property_findings(json.loads(out.stdout).get("tests", []), sanitize)
    for f in findings:
        print(f)
    return 1 if findings else 0


def self_test() -> int:
    catches = ["int* p = new int(3);", "delete p;", "delete[] a;", "T* x = new T[4];",
               "auto q = ::new (buf) T;", "std::unique_ptr<T> u(new T);"]
    clean = ["// a new thing", "/* delete it */", 'const char* s = "new delete";', "char c = 'n';",
             "X(const X&) = delete;", "X& operator=(const X&) =\n    delete;", "int new_value = renew();",
             "p->delete_later(); q.newest();", "auto u = std::make_unique<T>();"]
    failures = [f"missed: {s}" for s in catches if not raw_new_delete(s)]
    failures += [f"false positive: {s}" for s in clean if raw_new_delete(s)]
    split = [{"name": "A.B", "command": ["bin", "--gtest_filter=A.B"],
              "properties": [{"name": "ENVIRONMENT", "value": ["WSS_TEST_PKI=/p"]},
                             {"name": "ASAN_OPTIONS=x", "value": "LSAN_OPTIONS=y"}]}]
    whole = [{"name": "A.B", "command": ["bin", "--gtest_filter=A.B"],
              "properties": [{"name": "ENVIRONMENT",
                              "value": ["WSS_TEST_PKI=/p", "ASAN_OPTIONS=a", "LSAN_OPTIONS=suppressions=s",
                                        "UBSAN_OPTIONS=u"]},
                             {"name": "TIMEOUT", "value": 300.0}]}]
    if not property_findings(split, True):
        failures.append("a split ENVIRONMENT passed the property check")
    if property_findings(whole, True):
        failures.append(f"a whole ENVIRONMENT failed the property check: {property_findings(whole, True)}")
    for f in failures:
        print(f"self-test: {f}")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "no-raw-new":
        return no_raw_new(argv[1:])
    if len(argv) >= 2 and argv[0] == "ctest-properties":
        return ctest_properties(argv[1], "--sanitize" in argv[2:])
    if argv == ["self-test"]:
        return self_test()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
