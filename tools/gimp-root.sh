#!/usr/bin/env bash
# A cached Debian trixie root with GIMP 3 and a Python venv holding the engine's dependencies
# (onnxruntime, no torch), for tests/test_gimp.py.  Debian 12 only has GIMP 2.10 without Python.
#
#   tools/gimp-root.sh                      build the root if it is missing, stale or broken; print its path
#   tools/gimp-root.sh exec [--bind HOST:DIR]... [--] CMD...
#                                           run CMD inside the root (root only): private mount
#                                           namespace with /proc, /dev, a fresh /tmp and the binds;
#                                           nothing is left mounted afterwards
#
# The root lives in $COLORIZE_GIMP_ROOT (default /var/cache/colorize-gimp-root, outside the repo so
# that it survives between CI runs on one machine).  It is rebuilt when this script's package list
# or the engine's dependencies change, or when GIMP or the venv no longer start.  Needs root and
# mmdebstrap (installed with apt-get when missing); takes about 2 minutes and 1.2 GB the first time.
#
# Packages come from the Debian archive the host's apt uses (so a local or company mirror serves
# this as it serves apt), or from $COLORIZE_GIMP_MIRROR, a Debian archive's URI, where the host
# uses none (Ubuntu, another system).
set -euo pipefail

ROOT=${COLORIZE_GIMP_ROOT:-/var/cache/colorize-gimp-root}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PKGS=gimp,python3,python3-gi,gir1.2-gimp-3.0,python3-venv,ca-certificates,xvfb,xauth
VENV=/opt/colorize-venv            # inside the root
HOST_CA=/etc/ssl/certs/ca-certificates.crt   # HTTPS may be re-signed by a proxy: pip needs the host's CAs

log() { echo "gimp-root: $*" >&2; }

# run_in ROOT [--bind HOST:DIR]... [--] CMD...
run_in() {
    local root=$1; shift
    local binds=()
    while [ $# -gt 0 ]; do
        case $1 in
            --bind) binds+=("$2"); shift 2 ;;
            --) shift; break ;;
            *) break ;;
        esac
    done
    [ "$(id -u)" = 0 ] || { log "must run as root (chroot)"; return 1; }
    unshare --mount --propagation private -- /bin/bash -euc '
        root=$1; nbinds=$2; shift 2
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
        for ((i = 0; i < nbinds; i++)); do
            host=${1%%:*}; dir=${1#*:}; shift
            mkdir -p "$root$dir"
            mount --bind "$host" "$root$dir"
        done
        exec chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
            PIP_CERT=/etc/colorize-host-ca.crt SSL_CERT_FILE=/etc/colorize-host-ca.crt \
            PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 PIP_ROOT_USER_ACTION=ignore "$@"
    ' run_in "$root" "${#binds[@]}" "${binds[@]}" "$@"
}

# What the root must contain; a change forces a rebuild.
fingerprint() {
    {
        echo "trixie $PKGS $VENV v1"
        python3 - "$REPO/pyproject.toml" <<'PY'
import sys, tomllib
print("\n".join(sorted(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"])))
PY
    } | sha256sum | cut -c1-16
}

healthy() {
    local root=$1
    [ -f "$root/.colorize-root" ] && [ "$(cat "$root/.colorize-root")" = "$(fingerprint)" ] || return 1
    run_in "$root" -- gimp-console-3.0 --version >/dev/null 2>&1 || return 1
    run_in "$root" -- "$VENV/bin/python" -c 'import onnxruntime, numpy, PIL, cv2, tqdm' >/dev/null 2>&1
}

# The URIs of the Debian archives in the host's apt sources, one a line, or $COLORIZE_GIMP_MIRROR.
debian_mirrors() {
    if [ -n "${COLORIZE_GIMP_MIRROR:-}" ]; then
        echo "$COLORIZE_GIMP_MIRROR"
        return
    fi
    command -v apt-get >/dev/null || return 0
    # apt knows which source is Debian's archive (and not its security archive, Ubuntu or a
    # third party) from the Release files it downloaded; a fresh image has none before an update
    # shellcheck disable=SC2016  # apt's format, not the shell's
    local targets=(indextargets --format '$(REPO_URI)' 'Label: Debian')
    [ -n "$(apt-get "${targets[@]}")" ] || apt-get update -qq >&2
    apt-get "${targets[@]}" | sort -u
}

build() {
    local new=$ROOT.new
    if ! command -v mmdebstrap >/dev/null && command -v apt-get >/dev/null; then
        log "installing mmdebstrap"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap; } >&2
    fi
    command -v mmdebstrap >/dev/null || { log "mmdebstrap is missing (Debian/Ubuntu: apt-get install mmdebstrap)"; return 1; }
    local -a mirrors
    mapfile -t mirrors < <(debian_mirrors)
    [ "${#mirrors[@]}" -gt 0 ] || {
        log "the host's apt sources have no Debian archive: set COLORIZE_GIMP_MIRROR to the URI of one"
        return 1
    }
    rm -rf "$new"
    log "building $new (Debian trixie + GIMP 3 from ${mirrors[*]}, a few minutes)"
    mmdebstrap --quiet --variant=apt --include="$PKGS" --aptopt='Acquire::Retries "3"' trixie "$new" "${mirrors[@]}"
    cp "$HOST_CA" "$new/etc/colorize-host-ca.crt"
    log "creating $VENV with the engine's dependencies (onnxruntime, no torch)"
    local deps
    deps=$(python3 -c 'import sys, tomllib; print(" ".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' \
        "$REPO/pyproject.toml")
    run_in "$new" -- python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    run_in "$new" -- "$VENV/bin/pip" install -q setuptools wheel $deps
    fingerprint > "$new/.colorize-root"
    healthy "$new" || { log "the new root does not work"; return 1; }
    rm -rf "$ROOT"
    mv "$new" "$ROOT"
    log "ready: $ROOT ($(du -sh "$ROOT" | cut -f1))"
}

if [ "${1:-}" = exec ]; then
    shift
    [ -d "$ROOT" ] || { log "no root at $ROOT: run tools/gimp-root.sh first"; exit 1; }
    run_in "$ROOT" "$@"
    exit
fi

[ "$(id -u)" = 0 ] || { log "must run as root (mmdebstrap, chroot)"; exit 1; }
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9
if healthy "$ROOT"; then
    log "ok: $ROOT"
else
    [ -e "$ROOT" ] && log "$ROOT is missing pieces or stale: rebuilding"
    build
fi
echo "$ROOT"
