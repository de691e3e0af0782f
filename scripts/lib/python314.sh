# shellcheck shell=bash
# Finds or provisions Python 3.14 and the test environments, then runs commands in them.
#
# Sourced by the scripts in scripts/. Home Assistant 2026.3 and later need
# Python 3.14. When `python3.14` is on PATH it is used directly. Otherwise a
# Debian unstable root with Python 3.14 is built once with mmdebstrap into
# .cache/py314-root (git-ignored) and commands run inside it through chroot, in
# a private mount namespace so that no bind mount outlives the command.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="$REPO/.cache"
ROOTFS="$CACHE/py314-root"
DEBIAN_PACKAGES="python3.14,python3.14-venv,python3.14-dev,gcc,ca-certificates"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

py314_mode() {
    if command -v python3.14 >/dev/null 2>&1; then
        echo host
    else
        echo root
    fi
}

# Build the Debian root with Python 3.14 unless it is already there.
ensure_python314() {
    if [ "$(py314_mode)" = host ]; then
        return
    fi
    if [ -x "$ROOTFS/usr/bin/python3.14" ] && [ -f "$ROOTFS/.complete" ]; then
        return
    fi
    [ "$(id -u)" = 0 ] || die "Python 3.14 is not on PATH and building a Python 3.14 root needs root.
Install Python 3.14 (python3.14 on PATH) or run this script as root."
    command -v unshare >/dev/null 2>&1 || die "unshare (util-linux) is needed to run the Python 3.14 root"
    if ! command -v mmdebstrap >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 || die "Python 3.14 is not on PATH and mmdebstrap is not available.
Install Python 3.14 (python3.14 on PATH) and run this script again."
        log "Installing mmdebstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null; } \
            || die "could not install mmdebstrap"
    fi
    log "Building a Debian unstable root with Python 3.14 in $ROOTFS (about a minute)"
    rm -rf "$ROOTFS"
    mkdir -p "$CACHE"
    mmdebstrap --quiet --variant=apt \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --include="$DEBIAN_PACKAGES" unstable "$ROOTFS" \
        || die "mmdebstrap failed to build the Python 3.14 root"
    touch "$ROOTFS/.complete"
}

# Set the array PY314_COMMAND to a command line that runs "$@" with Python 3.14
# on PATH, in the repository, with the environment variables listed in
# PY314_PASS passed through. Every program on it replaces the one before
# (exec), so that the command keeps the process id it starts with.
python314_command() {
    if [ "$(py314_mode)" = host ]; then
        PY314_COMMAND=(env -C "$REPO" "$@")
        return
    fi
    cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf" 2>/dev/null || true
    cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
    mkdir -p "$ROOTFS$REPO"
    local envs=(PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8
        SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
        PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1)
    local name
    for name in ${PY314_PASS:-}; do
        if [ -n "${!name+x}" ]; then envs+=("$name=${!name}"); fi
    done
    PY314_COMMAND=(unshare --mount --propagation private -- /bin/bash -c '
        set -e
        root=$1 repo=$2; shift 2
        mount --bind /proc "$root/proc"
        mount --bind /dev "$root/dev"
        mount --bind /sys "$root/sys"
        mount --bind "$repo" "$root$repo"
        exec chroot "$root" /usr/bin/env -i "$@"
    ' _ "$ROOTFS" "$REPO" "${envs[@]}" /bin/sh -c 'cd "$1" && shift && exec "$@"' _ "$REPO" "$@")
}

# Run a command with Python 3.14 (see python314_command).
in_python314() {
    python314_command "$@"
    "${PY314_COMMAND[@]}"
}

# Replace this shell with a command run with Python 3.14: signals sent to the
# script reach the command itself.
exec_python314() {
    python314_command "$@"
    exec "${PY314_COMMAND[@]}"
}

# Print requirements/FILE and, recursively, the files it includes with -r.
requirements_text() {
    local file="$REPO/requirements/$1" included
    cat "$file"
    for included in $(sed -n 's/^-r[[:space:]]*//p' "$file"); do
        requirements_text "$included"
    done
}

# Create or update the virtual environment NAME from requirements/NAME.txt.
# It is re-created when that file or one it includes changes.
ensure_venv() {
    local name=$1 venv="$CACHE/venv-$1" req="$REPO/requirements/$1.txt"
    local stamp="$venv/.requirements.sha256" want
    want=$(requirements_text "$name.txt" | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return
    fi
    log "Installing requirements/$name.txt into .cache/venv-$name (a minute or two)"
    rm -rf "$venv"
    in_python314 python3.14 -m venv "$venv" || die "could not create $venv"
    in_python314 "$venv/bin/pip" install --quiet --requirement "$req" \
        || die "pip could not install requirements/$name.txt"
    echo "$want" > "$stamp"
}

# Install Debian packages where Python 3.14 runs: into the Debian root, or on
# the host when it has Python 3.14 itself. The end-to-end stack needs chromium
# (driven by Playwright) and g++ (two requirements of Home Assistant are built
# from source).
ensure_debian_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if [ "$(py314_mode)" = root ]; then
            dpkg-query --admindir="$ROOTFS/var/lib/dpkg" -W -f='${Status}' "$pkg" \
                2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
        elif command -v dpkg-query >/dev/null 2>&1; then
            dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
                | grep -q 'ok installed' || missing+=("$pkg")
        else
            command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -gt 0 ] || return 0
    log "Installing ${missing[*]} (Debian packages, a minute or two)"
    local apt=(env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
        apt-get -qq -o Dpkg::Use-Pty=0 -o Acquire::Check-Valid-Until=false)
    if [ "$(py314_mode)" = root ]; then
        in_python314 "${apt[@]}" update \
            && in_python314 "${apt[@]}" install -y --no-install-recommends \
                "${missing[@]}" >/dev/null \
            || die "could not install ${missing[*]} into the Python 3.14 root"
    else
        [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
            || die "please install ${missing[*]}"
        "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends \
            "${missing[@]}" >/dev/null || die "could not install ${missing[*]}"
    fi
}
