#!/usr/bin/env bash
# The Debian package on this machine's own apache2, as an admin uses it:
# apt-get install the .deb (nothing enabled, nothing started), a2enmod
# consult_intake (core comes with it), apache2ctl -t, then Debian's apache2
# binary on a copy of /etc/apache2 listening on a private loopback port
# with a private PostgreSQL, the packaged example vhost and migrations,
# a form post that lands; then apt-get remove: no module enabled or loaded.
# The system's own Apache is never started, and everything the test
# changed (the package, a module it enabled) is put back, pass or fail.
#   usage: tests/deb/test.sh PATH/TO/libapache2-mod-consult_*.deb   (as root)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/lib.sh"
pkg=libapache2-mod-consult

if [[ $(id -u) -ne 0 ]]; then
    echo "deb-test: SKIPPED: installing a package into the system's apache2 needs root (run make test-deb as root)"
    exit 0
fi
[[ $# -eq 1 && -f "$1" ]] || cs_die "usage: tests/deb/test.sh PACKAGE.deb"
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
for tool in apt-get apache2ctl a2enmod /usr/sbin/apache2 curl psql; do
    command -v "$tool" >/dev/null || cs_die "deb-test: $tool not found"
done
# Never replace or remove an installation someone else made.
if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == *"ok installed"* ]]; then
    cs_die "deb-test: $pkg is already installed here; this test installs and removes it itself"
fi
if compgen -G "/etc/apache2/mods-enabled/consult_*" >/dev/null; then
    cs_die "deb-test: /etc/apache2/mods-enabled already has consult_* modules"
fi

. "$root/tests/check.sh"

tmp=$(mktemp -d /tmp/consult-deb.XXXXXX)
chmod 755 "$tmp"
pg_port=$(cs_free_port) port=$(cs_free_port)
shmcb_was_enabled=$([[ -e /etc/apache2/mods-enabled/socache_shmcb.load ]] && echo 1 || echo 0)
secret_kept=""
[[ -e /etc/consult/secret ]] && { secret_kept=$tmp/secret.kept; cp -p /etc/consult/secret "$secret_kept"; }
system_pid_before=$([[ -e /var/run/apache2/apache2.pid ]] && echo present || echo absent)
installed=0

apache_env() {
    export APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data
    export APACHE_RUN_DIR=$tmp/run APACHE_PID_FILE=$tmp/run/apache2.pid
    export APACHE_LOCK_DIR=$tmp/lock APACHE_LOG_DIR=$tmp/log LANG=C
}
private_apache() { (apache_env; /usr/sbin/apache2 -d "$tmp/apache2" -f "$tmp/apache2/apache2.conf" "$@"); }

finish() {
    local rc=$?
    set +e   # clean up everything, whatever fails
    if [[ -s "$tmp/run/apache2.pid" ]]; then
        private_apache -k stop 2>/dev/null || true
        for _ in $(seq 1 50); do [[ -e "$tmp/run/apache2.pid" ]] || break; sleep 0.1; done
    fi
    cs_pg_stop "$tmp/pg"
    if [[ $installed == 1 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "$pkg" >/dev/null 2>&1 || true
    fi
    if [[ $shmcb_was_enabled == 0 && -e /etc/apache2/mods-enabled/socache_shmcb.load ]]; then
        a2dismod -q -f socache_shmcb >/dev/null || true
    fi
    if [[ -n "$secret_kept" ]]; then
        mkdir -p /etc/consult && cp -p "$secret_kept" /etc/consult/secret
    fi
    if [[ $rc -ne 0 && -d "$tmp/log" ]]; then
        mkdir -p "$root/tests/out" && rm -rf "$root/tests/out/deb-logs"
        cp -r "$tmp/log" "$root/tests/out/deb-logs" 2>/dev/null || true
        echo "deb-test: logs kept in tests/out/deb-logs" >&2
    fi
    rm -rf "$tmp"
    [[ $rc -eq 0 ]] && echo "deb-test: $pass passed, 0 failed" || echo "deb-test: failed after $pass passed" >&2
    exit $rc
}
trap finish EXIT INT TERM

echo "== package test: $(basename "$deb")"
# ---- install ----------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "apt-get install"; }
installed=1
ok "apt-get install $(basename "$deb")"
for m in core intake inbox twilio email pos integrations orders; do
    [[ -f /usr/lib/apache2/modules/mod_consult_$m.so && -f /etc/apache2/mods-available/consult_$m.load &&
       -f /etc/apache2/mods-available/consult_$m.conf ]] || fail "consult_$m: module, .load or .conf missing"
done
ok "8 modules in /usr/lib/apache2/modules with their .load and .conf"
compgen -G "/etc/apache2/mods-enabled/consult_*" >/dev/null && fail "installing enabled a module"
[[ $system_pid_before == absent && -e /var/run/apache2/apache2.pid ]] && fail "installing started Apache"
ok "installing enabled nothing and started nothing"
[[ $(consult-admin --help) == *"migrate DIR"* ]] || fail "consult-admin --help"
[[ -f /usr/share/man/man1/consult-admin.1.gz ]] || fail "no man page for consult-admin"
ok "consult-admin on PATH: --help and its man page"
[[ -f /usr/share/consult/sql/001_clients_contacts_submissions.sql && -d /usr/share/consult/sql/functions &&
   -f /usr/share/consult/templates/inbox.mustache ]] || fail "migrations or templates missing under /usr/share/consult"
[[ -s /etc/consult/secret ]] || fail "postinst wrote no /etc/consult/secret"
n=$(find "/usr/share/doc/$pkg/examples" -name '*.conf' | wc -l)
((n >= 2)) || fail "only $n example vhosts"
ok "migrations, templates, form-token secret and $n example vhosts in place"

# ---- enable -----------------------------------------------------------------
a2enmod -q consult_intake >/dev/null
[[ -e /etc/apache2/mods-enabled/consult_intake.load && -e /etc/apache2/mods-enabled/consult_core.load ]] ||
    fail "a2enmod consult_intake did not enable consult_core with it"
ok "a2enmod consult_intake enables consult_core too"
apache2ctl -t >"$tmp/t.log" 2>&1 || { cat "$tmp/t.log" >&2; fail "apache2ctl -t"; }
# The list is read whole first: `apache2ctl -M | grep -q` under pipefail
# fails whenever grep's early exit cuts apache2ctl off (SIGPIPE).
[[ $(apache2ctl -M 2>/dev/null) == *consult_intake_module* ]] || fail "apache2ctl -M lists no consult_intake_module"
ok "apache2ctl -t: Syntax OK, consult_core and consult_intake loaded"

# ---- run: Debian's apache2 on a copy of its config, a private port ------------
cs_pg_start "$tmp/pg" "$pg_port"
db=$(cs_conninfo "$pg_port")
consult-admin --db "$db" migrate /usr/share/consult/sql >"$tmp/migrate.log" || { cat "$tmp/migrate.log" >&2; fail "migrate"; }
consult-admin --db "$db" client-add coffee-shop "Ember & Oak Coffee" >/dev/null
ok "the packaged migrations applied to a private PostgreSQL"

cp -a /etc/apache2 "$tmp/apache2"
mkdir -p "$tmp/run" "$tmp/lock" "$tmp/log" "$tmp/www"
rm -f "$tmp/apache2/sites-enabled/"*
echo "Listen 127.0.0.1:$port" >"$tmp/apache2/ports.conf"
printf 'ServerName localhost\nConsultDatabase "%s"\n' "$db" >"$tmp/apache2/conf-enabled/zz-consult-test.conf"
cp -r "$root/htdocs/coffee-shop" "$tmp/www/coffee-shop"
sed -e "s|<VirtualHost \*:80>|<VirtualHost 127.0.0.1:$port>|" \
    -e "s|/var/www/consult|$tmp/www|g" \
    "/usr/share/doc/$pkg/examples/coffee_shop.conf" >"$tmp/apache2/sites-enabled/coffee_shop.conf"
printf '<Directory "%s/www">\n    Require all granted\n</Directory>\n' "$tmp" >>"$tmp/apache2/sites-enabled/coffee_shop.conf"
# Every example vhost passes apache2 -t with all eight modules enabled,
# once the files it names exist (the site, its secret files, the mock
# POS's menu): here under $tmp instead of /var/www, /etc/consult, /var/lib.
mkdir -p "$tmp/ex/sites" "$tmp/ex/etc" "$tmp/ex/pos/snapshots" "$tmp/ex/www"
cp -r "$root/htdocs/." "$tmp/ex/www/"
cp "$root"/sql/seed/pos/*.json "$tmp/ex/pos/"
for m in inbox twilio email pos integrations orders; do ln -s "../mods-available/consult_$m.load" "$tmp/apache2/mods-enabled/"; done
for m in core intake inbox twilio email pos integrations orders; do ln -sf "../mods-available/consult_$m.conf" "$tmp/apache2/mods-enabled/"; done
n=0
mv "$tmp/apache2/sites-enabled/coffee_shop.conf" "$tmp/coffee_shop.conf"
for ex in "/usr/share/doc/$pkg/examples/"*.conf; do
    for f in $(grep -o 'file:/etc/consult/[^"]*' "$ex" | cut -d/ -f4-); do
        head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/ex/etc/$f"
    done
    sed -e "s|/var/www/consult|$tmp/ex/www|g" -e "s|file:/etc/consult/|file:$tmp/ex/etc/|g" \
        -e "s|/var/lib/consult/pos|$tmp/ex/pos|g" -e "s|\*:80|127.0.0.1:$port|" "$ex" >"$tmp/ex/sites/$(basename "$ex")"
    cp "$tmp/ex/sites/$(basename "$ex")" "$tmp/apache2/sites-enabled/zz-example.conf"
    private_apache -t >"$tmp/t.log" 2>&1 || { cat "$tmp/t.log" >&2; fail "apache2 -t with the example $(basename "$ex")"; }
    rm "$tmp/apache2/sites-enabled/zz-example.conf"
    n=$((n + 1))
done
mv "$tmp/coffee_shop.conf" "$tmp/apache2/sites-enabled/coffee_shop.conf"
ok "apache2 -t accepts each of the $n example vhosts with all eight modules enabled"
private_apache -t >"$tmp/t.log" 2>&1 || { cat "$tmp/t.log" >&2; fail "apache2 -t with the example vhost"; }
private_apache -k start
host=coffee-shop.example.com base=http://127.0.0.1:$port
for _ in $(seq 1 50); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" "$base/consult/health") == 200 ]] && break
    sleep 0.2
done
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" "$base/consult/health") == 200 ]] ||
    fail "/consult/health did not answer 200"
ok "apache2 started on 127.0.0.1:$port with the packaged example vhost (coffee_shop)"

page=$(curl -sf -H "Host: $host" "$base/")
token=$(sed -n 's/.*name="_token" value="\([^"]*\)".*/\1/p' <<<"$page" | head -n 1)
[[ -n "$token" && "$token" != __CONSULT_FORM_TOKEN__ ]] || fail "the page has no stamped form token"
sleep 3.2   # ConsultIntakeMinFillTime: a form posted sooner is a bot's
words="Package test $$: two lattes for Friday"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" -H "Origin: http://$host" -H 'Accept: text/html' \
    --data-urlencode "_token=$token" --data-urlencode "name=Pat Doe" \
    --data-urlencode "email=pat@example.com" --data-urlencode "message=$words" "$base/api/intake")
[[ $code == 303 ]] || fail "the form post answered $code, not 303"
n=0
for _ in $(seq 1 50); do
    n=$(psql -X -tA "$db" -c "SELECT count(*) FROM submissions WHERE message = '$words' AND NOT is_spam" 2>/dev/null || echo 0)
    [[ $n == 1 ]] && break
    sleep 0.2
done
[[ $n == 1 ]] || fail "the post is not one submission (found $n)"
ok "a form post answered 303 and landed as one submission"
private_apache -k stop
for _ in $(seq 1 50); do [[ -e "$tmp/run/apache2.pid" ]] || break; sleep 0.1; done
[[ ! -e "$tmp/run/apache2.pid" ]] || fail "the private apache2 did not stop"

# ---- remove -----------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "$pkg" >"$tmp/remove.log" 2>&1 ||
    { cat "$tmp/remove.log" >&2; fail "apt-get remove"; }
compgen -G "/etc/apache2/mods-enabled/consult_*" >/dev/null && fail "apt-get remove left consult modules enabled"
compgen -G "/usr/lib/apache2/modules/mod_consult_*" >/dev/null && fail "apt-get remove left module files"
apache2ctl -t >"$tmp/t.log" 2>&1 || { cat "$tmp/t.log" >&2; fail "apache2ctl -t after remove"; }
[[ $(apache2ctl -M 2>/dev/null) == *consult_* ]] && fail "a consult module is still loaded after remove"
[[ $system_pid_before == absent && -e /var/run/apache2/apache2.pid ]] && fail "removing started Apache"
ok "apt-get remove: no consult module enabled or loaded, apache2ctl -t still OK, nothing started"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "$pkg" >/dev/null 2>&1 || fail "apt-get purge"
installed=0
compgen -G "/etc/apache2/mods-available/consult_*" >/dev/null && fail "purge left /etc/apache2/mods-available/consult_*"
ok "apt-get purge removes the .load and .conf files"
