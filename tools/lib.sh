# Shell helpers shared by tools/*.sh and tests/integration/harness.sh.
# Source it; it defines functions only.

cs_die() { echo "consult: $*" >&2; exit 1; }

cs_pgbin() {
    local d
    d=$(pg_config --bindir 2>/dev/null || true)
    if [[ -z "$d" || ! -x "$d/initdb" ]]; then
        d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
    [[ -x "$d/initdb" ]] || cs_die "PostgreSQL server binaries not found (apt-get install postgresql)"
    echo "$d"
}

# Postgres refuses to run as root, so as root it runs as `postgres`.
cs_pg_user() { if [[ $(id -u) -eq 0 ]]; then echo postgres; else id -un; fi; }

cs_as_pg() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# cs_var ROOT: where make run keeps its database, logs and secret:
# $CONSULT_VAR if set, else ROOT/var, unless (as root) the postgres account
# cannot enter ROOT (a checkout under /root, mode 700): then a folder of
# this checkout's own under /var/tmp, the same every time.
cs_var() {
    local root=$1
    if [[ -n "${CONSULT_VAR:-}" ]]; then
        echo "$CONSULT_VAR"
    elif [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$root"; then
        echo "/var/tmp/consult-$(printf '%s' "$root" | sha256sum | cut -c1-12)"
    else
        echo "$root/var"
    fi
}

cs_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cs_pg_start DIR PORT: initdb on first use, start, create database consult.
# CS_PG_OPTS: more server options (-c name=value ...), as make bench sets.
cs_pg_start() {
    local dir=$1 port=$2 bin user
    bin=$(cs_pgbin)
    user=$(cs_pg_user)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown "$user": "$dir"
        runuser -u "$user" -- test -w "$dir" ||
            cs_die "the $user account cannot reach $dir (a parent folder is not open to others); set CONSULT_VAR to a folder it can reach, e.g. /var/tmp/consult"
    fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        echo "consult: creating a private PostgreSQL cluster in $dir/data"
        cs_as_pg "$bin/initdb" -D "$dir/data" -U consult --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; cs_die "initdb failed"; }
    fi
    mkdir -p "$dir/run"
    [[ $(id -u) -eq 0 ]] && chown "$user": "$dir/run"
    if cs_as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        return 0
    fi
    # Loopback TCP only, socket in our own folder: never clashes with a
    # system PostgreSQL.
    cs_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -k $dir/run -c listen_addresses=127.0.0.1 -c max_connections=200 ${CS_PG_OPTS:-}" \
        start >/dev/null || { tail -n 20 "$dir/postgres.log" >&2; cs_die "PostgreSQL did not start"; }
    if ! cs_as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U consult -d postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = 'consult'" | grep -q 1; then
        cs_as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U consult consult
    fi
}

cs_pg_stop() {
    local dir=$1 bin
    bin=$(cs_pgbin)
    [[ -f "$dir/data/PG_VERSION" ]] || return 0
    cs_as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

cs_conninfo() { echo "host=127.0.0.1 port=$1 user=consult dbname=consult"; }

# cs_httpd_env ROOT VAR BUILD LISTEN CONNINFO: export what conf/httpd.conf reads.
cs_httpd_env() {
    export CONSULT_ROOT=$1 CONSULT_VAR=$2 CONSULT_BUILD=$3 CONSULT_LISTEN=$4
    export CONSULT_DATABASE=$5
    export CONSULT_PORT=${CONSULT_LISTEN##*:}
    export CONSULT_HTDOCS=${CONSULT_HTDOCS:-$1/htdocs}
    CONSULT_HTTPD_MODULES=$(apxs -q LIBEXECDIR)
    export CONSULT_HTTPD_MODULES
    if [[ $(id -u) -eq 0 ]]; then
        export CONSULT_USER=www-data CONSULT_GROUP=www-data
    else
        CONSULT_USER=$(id -un); CONSULT_GROUP=$(id -gn)
        export CONSULT_USER CONSULT_GROUP
    fi
    export CONSULT_JOB_POLL=${CONSULT_JOB_POLL:-1s} CONSULT_JOB_LEASE=${CONSULT_JOB_LEASE:-5m}
    export CONSULT_JOB_BACKOFF=${CONSULT_JOB_BACKOFF:-5s}
    export CONSULT_INTAKE_IP_LIMIT=${CONSULT_INTAKE_IP_LIMIT:-20}
    mkdir -p "$CONSULT_VAR/log" "$CONSULT_VAR/run" "$CONSULT_VAR/conf.d"
    mkdir -p "$CONSULT_VAR/pos/snapshots" && { [[ $(id -u) -ne 0 ]] || chown "$CONSULT_USER" "$CONSULT_VAR/pos" "$CONSULT_VAR/pos/snapshots"; }
    if [[ ! -s "$CONSULT_VAR/secret" ]]; then
        (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$CONSULT_VAR/secret")
    fi
    if [[ ! -s "$CONSULT_VAR/seal.key" ]]; then
        (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$CONSULT_VAR/seal.key")
    fi
}

# cs_standin_start ROOT VAR: make run's stand-in for Twilio and Resend
# (tests/fakes/fake_provider.py --standin) on a free loopback port, written
# to VAR/standin.port, its requests logged to VAR/log/standin.jsonl; exports
# CONSULT_STANDIN_URL, which conf/demo/ points the demo client at. It
# accepts every SMS and email and reports SMS delivered to their
# StatusCallback, signed as Twilio signs. A stand-in left by a run that was
# killed is stopped first.
cs_standin_start() {
    local root=$1 var=$2 old
    mkdir -p "$var/log" "$var/run"
    if [[ -s "$var/run/standin.pid" ]]; then
        old=$(cat "$var/run/standin.pid")
        if tr '\0' ' ' < "/proc/$old/cmdline" 2>/dev/null | grep -q "fake_provider.py --standin"; then
            kill "$old" 2>/dev/null || true
        fi
    fi
    rm -f "$var/standin.port" "$var/run/standin.pid"
    python3 "$root/tests/fakes/fake_provider.py" --standin --port 0 \
        --portfile "$var/standin.port" --log "$var/log/standin.jsonl" &
    cs_standin_pid=$!
    echo "$cs_standin_pid" > "$var/run/standin.pid"
    for _ in $(seq 1 50); do [[ -s "$var/standin.port" ]] && break; sleep 0.1; done
    [[ -s "$var/standin.port" ]] || cs_die "the provider stand-in did not start"
    export CONSULT_STANDIN_URL=http://127.0.0.1:$(cat "$var/standin.port")
}

# cs_fake_start VAR NAME SCRIPT ARGS...: a stand-in of tests/fakes/ on a
# free loopback port for make run, its pid in VAR/run/NAME.pid (one left by
# a killed run is stopped first), its log in VAR/log/NAME.jsonl; prints
# its URL.
cs_fake_start() {
    local var=$1 name=$2 script=$3 old
    shift 3
    mkdir -p "$var/log" "$var/run"
    if [[ -s "$var/run/$name.pid" ]]; then
        old=$(cat "$var/run/$name.pid")
        if tr '\0' ' ' < "/proc/$old/cmdline" 2>/dev/null | grep -q "$script"; then
            kill "$old" 2>/dev/null || true
        fi
    fi
    rm -f "$var/$name.port"
    python3 "$script" --port 0 --portfile "$var/$name.port" --log "$var/log/$name.jsonl" "$@" \
        >>"$var/log/$name.out" 2>&1 &
    echo "$!" > "$var/run/$name.pid"
    for _ in $(seq 1 50); do [[ -s "$var/$name.port" ]] && break; sleep 0.1; done
    [[ -s "$var/$name.port" ]] || cs_die "the $name stand-in did not start"
    echo "http://127.0.0.1:$(cat "$var/$name.port")"
}

cs_fake_stop() {
    local var=$1 name=$2
    if [[ -s "$var/run/$name.pid" ]]; then
        kill "$(cat "$var/run/$name.pid")" 2>/dev/null || true
        rm -f "$var/run/$name.pid" "$var/$name.port"
    fi
}

cs_standin_stop() {
    local var=$1
    if [[ -n "${cs_standin_pid:-}" ]]; then
        kill "$cs_standin_pid" 2>/dev/null || true
        wait "$cs_standin_pid" 2>/dev/null || true
        cs_standin_pid=
    fi
    rm -f "$var/run/standin.pid" "$var/standin.port"
    return 0
}

# Apache children (not root) must read the sites. A checkout under a
# private home folder is not readable by them: give them a copy.
cs_htdocs_for_children() {
    local root=$1 dest=$2
    if [[ $(id -u) -eq 0 ]] && ! runuser -u "$CONSULT_USER" -- test -r "$root/htdocs/coffee-shop/index.html"; then
        rm -rf "$dest"; cp -r "$root/htdocs" "$dest"; chmod -R a+rX "$dest"
        # The mock POS menus are read by the children too, next to htdocs
        # as in a checkout (the vhosts name ${CONSULT_HTDOCS}/../sql/seed/pos).
        mkdir -p "$dest/../sql/seed"; rm -rf "$dest/../sql/seed/pos"
        cp -r "$root/sql/seed/pos" "$dest/../sql/seed/pos"; chmod -R a+rX "$dest/../sql"
        export CONSULT_HTDOCS=$dest
    fi
}

# Under SAN=1 the modules carry ASan: httpd itself is not built with it, so
# the runtime must be preloaded (ASan insists on coming first).
cs_httpd() {
    if [[ "${SAN:-0}" == 1 ]]; then
        LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
            apache2 "$@"
    else
        apache2 "$@"
    fi
}
