#!/usr/bin/env bash
# Installs what llmq needs from the system (librdkafka-dev, pkg-config) when it is missing.
# Everything else comes from SwiftPM. Safe to run repeatedly.
set -euo pipefail

# librdkafka-dev: the Kafka client. pkg-config: how SwiftPM finds it. python3-yaml: the docker/ check reads compose.yaml.
have_all() {
    pkg-config --exists rdkafka 2>/dev/null && [ -f /usr/include/librdkafka/rdkafka_mock.h ] \
        && python3 -c 'import yaml' 2>/dev/null
}
if have_all; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "llmq needs librdkafka with its headers (Debian/Ubuntu package: librdkafka-dev; also pkg-config)." >&2
    echo "apt-get is not available here: install librdkafka-dev (or your system's librdkafka development package) and retry." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "llmq needs the package librdkafka-dev: run 'apt-get install -y librdkafka-dev pkg-config' as root." >&2
        exit 1
    fi
fi

echo "Installing librdkafka-dev, pkg-config and python3-yaml (apt-get)..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq librdkafka-dev pkg-config python3-yaml >/dev/null
