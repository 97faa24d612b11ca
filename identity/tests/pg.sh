#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on loopback (initdb + pg_ctl in a temp dir), runs a command
# with CEX_TEST_PG_URL pointing at it, then stops the server and deletes the directory.
#
#   identity/tests/pg.sh                       # cargo test -p cex-identity, against SQLite and PostgreSQL
#   identity/tests/pg.sh cargo test -p cex-identity --test store
#
# Needs the PostgreSQL server binaries (Debian/Ubuntu: apt-get install -y postgresql). They
# are looked up in $PG_BINDIR, then the newest /usr/lib/postgresql/*/bin, then PATH. As root
# the server runs as the `postgres` user (or `nobody`), since PostgreSQL refuses root.
# Trust authentication, loopback only, fsync off: for tests, never for data.
set -euo pipefail

bindir="${PG_BINDIR:-}"
if [ -z "$bindir" ]; then
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$bindir" ] && command -v initdb >/dev/null; then
  bindir="$(dirname "$(command -v initdb)")"
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "pg.sh: no initdb/pg_ctl found; install the server: apt-get install -y postgresql" >&2
  exit 2
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/cex-pg.XXXXXX")"
run_as=()
if [ "$(id -u)" = 0 ]; then
  user=postgres
  id "$user" >/dev/null 2>&1 || user=nobody
  chown "$user" "$dir"
  run_as=(runuser -u "$user" --)
fi
as_pg() { ${run_as[@]+"${run_as[@]}"} "$@"; }

stop() {
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

as_pg "$bindir/initdb" -D "$dir/data" -U cex --auth=trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }

started=""
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c max_connections=200" \
      start >/dev/null; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  echo "pg.sh: PostgreSQL did not start:" >&2
  cat "$dir/server.log" >&2
  exit 1
fi

export CEX_TEST_PG_URL="postgres://cex@127.0.0.1:$port/postgres"
echo "pg.sh: PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port (CEX_TEST_PG_URL=$CEX_TEST_PG_URL)" >&2
if [ "$#" -eq 0 ]; then
  set -- cargo test -p cex-identity
fi
"$@"
