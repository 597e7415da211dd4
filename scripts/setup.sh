#!/usr/bin/env bash
# linklab set-up on Debian bookworm (as root): installs what is missing, builds, then
#   scripts/setup.sh quickstart   runs the quickstart experiment (writes results/)
#   scripts/setup.sh test         runs the whole test suite (ctest)
#   scripts/setup.sh build        only installs and builds
# Idempotent: packages already installed and an up-to-date build are left alone.
set -euo pipefail

cd "$(dirname "$0")/.."
action="${1:-build}"
shift || true

packages=(
  build-essential cmake git pkg-config
  libtorch-dev libopenblas0-pthread        # libtorch; OpenBLAS instead of the reference BLAS
  libns3-dev ns3 libgsl-dev libxml2-dev libsqlite3-dev  # ns-3 3.37 (its CMake targets link these)
  libeigen3-dev libhdf5-dev libboost-program-options-dev nlohmann-json3-dev
  libxgboost-dev                           # the boosted-trees baseline of the predictors
  libonnx-dev libprotobuf-dev              # ONNX export and the inference runtime
  libgtest-dev libgmock-dev
  iproute2 iputils-ping                    # tc, ip and ping, for linklab-live and its tests
  libnl-route-3-dev                        # linklab-live: netlink (links, qdiscs, classes, filters)
  prometheus-cpp-dev libcpp-httplib-dev    # linklab-live: /metrics and the control API
  python3-prometheus-client                # the live tests parse /metrics with its parser
  iperf3 ethtool                           # the kernel HTB check (bench htb, live tests)
  python3-h5py python3-matplotlib          # plots and notebooks over results/
  jupyter-nbconvert python3-ipykernel      # the notebooks, executed headless (nbconvert --execute)
  slurmctld slurmd slurm-client munge procps  # linklab sweep --slurm (its test runs a local cluster)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run ONNX Runtime (npm's onnxruntime-node) for the parity tests and
# `linklab bench runtime`; a node that brings its own npm is kept.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "linklab setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "linklab setup: run as root (or install: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ONNX Runtime from npm, its CPU library inside the package (--ignore-scripts: the install
# script would download extras). Without it the ONNX Runtime tests skip, saying why.
if [[ ! -f tools/ort/node_modules/onnxruntime-node/package.json ]]; then
  echo "linklab setup: installing onnxruntime-node into tools/ort (npm ci --ignore-scripts)"
  (cd tools/ort && npm ci --ignore-scripts --no-audit --no-fund >/dev/null) ||
    echo "linklab setup: warning: npm could not install onnxruntime-node; the ONNX Runtime" \
      "parity tests will skip and bench runtime will report it missing" >&2
fi

jobs=$(nproc)
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build -j "$jobs"

case "$action" in
  build) ;;
  quickstart)
    experiments/quickstart.sh "$@"
    ;;
  test)
    ctest --test-dir build --output-on-failure -j "$jobs" "$@"
    ;;
  *)
    echo "usage: scripts/setup.sh [build|quickstart|test] [extra arguments]" >&2
    exit 2
    ;;
esac
