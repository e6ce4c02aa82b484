#!/usr/bin/env python3
"""make bench's one report: reads what bench/run.sh (and bench/pos.sh,
bench/orders.sh, bench/flood.sh) left in TMP, prints one table, each path
next to its reference from the same run and its goal, and one `JSON {...}`
line with every figure. Exits 0 whether or not the goals are met: the
table says which are. usage: report.py TMP"""
import glob
import json
import os
import re
import sys

tmp = sys.argv[1]


def ms(v, unit):
    v = float(v)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def wrk(name):
    """requests/s, p50, p99 (ms) and non-2xx/3xx answers of a wrk --latency run"""
    t = open(os.path.join(tmp, name)).read()
    lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", t, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
    sent = re.search(r"^\s*(\d+) requests in", t, re.M)
    return {"rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)), 1),
            "p50": round(lat.get("50", 0), 2), "p99": round(lat.get("99", 0), 2),
            "errors": int(bad.group(1)) if bad else 0,
            "requests": int(sent.group(1)) if sent else 0}


def pgbench(name, prefix):
    """tps, p50 and p99 (ms) of a pgbench run from its output and --log files"""
    tps = float(re.search(r"tps = ([\d.]+)", open(os.path.join(tmp, name)).read()).group(1))
    lats = sorted(int(line.split()[2]) / 1000.0
                  for f in glob.glob(os.path.join(tmp, prefix + ".*"))
                  for line in open(f) if len(line.split()) >= 3)
    q = lambda x: round(lats[min(len(lats) - 1, int(x * len(lats)))], 2) if lats else 0.0
    return {"rps": round(tps, 1), "p50": q(0.5), "p99": q(0.99)}


def ratio(a, b):
    return round(a / b, 3) if b else None


res, rows, notes = {}, [], []


def keep(prefix, w):
    for k in ("rps", "p50", "p99", "errors"):
        if k in w:
            res["%s_%s" % (prefix, {"p50": "p50_ms", "p99": "p99_ms"}.get(k, k))] = w[k]


def row(name, w, ref=None, ref_name=None, target=None, ok=None, p99_ratio=True, unit="/s"):
    """one line of the table: a measured path next to its reference"""
    r = {"name": name, "value": w.get("rps"), "unit": unit, "p50": w.get("p50"), "p99": w.get("p99")}
    if ref is not None:
        r["ref"] = "%s %s/s p99 %s" % (ref_name, fmt(ref["rps"]), fmt(ref["p99"]))
        r["ratio"] = ratio(w["rps"], ref["rps"])
        if p99_ratio:
            r["p99_ratio"] = ratio(w.get("p99") or 0, ref["p99"])
    r["target"], r["ok"] = target, ok
    rows.append(r)
    return r


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return "{:,.0f}".format(v) if abs(v) >= 100 else "{:.3g}".format(v) if v else "0"
    return str(v)


# ---- form intake: the edge, the backlog, end to end ----------------------
edge, ins = wrk("wrk.txt"), pgbench("pgbench.txt", "pgb")
keep("intake", edge)
keep("intake_pgbench", ins)
before, after = (int(x) for x in open(tmp + "/edge-rows.txt").read().split())
res["intake_rows"] = after - before
r = row("form intake, edge (acknowledged)", edge, ins, "pgbench INSERT of its raw row")
r["target"] = ">= 0.5, p99 <= 2x"
r["ok"] = r["ratio"] >= 0.5 and r["p99_ratio"] <= 2
res["rps_ratio"], res["p99_ratio"] = r["ratio"], r["p99_ratio"]
notes.append("intake: %d posts acknowledged, %d journal rows written, %d non-2xx/3xx"
             % (edge["requests"], res["intake_rows"], edge["errors"]))
if os.path.exists(tmp + "/pgbench-prepared.txt"):
    prep = float(re.search(r"tps = ([\d.]+)", open(tmp + "/pgbench-prepared.txt").read()).group(1))
    res["intake_pgbench_prepared_rps"] = round(prep, 1)
    notes.append("intake: the INSERT planned once (pgbench -M prepared, as the edge runs it): %s/s;"
                 " the edge is %.3fx of it" % (fmt(prep), edge["rps"] / prep if prep else 0))

backlog, d0, d1 = open(tmp + "/drain.txt").read().split()
drain = {"rps": round(int(backlog) / max(float(d1) - float(d0), 0.5), 1)}
res["drain_rows"], res["drain_s"], res["drain_rps"] = int(backlog), round(float(d1) - float(d0), 2), drain["rps"]
r = row("journal backlog filed (worker alone)", drain, ins, "pgbench INSERT", p99_ratio=False)
r["target"] = "(capacity)"

e2e = wrk("wrk-e2e.txt")
offered, posted, filed, waiting, f50, f99, wsecs = open(tmp + "/e2e.txt").read().split()
wsecs = float(wsecs)
filed_w = {"rps": round(int(filed) / wsecs, 1) if wsecs else 0,
           "p50": round(float(f50), 1), "p99": round(float(f99), 1)}
res.update({"e2e_offered_rps": int(offered), "e2e_ack_rps": e2e["rps"], "e2e_errors": e2e["errors"],
            "e2e_posted": int(posted), "e2e_filed_in_window": int(filed),
            "e2e_unfiled_after_3s": int(waiting), "e2e_seconds": round(wsecs, 1),
            "e2e_filed_rps": filed_w["rps"], "e2e_file_p50_ms": filed_w["p50"],
            "e2e_file_p99_ms": filed_w["p99"]})
r = row("end to end: posted -> in the inbox", filed_w, ins, "pgbench INSERT", p99_ratio=False)
r["target"] = ">= 0.3, p99 <= 1000 ms"
r["ok"] = r["ratio"] >= 0.3 and filed_w["p99"] <= 1000
res["e2e_ratio"] = r["ratio"]
notes.append("end to end: %d posts/s offered for %.0f s (an open load), %.1f/s acknowledged, "
             "%d non-2xx/3xx; %d of %d still unfiled 3 s after; p50/p99 are posted -> filed"
             % (int(offered), wsecs, e2e["rps"], e2e["errors"], int(waiting), int(posted)))
jobs = open(tmp + "/e2e-jobs.txt").read().split()
if jobs:
    res["e2e_jobs_waiting"] = int(jobs[0])
    notes.append("end to end: %s classification and notification jobs still queued when the window closed"
                 % jobs[0])

# ---- the flood (bench/flood.sh) -----------------------------------------
if os.path.exists(tmp + "/flood.txt"):
    f_offered, f_legit, legit_rows, spam_rows, counted = (int(x) for x in open(tmp + "/flood.txt").read().split())
    base, during, spam = wrk("flood-base.txt"), wrk("flood-legit.txt"), wrk("flood-spam.txt")
    keep("flood_legit_alone", base)
    keep("flood_legit", during)
    keep("flood_spam", spam)
    res.update({"flood_spam_offered_rps": f_offered, "flood_legit_offered_rps": f_legit,
                "flood_legit_stored": legit_rows, "flood_spam_stored": spam_rows,
                "flood_spam_counted": counted})
    r = row("flood: real posts at another client", during)
    r["ref"] = "the same load alone p99 %s ms" % fmt(base["p99"])
    r["p99_ratio"] = ratio(during["p99"], base["p99"])
    lost = during["requests"] - legit_rows
    r["target"] = "p99 <= 2x, none lost"
    r["ok"] = r["p99_ratio"] is not None and r["p99_ratio"] <= 2 and lost <= 0 and during["errors"] == 0
    res["flood_legit_p99_ratio"], res["flood_legit_lost"] = r["p99_ratio"], max(lost, 0)
    r = row("flood: spam at one client (answered)", spam)
    r["ref"] = "10x end to end: %s/s offered" % fmt(f_offered)
    r["ratio"] = ratio(spam["rps"], f_offered)
    r["target"] = "stored <= 20, rest counted"
    r["ok"] = spam_rows <= 20 and counted + spam_rows >= spam["requests"]
    notes.append("flood: %d spam posts answered (%d non-2xx/3xx), %d stored (the keep budget), "
                 "%d counted at the edge; %d real posts sent during it, %d stored"
                 % (spam["requests"], spam["errors"], spam_rows, counted, during["requests"], legit_rows))

# ---- signed Twilio SMS webhook ------------------------------------------
sms, smsref = wrk("twilio.txt"), pgbench("pgbench-twilio.txt", "pgt")
keep("sms", sms)
keep("sms_pgbench", smsref)
r = row("signed Twilio SMS webhook", sms, smsref, "pgbench journal write")
r["target"] = ">= 0.95, p99 <= 1.1x"
r["ok"] = r["ratio"] >= 0.95 and r["p99_ratio"] <= 1.1
res["sms_rps_ratio"], res["sms_p99_ratio"] = r["ratio"], r["p99_ratio"]

# ---- the inbox list at 10 thousand and 1 million messages ----------------
small, large = wrk("inbox-10k.txt"), wrk("inbox-1m.txt")
keep("inbox_10k", small)
keep("inbox_1m", large)
row("inbox list, 10 thousand messages", small, target="(reference)")
r = row("inbox list, 1 million messages", large)
r["ref"] = "the 10k list p50 %s ms" % fmt(small["p50"])
r["ratio"] = ratio(large["p50"], small["p50"])
r["target"], r["ok"] = "p50 1M/10k <= 1.3", r["ratio"] is not None and r["ratio"] <= 1.3
res["inbox_p50_ratio"] = r["ratio"]

# ---- an Apache child's memory --------------------------------------------
rw, rwo = (int(x) for x in open(tmp + "/rss.txt").read().split())
res["child_rss_kb_with_consult"], res["child_rss_kb_without"] = rw, rwo
rows.append({"name": "Apache child memory, every module", "value": round((rw - rwo) / 1024, 2),
             "unit": " MB more", "ref": "a bare child %.1f MB (this one %.1f MB)" % (rwo / 1024, rw / 1024),
             "target": "<= 10 MB more", "ok": rw - rwo <= 10 * 1024})

# ---- restaurants (bench/pos.sh) ------------------------------------------
if os.path.exists(tmp + "/pos-menu.txt"):
    menu, static = wrk("pos-menu.txt"), wrk("pos-static.txt")
    m304, s304 = wrk("pos-304.txt"), wrk("pos-static304.txt")
    hook = wrk("pos-webhook.txt")
    reads, journal = pgbench("pgbench-pos-menu.txt", "pgmenu"), pgbench("pgbench-pos.txt", "pgpos")
    for key, w in (("pos_menu", menu), ("pos_menu_static", static), ("pos_304", m304),
                   ("pos_304_static", s304), ("pos_webhook", hook),
                   ("pos_menu_reads_pgbench", reads), ("pos_webhook_pgbench", journal)):
        keep(key, w)
    res["pos_menu_bytes"] = int(open(tmp + "/pos-menu-meta.txt").read().split()[0])
    res["pos_webhook_rows"] = int(open(tmp + "/pos-webhook-rows.txt").read())
    r = row("GET /api/menu (%d KB)" % (res["pos_menu_bytes"] // 1024), menu, static, "the same bytes, static")
    r["target"], r["ok"] = ">= 0.6", r["ratio"] >= 0.6
    res["pos_menu_ratio"] = r["ratio"]
    r = row("GET /api/menu -> 304", m304, s304, "static -> 304")
    r["target"], r["ok"] = ">= 0.9", r["ratio"] >= 0.9
    res["pos_304_ratio"] = r["ratio"]
    r = row("signed POS webhook", hook, journal, "pgbench journal write")
    r["target"], r["ok"] = ">= 0.5", r["ratio"] >= 0.5
    res["pos_webhook_ratio"], res["pos_webhook_p99_ratio"] = r["ratio"], r["p99_ratio"]
    res["pos_menu_of_reads_ratio"] = ratio(menu["rps"], reads["rps"])
    live = json.load(open(tmp + "/pos-live.json"))
    for k, v in live.items():
        res["pos_live_" + k] = v
    rows.append({"name": "POS webhook -> availability shown", "value": live["rate"], "unit": "/s",
                 "p50": live["p50_ms"], "p99": live["p99_ms"], "ref": "(worker on, polled every 20 ms)",
                 "target": "p99 <= 1000 ms", "ok": live["missed"] == 0 and live["p99_ms"] <= 1000})
    notes.append("restaurant: menu reads alone via pgbench %s/s (the API is %.2fx of them); "
                 "%d webhook events journaled; non-2xx/3xx: menu %d, 304 %d, webhook %d; "
                 "availability: %d webhooks, %d not 200, %d never shown, max %s ms"
                 % (fmt(reads["rps"]), res["pos_menu_of_reads_ratio"] or 0, res["pos_webhook_rows"],
                    menu["errors"], m304["errors"], hook["errors"], live["webhooks"], live["non200"],
                    live["missed"], live["max_ms"]))

# ---- online ordering (bench/orders.sh) -----------------------------------
if os.path.exists(tmp + "/orders-checkout.txt"):
    co, coref = wrk("orders-checkout.txt"), pgbench("pgbench-orders.txt", "pgord")
    keep("checkout", co)
    keep("checkout_pgbench", coref)
    res["checkout_orders"] = int(open(tmp + "/orders-rows.txt").read())
    r = row("checkout (cart -> order + PaymentIntent)", co, coref, "pgbench its statements")
    r["target"] = "(no goal)"
    res["checkout_rps_ratio"], res["checkout_p99_ratio"] = r["ratio"], r.get("p99_ratio")
    notes.append("checkout: %d orders with a PaymentIntent, %d non-2xx/3xx; each waits on the "
                 "Stripe stand-in's answer" % (res["checkout_orders"], co["errors"]))

# ---- print ---------------------------------------------------------------
head = ("path", "measured", "p50 ms", "p99 ms", "reference (same run)", "ratio", "p99 x", "goal", "met")
table = [head]
for r in rows:
    ref = r.get("ref")
    if ref is None and r.get("ref_name"):
        ref = "%s %s" % (r["ref_name"], fmt(r.get("ref_value")))
    value = fmt(r.get("value")) + (r.get("unit") or "")
    table.append((r["name"], value, fmt(r.get("p50")), fmt(r.get("p99")), ref or "",
                  fmt(r.get("ratio")), fmt(r.get("p99_ratio")), r.get("target") or "",
                  "" if r.get("ok") is None else fmt(r["ok"])))
widths = [max(len(str(t[i])) for t in table) for i in range(len(head))]
print()
for i, t in enumerate(table):
    print("  ".join(str(c).rjust(w) if 0 < j < 4 or j in (5, 6) else str(c).ljust(w)
                    for j, (c, w) in enumerate(zip(t, widths))).rstrip())
    if i == 0:
        print("  ".join("-" * w for w in widths))
met = [r for r in rows if r.get("ok") is not None]
print()
print("goals met: %d of %d" % (sum(1 for r in met if r["ok"]), len(met)))
for n in notes:
    print(" - " + n)
res["goals_met"], res["goals"] = sum(1 for r in met if r["ok"]), len(met)
print("JSON " + json.dumps(res, sort_keys=True))
