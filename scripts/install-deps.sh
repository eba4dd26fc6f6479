#!/usr/bin/env bash
# install-deps.sh -- install every Debian 12 package plinth needs, as root. Idempotent.
#
# Groups (arguments; default: build test):
#   build  compiler, CMake, OpenMPI (+PMIx), parallel HDF5 (openmpi flavour) + h5dump,
#          Boost.Program_options, OpenBLAS, GoogleTest/GoogleMock, SentencePiece, the fortunes corpus,
#          gnuplot-nox (the PNG plots of `plinth sweep report`)
#   test   Python tools the tests use: Debian's python3-h5py, python3-numpy, python3-torch and
#          python3-xxhash (reference XXH64 for the checkpoint checksums), all for /usr/bin/python3,
#          and from PyPI (pip, pinned) Hugging Face transformers + safetensors,
#          the newest releases that still run on Debian's torch 1.13 (the HF export test)
#   slurm  Slurm daemons and clients + munge (no daemon is started here)
#   bench  the benchmark peer: Debian's python3-torch and the OpenMP build of OpenBLAS
#   all    everything above
# Services are never started by the install (a temporary policy-rc.d denies starts).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "install-deps.sh: must run as root (it calls apt-get)" >&2; exit 1; }

groups=("$@"); [ ${#groups[@]} -gt 0 ] || groups=(build test)
pkgs=()
pip_pkgs=()
for g in "${groups[@]}"; do
  case "$g" in
    build) pkgs+=(g++ cmake make pkg-config openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
                  libboost-program-options-dev libopenblas-openmp-dev libopenblas0-openmp libgtest-dev libgmock-dev
                  libsentencepiece-dev sentencepiece fortunes fortunes-min gnuplot-nox) ;;
    test)  pkgs+=(python3 python3-h5py python3-numpy python3-torch python3-pip python3-xxhash)
           pip_pkgs+=(transformers==4.46.3 safetensors==0.4.5 tokenizers==0.20.3 huggingface-hub==0.36.2) ;;
    slurm) pkgs+=(slurmctld slurmd slurm-client munge) ;;
    bench) pkgs+=(python3-torch) ;;
    all)   exec "$0" build test slurm bench ;;
    *) echo "install-deps.sh: unknown group '$g' (known: build test slurm bench all)" >&2; exit 2 ;;
  esac
done

# PyPI packages for Debian's /usr/bin/python3 (after the apt packages, which bring torch and pip).
install_pip() {
  [ ${#pip_pkgs[@]} -gt 0 ] || return 0
  local need=0 spec
  for spec in "${pip_pkgs[@]}"; do
    [ "$(/usr/bin/python3 -m pip show "${spec%%==*}" 2>/dev/null | sed -n 's/^Version: //p')" = "${spec##*==}" ] || need=1
  done
  if [ "$need" = 0 ]; then
    echo "install-deps.sh: pip packages already installed: ${pip_pkgs[*]}"
    return 0
  fi
  /usr/bin/python3 -m pip install -q --break-system-packages --root-user-action=ignore "${pip_pkgs[@]}"
  echo "install-deps.sh: pip installed ${pip_pkgs[*]}"
}

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#pkgs[@]} packages of [${groups[*]}] already installed"
  install_pip
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

start=$(date +%s)
apt-get update -q -o DPkg::Lock::Timeout=300
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
echo "install-deps.sh: installed ${#missing[@]} packages (+deps) in $(( $(date +%s) - start )) s: ${missing[*]}"
install_pip
