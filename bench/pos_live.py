#!/usr/bin/env python3
"""Webhook -> availability visible. Sends RATE signed mock POS webhooks per
second for SECONDS seconds, each 86ing or restoring one item (its change
first written to the mock POS's state file, as the POS itself would, so the
availability poll agrees with the webhooks), and polls GET
/api/menu/availability every ~20 ms while any change is outstanding. For
each webhook: the time from just before it was sent to the first poll
answer that shows it (that answer's arrival; so it includes one poll round
trip and up to one poll interval). Items are changed in turn, so two
changes of one item are len(items) webhooks apart; events are processed in
order, so when an item's state flips, the oldest pending change of that
item is the one that became visible. Writes a JSON summary.
usage: pos_live.py BASE_URL HOST SECRET STATE_FILE MENU_FILE RATE SECONDS OUT.json"""
import collections, hashlib, hmac, http.client, json, os, sys, threading, time, urllib.parse

base, host, secret, state_file, menu_file = sys.argv[1:6]
rate, seconds, out = float(sys.argv[6]), float(sys.argv[7]), sys.argv[8]
u = urllib.parse.urlsplit(base)
items = [it["id"] for c in json.load(open(menu_file))["categories"] for it in c["items"]]

lock = threading.Lock()
pending = collections.defaultdict(collections.deque)   # item -> (want, t_sent), oldest first
shown = {}              # item -> sold out in the last poll answer
latencies, webhook_ms, bad = [], [], []
sold = set()            # the POS's own state
odd = [0]               # flips that did not match the oldest change (should stay 0)
done = threading.Event()
polls = [0]


def conn():
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def write_state():
    tmp = state_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"sold_out": {i: True for i in sorted(sold)}}, f)
    os.chmod(tmp, 0o644)
    os.replace(tmp, state_file)


def availability(c):
    c.request("GET", "/api/menu/availability", headers={"Host": host})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError("availability answered %d" % r.status)
    return set(json.loads(body)["sold_out"])


def poller():
    c = conn()
    while not done.is_set():
        with lock:
            waiting = any(pending.values())
        if not waiting:
            time.sleep(0.005)
            continue
        t0 = time.monotonic()
        try:
            seen = availability(c)
        except (OSError, http.client.HTTPException, RuntimeError, ValueError):
            c.close(); c = conn(); continue
        t1 = time.monotonic()
        polls[0] += 1
        with lock:
            for item, q in pending.items():
                now = item in seen
                if q and now != shown.get(item, False):
                    want, sent = q.popleft()
                    if want == now:
                        latencies.append((t1 - sent) * 1000.0)
                    else:
                        odd[0] += 1
                shown[item] = now
        time.sleep(max(0.0, 0.020 - (time.monotonic() - t0)))


def sender():
    c = conn()
    n = int(rate * seconds)
    start = time.monotonic()
    for i in range(n):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        item = items[i % len(items)]
        with lock:
            want = item not in sold
            if want:
                sold.add(item)
            else:
                sold.discard(item)
            write_state()
        body = json.dumps({"event_id": "evt_live_%d_%06d" % (os.getpid(), i), "type": "stock.updated",
                           "sold_out": [{"id": item, "sold_out": want}]})
        ts = str(int(time.time()))
        sig = "t=%s,v1=%s" % (ts, hmac.new(secret.encode(), (ts + "." + body).encode(),
                                           hashlib.sha256).hexdigest())
        t_sent = time.monotonic()
        with lock:
            pending[item].append((want, t_sent))
        try:
            c.request("POST", "/webhooks/pos", body=body, headers={
                "Host": host, "Content-Type": "application/json", "X-Mock-POS-Signature": sig})
            r = c.getresponse()
            r.read()
            status = r.status
        except (OSError, http.client.HTTPException):
            c.close(); c = conn(); status = 0
        webhook_ms.append((time.monotonic() - t_sent) * 1000.0)
        if status != 200:
            bad.append(status)
            with lock:
                pending[item].pop()
    return time.monotonic() - start


def pct(v, q):
    v = sorted(v)
    return round(v[min(len(v) - 1, int(q * len(v)))], 1) if v else None


sold |= availability(conn())
shown = {i: i in sold for i in items}
write_state()
pt = threading.Thread(target=poller, daemon=True)
pt.start()
elapsed = sender()
t_end = time.monotonic()
# the stragglers too: they are the tail
deadline = time.monotonic() + float(os.environ.get("BENCH_POS_LIVE_WAIT", "180"))
while time.monotonic() < deadline:
    with lock:
        if not any(pending.values()):
            break
    time.sleep(0.05)
drain = time.monotonic() - t_end
done.set()
pt.join(2)
res = {"webhooks": len(webhook_ms), "rate": round(len(webhook_ms) / elapsed, 1),
       "non200": len(bad), "seen": len(latencies), "missed": sum(map(len, pending.values())),
       "mismatched": odd[0],
       "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99),
       "max_ms": round(max(latencies), 1) if latencies else None,
       "webhook_p50_ms": pct(webhook_ms, 0.5), "webhook_p99_ms": pct(webhook_ms, 0.99),
       "polls": polls[0], "drain_s": round(drain, 1),
       # changes made visible per second, sending and draining together
       "visible_per_s": round(len(latencies) / (elapsed + drain), 1)}
json.dump(res, open(out, "w"))
print("pos_live: %s" % json.dumps(res))
