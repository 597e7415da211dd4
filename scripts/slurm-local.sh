#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on localhost, for the tests and CI of
# `linklab sweep --slurm` (Debian's slurmctld, slurmd, slurm-client and munge; as root):
#   scripts/slurm-local.sh start STATE_DIR   starts munged, slurmctld and slurmd, waits for the
#                                            node to be idle, prints `export SLURM_CONF=...`
#   scripts/slurm-local.sh stop STATE_DIR    stops them (idempotent)
# Everything (munge key and socket, slurm.conf, state, spool, logs, pid files) lives under
# STATE_DIR; /etc/slurm, /etc/munge and a system munged are left alone. Use it as
#   eval "$(scripts/slurm-local.sh start /tmp/slurm)" && sbatch ... ; scripts/slurm-local.sh stop /tmp/slurm
# start exits 77 (the ctest skip code) when the cluster cannot be brought up, saying why.
set -euo pipefail

usage() {
  echo "usage: scripts/slurm-local.sh start|stop STATE_DIR" >&2
  exit 2
}
(($# == 2)) || usage
action=$1
[[ $action == stop && ! -d $2 ]] && exit 0
mkdir -p "$2"
state=$(cd "$2" && pwd)
conf=$state/slurm.conf
daemons=(slurmd slurmctld munged) # in the order they are stopped

# True while the process in pid file $1 runs (a zombie counts as gone).
running() {
  local pid st
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}

# Sends TERM to the daemon behind $state/$1.pid, waits up to 15 s, then KILL.
stop_one() {
  local pidfile=$state/$1.pid pid i
  running "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile" 2>/dev/null) || return 0
  # A stale pid file could name a recycled pid: only signal the daemon it names.
  if ! grep -qa "$1" "/proc/$pid/cmdline" 2>/dev/null; then
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    running "$pidfile" || break
    sleep 0.1
  done
  if running "$pidfile"; then
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$pidfile"
}

# The step daemons of this cluster: those that hold its slurmd.log open (slurmstepd
# overwrites its environment and command line, so neither names the cluster).
stepds() {
  local pid fd
  for pid in $(pgrep -x slurmstepd 2>/dev/null); do
    for fd in "/proc/$pid/fd/"*; do
      if [[ $(readlink "$fd" 2>/dev/null) == "$state/slurmd.log" ]]; then
        echo "$pid"
        break
      fi
    done
  done
  return 0
}

# The processes below pids $@, deepest last.
descendants() {
  local tree
  tree=$(ps -e -o pid=,ppid=)
  awk -v roots="$*" '
    {parent[$1] = $2; order[NR] = $1}
    END {
      n = split(roots, r, " ")
      for (i = 1; i <= n; i++) mark[r[i]] = 1
      do {
        changed = 0
        for (j = 1; j <= NR; j++) {
          p = order[j]
          if (!(p in mark) && (parent[p] in mark)) { mark[p] = 1; changed = 1; print p }
        }
      } while (changed)
    }' <<<"$tree"
}

stop_all() {
  local d i jobs pids
  # Jobs first, while the controller can still cancel them: slurmd leaves steps running.
  if running "$state/slurmctld.pid"; then
    jobs=$(SLURM_CONF=$conf squeue -h -o %A 2>/dev/null || true)
    if [[ -n $jobs ]]; then
      # shellcheck disable=SC2086 # one argument per job id
      SLURM_CONF=$conf scancel --quiet $jobs 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        [[ -z $(stepds) ]] && break
        sleep 0.1
      done
    fi
  fi
  for d in "${daemons[@]}"; do stop_one "$d"; done
  # Whatever step daemon is left goes, with its job's processes.
  pids=$(stepds)
  if [[ -n $pids ]]; then
    # shellcheck disable=SC2046,SC2086
    kill -KILL $pids $(descendants $pids) 2>/dev/null || true
  fi
}

# Stops what was started, says why on stderr (with the tail of log $2) and exits 77.
fail() {
  echo "slurm-local: $1" >&2
  if [[ -n ${2:-} && -s $2 ]]; then
    echo "slurm-local: last lines of $2:" >&2
    tail -n 15 "$2" | sed 's/^/  /' >&2
  fi
  stop_all
  exit 77
}

# True when no socket listens on TCP port $1 (read from /proc, no ss or netstat needed).
port_free() {
  local hex
  hex=$(printf '%04X' "$1")
  ! awk -v p=":$hex" '$2 ~ p"$" && $4 == "0A" {found = 1} END {exit !found}' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Two free ports next to each other, below the ephemeral range (32768-) and away from Slurm's
# defaults (6817, 6818) that a system cluster would use.
pick_ports() {
  local base i
  for ((i = 0; i < 50; i++)); do
    base=$((12000 + (RANDOM % 10000) * 2))
    if port_free "$base" && port_free $((base + 1)); then
      echo "$base"
      return 0
    fi
  done
  return 1
}

# Waits up to 10 s for daemon $1 to write its pid file; fails when it does not.
wait_pid() {
  local i
  for ((i = 0; i < 100; i++)); do
    running "$state/$1.pid" && return 0
    sleep 0.1
  done
  fail "$1 exited at start" "$state/$1.log"
}

start() {
  local cmd d node hw ctld_port i
  for cmd in munged mungekey slurmctld slurmd sinfo; do
    command -v "$cmd" >/dev/null 2>&1 ||
      fail "$cmd not found (apt-get install slurmctld slurmd slurm-client munge)"
  done
  [[ $(id -u) -eq 0 ]] || fail "must run as root (slurmd starts jobs as their users)"
  [[ $state != *[[:space:]]* ]] || fail "STATE_DIR must not contain spaces (slurm.conf paths)"
  # A second start reuses the running cluster.
  if running "$state/slurmctld.pid" && running "$state/slurmd.pid" && running "$state/munged.pid"; then
    echo "export SLURM_CONF=$conf"
    return 0
  fi
  stop_all
  # munged refuses a key or socket in a directory others can write.
  chmod 0755 "$state"
  mkdir -p "$state/spool" "$state/ctld"
  chmod 0755 "$state/spool" "$state/ctld"

  # munge: a key of its own, a socket of its own; munged runs as root like the slurm daemons.
  if [[ ! -s $state/munge.key ]]; then
    mungekey --create --keyfile="$state/munge.key" --bits=1024 ||
      dd if=/dev/urandom of="$state/munge.key" bs=128 count=1 status=none
  fi
  chmod 0400 "$state/munge.key"
  rm -f "$state/munge.socket" "$state/munge.socket.lock"
  # --force: run even where munged finds a parent directory's permissions lax (/tmp and such).
  munged --force --socket="$state/munge.socket" --pid-file="$state/munged.pid" \
    --log-file="$state/munged.log" --seed-file="$state/munged.seed" \
    --key-file="$state/munge.key" </dev/null >/dev/null 2>>"$state/munged.log" ||
    fail "munged did not start" "$state/munged.log"
  for ((i = 0; i < 50; i++)); do
    [[ -S $state/munge.socket ]] && break
    sleep 0.1
  done
  [[ -S $state/munge.socket ]] || fail "munged made no socket" "$state/munged.log"

  # slurm.conf: the node as slurmd sees it (falls back to nproc and MemTotal).
  node=$(hostname -s)
  hw=$(slurmd -C 2>/dev/null | sed -n 's/^NodeName=[^ ]* //p' | head -n 1)
  if [[ -z $hw ]]; then
    hw="CPUs=$(nproc) RealMemory=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
  fi
  ctld_port=$(pick_ports) || fail "found no two free TCP ports"
  cat >"$conf" <<EOF
# Written by scripts/slurm-local.sh: a single-node cluster on localhost.
ClusterName=linklab
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge.socket
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: linuxproc tracks a job's processes, no task binding, no accounting daemons.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$state/jobcomp.txt
MpiDefault=none
MailProg=/bin/true
# Each CPU is a resource of its own, so the tasks of an array run side by side.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# Schedule at once (an array of 4 two-second tasks on 2 CPUs: 5 s instead of 8 s).
SchedulerParameters=sched_interval=1,bf_interval=1,batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
# Finished jobs stay in squeue/scontrol (sacct has no database here) for 5 minutes.
MinJobAge=300
KillWait=5
# Clients give up on a controller that is down after MessageTimeout-1 s (default 10: 9 s).
MessageTimeout=5
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
Waittime=0
NodeName=$node NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

  # The daemons fork into the background and write their pid files a moment later.
  # -c: no jobs from an earlier run (their processes are gone; they would hold the node).
  slurmctld -c -f "$conf" </dev/null >/dev/null 2>>"$state/slurmctld.log" ||
    fail "slurmctld did not start" "$state/slurmctld.log"
  wait_pid slurmctld
  slurmd -f "$conf" -N "$node" </dev/null >/dev/null 2>>"$state/slurmd.log" ||
    fail "slurmd did not start" "$state/slurmd.log"
  wait_pid slurmd

  # Up when sinfo reports the node idle (30 s at most).
  for ((i = 0; i < 60; i++)); do
    running "$state/slurmctld.pid" || fail "slurmctld exited" "$state/slurmctld.log"
    running "$state/slurmd.pid" || fail "slurmd exited" "$state/slurmd.log"
    if [[ $(SLURM_CONF=$conf sinfo -h -N -n "$node" -o '%T' 2>/dev/null) == idle ]]; then
      echo "export SLURM_CONF=$conf"
      return 0
    fi
    sleep 0.5
  done
  fail "node $node not idle after 30 s ($(SLURM_CONF=$conf sinfo -h -N -o '%T %E' 2>&1 | head -n 1))" \
    "$state/slurmd.log"
}

case "$action" in
  start) start ;;
  stop) stop_all ;;
  *) usage ;;
esac
