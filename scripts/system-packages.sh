#!/usr/bin/env bash
# Debian packages Suricate uses: bubblewrap sandboxes the kernels, with libseccomp2 (the syscall
# filter, through the pyseccomp binding) and util-linux's setpriv (a root node drops to the
# kernels' uid); acl grants that uid traversal where Python lives under a closed dir; Node.js and
# npm build the web UI; Chromium (with --browser: for the tests) runs the browser tests (driven by
# Playwright through /usr/bin/chromium, never a downloaded browser); nginx is the reverse proxy
# the tests check deploy/nginx/suricate.conf with and start in front of frontend replicas (on a
# loopback port of their own; Debian's package may also start its service on port 80: `systemctl
# disable --now nginx` where unwanted). Installed when running as root; otherwise say what is
# missing.
set -u
missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v setpriv >/dev/null || missing+=(util-linux)
command -v setfacl >/dev/null || missing+=(acl)
ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || missing+=(libseccomp2)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ "${1:-}" = --browser ]; then [ -x /usr/bin/chromium ] || missing+=(chromium); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: ${missing[*]} not installed; run: sudo apt-get install ${missing[*]}" >&2
  fi
fi
# Sandboxed kernels run as SURICATE_KERNEL_UID (64100) when the server runs as root, and
# bubblewrap opens the Python installation as that uid: a Python under a closed dir (pyenv in
# /root, mode 0700) needs traversal (x only, no listing) for that uid on each closed parent.
if [ "$(id -u)" = 0 ] && command -v setfacl >/dev/null; then
  uid="${SURICATE_KERNEL_UID:-64100}"
  python="${PYTHON:-python3}"
  prefix="$("$python" -c 'import sys; print(sys.base_prefix)' 2>/dev/null)"
  # The Python installation, and this checkout (its venv and source are bound into kernels).
  # Top down: once a closed dir lets the uid through, what is below may already be open.
  dirs=()
  for top in "$prefix" "$PWD"; do
    chain=()
    dir="$top"
    while [ -n "$dir" ] && [ "$dir" != / ]; do chain=("$dir" "${chain[@]}"); dir="$(dirname "$dir")"; done
    dirs+=("${chain[@]}")
  done
  for dir in "${dirs[@]}"; do
    if [ -d "$dir" ] && ! setpriv --reuid="$uid" --regid="$uid" --clear-groups test -x "$dir" 2>/dev/null; then
      echo "granting uid $uid traversal of $dir (setfacl -m u:$uid:x), for sandboxed kernels"
      setfacl -m "u:$uid:x" "$dir"
    fi
  done
fi
exit 0
