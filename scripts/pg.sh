#!/usr/bin/env bash
# Start a private, throw-away PostgreSQL server for the tests (as root), and export
# MAPEKIT_TEST_PG_URL. Source it: `. scripts/pg.sh`; it stops the server on exit.
# Installs Debian's postgresql package when no server binaries are present.
# It listens on loopback only, in a temporary directory; nothing else is touched.

mapekit_pg_start() {
    if [ -n "${MAPEKIT_TEST_PG_URL:-}" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "pg: not root; the PostgreSQL tests will be skipped" >&2
        return 0
    fi
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "pg: installing postgresql" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
    MAPEKIT_PG_DIR=$(mktemp -d -t mapekit-pg.XXXXXX)
    chown postgres: "$MAPEKIT_PG_DIR"
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    runuser -u postgres -- "$bin/initdb" -D "$MAPEKIT_PG_DIR/data" -A trust -U postgres \
        --no-sync >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" -D "$MAPEKIT_PG_DIR/data" -l "$MAPEKIT_PG_DIR/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $MAPEKIT_PG_DIR -c fsync=off -c max_connections=200" \
        start >/dev/null
    export MAPEKIT_PG_BIN="$bin"
    export MAPEKIT_PG_DIR
    export MAPEKIT_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
    trap mapekit_pg_stop EXIT
    echo "pg: PostgreSQL on 127.0.0.1:$port" >&2
}

mapekit_pg_stop() {
    if [ -n "${MAPEKIT_PG_DIR:-}" ] && [ -d "$MAPEKIT_PG_DIR/data" ]; then
        runuser -u postgres -- "$MAPEKIT_PG_BIN/pg_ctl" -D "$MAPEKIT_PG_DIR/data" -m immediate \
            stop >/dev/null 2>&1 || true
        rm -rf "$MAPEKIT_PG_DIR"
    fi
}

mapekit_pg_start
