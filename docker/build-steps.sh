#!/bin/sh
# The build stages of docker/Dockerfile, runnable on a host as well (the test suite does):
#
#   docker/build-steps.sh libdolt OUT   native/ -> OUT/libdolt.so  (Go, cgo; about 5 min cold)
#   docker/build-steps.sh wheel OUT     the pgproxy wheel and its dependencies' wheels in OUT
#
# Run from the repository root.
set -eu
step=${1:?usage: build-steps.sh libdolt|wheel OUT}
out=${2:?usage: build-steps.sh libdolt|wheel OUT}
mkdir -p "$out"
case "$step" in
libdolt)
    make -C native
    cp native/build/libdolt.so "$out/libdolt.so"
    ;;
wheel)
    # The mssql extra too: the image serves every backend.
    python -m pip wheel --no-cache-dir --wheel-dir "$out" '.[mssql]'
    ;;
*)
    echo "unknown step: $step" >&2
    exit 2
    ;;
esac
