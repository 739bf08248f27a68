#!/usr/bin/env bash
# Start a real single-node SLURM cluster (munged + slurmctld + slurmd) on
# localhost for acme's SLURM tests (CI and developers).
#
# Partitions (all on the one node, so partition selection is really exercised):
#   8GBS   default, MaxMemPerNode=8000 MB
#   16GBL  MaxMemPerNode=16000 MB
#   debug  MaxMemPerNode=2000 MB
#
# * Debian 12 (bookworm), run as root, no systemd needed, no terminal needed.
# * Idempotent: installs packages only if missing, rewrites the config only
#   if it changed (then `scontrol reconfigure`), starts only daemons that are
#   not already running, waits until the node is idle, exits 0.
# * Daemons started by this script are recorded in $MARK_DIR/<name>.pid;
#   stop-slurm.sh stops exactly those.
#
# Tunables (environment):
#   SLURM_CI_CPUS      CPUs declared for the node (default 8, i.e. more than
#                      the machine has, so several 1-CPU jobs run at once)
#   SLURM_CI_MEM_MB    RealMemory of the node in MB (default 90% of MemTotal)
#   SLURM_CI_TIMEOUT   seconds to wait for each daemon / the node (default 60)
set -euo pipefail

CPUS="${SLURM_CI_CPUS:-8}"
TIMEOUT="${SLURM_CI_TIMEOUT:-60}"
MARK_DIR=/run/slurm-ci
CONF=/etc/slurm/slurm.conf
NODE="$(hostname -s)"
T_START=$(date +%s.%N)

log() { echo "[start-slurm $(date +%H:%M:%S)] $*"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
die() {
    log "ERROR: $*"
    for f in /var/log/munge/munged.log /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; do
        [ -f "$f" ] && { echo "---- tail $f"; tail -n 25 "$f"; }
    done
    exit 1
}
# alive PIDFILE COMM -> 0 if the pid in PIDFILE is a live process named COMM
alive() {
    local pid
    [ -s "$1" ] || return 1
    pid="$(cat "$1" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$2" ]
}
wait_for() {  # wait_for DESCRIPTION COMMAND...
    local what="$1"; shift
    local end=$(( $(date +%s) + TIMEOUT ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || die "timed out after ${TIMEOUT}s waiting for $what"
        sleep 0.2
    done
}

[ "$(id -u)" = 0 ] || die "must run as root"

# ---------------------------------------------------------------- packages
T=$(date +%s.%N)
need=()
for p in munge slurmctld slurmd slurm-client; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' init scripts from starting daemons with the default
    # config (no-op when a policy-rc.d already exists, as in Docker images).
    made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt_log=/tmp/start-slurm-apt.log
    apt-get -o DPkg::Lock::Timeout=300 update -q >"$apt_log" 2>&1 \
        || { tail -n 20 "$apt_log"; die "apt-get update failed"; }
    apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
        munge slurmctld slurmd slurm-client >>"$apt_log" 2>&1 \
        || { tail -n 20 "$apt_log"; die "apt-get install failed"; }
    if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
    log "packages installed in $(elapsed "$T")s"
else
    log "packages already installed"
fi
log "versions: $(dpkg-query -W -f='${Package}=${Version} ' munge slurmctld slurmd slurm-client)"

# ---------------------------------------------------------------- hostname
# slurmd/srun need the short hostname to resolve; add it if it does not.
if ! getent hosts "$NODE" >/dev/null; then
    log "hostname $NODE does not resolve; adding it to /etc/hosts as 127.0.0.1"
    echo "127.0.0.1 $NODE" >> /etc/hosts
fi

# ---------------------------------------------------------------- config
mem_total_mb=$(awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo)
MEM_MB="${SLURM_CI_MEM_MB:-$(( mem_total_mb * 9 / 10 ))}"

mkdir -p /etc/slurm /var/spool/slurm/ctld /var/spool/slurm/d /var/log/slurm /run/slurm "$MARK_DIR"
new_conf="$(mktemp)"
cat > "$new_conf" <<EOF
# Written by acme's .ci/slurm/start-slurm.sh -- single-node cluster on localhost.
ClusterName=ci
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurm/ctld
SlurmdSpoolDir=/var/spool/slurm/d
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
# No cgroups: track job processes via /proc parent/child tree, no binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
# Start jobs immediately after sbatch (default batch_sched_delay=3s).
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
# Cores and memory are consumable; jobs without --mem get 1 GB per CPU
# (without DefMemPerCPU a job gets the whole node's memory -> 1 job at a time).
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
# Memory limit enforcement without cgroups: poll RSS every 2 s, kill the
# step when it exceeds --mem.
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
JobAcctGatherParams=OverMemoryKill
# No slurmdbd: sacct is unavailable; completed jobs go to a text log.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
# Trust the CPU count below even though the hardware has fewer CPUs.
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
InactiveLimit=0
NodeName=${NODE} NodeAddr=127.0.0.1 NodeHostname=${NODE} CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=8GBS Nodes=${NODE} Default=YES MaxTime=INFINITE MaxMemPerNode=8000 State=UP
PartitionName=16GBL Nodes=${NODE} Default=NO MaxTime=INFINITE MaxMemPerNode=16000 State=UP
PartitionName=debug Nodes=${NODE} Default=NO MaxTime=INFINITE MaxMemPerNode=2000 State=UP
EOF
conf_changed=
if ! cmp -s "$new_conf" "$CONF"; then
    install -m 0644 "$new_conf" "$CONF"
    conf_changed=1
    log "wrote $CONF"
fi
rm -f "$new_conf"

# ---------------------------------------------------------------- munge
T=$(date +%s.%N)
if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    mungekey --create --keyfile=/etc/munge/munge.key || die "mungekey failed"
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 0700 /etc/munge
chmod 0600 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
if alive /run/munge/munged.pid munged; then
    log "munged already running (pid $(cat /run/munge/munged.pid))"
else
    runuser -u munge -- /usr/sbin/munged || die "munged failed to start"
    wait_for "munged pid file" alive /run/munge/munged.pid munged
    cp /run/munge/munged.pid "$MARK_DIR/munged.pid"
    log "started munged (pid $(cat /run/munge/munged.pid)) in $(elapsed "$T")s"
fi
wait_for "munge credential round trip" bash -c 'munge -n | unmunge'

# ---------------------------------------------------------------- slurmctld
T=$(date +%s.%N)
if alive /run/slurm/slurmctld.pid slurmctld; then
    log "slurmctld already running (pid $(cat /run/slurm/slurmctld.pid))"
    if [ -n "$conf_changed" ]; then
        log "config changed -> scontrol reconfigure"
        scontrol reconfigure || die "scontrol reconfigure failed"
    fi
else
    # -c: start from a clean state (no jobs or node states from a previous run)
    /usr/sbin/slurmctld -c || die "slurmctld failed to start"
    wait_for "slurmctld pid file" alive /run/slurm/slurmctld.pid slurmctld
    cp /run/slurm/slurmctld.pid "$MARK_DIR/slurmctld.pid"
    log "started slurmctld (pid $(cat /run/slurm/slurmctld.pid))"
fi
wait_for "slurmctld to answer" bash -c 'scontrol ping | grep -q "is UP"'

# ---------------------------------------------------------------- slurmd
if alive /run/slurm/slurmd.pid slurmd; then
    log "slurmd already running (pid $(cat /run/slurm/slurmd.pid))"
else
    /usr/sbin/slurmd -N "$NODE" || die "slurmd failed to start"
    wait_for "slurmd pid file" alive /run/slurm/slurmd.pid slurmd
    cp /run/slurm/slurmd.pid "$MARK_DIR/slurmd.pid"
    log "started slurmd (pid $(cat /run/slurm/slurmd.pid))"
fi

# ---------------------------------------------------------------- node idle
node_ready() {
    local st
    st="$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n1)"
    case "$st" in
        idle|mixed|allocated) return 0 ;;
        drain*|down*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true; return 1 ;;
        *) return 1 ;;
    esac
}
wait_for "node $NODE to become idle" node_ready
log "slurm daemons ready in $(elapsed "$T")s (total $(elapsed "$T_START")s)"
sinfo
exit 0
