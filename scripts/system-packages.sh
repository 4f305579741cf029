#!/usr/bin/env bash
# Debian packages Suricate uses: bubblewrap sandboxes the kernels. Installed when running as root;
# otherwise say what is missing (the server then warns and runs kernels unsandboxed).
set -u
missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "note: ${missing[*]} not installed; run: sudo apt-get install ${missing[*]}" >&2
fi
exit 0
