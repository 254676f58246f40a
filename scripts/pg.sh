#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests and benchmarks of the PostgreSQL store (issue 20): a
# cluster of its own, reachable only over TCP on 127.0.0.1 at a free port, gone again with
# `stop`. Nothing of the machine's own PostgreSQL (a Debian cluster on 5432, if any) is used or
# changed.
#
#   scripts/pg.sh start DIR   initialises a cluster in DIR, starts it, creates the database
#                             `autoinformer` and prints one line on stdout, its URL:
#                               postgres://autoinformer@127.0.0.1:PORT/autoinformer
#                             (everything else goes to stderr; the server's log is
#                             server.log beside the cluster)
#   scripts/pg.sh stop DIR    stops it (fast: open sessions are cut) and removes DIR
#   scripts/pg.sh halt DIR    stops the server but keeps the cluster (a database outage)
#   scripts/pg.sh resume DIR  starts a halted cluster again on the same port
#
#   url=$(scripts/pg.sh start "$tmp/pg"); trap 'scripts/pg.sh stop "$tmp/pg"' EXIT
#
# The binaries are those on PATH (initdb, pg_ctl), else the newest /usr/lib/postgresql/*/bin
# (Debian installs them there, off PATH). PostgreSQL refuses to run as root: run as root, the
# server runs as the `postgres` user the Debian package creates (PG_SH_USER names another; a
# system user `autoinformer-pg` is made when neither exists). Run as anyone else, it runs as
# them.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }
usage() { die "usage: scripts/pg.sh start|stop|halt|resume DIR"; }

[ $# = 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage
# Absolute, so that the server (which runs in its own directory) and a `stop` from another
# working directory mean the same place.
case $dir in /*) ;; *) dir="$PWD/$dir" ;; esac
dir=${dir%/}
case $dir in *"'"* | *$'\n'*) die "$dir: a path with a quote or a newline is not supported" ;; esac
# A marker that says "pg.sh made this": `stop` removes only such a directory, so a mistyped
# `stop /home` cannot delete anything.
marker="$dir/.pg.sh-cluster"
# The database's superuser (not an OS user): the URL is the same whoever runs this.
db_user=autoinformer
db_name=autoinformer

# The directory of initdb/pg_ctl/postgres/psql: PATH first (following a symlink such as
# /usr/local/bin/pg_ctl to the directory of its siblings), else the newest version Debian
# installed.
find_bin() {
  local p
  if p=$(command -v pg_ctl 2>/dev/null) && command -v initdb >/dev/null 2>&1; then
    p=$(dirname "$(readlink -f "$p")")
    if [ -x "$p/postgres" ] && [ -x "$p/initdb" ]; then
      echo "$p"
      return
    fi
  fi
  p=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$p" ] && [ -x "$p/pg_ctl" ] && [ -x "$p/initdb" ] && [ -x "$p/postgres" ]; then
    echo "$p"
    return
  fi
  die "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin); install it: apt-get install -y postgresql"
}

# Runs a command as the server's user: as is when we are not root, else through runuser
# (util-linux, always on Debian), setpriv or su, whichever is there.
as_pg() {
  if [ "$(id -u)" != 0 ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u "$pg_user" -- "$@"
  elif command -v setpriv >/dev/null 2>&1; then
    setpriv --reuid="$pg_user" --regid="$(id -g "$pg_user")" --init-groups -- "$@"
  else
    su -s /bin/sh "$pg_user" -c "$(printf '%q ' "$@")"
  fi
}

# The OS user the server runs as (see the header).
pick_user() {
  if [ "$(id -u)" != 0 ]; then
    id -un
  elif [ -n "${PG_SH_USER:-}" ]; then
    id -u "$PG_SH_USER" >/dev/null 2>&1 || die "PG_SH_USER=$PG_SH_USER: no such user"
    echo "$PG_SH_USER"
  elif id -u postgres >/dev/null 2>&1; then
    echo postgres
  else
    if ! id -u autoinformer-pg >/dev/null 2>&1; then
      echo "pg.sh: running as root and there is no postgres user: creating the system user autoinformer-pg" >&2
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        autoinformer-pg >&2 ||
        die "could not create the system user autoinformer-pg (PG_SH_USER may name another one)"
    fi
    echo autoinformer-pg
  fi
}

# Whether something listens on TCP port $1 (IPv4 or IPv6, any address): /proc/net/tcp* hold
# the local port in hex and the state 0A for LISTEN. Nothing beyond the kernel is needed.
port_busy() {
  local hex
  hex=$(printf ':%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$hex" \
    'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
}

# A port nothing listens on, from a range clear of the usual services and of the kernel's
# ephemeral ports (32768-60999 by default, where outgoing connections take theirs).
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    if ! port_busy "$p"; then
      echo "$p"
      return
    fi
  done
  die "no free TCP port found on 127.0.0.1 in 20000-31999"
}

start() {
  local bin port tries ok home psql
  bin=$(find_bin)
  pg_user=$(pick_user)
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    die "$dir exists and is not empty: give a new or empty directory"
  fi
  mkdir -p "$dir"
  touch "$marker"
  # The cluster lives in DIR. The server's user must own it (initdb and the server insist on
  # a 0700 data directory of their own) and reach it. Run as root with DIR inside a private
  # directory (`mktemp -d` makes 0700 ones) that user cannot get into, the cluster goes to a
  # private directory of that user's under /tmp instead, which DIR names and `stop` removes
  # with it: no permission of the caller's directories is changed.
  home=$dir
  if [ "$(id -u)" = 0 ]; then
    chown "$pg_user" "$dir"
    chmod 700 "$dir"
    if ! as_pg test -w "$dir"; then
      home=$(mktemp -d /tmp/autoinformer-pg.XXXXXX)
      chown "$pg_user" "$home"
      chmod 700 "$home"
      echo "pg.sh: $pg_user cannot reach $dir; the cluster lives in $home (stop removes it)" >&2
    fi
  fi
  echo "$home" >"$dir/.home"
  echo "$pg_user" >"$dir/.owner"
  as_pg test -w "$home" || die "$pg_user cannot write $home"

  # UTF8 and the C locale: text sorts by its bytes, as SQLite's BINARY collation does (the
  # store's keyset pages and prefix ranges rely on that order).
  echo "pg.sh: initdb ($bin, as $pg_user) in $home/data" >&2
  (cd "$home" && as_pg "$bin/initdb" --pgdata="$home/data" --username="$db_user" \
    --encoding=UTF8 --locale=C --auth-local=reject --auth-host=reject) >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed (its output is above)"; }

  # Only TCP from 127.0.0.1, trusted (a throwaway cluster of the tests), and no unix socket at
  # all (unix_socket_directories = ''): nothing appears in /var/run/postgresql or /tmp, and no
  # other local user gets in through a socket. pg_ctl needs none: it waits for the "ready"
  # line of postmaster.pid and stops the server by a signal.
  printf '%s\n' \
    "# pg.sh: a throwaway test cluster, reachable over TCP from 127.0.0.1 only." \
    "host    all  all  127.0.0.1/32  trust" |
    as_pg sh -c "cat >'$home/data/pg_hba.conf'"
  # fsync, full_page_writes and synchronous_commit are off: a test cluster that dies with the
  # machine is thrown away anyway, and the suites run several times faster without the
  # flushes. NEVER settings for a database whose data matters.
  printf '%s\n' \
    "" \
    "# --- pg.sh (a throwaway test cluster) ---" \
    "listen_addresses = '127.0.0.1'" \
    "unix_socket_directories = ''" \
    "fsync = off" \
    "full_page_writes = off" \
    "synchronous_commit = off" \
    "# The suites run side by side, each store with a pool of its own." \
    "max_connections = 300" \
    "log_min_messages = warning" \
    "log_line_prefix = '%m [%p] %q%u@%d '" |
    as_pg sh -c "cat >>'$home/data/postgresql.conf'"

  # The port is checked free, but another process may take it before the server binds it:
  # then the start fails with "Address already in use" and another port is tried.
  ok=0
  for tries in 1 2 3 4 5 6 7 8; do
    port=$(free_port)
    if (cd "$home" && as_pg "$bin/pg_ctl" --pgdata="$home/data" --log="$home/server.log" \
      --wait --timeout=60 --silent -o "-p $port" start) >&2; then
      ok=1
      break
    fi
    if grep -q "Address already in use\|could not bind" "$home/server.log" 2>/dev/null; then
      echo "pg.sh: port $port was taken meanwhile; trying another" >&2
      continue
    fi
    tail -n 30 "$home/server.log" >&2 2>/dev/null || true
    die "the server did not start (its log: $home/server.log)"
  done
  [ $ok = 1 ] || die "the server did not start: no port could be bound (its log: $home/server.log)"
  echo "$port" >"$dir/.port"

  # pg_ctl --wait returns once the server is ready; this proves the TCP path too.
  psql="$bin/psql"
  [ -x "$psql" ] || psql=psql
  tries=0
  until "$psql" -X -q -h 127.0.0.1 -p "$port" -U "$db_user" -d postgres -c 'SELECT 1' >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ $tries -lt 100 ] || die "the server does not accept connections on 127.0.0.1:$port (its log: $home/server.log)"
    sleep 0.1
  done
  "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$db_user" -d postgres \
    -c "CREATE DATABASE $db_name" >&2 ||
    die "could not create the database $db_name"
  echo "postgres://$db_user@127.0.0.1:$port/$db_name"
}

stop() {
  local bin home pid i
  if [ ! -e "$dir" ]; then
    echo "pg.sh: $dir does not exist: nothing to stop" >&2
    return 0
  fi
  [ -f "$marker" ] || die "$dir was not made by scripts/pg.sh start (no $marker): not touching it"
  pg_user=$(cat "$dir/.owner" 2>/dev/null || id -un)
  home=$(cat "$dir/.home" 2>/dev/null || echo "$dir")
  # Only a directory start made: DIR itself or its /tmp/autoinformer-pg.* directory.
  case $home in
    "$dir" | /tmp/autoinformer-pg.*) ;;
    *) die "$dir/.home names $home: not touching it" ;;
  esac
  if [ -f "$home/data/postmaster.pid" ]; then
    bin=$(find_bin)
    if ! (cd "$home" && as_pg "$bin/pg_ctl" --pgdata="$home/data" --mode=fast --wait \
      --timeout=60 --silent stop) >&2; then
      # The postmaster of this cluster (the first line of its postmaster.pid): SIGINT is the
      # same fast shutdown, sent directly; nothing else is signalled.
      pid=$(head -n 1 "$home/data/postmaster.pid" 2>/dev/null || true)
      if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        echo "pg.sh: pg_ctl stop failed; sending the postmaster ($pid) a fast shutdown" >&2
        kill -INT "$pid" 2>/dev/null || true
        for i in $(seq 1 300); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
          die "the server (pid $pid) does not stop; $dir is left as it is"
        fi
      fi
    fi
  fi
  if [ "$home" != "$dir" ]; then
    rm -rf "$home"
  fi
  rm -rf "$dir"
}

# The cluster of a directory start made: sets pg_user, home, bin.
made_by_start() {
  [ -f "$marker" ] || die "$dir was not made by scripts/pg.sh start (no $marker): not touching it"
  pg_user=$(cat "$dir/.owner" 2>/dev/null || id -un)
  home=$(cat "$dir/.home" 2>/dev/null || echo "$dir")
  case $home in
    "$dir" | /tmp/autoinformer-pg.*) ;;
    *) die "$dir/.home names $home: not touching it" ;;
  esac
  bin=$(find_bin)
}

# A database outage for the fault tests: the server stops (fast: sessions are cut), its data
# stays; `resume` brings it back on the same port, so clients' URLs still hold.
halt() {
  made_by_start
  (cd "$home" && as_pg "$bin/pg_ctl" --pgdata="$home/data" --mode=fast --wait \
    --timeout=60 --silent stop) >&2 || die "the server did not stop (its log: $home/server.log)"
}

resume() {
  local port
  made_by_start
  port=$(cat "$dir/.port") || die "$dir/.port is missing"
  (cd "$home" && as_pg "$bin/pg_ctl" --pgdata="$home/data" --log="$home/server.log" \
    --wait --timeout=60 --silent -o "-p $port" start) >&2 ||
    die "the server did not start again on port $port (its log: $home/server.log)"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  halt) halt ;;
  resume) resume ;;
  *) usage ;;
esac
