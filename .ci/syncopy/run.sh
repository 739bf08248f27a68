#!/usr/bin/env bash
# Syncopy integration check: esi-syncopy 2023.9 (with the pins it needs today)
# and this checkout of acme in their own virtual environment, then
# check_syncopy.py. SLURM's `sinfo` must answer (start .ci/slurm/start-slurm.sh
# first): Syncopy only takes its ParallelMap path on a SLURM host.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${SYNCOPY_PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3

"$python" -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "esi-syncopy==2023.9" "numpy<2" "scipy<1.16" pytz
"$venv/bin/python" -m pip install --quiet "$repo"
sinfo -h -o %P >/dev/null
cd "$(mktemp -d)"
HOME="$PWD" "$venv/bin/python" "$here/check_syncopy.py"
