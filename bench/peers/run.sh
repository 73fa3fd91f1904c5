#!/usr/bin/env bash
# Peer benchmark entry (npm run bench:peers [-- --quick]): makes sure the system python has PyTorch, then runs
# the compiled driver (dist/bench/peers/peers.bench.js). Debian's python3-torch calls the system BLAS; without
# libopenblas0-pthread that is the reference BLAS (measured ~6 GFLOP/s vs ~110 with OpenBLAS on one core), so
# both are installed to compare against a sanely configured PyTorch.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench:peers: installing python3-torch (Debian) ..." >&2
  apt-get update && apt-get install -y python3-torch libopenblas0-pthread
fi
if ! ls /usr/lib/x86_64-linux-gnu/libopenblas* >/dev/null 2>&1 && ! ls /usr/lib/*/openblas-pthread >/dev/null 2>&1; then
  echo "bench:peers: installing libopenblas0-pthread (else torch runs on the reference BLAS) ..." >&2
  apt-get install -y libopenblas0-pthread || echo "bench:peers: OpenBLAS not installed; PyTorch numbers use the reference BLAS" >&2
fi

exec node dist/bench/peers/peers.bench.js "$@"
