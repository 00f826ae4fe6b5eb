#!/usr/bin/env bash
# dev.sh - one-step set-up and run for microgradvg (Debian/Ubuntu or macOS).
#
#   ./dev.sh demo [args...]   run `microgradvg vanishing --out out/ [args...]`
#   ./dev.sh test [args...]   run the whole test suite (`pytest -q [args...]`)
#
# Before either, it makes sure that:
#   1. Graphviz's `dot` is on PATH (installed with apt-get as root or with
#      passwordless sudo, or with brew on macOS; otherwise it says what to install),
#   2. .venv exists (created with python3 >= 3.10),
#   3. the package is installed editable with its test extras; this is redone
#      only when pyproject.toml changed (stamp: .venv/.pyproject.installed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

die() { echo "$*" >&2; exit 1; }
usage() { echo "usage: ./dev.sh {demo|test} [extra args...]" >&2; exit 2; }

cmd="${1:-}"
case "$cmd" in demo|test) shift ;; *) usage ;; esac

# apt-get as root, or via passwordless sudo; returns 1 if neither is possible.
apt_install() {   # apt_install PKG...
    local sudo=""
    command -v apt-get >/dev/null || return 1
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null && sudo -n true 2>/dev/null || return 1
        sudo="sudo -n"
    fi
    echo "dev.sh: installing $* with apt-get..." >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get -qq update &&
        $sudo env DEBIAN_FRONTEND=noninteractive \
            apt-get -qq install -y "$@" >/dev/null
}

# 1. Graphviz's `dot`.
if ! command -v dot >/dev/null; then
    if [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null; then
        brew install graphviz || true
    else
        apt_install graphviz || true
    fi
    hash -r
    command -v dot >/dev/null ||
        die "microgradvg needs Graphviz's \`dot\`: install it with 'sudo apt-get install graphviz' or 'brew install graphviz', then rerun."
fi

# 2. Virtual environment.
if [ ! -x .venv/bin/python ]; then
    { command -v python3 && python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; } >/dev/null 2>&1 ||
        die "microgradvg needs Python >= 3.10 as 'python3': install it with 'sudo apt-get install python3 python3-venv' or 'brew install python', then rerun."
    rm -rf .venv
    if ! python3 -m venv .venv >/dev/null 2>&1; then
        rm -rf .venv   # Debian/Ubuntu ship venv's ensurepip separately
        { apt_install python3-venv && python3 -m venv .venv; } ||
            die "could not create .venv: install python3-venv with 'sudo apt-get install python3-venv', then rerun."
    fi
fi

# 3. Editable install with test extras, redone only when pyproject.toml changed.
stamp=.venv/.pyproject.installed
if ! cmp -s pyproject.toml "$stamp"; then
    echo "dev.sh: installing microgradvg[test] into .venv..." >&2
    PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/pip install -q -e ".[test]"
    cp pyproject.toml "$stamp"
fi

case "$cmd" in
    demo) exec .venv/bin/microgradvg vanishing --out out/ "$@" ;;
    # One BLAS thread unless the caller says otherwise: the suite's matrices are small, and on a
    # loaded machine OpenBLAS's default threads made some tutorials ten times slower.
    test) OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" \
              exec .venv/bin/python -m pytest -q "$@" ;;
esac
