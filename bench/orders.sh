# Online ordering (mod_consult_orders) in make bench. bench/run.sh sources
# this file after bench/pos.sh, calls orders_bench_setup after
# pos_bench_setup (the restaurant's client, its mock POS and vhost, and a
# Stripe stand-in), orders_bench_run after pos_bench_run, and
# orders_bench_finish on exit; it leaves its wrk and pgbench output in
# $tmp for bench/report.py. Knobs: BENCH_ORDERS_CARTS (5000 guests ready).
#
# The run: checkouts through Apache (each a new guest's cart: the cart
# priced from the menu, the pickup capacity taken, the order written and
# its PaymentIntent created at the stand-in), next to pgbench running the
# same statements (bench/checkout.sql) at the same concurrency: the ratio
# is what Apache, the module and Stripe's round trip cost over the SQL.

ord_slug=bench-orders
ord_host=bench-orders.localhost
ord_dir=
ord_stripe_pid=

orders_bench_setup() {
    ord_dir=$tmp/orders
    mkdir -p "$ord_dir"; chmod 755 "$ord_dir"
    "$build/consult-admin" --db "$conninfo" client-add "$ord_slug" "Bench Orders" >/dev/null
    cat > "$ord_dir/menu.json" <<'JSON'
{"currency": "USD",
 "modifier_groups": [{"id": "size", "name": "Size", "min": 1, "max": 1,
   "modifiers": [{"id": "size-12", "name": "12-inch", "price_cents": 0},
                 {"id": "size-16", "name": "16-inch", "price_cents": 500}]}],
 "categories": [
  {"id": "pizza", "name": "Pizza",
   "items": [{"id": "margherita", "name": "Margherita", "price_cents": 1400, "modifier_groups": ["size"]}]},
  {"id": "drinks", "name": "Drinks",
   "items": [{"id": "lemonade", "name": "House Lemonade", "price_cents": 450}]}]}
JSON
    echo '{"sold_out": {}}' > "$ord_dir/state.json"
    chmod 666 "$ord_dir/state.json"
    python3 "$root/tests/fakes/fake_stripe.py" --port 0 --portfile "$ord_dir/stripe.port" &
    ord_stripe_pid=$!
    for _ in $(seq 1 50); do [[ -s "$ord_dir/stripe.port" ]] && break; sleep 0.1; done
    [[ -s "$ord_dir/stripe.port" ]] || cs_die "bench: the Stripe stand-in did not start"
    cat > "$ord_dir/vhost.conf" <<CONF
<VirtualHost \${CONSULT_LISTEN}>
    ServerName $ord_host
    DocumentRoot "\${CONSULT_HTDOCS}/pizzeria"
    ConsultClient $ord_slug
    ConsultPOS mock
    ConsultPOSMenuFile "$ord_dir/menu.json"
    ConsultPOSStateFile "$ord_dir/state.json"
    ConsultPOSWebhookSecret bench-orders-pos-secret
    ConsultPOSSnapshotDir "$pos_dir/snapshots"
    ConsultPOSTaxRate 8.25
    ConsultOrders On
    ConsultOrderTemplates modules/orders/templates
    ConsultStripeAPIBase http://127.0.0.1:$(cat "$ord_dir/stripe.port")
    ConsultStripeSecretKey sk_test_bench_orders
    ConsultStripePublishableKey pk_test_bench_orders
    ConsultStripeWebhookSecret whsec_bench_orders
    # Capacity is not what this measures: every guest gets a pickup time.
    ConsultKitchenCapacity 100000
</VirtualHost>
CONF
    cp "$ord_dir/vhost.conf" "$tmp/var/conf.d/bench-orders.conf"
}

orders_bench_finish() {
    [[ -n "$ord_stripe_pid" ]] && { kill "$ord_stripe_pid" 2>/dev/null; wait "$ord_stripe_pid" 2>/dev/null; }
    ord_stripe_pid=
}

orders_bench_run() {
    local url="http://127.0.0.1:$port" cid carts before after
    echo "bench: ordering: syncing the restaurant's menu (job worker on)"
    # Every job queued so far (the POS webhook run's thousands included):
    # nothing here processes them, and the worker must reach the sync.
    pos_q "UPDATE jobs SET state = 'done', done_at = now(), updated_at = now()
           WHERE state = 'queued'" >/dev/null
    pos_worker_start "$ord_dir/vhost.conf"
    curl -s -o /dev/null -H "Host: $ord_host" "http://127.0.0.1:$pos_wport/order"
    for _ in $(seq 1 600); do
        [[ $(pos_q "SELECT count(*) FROM menu_items m JOIN clients c ON c.id = m.client_id
                    WHERE c.slug = '$ord_slug'") == 2 ]] && break
        sleep 0.1
    done
    cid=$(pos_q "SELECT id FROM clients WHERE slug = '$ord_slug'")
    if [[ $(pos_q "SELECT count(*) FROM menu_items WHERE client_id = $cid") != 2 ]]; then
        tail -n 20 "$pos_dir/worker/log/error.log" >&2
        pos_q "SELECT kind, state, last_error FROM jobs WHERE kind LIKE 'pos.%' ORDER BY id DESC LIMIT 5" >&2
        cs_die "bench: the ordering restaurant's menu did not sync"
    fi
    pos_worker_stop
    python3 "$root/bench/orders_carts.py" "$conninfo" "$CONSULT_VAR/secret" "$cid" "$ord_host" \
        "${BENCH_ORDERS_CARTS:-5000}" "$ord_dir/checkout.lua"
    carts=$(pos_q "SELECT min(id) FROM carts WHERE client_id = $cid")
    echo "bench: ordering: checkouts (cart -> order -> PaymentIntent at the stand-in), $conns connections, ${secs}s"
    before=$(pos_q "SELECT count(*) FROM orders WHERE client_id = $cid AND payment_intent IS NOT NULL")
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$ord_dir/checkout.lua" \
        "$url/order/checkout" > "$tmp/orders-checkout.txt"
    after=$(pos_q "SELECT count(*) FROM orders WHERE client_id = $cid AND payment_intent IS NOT NULL")
    echo "$((after - before))" > "$tmp/orders-rows.txt"
    echo "bench: ordering: the same statements via pgbench, $conns clients, ${secs}s"
    (cd "$tmp" && pgbench -n -M extended -c "$conns" -j 2 -T "$secs" -D cid="$cid" -D carts="$carts" \
        -f "$root/bench/checkout.sql" --log --log-prefix=pgord "$conninfo" \
        > "$tmp/pgbench-orders.txt" 2>&1) || { cat "$tmp/pgbench-orders.txt" >&2; cs_die "bench: pgbench (checkout) failed"; }
}
