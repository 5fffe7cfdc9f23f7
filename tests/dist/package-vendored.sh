#!/usr/bin/env bash
# The vendored release package test (./scripts/test.sh --dist-vendored): tests/dist/package.sh --vendored.
exec "$(dirname "$0")/package.sh" --vendored
