#!/usr/bin/env bash
# Installs Debian packages with apt-get (through sudo when not root), for the ensure-*.sh scripts.
# Usage: bash scripts/apt-install.sh "<what needs them>" PACKAGE...
set -euo pipefail
what=$1
shift
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$what needs $*: apt-get is not available here, install them (or your system's equivalents) and retry." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "$what needs $*: run 'apt-get install -y $*' as root." >&2
        exit 1
    fi
fi
echo "Installing $* (apt-get)..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
