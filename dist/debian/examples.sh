#!/usr/bin/env bash
# examples.sh SITES_DIR OUT_DIR — an example vhost per business vertical
# (and the dashboard's), made from the demo sites of conf/sites/ so they
# follow the directives the tests run with: *:80 instead of make run's
# address, the package's paths, example.com names, no demo-only blocks,
# and any literal secret replaced by a file: reference.
set -euo pipefail
src=$1 out=$2
rm -rf "$out"
mkdir -p "$out"
declare -A seen=()
for f in "$src"/*.conf; do
    slug=$(awk '$1 == "ConsultClient" { print $2; exit }' "$f")
    vertical=$(awk '$1 == "ConsultVertical" { print $2; exit }' "$f")
    if grep -q '^[[:space:]]*ConsultInbox[[:space:]]\+On' "$f"; then
        name=dashboard slug=admin
    elif [[ -n "$slug" && -n "$vertical" && -z "${seen[$vertical]:-}" ]]; then
        name=$vertical
    else
        continue
    fi
    seen[$name]=1
    {
        if [[ $name == dashboard ]]; then
            echo "# Example: the staff dashboard's vhost (a2enmod consult_inbox). Copy it to"
            echo "# /etc/apache2/sites-available/, set ServerName, add staff with"
            echo "# consult-admin user-add, then a2ensite and reload Apache."
        else
            echo "# Example: a client vhost for the '$name' vertical, made from the demo"
            echo "# site '$slug'. Copy it to /etc/apache2/sites-available/, set the names"
            echo "# and the DocumentRoot, add the client (consult-admin client-add $slug"
            echo "# NAME), then a2ensite and reload Apache. TLS: add a *:443 twin."
        fi
        awk -v slug="$slug" '
            /^[[:space:]]*<IfDefine ConsultDemo>/ { skip = 1; next }
            skip && /^[[:space:]]*<\/IfDefine>/    { skip = 0; next }
            skip || /make run/                     { next }
            /^[[:space:]]*ConsultInboxTemplates/   { next }
            NR == 1 && /^#/                        { next }
            {
                gsub(/\$\{CONSULT_LISTEN\}/, "*:80")
                gsub(/\$\{CONSULT_HTDOCS\}\/admin/, "/usr/share/consult/htdocs/admin")
                gsub(/\$\{CONSULT_HTDOCS\}\/\.\.\/sql\/seed\/pos/, "/var/lib/consult/pos")
                gsub(/\$\{CONSULT_HTDOCS\}/, "/var/www/consult")
                gsub(/\$\{CONSULT_VAR\}/, "/var/lib/consult")
                gsub(/Include conf\/presets\//, "Include /usr/share/consult/presets/")
                if ($1 == "ServerName" || $1 == "ServerAlias") gsub(/\.localhost/, ".example.com")
                if ($1 ~ /^Consult.*(Secret|Token)$/ && $1 !~ /FormToken$/ && $2 !~ /^"?(env|file):/) {
                    match($0, /^[ \t]*/)
                    key = tolower(substr($1, 8))
                    printf "%s%s \"file:/etc/consult/%s.%s\"\n", substr($0, 1, RLENGTH), $1, slug, key
                    next
                }
                print
            }' "$f"
    } >"$out/$name.conf"
done
