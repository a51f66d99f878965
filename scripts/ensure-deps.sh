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

bash "$(dirname "$0")/apt-install.sh" llmq librdkafka-dev pkg-config python3-yaml
