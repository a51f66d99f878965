#!/usr/bin/env bash
# Installs the real clients the gateway tests drive, when missing. Safe to run repeatedly.
#  - .venv-clients/: a Python virtualenv with the official OpenAI SDK (`openai`) and `websockets`
#    (the Chrome DevTools protocol client of the browser test), from PyPI.
#  - Debian's `chromium` (headless browser test), through apt-get.
# Tests that need a client skip with a message naming this script only when it could not be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-clients
PYTHON=${PYTHON:-python3}

if ! "$VENV/bin/python" -c 'import openai, websockets' 2>/dev/null; then
    echo "Creating $VENV with openai and websockets (pip)..." >&2
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian's python3 makes virtualenvs only with python3-venv (ensurepip).
        rm -rf "$VENV"
        bash scripts/apt-install.sh "the gateway's client tests" python3-venv
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check openai websockets
fi

find_chromium() {
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then return 0; fi
    done
    return 1
}
if ! find_chromium; then
    bash scripts/apt-install.sh "the gateway's browser test" chromium fonts-dejavu-core
fi
echo "test clients ready: $VENV (openai, websockets), $(command -v chromium || command -v chromium-browser || command -v google-chrome)" >&2
