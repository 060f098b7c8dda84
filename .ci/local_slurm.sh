#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for the SLURM tests and for trying the presets.
#
#   bash .ci/local_slurm.sh start     # installs SLURM when missing (apt-get), starts it; idempotent
#   bash .ci/local_slurm.sh status    # exit 0 when its controller answers, 3 when it is not running
#   bash .ci/local_slurm.sh stop      # cancels its jobs, stops its daemons; idempotent
#   source /tmp/sweeplab-slurm/env.sh # then sbatch, squeue, sacct, sweeplab ... talk to it
#
# Daemons: munged, slurmctld, slurmd, and for accounting slurmdbd on a private MariaDB (sacct is how
# submitit learns a job's state: without it, it warns at every poll and never sees a job that SLURM
# ended without a result, so a sweep would wait forever for it).
# Every file (slurm.conf, slurmdbd.conf, the munge key and socket, the database, state, spool, logs,
# pid files) lies under $SWEEPLAB_SLURM_DIR (default /tmp/sweeplab-slurm), the daemons listen on
# their own ports ($SWEEPLAB_SLURM_PORT, default 6917, and the two after it; the database on a socket
# only), so nothing of a cluster configured on the machine is touched. When such a cluster runs
# already, `start` starts nothing and says so: the SLURM tests then use that one, read-only.
# Needs root: slurmd runs jobs as their users (CI runs as root).
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

ROOT=${SWEEPLAB_SLURM_DIR:-/tmp/sweeplab-slurm}
CTLD_PORT=${SWEEPLAB_SLURM_PORT:-6917} # slurmctld; slurmd and slurmdbd on the next two (SLURM's own: 6817-6819)
PARTITION=debug
CLUSTER=sweeplab
CONF=$ROOT/etc/slurm.conf
MUNGE_SOCKET=$ROOT/munge/munge.socket
DB_SOCKET=$ROOT/db/mysqld.sock
SYSTEM_CONF=/etc/slurm/slurm.conf
PACKAGES=(slurm-wlm munge slurmdbd mariadb-server-core)
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd) # in starting order

say() { echo "local_slurm: $*"; }
die() {
    echo "local_slurm: $*" >&2
    exit 1
}

# everything is written, and on start wiped, below $ROOT: it must be a dir of its own
[[ $ROOT == /?* && $ROOT != *..* && ! -f $ROOT ]] || die "SWEEPLAB_SLURM_DIR must be an absolute path of a dir (got: $ROOT)"

wait_for() { # $1: seconds, then a command that must succeed
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.3
    done
}

# --- our daemons: the pid in its pid file under $ROOT, if that process runs with our files --------
our_pid() { # $1: daemon; prints its pid when it runs
    local pidfile=$ROOT/run/$1.pid pid
    [[ -s $pidfile ]] || return 0
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 0
    # a pid reused by another program must never be signalled: ours name $ROOT in their command
    # line (slurmdbd, which takes no arguments, in its SLURM_CONF)
    if tr '\0' '\n' </proc/"$pid"/cmdline | grep -q -- "$ROOT" ||
        tr '\0' '\n' </proc/"$pid"/environ 2>/dev/null | grep -qx -- "SLURM_CONF=$CONF"; then
        echo "$pid"
    fi
}

controller_answers() { SLURM_CONF=$CONF timeout 10 scontrol ping 2>/dev/null | grep -q "is UP"; }
node_up() { SLURM_CONF=$CONF sinfo -h -N -o %t 2>/dev/null | grep -qE "^(idle|mix|alloc)"; }

foreign_cluster() { # describes a running SLURM controller that is not ours, if any (reads /proc only)
    local proc pid ours cmdline
    ours=$(our_pid slurmctld)
    for proc in /proc/[0-9]*; do
        [[ $(cat "$proc/comm" 2>/dev/null) == slurmctld ]] || continue
        pid=${proc#/proc/}
        cmdline=$(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null || true)
        # gone, a zombie, ours (also while it daemonizes), or its helper slurmscriptd (a child that renames itself)
        [[ -z $cmdline || $cmdline == *"$ROOT"* ]] && continue
        [[ -n $ours && $(awk '{print $4}' "$proc/stat" 2>/dev/null) == "$ours" ]] && continue
        echo "slurmctld pid $pid$([[ -f $SYSTEM_CONF ]] && echo ", $SYSTEM_CONF")"
        return 0
    done
    if [[ -f $SYSTEM_CONF ]] && command -v scontrol >/dev/null &&
        SLURM_CONF=$SYSTEM_CONF timeout 10 scontrol ping 2>/dev/null | grep -q "is UP"; then
        echo "the controller of $SYSTEM_CONF"
    fi
}

install_packages() {
    local missing=() tool
    for tool in slurmctld:slurm-wlm munged:munge slurmdbd:slurmdbd mariadbd:mariadb-server-core; do
        command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || die "SLURM is missing and there is no apt-get here: install ${missing[*]} yourself"
    say "installing ${PACKAGES[*]} (apt-get; log: $ROOT/log/apt.log)"
    mkdir -p "$ROOT/log"
    export DEBIAN_FRONTEND=noninteractive
    # Without systemd (containers) or /etc/slurm/slurm.conf the packaged services do not start;
    # nothing of theirs is used here
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"; } >"$ROOT/log/apt.log" 2>&1 ||
        die "apt-get could not install ${PACKAGES[*]}: see $ROOT/log/apt.log"
}

write_config() {
    local node cpus sockets cores threads memory
    node=$(hostname -s)
    # the node as slurmd sees it: its real CPUs and memory (slurmd refuses a node larger than it is)
    read -r cpus sockets cores threads memory < <(slurmd -C | awk '
        NR == 1 {for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}}
        END {print v["CPUs"], v["SocketsPerBoard"] * v["Boards"], v["CoresPerSocket"], v["ThreadsPerCore"], v["RealMemory"]}')
    [[ -n $cpus && -n $memory ]] || die "slurmd -C did not describe this node"
    cat >"$CONF" <<EOF
# Generated by .ci/local_slurm.sh: a single-node cluster for sweeplab's tests; every path is under $ROOT.
ClusterName=$CLUSTER
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$((CTLD_PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job may start again after this many seconds (SLURM's default: 120)
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=5
StateSaveLocation=$ROOT/state
SlurmdSpoolDir=$ROOT/spool
SlurmctldPidFile=$ROOT/run/slurmctld.pid
SlurmdPidFile=$ROOT/run/slurmd.pid
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
# No cgroups: processes are tracked through /proc, tasks are not confined, no usage is gathered
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
# Accounting (sacct) through slurmdbd; AccountingStoragePass is the munge socket it authenticates with
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$((CTLD_PORT + 2))
AccountingStoragePass=$MUNGE_SOCKET
# Cores and memory are consumed per job, so several jobs share the node
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
SchedulerType=sched/backfill
# look for startable jobs every 2 s (the defaults, 60 s and 30 s, suit thousands of jobs, not a test)
SchedulerParameters=sched_interval=2,bf_interval=2
ReturnToService=2
# A cancelled or requeued job gets SIGTERM, then SIGKILL this many seconds later
KillWait=5
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus Sockets=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$memory State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    # slurmdbd reads slurmdbd.conf beside $SLURM_CONF, and only when it is private (it may hold a password)
    install -m 600 /dev/null "$ROOT/etc/slurmdbd.conf"
    cat >"$ROOT/etc/slurmdbd.conf" <<EOF
# Generated by .ci/local_slurm.sh
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$((CTLD_PORT + 2))
SlurmUser=root
LogFile=$ROOT/log/slurmdbd.log
PidFile=$ROOT/run/slurmdbd.pid
# The private MariaDB, reached on its socket only (MYSQL_UNIX_PORT when slurmdbd starts)
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
EOF
    cat >"$ROOT/env.sh" <<EOF
# source this file: SLURM's commands then talk to the local cluster of .ci/local_slurm.sh
export SLURM_CONF=$CONF
EOF
}

start_munged() {
    if [[ ! -s $ROOT/munge/munge.key ]]; then
        dd if=/dev/urandom of="$ROOT/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$ROOT/munge/munge.key"
    fi
    # --force: munged distrusts anything below a world-writable dir such as /tmp; its own dir is root's alone
    munged --force --key-file="$ROOT/munge/munge.key" --socket="$MUNGE_SOCKET" --pid-file="$ROOT/run/munged.pid" \
        --log-file="$ROOT/log/munged.log" --seed-file="$ROOT/munge/munged.seed"
}

start_mariadbd() {
    local innodb=(--innodb-buffer-pool-size=128M --innodb-log-file-size=64M --innodb-lock-wait-timeout=900)
    if [[ ! -d $ROOT/db/data/mysql ]]; then # a new database: its system tables and a passwordless root
        mkdir -p "$ROOT/db/data"
        { printf 'create database if not exists mysql;\nuse mysql;\n'
          cat /usr/share/mysql/mysql_system_tables.sql /usr/share/mysql/mysql_system_tables_data.sql; } |
            mariadbd --no-defaults --bootstrap --datadir="$ROOT/db/data" --user=root --skip-networking \
                "${innodb[@]}" --log-error="$ROOT/log/mariadbd.log" 2>>"$ROOT/log/mariadbd.log"
    fi
    # no network: only root reaches its socket (the dir is 700)
    setsid mariadbd --no-defaults --datadir="$ROOT/db/data" --user=root --skip-networking --socket="$DB_SOCKET" \
        --pid-file="$ROOT/run/mariadbd.pid" --log-error="$ROOT/log/mariadbd.log" "${innodb[@]}" \
        </dev/null >/dev/null 2>&1 &
    wait_for 30 test -S "$DB_SOCKET" || die "MariaDB did not start within 30 s; see $ROOT/log/mariadbd.log"
}

start_slurmdbd() {
    SLURM_CONF=$CONF MYSQL_UNIX_PORT=$DB_SOCKET slurmdbd
    # the cluster must be known to the database before slurmctld registers with it
    wait_for 30 bash -c "SLURM_CONF=$CONF sacctmgr -i add cluster $CLUSTER >/dev/null 2>&1 ||
        SLURM_CONF=$CONF sacctmgr -n list cluster format=cluster 2>/dev/null | grep -qw $CLUSTER" ||
        die "slurmdbd did not answer within 30 s; see $ROOT/log/slurmdbd.log"
}

start_slurmctld() {
    SLURM_CONF=$CONF slurmctld -f "$CONF"
    wait_for 30 controller_answers || die "slurmctld did not answer within 30 s; see $ROOT/log/slurmctld.log"
}

start_slurmd() {
    SLURM_CONF=$CONF slurmd -f "$CONF"
    wait_for 30 node_up || die "the node did not come up within 30 s; see $ROOT/log/slurmd.log"
}

start() {
    local foreign name running=()
    foreign=$(foreign_cluster)
    if [[ -n $foreign ]]; then
        say "a SLURM cluster runs on this machine already ($foreign): starting none, touching nothing of it;"
        say "the SLURM tests use it as it is (its default partition)"
        return 0
    fi
    for name in "${DAEMONS[@]}"; do [[ -z $(our_pid "$name") ]] || running+=("$name"); done
    if ((${#running[@]} == ${#DAEMONS[@]})) && controller_answers; then
        say "already running; source $ROOT/env.sh"
        return 0
    fi
    ((EUID == 0)) || die "run it as root: slurmd must be root to run jobs as their users"
    if ((${#running[@]})); then
        say "only ${running[*]} running: restarting the whole cluster"
        stop >/dev/null
    fi
    # only a dir of our own is ever wiped: new, empty, or marked by an earlier start
    if [[ -d $ROOT && -n $(ls -A "$ROOT") && ! -f $ROOT/.local_slurm ]]; then
        die "$ROOT holds files that are not this script's: set SWEEPLAB_SLURM_DIR to a new dir"
    fi
    mkdir -p "$ROOT" && touch "$ROOT/.local_slurm"
    install_packages
    # a fresh cluster each time: no jobs, job ids or accounting records of an earlier one
    rm -rf "${ROOT:?}/state" "${ROOT:?}/spool" "${ROOT:?}/db" "${ROOT:?}/run"
    mkdir -p "$ROOT"/{etc,state,spool,log,run,munge,db}
    chmod 700 "$ROOT/munge" "$ROOT/db"
    write_config
    for name in "${DAEMONS[@]}"; do "start_$name"; done
    say "up: partition $PARTITION, $(SLURM_CONF=$CONF sinfo -h -o '%c CPUs, %m MB' | head -1), files in $ROOT;" \
        "source $ROOT/env.sh to use it"
}

stop_daemon() { # SIGTERM, SIGKILL if it lingers
    local pid
    pid=$(our_pid "$1")
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    wait_for 15 bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
}

stop() {
    local jobs i
    if [[ -n $(our_pid slurmctld) ]] && controller_answers; then
        jobs=$(SLURM_CONF=$CONF squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
        if [[ -n ${jobs// /} ]]; then
            say "cancelling jobs $jobs"
            # shellcheck disable=SC2086
            SLURM_CONF=$CONF scancel $jobs 2>/dev/null || true
            wait_for 20 bash -c "[[ -z \$(SLURM_CONF=$CONF squeue -h -o %A 2>/dev/null) ]]" || true
        fi
    fi
    local stopped=()
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        [[ -z $(our_pid "${DAEMONS[i]}") ]] || stopped+=("${DAEMONS[i]}")
        stop_daemon "${DAEMONS[i]}"
    done
    # without its slurm.conf nothing (the tests included) mistakes the stopped cluster for a live one
    rm -rf "${ROOT:?}/etc" "${ROOT:?}/env.sh"
    if ((${#stopped[@]})); then say "stopped ${stopped[*]} (logs kept in $ROOT/log)"; else say "not running"; fi
}

status() {
    local name pid foreign
    for name in "${DAEMONS[@]}"; do
        pid=$(our_pid "$name")
        if [[ -n $pid ]]; then say "$name: running (pid $pid)"; else say "$name: not running"; fi
    done
    foreign=$(foreign_cluster)
    [[ -z $foreign ]] || say "another cluster runs on this machine ($foreign): not ours, never touched"
    [[ -n $(our_pid slurmctld) ]] && controller_answers || return 3
    SLURM_CONF=$CONF sinfo
    SLURM_CONF=$CONF squeue
}

case ${1:-} in
start | stop | status) "$1" ;;
*) die "usage: bash .ci/local_slurm.sh start|stop|status" ;;
esac
