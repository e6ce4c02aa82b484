#!/usr/bin/env python3
"""A fake of Toast's partner API for tests: one restaurant, its menu, stock,
dining options and orders, on Toast's own paths and JSON shapes. Standard
library only.

    fake_toast.py --port 0 --portfile FILE --log FILE.jsonl

Listens on 127.0.0.1 (port 0: any free port), writes the port to --portfile
once listening (atomically), and appends every API request (not the control
requests) to --log as one JSON line, flushed at once:

    {"time": "...Z", "method": "GET", "path": "/menus/v2/menus", "query": "",
     "headers": {"authorization": "Bearer ...", ...}, "body": ""}

Toast's API, as far as Consult uses it:

    POST /authentication/v1/authentication/login   machine-client login
         {"clientId", "clientSecret", "userAccessType": "TOAST_MACHINE_CLIENT"}
         -> {"token": {"tokenType": "Bearer", "accessToken", "expiresIn", ...},
             "status": "SUCCESS"}; a wrong id or secret answers 401
    GET  /menus/v2/menus, /menus/v2/metadata
    GET  /stock/v1/inventory[?status=]   POST /stock/v1/inventory/search
    PUT  /stock/v1/inventory/update
    GET  /config/v2/diningOptions        paginated: Toast-Next-Page-Token
                                         header, ?pageToken= for the next page
    POST /orders/v2/orders               externalId unique: a second order
                                         with the same one answers 409
    GET  /orders/v2/orders/{guid or externalId}
    GET  /orders/v2/ordersBulk           ?page=&pageSize= (1-based pages)

Every call but the login needs "Authorization: Bearer <a live token>" (else
401) and "Toast-Restaurant-External-ID: <the restaurant>" (missing: 400,
another restaurant: 403). Errors are Toast's ErrorMessage objects.

The control API (tests/unit/pos_fixture.h), never logged:

    POST /_control/state  a JSON object, any of:
         {"sold_out": ["guid", ...]}   the out-of-stock items, replacing
         {"remove_item": "guid"}       delete an item (or a list of them)
         {"page_size": N}              paginate list answers N per page
                                       (dining options, ordersBulk); null: off
         {"fail": {"status": 503, "times": 2, "retry_after": 1,
                   "path": "glob"}}    the next N matching API calls fail
         {"malformed": N}              the next N API answers are broken JSON
         {"token_ttl": seconds}        expiresIn of tokens issued from now on
         {"expire_tokens": true}       every issued token stops working now
         {"quantity": {"guid": N}}     QUANTITY stock (0: out of stock)
         {"order_state": {"id": "guid or externalId",
                          "approvalStatus": "APPROVED",
                          "fulfillmentStatus": "READY", "voided": false}}
    POST /_control/reset               back to the built-in catalog
    GET  /_control/requests            the logged requests, a JSON array
    DELETE /_control/requests          forget them
    GET  /_control/orders              the orders received, a JSON array

The built-in catalog: one menu, six categories once flattened (Pizzas,
Salads, Drinks with nested Hot drinks and Cold drinks, Desserts), eleven
visible items priced as Toast writes decimals (12.10, 14.5, 9, 0.5, ...),
one hidden item (no ORDERING_PARTNERS visibility), one open-priced item
(price null), three modifier groups (Size: required, choose exactly one),
Soda out of stock, Cannoli in limited QUANTITY. SIGTERM or SIGINT stop the
server cleanly.
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
from urllib.parse import parse_qs, unquote, urlsplit

RESTAURANT = "6f1b8e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
CLIENT_ID = "consult-fake-client"
CLIENT_SECRET = "consult-fake-secret-0123456789"
CONTROL = "/_control/"
DEFAULT_TTL = 86400


def gid(kind, n):
    """A deterministic GUID: kind 1 menus, 2 groups, 3 items, 4 modifier
    groups, 5 options, 6 dining options."""
    return "%d0000000-0000-4000-8000-%012d" % (kind, n)


class Raw(str):
    """A JSON number written exactly as given (12.10 stays 12.10)."""


def encode(o):
    if isinstance(o, Raw):
        return str(o)
    if isinstance(o, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + encode(v)
                              for k, v in o.items()) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(encode(v) for v in o) + "]"
    return json.dumps(o)


PARTNERS = ["POS", "KIOSK", "TOAST_ONLINE_ORDERING", "ORDERING_PARTNERS"]

# (guid, name, price text or None, modifier group refs, visibility)
MARGHERITA = gid(3, 1)
SODA = gid(3, 10)
CANNOLI = gid(3, 11)
TIRAMISU = gid(3, 12)
PARTY_TRAY = gid(3, 13)
GROUPS = [
    (gid(2, 1), "Pizzas", "Stone-baked, 12 or 16 inches", [
        (MARGHERITA, "Margherita", "12.10", [1, 2], PARTNERS),
        (gid(3, 2), "Pepperoni", "14.5", [1, 2], PARTNERS),
        (gid(3, 3), "Veggie", "13.00", [1, 2], PARTNERS),
    ], []),
    (gid(2, 2), "Salads", None, [
        (gid(3, 4), "Caesar", "9", [3], PARTNERS),
        (gid(3, 5), "Greek", "10.25", [3], PARTNERS),
    ], []),
    (gid(2, 3), "Drinks", None, [
        (gid(3, 6), "Bottled water", "0.5", [], PARTNERS),
    ], [
        (gid(2, 4), "Hot drinks", None, [
            (gid(3, 7), "Coffee", "2.75", [], PARTNERS),
            (gid(3, 8), "Tea", "2.5", [], PARTNERS),
        ], []),
        (gid(2, 5), "Cold drinks", None, [
            (gid(3, 9), "Lemonade", "3.5", [], PARTNERS),
            (SODA, "Soda", "2", [], PARTNERS),
        ], []),
    ]),
    (gid(2, 6), "Desserts", None, [
        (CANNOLI, "Cannoli", "4", [], PARTNERS),
        (TIRAMISU, "Tiramisu", "6.95", [], ["POS"]),
        (PARTY_TRAY, "Party tray", None, [], PARTNERS),
    ], []),
]
# referenceId -> (guid, name, min, max or None, requiredMode, multi, options)
MODIFIER_GROUPS = {
    1: (gid(4, 1), "Size", 1, 1, "REQUIRED", False, [10, 11]),
    2: (gid(4, 2), "Toppings", 0, 3, "OPTIONAL", True, [12, 13, 14]),
    3: (gid(4, 3), "Dressing", 0, None, "OPTIONAL_FORCE_SHOW", True, [15, 16]),
}
# referenceId -> (guid, name, price text)
OPTIONS = {
    10: (gid(5, 10), "12-inch", "0"),
    11: (gid(5, 11), "16-inch", "4.50"),
    12: (gid(5, 12), "Mushrooms", "1.25"),
    13: (gid(5, 13), "Olives", "0.75"),
    14: (gid(5, 14), "Extra cheese", "1.5"),
    15: (gid(5, 15), "Ranch", "0"),
    16: (gid(5, 16), "Vinaigrette", "0.5"),
}
DINING_OPTIONS = [
    {"guid": gid(6, 1), "entityType": "DiningOption", "externalId": None,
     "name": "Dine In", "behavior": "DINE_IN", "curbside": False},
    {"guid": gid(6, 2), "entityType": "DiningOption", "externalId": None,
     "name": "Delivery", "behavior": "DELIVERY", "curbside": False},
    {"guid": gid(6, 3), "entityType": "DiningOption", "externalId": None,
     "name": "Curbside", "behavior": "TAKE_OUT", "curbside": True},
    {"guid": gid(6, 4), "entityType": "DiningOption", "externalId": None,
     "name": "Take Out", "behavior": "TAKE_OUT", "curbside": False},
]
TAKE_OUT = gid(6, 4)


def all_items():
    def walk(groups):
        for g in groups:
            for it in g[3]:
                yield it
            yield from walk(g[4])
    return list(walk(GROUPS))


ITEM_GUIDS = {it[0] for it in all_items()}
OPTION_GUIDS = {o[0] for o in OPTIONS.values()}


def now_iso(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03d+0000" % int(t % 1 * 1000)


def error(status, message, code=None):
    return {"status": status, "code": code or status * 100, "message": message,
            "messageKey": None, "fieldName": None, "link": None,
            "requestId": uuid.uuid4().hex, "developerMessage": message,
            "errors": [], "canRetry": None}


class State:
    def __init__(self, log_path):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.requests = []
        self.reset()

    def reset(self):
        self.sold_out = {SODA}
        self.quantity = {CANNOLI: 3.0}
        self.removed = set()
        self.page_size = None
        self.fails = []
        self.malformed = 0
        self.token_ttl = DEFAULT_TTL
        self.tokens = {}            # token -> expiry (time.time())
        self.orders = []            # Order objects, with "_request"
        self.order_state = {}

    def record(self, entry):
        line = json.dumps(entry, ensure_ascii=False)
        with self.lock:
            self.requests.append(entry)
            if self.log:
                self.log.write(line + "\n")
                self.log.flush()

    def take_fail(self, path):
        with self.lock:
            for i, f in enumerate(self.fails):
                if fnmatch.fnmatchcase(path, f.get("path") or "*"):
                    f["times"] -= 1
                    if f["times"] <= 0:
                        del self.fails[i]
                    return dict(f)
        return None

    def take_malformed(self):
        with self.lock:
            if self.malformed > 0:
                self.malformed -= 1
                return True
        return False

    def close(self):
        with self.lock:
            if self.log:
                self.log.close()
                self.log = None

    # ---- the restaurant's data, as Toast writes it --------------------

    def menu(self):
        def item(it, sort):
            guid, name, price, refs, vis = it
            return {
                "name": name, "kitchenName": name.upper(), "guid": guid,
                "multiLocationId": str(int(guid[-6:]) + 100000), "masterId": None,
                "description": "" if name != "Margherita" else "Tomato, mozzarella, basil",
                "posName": name, "posButtonColorLight": "#FFFFFF",
                "posButtonColorDark": "#000000",
                "image": None if name != "Margherita"
                else "https://images.example.com/margherita.jpg",
                "visibility": vis, "price": Raw(price) if price is not None else None,
                "pricingStrategy": "BASE_PRICE" if price is not None else "OPEN_PRICE",
                "pricingRules": None, "isDeferred": False, "isDiscountable": True,
                "salesCategory": None, "taxInfo": [], "taxInclusion": "TAX_NOT_INCLUDED",
                "itemTags": [], "plu": "", "sku": "", "calories": None,
                "contentAdvisories": None, "unitOfMeasure": "NONE", "portions": [],
                "prepTime": None, "prepStations": [], "modifierGroupReferences": refs,
                "eligiblePaymentAssistancePrograms": [], "allergens": None,
                "length": None, "height": None, "width": None,
                "dimensionUnitOfMeasure": None, "weight": None,
                "weightUnitOfMeasure": None, "images": [], "guestCount": None,
                "sortOrder": sort, "catalogProductInfo": None, "isComboParent": False,
            }

        def group(g):
            guid, name, desc, items, kids = g
            return {
                "name": name, "guid": guid, "multiLocationId": None, "masterId": None,
                "description": desc, "posName": name, "posButtonColorLight": None,
                "posButtonColorDark": None, "image": None, "visibility": PARTNERS,
                "itemTags": [],
                "menuGroups": [group(k) for k in kids],
                "menuItems": [item(it, i) for i, it in enumerate(items)
                              if it[0] not in self.removed],
            }

        groups_ref = {}
        for ref, (guid, name, mn, mx, mode, multi, opts) in MODIFIER_GROUPS.items():
            groups_ref[str(ref)] = {
                "name": name, "guid": guid, "referenceId": ref, "multiLocationId": None,
                "masterId": None, "posName": name, "visibility": PARTNERS,
                "pricingStrategy": "NONE", "pricingRules": None,
                "defaultOptionsChargePrice": "YES",
                "defaultOptionsSubstitutionPricing": "NO",
                "minSelections": mn, "maxSelections": mx, "requiredMode": mode,
                "isMultiSelect": multi, "preModifierGroupReference": None,
                "modifierOptionReferences": opts,
            }
        options_ref = {}
        for ref, (guid, name, price) in OPTIONS.items():
            options_ref[str(ref)] = {
                "referenceId": ref, "name": name, "kitchenName": name, "guid": guid,
                "multiLocationId": None, "masterId": None, "description": "",
                "posName": name, "prepStations": [], "image": None,
                "visibility": PARTNERS, "price": Raw(price),
                "pricingStrategy": "BASE_PRICE", "pricingRules": None,
                "salesCategory": None, "taxInfo": [], "modifierOptionTaxInfo": None,
                "itemTags": [], "plu": "", "sku": "", "calories": None,
                "contentAdvisories": None, "unitOfMeasure": "NONE", "isDefault": False,
                "allowsDuplicates": False, "portions": [], "prepTime": None,
                "modifierGroupReferences": [], "sortOrder": None, "allergens": None,
            }
        return {
            "restaurantGuid": RESTAURANT,
            "lastUpdated": "2024-05-01T12:00:00.000+0000",
            "restaurantTimeZone": "America/New_York",
            "menus": [{
                "name": "Dinner", "guid": gid(1, 1), "multiLocationId": None,
                "masterId": None, "description": "", "posName": "Dinner",
                "posButtonColorLight": None, "posButtonColorDark": None,
                "highResImage": None, "image": None, "visibility": PARTNERS,
                "availability": {"alwaysAvailable": True, "schedule": None},
                "menuGroups": [group(g) for g in GROUPS],
            }],
            "modifierGroupReferences": groups_ref,
            "modifierOptionReferences": options_ref,
            "preModifierGroupReferences": {},
        }

    def inventory(self, guid):
        """MenuItemInventory of a known item or option, or None (in stock
        items have none unless asked for)."""
        if guid in self.sold_out:
            status, qty = "OUT_OF_STOCK", None
        elif guid in self.quantity:
            qty = self.quantity[guid]
            status = "QUANTITY" if qty > 0 else "OUT_OF_STOCK"
            qty = qty if qty > 0 else None
        else:
            return None
        return {"guid": guid, "itemGuidValidity": "VALID", "status": status,
                "quantity": qty, "multiLocationId": None, "versionId": guid}

    def known(self, guid):
        return (guid in ITEM_GUIDS or guid in OPTION_GUIDS) and guid not in self.removed


def order_view(order, state):
    o = dict(order)
    o.pop("_request", None)
    extra = state.order_state.get(o["guid"], {})
    for k in ("approvalStatus", "voided", "deleted", "guestOrderStatus"):
        if k in extra:
            o[k] = extra[k]
    if "fulfillmentStatus" in extra:
        o["checks"] = copy.deepcopy(o["checks"])
        for ck in o["checks"]:
            for sel in ck["selections"]:
                sel["fulfillmentStatus"] = extra["fulfillmentStatus"]
    return o


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "FakeToast/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the base's name
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, body, headers=None):
        if isinstance(body, (dict, list)) or body is None:
            body = encode(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def dispatch(self):
        state = self.server.state
        url = urlsplit(self.path)
        body = self.read_body().decode("utf-8", "replace")
        if url.path.startswith(CONTROL):
            self.control(state, url.path[len(CONTROL):], body)
            return
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        state.record({"time": now_iso().replace("+0000", "Z"), "method": self.command,
                      "path": url.path, "query": url.query, "headers": headers,
                      "body": body})
        fail = state.take_fail(url.path)
        if fail:
            extra = {}
            if fail.get("retry_after") is not None:
                extra["Retry-After"] = fail["retry_after"]
            status = int(fail.get("status", 503))
            self.send(status, error(status, "injected failure"), extra)
            return
        if state.take_malformed():
            self.send(200, '{"menus": [{"name": "Dinner", "menuGroups": [')
            return
        q = parse_qs(url.query)
        path = url.path
        if path == "/authentication/v1/authentication/login" and self.command == "POST":
            self.login(state, body)
            return
        if not self.authorized(state):
            return
        try:
            self.route(state, path, q, body)
        except ValueError as e:
            self.send(400, error(400, "bad request: %s" % e))

    def authorized(self, state):
        auth = self.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else None
        with state.lock:
            exp = state.tokens.get(token)
        if exp is None or exp <= time.time():
            self.send(401, error(401, "Authentication failed: the token is missing, "
                                      "expired or unknown", 10010))
            return False
        rid = self.headers.get("Toast-Restaurant-External-ID")
        if not rid:
            self.send(400, error(400, "Toast-Restaurant-External-ID is required"))
            return False
        if rid != RESTAURANT:
            self.send(403, error(403, "access to this restaurant is not allowed"))
            return False
        return True

    def login(self, state, body):
        try:
            doc = json.loads(body)
        except ValueError:
            self.send(400, error(400, "the login body is not JSON"))
            return
        if not isinstance(doc, dict) or doc.get("userAccessType") != "TOAST_MACHINE_CLIENT":
            self.send(400, error(400, "userAccessType must be TOAST_MACHINE_CLIENT"))
            return
        if doc.get("clientId") != CLIENT_ID or doc.get("clientSecret") != CLIENT_SECRET:
            self.send(401, error(401, "Access denied", 10010))
            return
        token = "fake." + uuid.uuid4().hex + "." + uuid.uuid4().hex
        with state.lock:
            ttl = state.token_ttl
            state.tokens[token] = time.time() + ttl
        self.send(200, {"token": {"tokenType": "Bearer", "scope": None, "expiresIn": ttl,
                                  "accessToken": token, "idToken": None,
                                  "refreshToken": None},
                        "status": "SUCCESS"})

    def route(self, state, path, q, body):
        m = self.command
        if m == "GET" and path == "/menus/v2/menus":
            with state.lock:
                menu = state.menu()
            self.send(200, menu)
        elif m == "GET" and path == "/menus/v2/metadata":
            self.send(200, {"restaurantGuid": RESTAURANT,
                            "lastUpdated": "2024-05-01T12:00:00.000+0000"})
        elif m == "GET" and path == "/stock/v1/inventory":
            want = q.get("status", [None])[0]
            with state.lock:
                out = [state.inventory(g) for g in sorted(ITEM_GUIDS | OPTION_GUIDS)
                       if g not in state.removed]
            out = [e for e in out if e and (want is None or e["status"] == want)]
            self.send(200, out)
        elif m == "POST" and path == "/stock/v1/inventory/search":
            doc = json.loads(body)
            out = []
            with state.lock:
                for g in doc.get("guids") or []:
                    if not state.known(g):
                        out.append({"guid": g, "itemGuidValidity": "INVALID",
                                    "status": None, "quantity": None,
                                    "multiLocationId": None, "versionId": None})
                    else:
                        out.append(state.inventory(g) or {
                            "guid": g, "itemGuidValidity": "VALID", "status": "IN_STOCK",
                            "quantity": None, "multiLocationId": None, "versionId": g})
            self.send(200, out)
        elif m == "PUT" and path == "/stock/v1/inventory/update":
            self.stock_update(state, body)
        elif m == "GET" and path == "/config/v2/diningOptions":
            self.dining(state, q)
        elif m == "POST" and path == "/orders/v2/orders":
            self.post_order(state, body)
        elif m == "GET" and path == "/orders/v2/ordersBulk":
            self.orders_bulk(state, q)
        elif m == "GET" and path.startswith("/orders/v2/orders/"):
            key = unquote(path[len("/orders/v2/orders/"):])
            with state.lock:
                found = [o for o in state.orders
                         if o["guid"] == key or o.get("externalId") == key]
                view = order_view(found[0], state) if found else None
            if view:
                self.send(200, view)
            else:
                self.send(404, error(404, "no order %s" % key))
        else:
            self.send(404, error(404, "no such endpoint: %s %s" % (m, path)))

    def stock_update(self, state, body):
        doc = json.loads(body)
        if not isinstance(doc, list):
            raise ValueError("expected an array of MenuItemInventory")
        out = []
        with state.lock:
            for e in doc:
                g = e.get("guid") if isinstance(e, dict) else None
                status = e.get("status") if isinstance(e, dict) else None
                if not g or not state.known(g):
                    out.append({"guid": g, "itemGuidValidity": "INVALID", "status": status,
                                "quantity": None, "multiLocationId": None,
                                "versionId": None})
                    continue
                if status == "OUT_OF_STOCK":
                    state.sold_out.add(g)
                    state.quantity.pop(g, None)
                elif status == "IN_STOCK":
                    state.sold_out.discard(g)
                    state.quantity.pop(g, None)
                elif status == "QUANTITY" and isinstance(e.get("quantity"), (int, float)) \
                        and e["quantity"] > 0:
                    state.sold_out.discard(g)
                    state.quantity[g] = float(e["quantity"])
                else:
                    raise ValueError("bad status or quantity for %s" % g)
                out.append(state.inventory(g) or {
                    "guid": g, "itemGuidValidity": "VALID", "status": "IN_STOCK",
                    "quantity": None, "multiLocationId": None, "versionId": g})
        self.send(200, out)

    def dining(self, state, q):
        with state.lock:
            size = state.page_size
        start = 0
        token = q.get("pageToken", [None])[0]
        if token:
            if not token.startswith("page-"):
                raise ValueError("unknown pageToken")
            start = int(token[5:])
        if not size:
            self.send(200, DINING_OPTIONS)
            return
        page = DINING_OPTIONS[start:start + size]
        headers = {}
        if start + size < len(DINING_OPTIONS):
            headers["Toast-Next-Page-Token"] = "page-%d" % (start + size)
        self.send(200, page, headers)

    def orders_bulk(self, state, q):
        size = int(q.get("pageSize", ["100"])[0])
        page = int(q.get("page", ["1"])[0])
        with state.lock:
            if state.page_size:
                size = min(size, state.page_size)
            views = [order_view(o, state) for o in state.orders]
        size = max(1, min(size, 100))
        chunk = views[(page - 1) * size:page * size]
        headers = {}
        if page * size < len(views):
            headers["Link"] = '</orders/v2/ordersBulk?page=%d&pageSize=%d>; rel="next"' \
                              % (page + 1, size)
        self.send(200, chunk, headers)

    def post_order(self, state, body):
        doc = json.loads(body)
        if not isinstance(doc, dict):
            raise ValueError("an Order must be an object")
        dining = (doc.get("diningOption") or {}).get("guid")
        if dining not in {d["guid"] for d in DINING_OPTIONS}:
            self.send(400, error(400, "diningOption is missing or unknown"))
            return
        checks = doc.get("checks")
        if not isinstance(checks, list) or not checks:
            raise ValueError("checks must be a non-empty array")
        ext = doc.get("externalId")
        out_checks = []
        with state.lock:
            if ext and any(o.get("externalId") == ext for o in state.orders):
                self.send(409, error(409, "An order with externalId %s already exists"
                                          % ext))
                return
            for ck in checks:
                sels = ck.get("selections") if isinstance(ck, dict) else None
                if not isinstance(sels, list) or not sels:
                    raise ValueError("each check needs selections")
                cust = ck.get("customer")
                if dining == TAKE_OUT and not (isinstance(cust, dict) and cust.get("firstName")
                                               and cust.get("lastName")):
                    raise ValueError("a takeout order needs a customer")
                out_sels = []
                for s in sels:
                    g = ((s or {}).get("item") or {}).get("guid")
                    if g not in ITEM_GUIDS or g in state.removed:
                        self.send(400, error(400, "unknown menu item %s" % g))
                        return
                    if g in state.sold_out:
                        self.send(400, error(400, "menu item %s is out of stock" % g))
                        return
                    qty = s.get("quantity")
                    if not isinstance(qty, (int, float)) or qty <= 0:
                        raise ValueError("quantity must be positive")
                    mods = []
                    for md in s.get("modifiers") or []:
                        mg = ((md or {}).get("item") or {}).get("guid")
                        if mg not in OPTION_GUIDS:
                            self.send(400, error(400, "unknown modifier option %s" % mg))
                            return
                        mods.append({"guid": str(uuid.uuid4()),
                                     "entityType": "MenuItemSelection",
                                     "item": {"guid": mg, "entityType": "MenuItem"},
                                     "quantity": md.get("quantity", 1),
                                     "fulfillmentStatus": "NEW", "voided": False})
                    out_sels.append({"guid": str(uuid.uuid4()),
                                     "entityType": "MenuItemSelection",
                                     "item": {"guid": g, "entityType": "MenuItem"},
                                     "quantity": qty, "modifiers": mods,
                                     "fulfillmentStatus": "NEW", "voided": False})
                out_checks.append({"guid": str(uuid.uuid4()), "entityType": "Check",
                                   "customer": cust, "selections": out_sels,
                                   "paymentStatus": "OPEN", "voided": False,
                                   "deleted": False})
            order = {"guid": str(uuid.uuid4()), "entityType": "Order", "externalId": ext,
                     "diningOption": {"guid": dining, "entityType": "DiningOption"},
                     "promisedDate": doc.get("promisedDate"),
                     "openedDate": now_iso(), "createdDate": now_iso(),
                     "approvalStatus": "APPROVED", "source": "API",
                     "voided": False, "deleted": False, "checks": out_checks,
                     "_request": doc}
            state.orders.append(order)
            view = order_view(order, state)
        self.send(200, view)

    def control(self, state, what, text):
        m = self.command
        if what == "state" and m == "POST":
            try:
                doc = json.loads(text)
                if not isinstance(doc, dict):
                    raise ValueError("the state must be an object")
                self.apply_state(state, doc)
            except (ValueError, TypeError, KeyError) as e:
                self.send(400, {"error": str(e)})
                return
            self.send(200, {"ok": True})
        elif what == "reset" and m == "POST":
            with state.lock:
                state.reset()
            self.send(200, {"ok": True})
        elif what == "requests" and m == "GET":
            with state.lock:
                reqs = list(state.requests)
            self.send(200, json.dumps(reqs))
        elif what == "requests" and m == "DELETE":
            with state.lock:
                state.requests.clear()
            self.send(200, {"requests": 0})
        elif what == "orders" and m == "GET":
            with state.lock:
                out = []
                for o in state.orders:
                    v = order_view(o, state)
                    v["request"] = o["_request"]
                    out.append(v)
            self.send(200, json.dumps(out))
        else:
            self.send(404, {"error": "unknown control request %s /_control/%s" % (m, what)})

    @staticmethod
    def apply_state(state, doc):
        known = {"sold_out", "remove_item", "page_size", "fail", "malformed", "token_ttl",
                 "expire_tokens", "quantity", "order_state"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError("unknown state keys: " + ", ".join(sorted(unknown)))
        with state.lock:
            if "sold_out" in doc:
                if not isinstance(doc["sold_out"], list):
                    raise ValueError("sold_out must be a list")
                state.sold_out = set(doc["sold_out"])
            if "remove_item" in doc:
                ids = doc["remove_item"]
                state.removed |= set(ids if isinstance(ids, list) else [ids])
            if "page_size" in doc:
                n = doc["page_size"]
                if n is not None and (not isinstance(n, int) or n < 1):
                    raise ValueError("page_size must be a positive integer or null")
                state.page_size = n
            if "fail" in doc:
                f = dict(doc["fail"])
                f.setdefault("status", 503)
                f.setdefault("times", 1)
                if not isinstance(f["times"], int) or f["times"] < 1:
                    raise ValueError("fail.times must be a positive integer")
                state.fails.append(f)
            if "malformed" in doc:
                state.malformed = int(doc["malformed"])
            if "token_ttl" in doc:
                state.token_ttl = int(doc["token_ttl"])
            if doc.get("expire_tokens"):
                state.tokens.clear()
            if "quantity" in doc:
                for g, n in doc["quantity"].items():
                    state.sold_out.discard(g)
                    state.quantity[g] = float(n)
            if "order_state" in doc:
                s = dict(doc["order_state"])
                key = s.pop("id")
                found = [o for o in state.orders
                         if o["guid"] == key or o.get("externalId") == key]
                if not found:
                    raise ValueError("no order %s" % key)
                state.order_state.setdefault(found[0]["guid"], {}).update(s)


def main():
    ap = fake_serve.arguments(__doc__)
    args = ap.parse_args()

    state = State(args.log)
    return fake_serve.serve(Handler, state, args.port, args.portfile)


if __name__ == "__main__":
    sys.exit(main())
