#!/usr/bin/env python3
"""A fake Clover (the v3 inventory and orders REST API) for the POS adapter
tests. Standard library only.

    fake_clover.py --port 0 --portfile FILE --log FILE.jsonl
                   [--token clover-test-token] [--merchant MFAKECLOVER01]

Listens on 127.0.0.1, writes the port to --portfile once listening (the
file appears complete), appends every API request to --log as a JSON line
{"time","method","path","query","headers","body"} (header names lowercased).

The API it speaks, under /v3/merchants/MERCHANT (JSON shapes as Clover's):
    GET  /items?expand=categories,modifierGroups,itemStock&limit=N&offset=K
                                   {"elements": [...], "href"}; expansions are
                                   {"elements": [...]}, itemStock {"quantity"}
    GET  /items/ID, POST /items/ID {"available": bool, ...} (updates)
    GET  /modifier_groups?expand=modifiers&limit&offset
    GET  /categories?limit&offset
    POST /atomic_order/orders      {"orderCart": {"lineItems": [{"item": {"id"},
                                   "modifications": [{"modifier": {"id"}}]}],
                                   "externalReferenceId", ...}} -> the order
    GET  /orders?filter=externalReferenceId=X, GET /orders/ID
limit is at most 1000, and at most page_size when one is set (a server
capping the page below the limit asked). Every API call needs
"Authorization: Bearer TOKEN" (else 401 {"message": "401 Unauthorized"}).
Like Clover, creating an order twice makes two orders: idempotency is the
client's lookup by externalReferenceId.

The control API (tests/unit/pos_fixture.h), never logged:
    POST /_control/state  {"sold_out": [ids]}   items or modifiers sold out,
                                                replacing (an autoManage item
                                                gets a stock of 0 instead)
                          {"remove_item": id}   delete an item
                          {"page_size": N}, {"malformed": N},
                          {"fail": {"status", "times", "retry_after", "path"}},
                          {"order_state": {"id", "state"}},
                          {"token_ttl", "expire_tokens"}  accepted, no effect
    POST /_control/reset  the built-in inventory, no orders, no requests
    GET  /_control/requests, DELETE /_control/requests
    GET  /_control/orders the orders made, oldest first

The built-in inventory is a taqueria: 4 categories, 10 visible items, a
hidden staff meal and a variably priced catering tray (left out); Protein
is required (min 1 max 1); Horchata and the roasted veggies are sold out.
"""

import fake_serve
import argparse
import copy
import fnmatch
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONTROL = "/_control/"
MAX_LIMIT = 1000
DEFAULT_SOLD_OUT = ["HORCHATA00001", "MODVEGGIE0001"]

CATEGORIES = [
    {"id": "CATTACOS00001", "name": "Tacos", "sortOrder": 1},
    {"id": "CATBURRITOS01", "name": "Burritos & bowls", "sortOrder": 2},
    {"id": "CATDRINKS0001", "name": "Drinks", "sortOrder": 3},
    {"id": "CATSIDES00001", "name": "Sides", "sortOrder": 4},
]


def mod(mid, gid, name, price):
    return {"id": mid, "name": name, "price": price, "available": True,
            "modifierGroup": {"id": gid}}


GROUPS = [
    {"id": "MGPROTEIN0001", "name": "Protein", "minRequired": 1, "maxAllowed": 1,
     "showByDefault": True, "modifiers": [
         mod("MODCARNITAS01", "MGPROTEIN0001", "Carnitas", 0),
         mod("MODPOLLO00001", "MGPROTEIN0001", "Pollo asado", 0),
         mod("MODASADA00001", "MGPROTEIN0001", "Carne asada", 150),
         mod("MODVEGGIE0001", "MGPROTEIN0001", "Roasted veggies", 0)]},
    {"id": "MGSALSA000001", "name": "Salsas", "minRequired": 0, "maxAllowed": 3,
     "showByDefault": True, "modifiers": [
         mod("MODVERDE00001", "MGSALSA000001", "Salsa verde", 0),
         mod("MODROJA000001", "MGSALSA000001", "Salsa roja", 0),
         mod("MODHABANERO01", "MGSALSA000001", "Habanero", 50)]},
    {"id": "MGEXTRAS00001", "name": "Extras", "minRequired": 0, "showByDefault": True,
     "modifiers": [
         mod("MODGUAC000001", "MGEXTRAS00001", "Guacamole", 200),
         mod("MODQUESO00001", "MGEXTRAS00001", "Queso", 150),
         mod("MODCREMA00001", "MGEXTRAS00001", "Crema", 75)]},
]


def item(iid, name, price, cat, groups=(), **extra):
    obj = {"id": iid, "name": name, "alternateName": "", "price": price,
           "priceType": "FIXED", "defaultTaxRates": True, "isRevenue": True,
           "hidden": False, "available": True, "autoManage": False,
           "modifiedTime": 1717000000000, "_cats": [cat] if cat else [],
           "_groups": list(groups), "_stock": None}
    obj.update(extra)
    return obj


def builtin():
    return [
        item("STREETTACOS01", "Street tacos (3)", 1050, "CATTACOS00001",
             ["MGPROTEIN0001", "MGSALSA000001"]),
        item("FISHTACOS0001", "Baja fish tacos", 1295, "CATTACOS00001", ["MGSALSA000001"]),
        item("BURRITO000001", "Burrito", 1195, "CATBURRITOS01",
             ["MGPROTEIN0001", "MGSALSA000001", "MGEXTRAS00001"]),
        item("BOWL000000001", "Burrito bowl", 1195, "CATBURRITOS01",
             ["MGPROTEIN0001", "MGEXTRAS00001"]),
        item("HORCHATA00001", "Horchata", 450, "CATDRINKS0001"),
        item("JARRITOS00001", "Jarritos", 375, "CATDRINKS0001", autoManage=True, _stock=24),
        item("AGUAFRESCA001", "Agua fresca", 400, "CATDRINKS0001"),
        item("CHIPSGUAC0001", "Chips & guacamole", 695, "CATSIDES00001"),
        item("ELOTE00000001", "Elote", 550, "CATSIDES00001"),
        item("RICEBEANS0001", "Rice & beans", 395, "CATSIDES00001"),
        item("STAFFMEAL0001", "Staff meal", 0, "CATSIDES00001", hidden=True),
        item("CATERING00001", "Catering tray", 0, "CATTACOS00001", priceType="VARIABLE"),
    ]


class State:
    def __init__(self, log_path, token, merchant):
        self.lock = threading.Lock()
        self.token = token
        self.merchant = merchant
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.reset()

    def reset(self):
        self.items = builtin()
        self.groups = copy.deepcopy(GROUPS)
        self.sold_out = set(DEFAULT_SOLD_OUT)
        self.unavailable = set()     # set through POST /items/ID
        self.available = set()
        self.page_size = None
        self.fails = []
        self.malformed = 0
        self.orders = []
        self.requests = []
        self.seq = 0

    def record(self, entry):
        self.requests.append(entry)
        if self.log:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()

    def item_view(self, it, expand):
        out = {k: v for k, v in it.items() if not k.startswith("_")}
        sold = it["id"] in self.sold_out
        if it["autoManage"] and it["_stock"] is not None:
            qty = 0 if sold else it["_stock"]
            if "itemStock" in expand:
                out["itemStock"] = {"item": {"id": it["id"]}, "stockCount": qty,
                                    "quantity": float(qty)}
        else:
            out["available"] = not sold
        if it["id"] in self.unavailable:
            out["available"] = False
        elif it["id"] in self.available:
            out["available"] = True
        if "categories" in expand:
            out["categories"] = {"elements": [dict(c) for c in CATEGORIES
                                              if c["id"] in it["_cats"]]}
        if "modifierGroups" in expand:
            out["modifierGroups"] = {"elements": [
                {k: v for k, v in g.items() if k != "modifiers"}
                for g in self.groups if g["id"] in it["_groups"]]}
        return out

    def group_view(self, g, expand):
        out = {k: v for k, v in g.items() if k != "modifiers"}
        mods = [dict(m, available=m["id"] not in self.sold_out) for m in g["modifiers"]]
        if "modifiers" in expand:
            out["modifiers"] = {"elements": mods}
        else:
            out["modifierIds"] = ",".join(m["id"] for m in mods)
        return out

    def find_item(self, iid):
        for it in self.items:
            if it["id"] == iid:
                return it
        return None

    def find_modifier(self, mid):
        for g in self.groups:
            for m in g["modifiers"]:
                if m["id"] == mid:
                    return m
        return None


def paged(state, rows, query):
    try:
        limit = int(query.get("limit", ["100"])[0])
        offset = int(query.get("offset", ["0"])[0])
    except ValueError:
        return 400, {"message": "limit and offset must be integers"}
    if limit < 1 or offset < 0:
        return 400, {"message": "bad limit or offset"}
    limit = min(limit, MAX_LIMIT, state.page_size or MAX_LIMIT)
    return 200, {"elements": rows[offset:offset + limit], "href": "https://fake.clover/v3"}


def create_order(state, doc):
    cart = doc.get("orderCart")
    if not isinstance(cart, dict) or not isinstance(cart.get("lineItems"), list) \
            or not cart["lineItems"]:
        return 400, {"message": "orderCart with lineItems is required"}
    total, lines = 0, []
    for n, li in enumerate(cart["lineItems"]):
        iid = (li.get("item") or {}).get("id")
        it = state.find_item(iid)
        if not it:
            return 400, {"message": "Item %s not found" % iid}
        amount = it["price"]
        mods = []
        for m in li.get("modifications") or []:
            md = state.find_modifier((m.get("modifier") or {}).get("id"))
            if not md:
                return 400, {"message": "Modifier not found"}
            amount += md["price"]
            mods.append({"name": md["name"], "amount": md["price"], "modifier": {"id": md["id"]}})
        total += amount
        lines.append({"id": "LI%05d%02d" % (state.seq + 1, n), "item": {"id": iid},
                      "name": it["name"], "price": it["price"], "note": li.get("note"),
                      "modifications": {"elements": mods}})
    state.seq += 1
    order = {"id": "CLORDER%06d" % state.seq, "currency": "USD", "total": total,
             "state": "open", "externalReferenceId": cart.get("externalReferenceId"),
             "title": cart.get("title"), "note": cart.get("note"),
             "createdTime": int(time.time() * 1000), "lineItems": {"elements": lines}}
    state.orders.append(order)
    return 200, order


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "FakeClover/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the base's name
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_GET

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, body, headers=None):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def dispatch(self):
        state = self.server.state
        url = urlsplit(self.path)
        text = self.read_body().decode("utf-8", "replace")
        with state.lock:
            if url.path.startswith(CONTROL):
                status, body = self.control(state, url.path[len(CONTROL):], text)
                self.send(status, body)
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            now = time.time()
            state.record({"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
                          + ".%03dZ" % int(now % 1 * 1000), "method": self.command,
                          "path": url.path, "query": url.query, "headers": headers,
                          "body": text})
            status, body, extra = self.api(state, url, text, headers)
        self.send(status, body, extra)

    def api(self, state, url, text, headers):
        if headers.get("authorization") != "Bearer " + state.token:
            return 401, {"message": "401 Unauthorized"}, None
        for rule in state.fails:
            if fnmatch.fnmatchcase(url.path, rule.get("path") or "*"):
                rule["times"] -= 1
                if rule["times"] <= 0:
                    state.fails.remove(rule)
                extra = {}
                if rule.get("retry_after") is not None:
                    extra["Retry-After"] = rule["retry_after"]
                return rule["status"], {"message": "failing on request"}, extra
        if state.malformed > 0:
            state.malformed -= 1
            return 200, '{"elements": [{"id": "BROKEN", "name": ', None
        prefix = "/v3/merchants/%s" % state.merchant
        if not url.path.startswith(prefix + "/"):
            return 401, {"message": "401 Unauthorized"}, None
        rest = url.path[len(prefix):]
        query = parse_qs(url.query)
        expand = set(",".join(query.get("expand", [])).split(","))
        doc = {}
        if self.command == "POST":
            try:
                doc = json.loads(text or "{}")
            except ValueError:
                return 400, {"message": "the body is not JSON"}, None
            if not isinstance(doc, dict):
                return 400, {"message": "the body is not an object"}, None
        get = self.command == "GET"
        if get and rest == "/items":
            s, b = paged(state, [state.item_view(i, expand) for i in state.items], query)
        elif rest.startswith("/items/") and rest.count("/") == 2:
            it = state.find_item(rest[len("/items/"):])
            if not it:
                return 404, {"message": "Not Found"}, None
            if self.command == "POST":
                if "available" in doc:
                    if not isinstance(doc["available"], bool):
                        return 400, {"message": "available must be a boolean"}, None
                    state.unavailable.discard(it["id"])
                    state.available.discard(it["id"])
                    (state.available if doc["available"] else state.unavailable).add(it["id"])
                for key in ("name", "price", "hidden"):
                    if key in doc:
                        it[key] = doc[key]
            s, b = 200, state.item_view(it, expand)
        elif get and rest == "/modifier_groups":
            s, b = paged(state, [state.group_view(g, expand) for g in state.groups], query)
        elif get and rest == "/categories":
            s, b = paged(state, [dict(c) for c in CATEGORIES], query)
        elif self.command == "POST" and rest == "/atomic_order/orders":
            s, b = create_order(state, doc)
        elif get and rest == "/orders":
            rows = list(state.orders)
            for f in query.get("filter", []):
                key, _, value = f.partition("=")
                rows = [o for o in rows if str(o.get(key)) == value]
            s, b = paged(state, rows, query)
        elif get and rest.startswith("/orders/"):
            found = [o for o in state.orders if o["id"] == rest[len("/orders/"):]]
            s, b = (200, found[0]) if found else (404, {"message": "Not Found"})
        else:
            s, b = 404, {"message": "no route %s %s" % (self.command, url.path)}
        return s, b, None

    def control(self, state, what, text):
        method = self.command
        if what == "state" and method == "POST":
            try:
                doc = json.loads(text)
                if not isinstance(doc, dict):
                    raise ValueError("the state must be an object")
                self.apply(state, doc)
            except (ValueError, KeyError, TypeError) as e:
                return 400, {"error": str(e)}
            return 200, {"ok": True}
        if what == "reset" and method == "POST":
            state.reset()
            return 200, {"ok": True}
        if what == "requests" and method == "GET":
            return 200, list(state.requests)
        if what == "requests" and method == "DELETE":
            state.requests.clear()
            return 200, {"ok": True}
        if what == "orders" and method == "GET":
            return 200, list(state.orders)
        return 404, {"error": "unknown control request %s /_control/%s" % (method, what)}

    @staticmethod
    def apply(state, doc):
        known = {"sold_out", "remove_item", "page_size", "fail", "malformed", "order_state",
                 "token_ttl", "expire_tokens"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError("unknown state keys: " + ", ".join(sorted(unknown)))
        if "sold_out" in doc:
            if not isinstance(doc["sold_out"], list):
                raise ValueError("sold_out must be a list of ids")
            state.sold_out = set(str(i) for i in doc["sold_out"])
            state.unavailable.clear()
            state.available.clear()
        if "remove_item" in doc:
            state.items = [i for i in state.items if i["id"] != doc["remove_item"]]
        if "page_size" in doc:
            n = doc["page_size"]
            if not isinstance(n, int) or n < 1:
                raise ValueError("page_size must be a positive integer")
            state.page_size = n
        if "fail" in doc:
            f = doc["fail"]
            if not isinstance(f, dict) or not isinstance(f.get("status"), int):
                raise ValueError("fail needs an integer status")
            state.fails.append({"status": f["status"], "times": int(f.get("times", 1)),
                                "retry_after": f.get("retry_after"),
                                "path": f.get("path") or "*"})
        if "malformed" in doc:
            state.malformed = int(doc["malformed"])
        if "order_state" in doc:
            o = doc["order_state"]
            for made in state.orders:
                if made["id"] == o["id"]:
                    made["state"] = o.get("state", made["state"])


def main():
    ap = fake_serve.arguments(__doc__)
    ap.add_argument("--token", default="clover-test-token")
    ap.add_argument("--merchant", default="MFAKECLOVER01")
    args = ap.parse_args()

    state = State(args.log, args.token, args.merchant)
    return fake_serve.serve(Handler, state, args.port, args.portfile)


if __name__ == "__main__":
    sys.exit(main())
