#!/usr/bin/env bash
# Debian packages Suricate uses: bubblewrap sandboxes the kernels; Node.js and npm build the web UI;
# Chromium (with --browser: for the tests) runs the browser tests (driven by Playwright through /usr/bin/chromium, never a
# downloaded browser). Installed when running as root; otherwise say what is missing.
set -u
missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${1:-}" = --browser ]; then [ -x /usr/bin/chromium ] || missing+=(chromium); fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "note: ${missing[*]} not installed; run: sudo apt-get install ${missing[*]}" >&2
fi
exit 0
