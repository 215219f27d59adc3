#!/usr/bin/env bash
# Installs the system tools the test suite needs when they are missing:
# promtool (Debian's `prometheus` package), and Chromium with its WebDriver for the
# console's browser tests (Debian's `chromium` and `chromium-driver`). Java 17, Maven
# and the PostgreSQL server binaries are prerequisites listed in the README.
set -euo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing promtool (Debian package prometheus)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "promtool not found: install Debian's 'prometheus' package (tests that need it will fail)" >&2
  fi
fi
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium and chromedriver (Debian packages chromium, chromium-driver)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium chromium-driver >/dev/null
  else
    echo "chromium/chromedriver not found: install Debian's 'chromium' and 'chromium-driver'" \
      "(the console's browser tests skip without them)" >&2
  fi
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || [ -n "${KAFKA_HOME:-}" ] || {
    echo "$tool not found: Java 17+ and Maven (or KAFKA_HOME) are required" >&2; exit 1; }
done
