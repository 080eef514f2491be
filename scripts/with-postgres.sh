#!/usr/bin/env bash
# Runs a command against a throw-away PostgreSQL cluster:
#   scripts/with-postgres.sh swift test --filter AtriumPostgresTests
# The cluster lives in a temporary directory, listens only on a Unix socket there (no TCP), runs
# without fsync, and is stopped and removed when the command ends, fails or is interrupted. The
# command sees ATRIUM_TEST_DATABASE_URL (superuser `atrium`, database `postgres`) and this
# script exits with its status. As root, the server runs as the `postgres` OS user (pg_ctl
# refuses root) and missing server binaries are installed with apt-get; otherwise it runs as
# the current user.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGUMENT…]" >&2
  exit 2
fi

find_bindir() {
  local candidate
  if command -v pg_config >/dev/null 2>&1; then
    candidate=$(pg_config --bindir)
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then echo "$candidate"; return 0; fi
  fi
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

if ! bindir=$(find_bindir); then
  if [ "$(id -u)" = 0 ]; then
    echo "with-postgres: installing the PostgreSQL server (Debian packages postgresql libpq-dev)" >&2
    apt-get install -y -qq postgresql libpq-dev >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq postgresql libpq-dev >/dev/null; }
    bindir=$(find_bindir) || { echo "with-postgres: initdb still missing after installing postgresql" >&2; exit 1; }
  else
    echo "with-postgres: the PostgreSQL server binaries (initdb, pg_ctl) are missing;" \
      "run: sudo apt-get install -y postgresql libpq-dev" >&2
    exit 1
  fi
fi

# The cluster lives in memory when there is room: a test pass creates hundreds of databases
# of about a thousand files each, and removing them from a disk took minutes (seen here);
# from tmpfs it is instant. ATRIUM_PG_TMPDIR overrides the choice.
base=${ATRIUM_PG_TMPDIR:-}
if [ -z "$base" ]; then
  base=${TMPDIR:-/tmp}
  free_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -n "$free_kb" ] && [ "$free_kb" -ge $((8 * 1024 * 1024)) ]; then base=/dev/shm; fi
fi
dir=$(mktemp -d "$base/atrium-pg.XXXXXX")
as_server=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
  as_server=(runuser -u postgres --)
fi
# Only the socket file's name depends on the port, and it lives in our own directory.
port=$(( 20000 + RANDOM % 40000 ))
started=0

cleanup() {
  if [ "$started" = 1 ]; then
    "${as_server[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! "${as_server[@]}" "$bindir/initdb" -D "$dir/data" -U atrium -A trust --no-sync -E UTF8 --locale=C \
    >"$dir/initdb.log" 2>&1; then
  echo "with-postgres: initdb failed:" >&2
  cat "$dir/initdb.log" >&2
  exit 1
fi
started=1
if ! "${as_server[@]}" "$bindir/pg_ctl" -D "$dir/data" -w -l "$dir/server.log" -o \
    "-k $dir -c listen_addresses= -p $port -c fsync=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null; then
  echo "with-postgres: the server did not start:" >&2
  cat "$dir/server.log" >&2
  exit 1
fi

export ATRIUM_TEST_DATABASE_URL="postgresql:///postgres?host=$dir&port=$port&user=atrium"
set +e
"$@"
status=$?
set -e
exit "$status"
