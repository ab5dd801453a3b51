#!/usr/bin/env bash
# Installs the system libraries text2grad links against, when they are missing.
# Debian/Ubuntu: libopenblas-dev (BLAS for matrix products), zlib1g-dev (gzipped evaluation task files) and
# bubblewrap (the namespaces of the code sandbox). Apple platforms use Accelerate and the SDK's zlib: nothing to do.
# With --mpi also Open MPI (libopenmpi-dev, openmpi-bin), for the MPI build (`make mpi`) and its tests.
set -euo pipefail

[ "$(uname -s)" = "Darwin" ] && exit 0

missing=()
dpkg -s libopenblas-dev >/dev/null 2>&1 || missing+=(libopenblas-dev)
dpkg -s zlib1g-dev >/dev/null 2>&1 || missing+=(zlib1g-dev)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if [ "${1:-}" = "--mpi" ]; then
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    pkg-config --exists mpi-c 2>/dev/null || missing+=(libopenmpi-dev)
    command -v mpirun >/dev/null 2>&1 || missing+=(openmpi-bin)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=sudo
    else
        echo "text2grad needs ${missing[*]} and this user cannot install packages." >&2
        echo "Run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
        echo "(without bubblewrap, annotate --task code runs tested code with no namespaces and says so)" >&2
        exit 1
    fi
else
    SUDO=
fi
echo "Installing ${missing[*]} ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
