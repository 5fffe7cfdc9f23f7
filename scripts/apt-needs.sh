# Sourced by scripts/test.sh, test-cpp.sh and test-csharp.sh (not run by itself).
#
# apt_needs PKG...: makes sure the Debian packages are installed. Installs those dpkg does not
# know as installed with apt-get when run as root; as any other user, names them on stderr and
# returns 1 (install them as root first).
apt_needs() {
  local p missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages (install them as root first): ${missing[*]}" >&2
    return 1
  fi
  printf '\n==> installing apt packages: %s\n' "${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
