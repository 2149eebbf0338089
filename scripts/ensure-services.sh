#!/usr/bin/env bash
# Makes sure the server binaries the tests start on loopback, and the browser the page tests
# drive, are installed (Debian packages).
# The tests themselves start and stop throwaway instances; nothing is left running.
set -euo pipefail
need=()
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null; then
  need+=(postgresql)
fi
if ! command -v redis-server >/dev/null; then
  need+=(redis-server)  # bench/screening.py compares the index with a Redis set
fi
if [ ! -x /usr/bin/chromium ]; then
  need+=(chromium)  # tests/browser: Playwright drives Debian's build (its own download is unavailable)
fi
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  need+=(fonts-noto-cjk)  # Chinese pages in the browser tests and screenshots
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0'; then
  need+=(libpango-1.0-0 libpangoft2-1.0-0)  # WeasyPrint: PDF letters (dueprocess/letters.py)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
