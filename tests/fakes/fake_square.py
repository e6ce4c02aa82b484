#!/usr/bin/env python3
"""A fake Square (Catalog, Inventory and Orders APIs) for the POS adapter
tests. Standard library only.

    fake_square.py --port 0 --portfile FILE --log FILE.jsonl
                   [--token sq-test-token] [--location L-MAIN]

Listens on 127.0.0.1, writes the port to --portfile once listening (the
file appears complete), appends every API request to --log as a JSON line
{"time","method","path","query","headers","body"} (header names lowercased).

The API it speaks (JSON shapes as Square's):
    GET  /v2/catalog/list?types=A,B&cursor=C  {"objects": [...], "cursor"}
    POST /v2/catalog/batch-retrieve           {"object_ids": [...]}
    POST /v2/inventory/counts/batch-retrieve  {"catalog_object_ids", "location_ids",
                                               "states", "cursor"} -> {"counts", "cursor"}
    POST /v2/orders                           {"idempotency_key", "order"} -> {"order"}
                                              (the same key answers the same order)
    GET  /v2/orders/ID                        {"order"}
Every API call needs "Authorization: Bearer TOKEN" (else 401 with Square's
{"errors": [{"category","code","detail"}]}).

The control API (tests/unit/pos_fixture.h), never logged:
    POST /_control/state  {"sold_out": [ids]}   items (all their variations),
                                                variations or modifiers sold
                                                out at the location, replacing
                                                (a tracked variation gets an
                                                IN_STOCK count of 0 instead)
                          {"remove_item": id}   delete an item
                          {"page_size": N}      list answers N per page
                          {"fail": {"status", "times", "retry_after", "path"}}
                          {"malformed": N}      next N API answers broken
                          {"order_state": {"id", "state", "fulfillment"}}
                          {"order_delay": S}    POST /v2/orders makes the order
                                                at once, then answers S seconds
                                                later (a worker killed meanwhile
                                                never hears it was made)
                          {"token_ttl", "expire_tokens"}  accepted, no effect
    POST /_control/reset  the built-in catalog, no orders, no requests
    GET  /_control/requests, DELETE /_control/requests
    GET  /_control/orders the orders made, oldest first

The built-in catalog (location L-MAIN) is a cafe: 3 categories, 9 items
visible at L-MAIN (Latte has three sizes), a hidden staff meal, and items
left out for being archived, elsewhere only, or variably priced; "Milk"
is required (min 1 max 1); Cold brew and Almond milk are sold out.
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
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONTROL = "/_control/"
OTHER_LOCATION = "L-NORTH"
DEFAULT_PAGE = 100
DEFAULT_SOLD_OUT = ["ITEM_COLD_BREW", "MOD_MILK_ALMOND"]
COUNT_IN_STOCK = "12"


def money(cents):
    return {"amount": cents, "currency": "USD"}


def variation(vid, item_id, name, cents, ordinal, **extra):
    data = {"item_id": item_id, "name": name, "ordinal": ordinal,
            "pricing_type": "FIXED_PRICING", "price_money": money(cents), "sellable": True}
    data.update(extra)
    return {"type": "ITEM_VARIATION", "id": vid, "version": 1, "is_deleted": False,
            "present_at_all_locations": True, "item_variation_data": data}


def item(iid, name, cat, variations, lists=(), ordinal=None, **extra):
    data = {"name": name, "description": "", "variations": variations,
            "categories": [{"id": cat, "ordinal": ordinal}] if ordinal is not None
            else [{"id": cat}],
            "modifier_list_info": [dict(modifier_list_id=l) if isinstance(l, str) else l
                                   for l in lists],
            "product_type": "FOOD_AND_BEV"}
    data.update(extra.pop("data", {}))
    obj = {"type": "ITEM", "id": iid, "version": 1, "is_deleted": False,
           "present_at_all_locations": True, "item_data": data}
    obj.update(extra)
    return obj


def modifier(mid, list_id, name, cents, ordinal):
    return {"type": "MODIFIER", "id": mid, "present_at_all_locations": True,
            "modifier_data": {"name": name, "price_money": money(cents),
                              "modifier_list_id": list_id, "ordinal": ordinal}}


def builtin():
    """The top-level catalog objects, in Square's listing order."""
    objs = [
        {"type": "CATEGORY", "id": "CAT_COFFEE", "category_data": {"name": "Coffee"}},
        {"type": "CATEGORY", "id": "CAT_BAKERY", "category_data": {"name": "Bakery"}},
        {"type": "CATEGORY", "id": "CAT_SANDWICH", "category_data": {"name": "Sandwiches"}},
        {"type": "IMAGE", "id": "IMG_LATTE",
         "image_data": {"name": "latte", "url": "https://items-images.example/latte.jpg"}},
        {"type": "MODIFIER_LIST", "id": "ML_MILK", "present_at_all_locations": True,
         "modifier_list_data": {
             "name": "Milk", "selection_type": "SINGLE", "min_selected_modifiers": 1,
             "max_selected_modifiers": 1, "modifiers": [
                 modifier("MOD_MILK_WHOLE", "ML_MILK", "Whole milk", 0, 1),
                 modifier("MOD_MILK_OAT", "ML_MILK", "Oat milk", 75, 2),
                 modifier("MOD_MILK_ALMOND", "ML_MILK", "Almond milk", 75, 3)]}},
        {"type": "MODIFIER_LIST", "id": "ML_EXTRAS", "present_at_all_locations": True,
         "modifier_list_data": {
             "name": "Extras", "selection_type": "MULTIPLE", "modifiers": [
                 modifier("MOD_SHOT", "ML_EXTRAS", "Extra shot", 100, 1),
                 modifier("MOD_VANILLA", "ML_EXTRAS", "Vanilla syrup", 50, 2),
                 modifier("MOD_WHIP", "ML_EXTRAS", "Whipped cream", 0, 3)]}},
        {"type": "MODIFIER_LIST", "id": "ML_CUP_NAME", "present_at_all_locations": True,
         "modifier_list_data": {"name": "Name on the cup", "modifier_type": "TEXT"}},
        item("ITEM_LATTE", "Latte", "CAT_COFFEE", [
            variation("VAR_LATTE_20", "ITEM_LATTE", "20 oz", 595, 3),
            variation("VAR_LATTE_12", "ITEM_LATTE", "12 oz", 450, 1),
            variation("VAR_LATTE_16", "ITEM_LATTE", "16 oz", 525, 2)],
            ["ML_MILK", "ML_EXTRAS"], ordinal=1,
            data={"image_ids": ["IMG_LATTE"], "description_plaintext": "Espresso and milk"}),
        item("ITEM_DRIP", "House drip", "CAT_COFFEE",
             [variation("VAR_DRIP", "ITEM_DRIP", "Regular", 300, 1)], ["ML_EXTRAS"], ordinal=2),
        item("ITEM_CAPPUCCINO", "Cappuccino", "CAT_COFFEE",
             [variation("VAR_CAPPUCCINO", "ITEM_CAPPUCCINO", "Regular", 475, 1)],
             ["ML_MILK", {"modifier_list_id": "ML_EXTRAS", "max_selected_modifiers": 2}],
             ordinal=3),
        item("ITEM_COLD_BREW", "Cold brew", "CAT_COFFEE",
             [variation("VAR_COLD_BREW", "ITEM_COLD_BREW", "Regular", 495, 1)], ordinal=4),
        item("ITEM_CROISSANT", "Butter croissant", "CAT_BAKERY",
             [variation("VAR_CROISSANT", "ITEM_CROISSANT", "Regular", 395, 1)]),
        item("ITEM_MUFFIN", "Blueberry muffin", "CAT_BAKERY",
             [variation("VAR_MUFFIN", "ITEM_MUFFIN", "Regular", 350, 1, track_inventory=True)]),
        item("ITEM_SCONE", "Cheddar scone", "CAT_BAKERY",
             [variation("VAR_SCONE", "ITEM_SCONE", "Regular", 425, 1, location_overrides=[
                 {"location_id": OTHER_LOCATION, "sold_out": True}])]),
        item("ITEM_BLT", "BLT", "CAT_SANDWICH",
             [variation("VAR_BLT", "ITEM_BLT", "Regular", 1095, 1)]),
        item("ITEM_GRILLED_CHEESE", "Grilled cheese", "CAT_SANDWICH",
             [variation("VAR_GRILLED_CHEESE", "ITEM_GRILLED_CHEESE", "Regular", 895, 1,
                        location_overrides=[{"location_id": "L-MAIN",
                                             "price_money": money(925)}])]),
        item("ITEM_STAFF_MEAL", "Staff meal", "CAT_SANDWICH",
             [variation("VAR_STAFF_MEAL", "ITEM_STAFF_MEAL", "Regular", 0, 1)],
             data={"ecom_visibility": "HIDDEN"}),
        item("ITEM_PUMPKIN_LOAF", "Pumpkin loaf", "CAT_BAKERY",
             [variation("VAR_PUMPKIN_LOAF", "ITEM_PUMPKIN_LOAF", "Regular", 375, 1)],
             data={"is_archived": True}),
        item("ITEM_KOUIGN_AMANN", "Kouign-amann", "CAT_BAKERY",
             [variation("VAR_KOUIGN_AMANN", "ITEM_KOUIGN_AMANN", "Regular", 495, 1)],
             present_at_all_locations=False, present_at_location_ids=[OTHER_LOCATION]),
        item("ITEM_CATERING", "Catering box", "CAT_SANDWICH",
             [{"type": "ITEM_VARIATION", "id": "VAR_CATERING",
               "item_variation_data": {"item_id": "ITEM_CATERING", "name": "Box",
                                       "pricing_type": "VARIABLE_PRICING"}}]),
    ]
    return objs


def square_error(status, code, detail, category="INVALID_REQUEST_ERROR"):
    return status, {"errors": [{"category": category, "code": code, "detail": detail}]}


class State:
    def __init__(self, log_path, token, location):
        self.lock = threading.Lock()
        self.token = token
        self.location = location
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.reset()

    def reset(self):
        self.catalog = builtin()
        self.sold_out = set(DEFAULT_SOLD_OUT)
        self.page_size = DEFAULT_PAGE
        self.fails = []
        self.order_delay = 0
        self.malformed = 0
        self.orders = []            # order objects, oldest first
        self.by_key = {}            # idempotency_key -> order
        self.requests = []
        self.seq = 0

    def record(self, entry):
        self.requests.append(entry)
        if self.log:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()

    # ---- the catalog as Square would answer it now ------------------------

    def render(self, obj):
        """A copy of @obj with the live sold-out state at our location."""
        obj = copy.deepcopy(obj)
        if obj["type"] == "ITEM":
            for v in obj["item_data"].get("variations", []):
                self.render_variation(v, obj["id"] in self.sold_out)
        elif obj["type"] == "ITEM_VARIATION":
            self.render_variation(obj, obj["item_variation_data"].get("item_id")
                                  in self.sold_out)
        elif obj["type"] == "MODIFIER_LIST":
            for m in obj["modifier_list_data"].get("modifiers", []):
                self.render_modifier(m)
        elif obj["type"] == "MODIFIER":
            self.render_modifier(obj)
        return obj

    def override(self, data):
        ovs = data.setdefault("location_overrides", [])
        for ov in ovs:
            if ov.get("location_id") == self.location:
                return ov
        ov = {"location_id": self.location}
        ovs.append(ov)
        return ov

    def render_variation(self, v, item_sold_out):
        data = v["item_variation_data"]
        sold = item_sold_out or v["id"] in self.sold_out
        if data.get("track_inventory"):
            return      # tracked: the count says it (see counts())
        ov = self.override(data)
        if sold:
            ov["sold_out"] = True
        else:
            ov.pop("sold_out", None)
        if len(ov) == 1:
            data["location_overrides"].remove(ov)

    def render_modifier(self, m):
        data = m["modifier_data"]
        if m["id"] in self.sold_out:
            data["location_overrides"] = [{"location_id": self.location, "sold_out": True}]

    def find(self, oid):
        for obj in self.catalog:
            if obj["id"] == oid:
                return obj
            nested = obj.get("item_data", {}).get("variations", []) \
                + obj.get("modifier_list_data", {}).get("modifiers", [])
            for n in nested:
                if n["id"] == oid:
                    return n
        return None

    def tracked(self):
        """variation id -> (item id, quantity) for tracked variations."""
        out = {}
        for obj in self.catalog:
            for v in obj.get("item_data", {}).get("variations", []):
                if v["item_variation_data"].get("track_inventory"):
                    sold = obj["id"] in self.sold_out or v["id"] in self.sold_out
                    out[v["id"]] = "0" if sold else COUNT_IN_STOCK
        return out

    def variation_price(self, vid):
        v = self.find(vid)
        if not v or v.get("type") != "ITEM_VARIATION":
            return None
        data = v["item_variation_data"]
        price = data.get("price_money", {}).get("amount")
        for ov in data.get("location_overrides", []):
            if ov.get("location_id") == self.location and "price_money" in ov:
                price = ov["price_money"]["amount"]
        return price


def page(items, size, cursor):
    start = 0
    if cursor:
        if not cursor.startswith("page-") or not cursor[5:].isdigit():
            return None, None
        start = int(cursor[5:])
    chunk = items[start:start + size]
    nxt = "page-%d" % (start + size) if start + size < len(items) else None
    return chunk, nxt


def list_catalog(state, query):
    types = set(t.strip().upper() for t in query.get("types", [""])[0].split(",") if t.strip())
    objs = [state.render(o) for o in state.catalog if not types or o["type"] in types]
    chunk, nxt = page(objs, state.page_size, query.get("cursor", [None])[0])
    if chunk is None:
        return square_error(400, "INVALID_CURSOR", "the cursor is not one we gave")
    out = {"objects": chunk} if chunk else {}
    if nxt:
        out["cursor"] = nxt
    return 200, out


def batch_retrieve(state, doc):
    ids = doc.get("object_ids")
    if not isinstance(ids, list) or not ids:
        return square_error(400, "MISSING_REQUIRED_PARAMETER", "object_ids is required")
    found = [state.render(o) for o in (state.find(i) for i in ids) if o]
    return 200, {"objects": found} if found else {}


def counts(state, doc):
    ids = doc.get("catalog_object_ids") or []
    locs = doc.get("location_ids") or [state.location]
    states = doc.get("states") or ["IN_STOCK"]
    tracked = state.tracked()
    rows = []
    if state.location in locs and "IN_STOCK" in states:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for vid in ids:
            if vid in tracked:
                rows.append({"catalog_object_id": vid, "catalog_object_type": "ITEM_VARIATION",
                             "state": "IN_STOCK", "location_id": state.location,
                             "quantity": tracked[vid], "calculated_at": now})
    chunk, nxt = page(rows, state.page_size, doc.get("cursor"))
    if chunk is None:
        return square_error(400, "INVALID_CURSOR", "the cursor is not one we gave")
    out = {"counts": chunk} if chunk else {}
    if nxt:
        out["cursor"] = nxt
    return 200, out


def create_order(state, doc):
    key = doc.get("idempotency_key")
    order = doc.get("order")
    if not isinstance(key, str) or not key or not isinstance(order, dict):
        return square_error(400, "MISSING_REQUIRED_PARAMETER",
                            "idempotency_key and order are required")
    if key in state.by_key:
        return 200, {"order": state.by_key[key]}
    if order.get("location_id") != state.location:
        return square_error(400, "INVALID_VALUE", "unknown location_id")
    lines, total = [], 0
    for li in order.get("line_items") or []:
        price = state.variation_price(li.get("catalog_object_id"))
        if price is None:
            return square_error(400, "INVALID_VALUE", "line item catalog_object_id not found")
        qty = li.get("quantity")
        if not isinstance(qty, str) or not qty.isdigit() or int(qty) < 1:
            return square_error(400, "INVALID_VALUE", "quantity must be a positive string")
        unit = price
        for m in li.get("modifiers") or []:
            mod = state.find(m.get("catalog_object_id"))
            if not mod or mod.get("type") != "MODIFIER":
                return square_error(400, "INVALID_VALUE", "modifier not found")
            unit += mod["modifier_data"].get("price_money", {}).get("amount", 0)
        total += unit * int(qty)
        lines.append(dict(li, uid=uuid.uuid4().hex[:12], base_price_money=money(price),
                          total_money=money(unit * int(qty))))
    if not lines:
        return square_error(400, "INVALID_VALUE", "an order needs line items")
    state.seq += 1
    made = {"id": "ORDER%04d" % state.seq, "location_id": state.location,
            "reference_id": order.get("reference_id"), "state": "OPEN", "version": 1,
            "line_items": lines,
            "fulfillments": [dict(f, uid=uuid.uuid4().hex[:12])
                             for f in order.get("fulfillments") or []],
            "metadata": order.get("metadata"),
            "total_money": money(total),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    state.by_key[key] = made
    state.orders.append(made)
    return 200, {"order": made}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "FakeSquare/1.0"

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
            headers = {}
            for name, value in self.headers.items():
                headers[name.lower()] = value
            now = time.time()
            state.record({"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
                          + ".%03dZ" % int(now % 1 * 1000), "method": self.command,
                          "path": url.path, "query": url.query, "headers": headers,
                          "body": text})
            status, body, extra = self.api(state, url, text, headers)
            delay = state.order_delay if url.path == "/v2/orders" and self.command == "POST" else 0
        if delay:
            time.sleep(delay)       # outside the lock: the order exists already
        self.send(status, body, extra)

    def api(self, state, url, text, headers):
        if headers.get("authorization") != "Bearer " + state.token:
            s, b = square_error(401, "UNAUTHORIZED", "This request could not be authorized.",
                                "AUTHENTICATION_ERROR")
            return s, b, None
        for rule in state.fails:
            if fnmatch.fnmatchcase(url.path, rule.get("path") or "*"):
                rule["times"] -= 1
                if rule["times"] <= 0:
                    state.fails.remove(rule)
                extra = {}
                if rule.get("retry_after") is not None:
                    extra["Retry-After"] = rule["retry_after"]
                s, b = square_error(rule["status"], "SERVICE_UNAVAILABLE"
                                    if rule["status"] >= 500 else "RATE_LIMITED",
                                    "failing on request", "API_ERROR")
                return s, b, extra
        if state.malformed > 0:
            state.malformed -= 1
            return 200, '{"objects": [{"type": "ITEM", "id": ', None
        query = parse_qs(url.query)
        doc = {}
        if self.command == "POST":
            try:
                doc = json.loads(text or "{}")
            except ValueError:
                s, b = square_error(400, "INVALID_REQUEST_BODY", "the body is not JSON")
                return s, b, None
            if not isinstance(doc, dict):
                s, b = square_error(400, "INVALID_REQUEST_BODY", "the body is not an object")
                return s, b, None
        path = url.path
        if self.command == "GET" and path == "/v2/catalog/list":
            s, b = list_catalog(state, query)
        elif self.command == "POST" and path == "/v2/catalog/batch-retrieve":
            s, b = batch_retrieve(state, doc)
        elif self.command == "POST" and path in ("/v2/inventory/counts/batch-retrieve",
                                                 "/v2/inventory/batch-retrieve-counts"):
            s, b = counts(state, doc)
        elif self.command == "POST" and path == "/v2/orders":
            s, b = create_order(state, doc)
        elif self.command == "GET" and path.startswith("/v2/orders/"):
            oid = path[len("/v2/orders/"):]
            found = [o for o in state.orders if o["id"] == oid]
            s, b = (200, {"order": found[0]}) if found else \
                square_error(404, "NOT_FOUND", "no such order", "INVALID_REQUEST_ERROR")
        else:
            s, b = square_error(404, "NOT_FOUND", "no route %s %s" % (self.command, path))
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
                 "token_ttl", "expire_tokens", "order_delay"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError("unknown state keys: " + ", ".join(sorted(unknown)))
        if "sold_out" in doc:
            if not isinstance(doc["sold_out"], list):
                raise ValueError("sold_out must be a list of ids")
            state.sold_out = set(str(i) for i in doc["sold_out"])
        if "remove_item" in doc:
            rid = doc["remove_item"]
            state.catalog = [o for o in state.catalog if o["id"] != rid]
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
        if "order_delay" in doc:
            state.order_delay = float(doc["order_delay"])
        if "order_state" in doc:
            o = doc["order_state"]
            for made in state.orders:
                if made["id"] == o["id"]:
                    made["state"] = o.get("state", made["state"])
                    if o.get("fulfillment") and made["fulfillments"]:
                        made["fulfillments"][0]["state"] = o["fulfillment"]
                    made["version"] += 1


def main():
    ap = fake_serve.arguments(__doc__)
    ap.add_argument("--token", default="sq-test-token")
    ap.add_argument("--location", default="L-MAIN")
    args = ap.parse_args()

    state = State(args.log, args.token, args.location)
    return fake_serve.serve(Handler, state, args.port, args.portfile)


if __name__ == "__main__":
    sys.exit(main())
