#!/usr/bin/env bash
# The GPU check in one command on a fresh CUDA machine (what it checks: tests/gpu_check.py):
#
#   bash tests/gpu_check.sh [gpu_check.py options]
#
# 1. Python: the first of $PYTHON, python3, .venv/bin/python whose torch sees the GPU and
#    that has numpy, scikit-learn, pytest and nbformat (the grader needs nothing else; it runs from
#    this folder, not installed). Wheels carried in .whl/ are installed first, offline.
#    Where none has them and PyPI answers, a virtual environment outside the repository
#    ($GPU_CHECK_VENV, default /tmp/gpu_check_venv) gets torch from PyPI (its default Linux
#    build has CUDA), numpy, scikit-learn and pytest (GPU_CHECK_INSTALL=0: never). Nothing
#    is installed on a machine without an NVIDIA GPU.
# 2. bubblewrap, the sandbox: already installed, else a .deb carried in .debs/ (unpacked in
#    /tmp, not installed), else apt-get where the archive answers (as root). Without it the
#    check runs with GRADER_SANDBOX=none and says so (its summary line names the isolation).
# 3. python tests/gpu_check.py "$@": the exit code is its own (0 all passed, 1 a part failed,
#    2 no CUDA).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
say() { echo "gpu_check.sh: $*"; }
NEED='import numpy, sklearn, pytest, nbformat, torch
assert torch.cuda.is_available(), "torch " + torch.__version__ + " sees no GPU"'

if ! ls /dev/nvidia[0-9]* >/dev/null 2>&1 && ! command -v nvidia-smi >/dev/null 2>&1; then
    say "no NVIDIA GPU on this machine (no /dev/nvidia*, no nvidia-smi): nothing installed"
    exec "${PYTHON:-python3}" tests/gpu_check.py "$@"  # refuses, exit code 2
fi

if ls .whl/*.whl >/dev/null 2>&1; then
    site=/tmp/gpu_check_site
    if python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl; then
        export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
        say "installed the wheels carried in .whl/ into $site"
    else
        say "could not install the wheels in .whl/"
    fi
fi

PY=""
for candidate in "${PYTHON:-}" python3 .venv/bin/python "${GPU_CHECK_VENV:-/tmp/gpu_check_venv}/bin/python"; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c "$NEED" >/dev/null 2>&1; then PY=$candidate; break; fi
done
if [ -z "$PY" ] && [ "${GPU_CHECK_INSTALL:-1}" != 0 ] && timeout 15 python3 -c "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/pip/', timeout=10)" >/dev/null 2>&1; then
    venv=${GPU_CHECK_VENV:-/tmp/gpu_check_venv}
    say "no Python here has torch with CUDA, numpy, scikit-learn, pytest and nbformat: installing them into $venv from PyPI"
    if python3 -m venv "$venv" && "$venv/bin/pip" install -q torch numpy scikit-learn pytest nbformat \
            && "$venv/bin/python" -c "$NEED"; then
        PY=$venv/bin/python
    fi
fi
if [ -z "$PY" ]; then
    say "no usable Python (torch that sees the GPU, numpy, scikit-learn, pytest, nbformat), and none installed:"
    for candidate in "${PYTHON:-}" python3 .venv/bin/python "${GPU_CHECK_VENV:-/tmp/gpu_check_venv}/bin/python"; do
        [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
        say "  $candidate: $("$candidate" -c "$NEED" 2>&1 | tail -n 1)"
    done
    say "carry the missing packages as wheels in .whl/, or set PYTHON to a Python that has them"
    exit 2
fi

if ! command -v bwrap >/dev/null 2>&1; then
    deb=$(ls .debs/bubblewrap_*.deb 2>/dev/null | head -n 1)
    if [ -n "$deb" ] && command -v dpkg >/dev/null 2>&1; then
        if dpkg -x "$deb" /tmp/gpu_check_bwrap; then
            export PATH="/tmp/gpu_check_bwrap/usr/bin:$PATH"
            say "bubblewrap unpacked from $deb"
        fi
    elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && timeout 8 python3 -c "
import socket, sys
for host in ('deb.debian.org', 'archive.ubuntu.com', 'security.ubuntu.com'):
    try:
        socket.create_connection((host, 80), 3).close(); sys.exit(0)
    except OSError:
        pass
sys.exit(1)" >/dev/null 2>&1; then
        timeout 120 apt-get update -qq && timeout 180 apt-get install -y -qq bubblewrap >/dev/null
    fi
fi
if command -v bwrap >/dev/null 2>&1 && bwrap --version >/dev/null 2>&1; then
    say "sandbox: $(bwrap --version)"
else
    export GRADER_SANDBOX=none
    say "bubblewrap unavailable: student code runs WITHOUT the sandbox (GRADER_SANDBOX=none)"
fi

say "python: $(command -v "$PY") ($("$PY" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__)'))"
exec "$PY" tests/gpu_check.py "$@"
