#!/usr/bin/env python3
"""The restaurant figures of make bench, from the files bench/pos.sh left
in TMP: writes TMP/pos.json (merged into run.sh's JSON line) and
TMP/pos.table (printed in run.sh's table). usage: pos_report.py TMP"""
import glob, json, re, sys

tmp = sys.argv[1]


def ms(v, unit):
    v = float(v)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


def wrk(name):
    t = open("%s/%s" % (tmp, name)).read()
    lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", t, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
    errs = re.search(r"Socket errors:.*", t)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)),
            "p50": round(lat.get("50", 0), 2), "p99": round(lat.get("99", 0), 2),
            "errors": int(bad.group(1)) if bad else 0,
            "socket": errs.group(0) if errs else ""}


def ratio(a, b):
    return round(a / b, 3) if b else None


res = {}
menu, static = wrk("pos-menu.txt"), wrk("pos-static.txt")
m304, s304 = wrk("pos-304.txt"), wrk("pos-static304.txt")
hook = wrk("pos-webhook.txt")
size = int(open(tmp + "/pos-menu-meta.txt").read().split()[0])
for key, w in (("pos_menu", menu), ("pos_menu_static", static), ("pos_304", m304),
               ("pos_304_static", s304), ("pos_webhook", hook)):
    res[key + "_rps"] = round(w["rps"], 1)
    res[key + "_p50_ms"], res[key + "_p99_ms"] = w["p50"], w["p99"]
    res[key + "_errors"] = w["errors"]
res["pos_menu_bytes"] = size
res["pos_menu_ratio"], res["pos_menu_target"] = ratio(menu["rps"], static["rps"]), 0.6
res["pos_304_ratio"], res["pos_304_target"] = ratio(m304["rps"], s304["rps"]), 0.9
res["pos_webhook_rows"] = int(open(tmp + "/pos-webhook-rows.txt").read())

def pgbench(name, prefix):
    """tps and a p50/p99 function from pgbench's output and its --log files"""
    tps = float(re.search(r"tps = ([\d.]+)", open("%s/%s" % (tmp, name)).read()).group(1))
    lats = sorted(int(line.split()[2]) / 1000.0 for f in glob.glob("%s/%s.*" % (tmp, prefix))
                  for line in open(f) if len(line.split()) >= 3)
    return tps, lambda x: round(lats[min(len(lats) - 1, int(x * len(lats)))], 2) if lats else None


reads, rq = pgbench("pgbench-pos-menu.txt", "pgmenu")
res["pos_menu_reads_pgbench_tps"] = round(reads, 1)
res["pos_menu_reads_pgbench_p50_ms"], res["pos_menu_reads_pgbench_p99_ms"] = rq(0.5), rq(0.99)
res["pos_menu_of_reads_ratio"] = ratio(menu["rps"], reads)
tps, q = pgbench("pgbench-pos.txt", "pgpos")
res["pos_webhook_pgbench_tps"] = round(tps, 1)
res["pos_webhook_pgbench_p50_ms"], res["pos_webhook_pgbench_p99_ms"] = q(0.5), q(0.99)
res["pos_webhook_ratio"], res["pos_webhook_target"] = ratio(hook["rps"], tps), 0.5
res["pos_webhook_p99_ratio"] = ratio(hook["p99"], res["pos_webhook_pgbench_p99_ms"] or 0)

live = json.load(open(tmp + "/pos-live.json"))
for k, v in live.items():
    res["pos_live_" + k] = v
res["pos_live_target_p99_ms"] = 1000

row = "%-34s %12s %10s %10s"
num = "%-34s %12.1f %10.2f %10.2f"
out = ["", row % ("restaurant (mock POS, %d-byte menu)" % size, "per second", "p50 ms", "p99 ms")]
out.append(num % ("GET /api/menu (wrk)", menu["rps"], menu["p50"], menu["p99"]))
out.append(num % ("same bytes, static file", static["rps"], static["p50"], static["p99"]))
out.append("%-34s %12.3f   target >= %.1f" % ("ratio API / static", res["pos_menu_ratio"], 0.6))
out.append(num % ("GET /api/menu -> 304 (wrk)", m304["rps"], m304["p50"], m304["p99"]))
out.append(num % ("static file -> 304", s304["rps"], s304["p50"], s304["p99"]))
out.append("%-34s %12.3f   target >= %.1f" % ("ratio API 304 / static 304", res["pos_304_ratio"], 0.9))
out.append(num % ("its reads alone via pgbench", reads, rq(0.5) or 0, rq(0.99) or 0))
out.append("%-34s %12.3f   (GET /api/menu against its reads)" % ("ratio API / reads", res["pos_menu_of_reads_ratio"]))
out.append(num % ("signed POST /webhooks/pos (wrk)", hook["rps"], hook["p50"], hook["p99"]))
out.append(num % ("same journal write via pgbench", tps, q(0.5) or 0, q(0.99) or 0))
out.append("%-34s %12.3f %10s %10.3f   target >= %.1f" % ("ratio webhook / pgbench", res["pos_webhook_ratio"],
           "", res["pos_webhook_p99_ratio"] or 0, 0.5))
out.append("events journaled by the webhook run: %d; non-2xx/3xx answers: menu %d, 304 %d, webhook %d"
           % (res["pos_webhook_rows"], menu["errors"], m304["errors"], hook["errors"]))
out.append("%-34s %12s %10s %10s   target p99 <= 1000 ms"
           % ("webhook -> availability visible", "%.1f/s" % live["rate"],
              live["p50_ms"], live["p99_ms"]))
out.append("(%d webhooks, %d not 200, %d never seen; max %s ms; job worker on)"
           % (live["webhooks"], live["non200"], live["missed"], live["max_ms"]))
open(tmp + "/pos.table", "w").write("\n".join(out) + "\n")
json.dump(res, open(tmp + "/pos.json", "w"))
