#!/usr/bin/env bash
# Makes sure the server binaries the tests start on loopback, and the browser the page tests
# drive, are installed (Debian packages).
# The tests themselves start and stop throwaway instances; nothing is left running.
# `ensure-services.sh bench` also installs the load generator the benchmarks drive (wrk);
# `ensure-services.sh demo` installs only what the README's commands use (jq, curl).
set -euo pipefail
need=()
for tool in jq curl; do  # the README's commands, run by tests/e2e/test_readme.py
  command -v $tool >/dev/null || need+=($tool)
done
if [ "${1:-}" != demo ]; then  # the demo needs no servers beside its own
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
  if ! command -v haproxy >/dev/null; then
    need+=(haproxy)  # tests/cluster: the load balancer in front of the screening nodes
  fi
  if [ "${1:-}" = bench ] && ! command -v wrk >/dev/null; then
    need+=(wrk)  # bench/screening_http.py and bench/cluster.py drive the servers with it
  fi
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
