#!/usr/bin/env python3
"""A fake Stripe (PaymentIntents, Refunds, Events and signed webhooks) in
test mode, for the Stripe unit tests and later the online-ordering module.
Standard library only.

    fake_stripe.py --port 0 --portfile FILE --log FILE.jsonl [--webhook URL --secret WHSEC]

Listens on 127.0.0.1 (port 0: any free port), writes the port to
--portfile once listening (the file appears complete), and appends every
API request to --log as one JSON line, flushed at once:
{"time","method","path","query","headers","body"} (header names lowercased).

The API it speaks (v1, form-encoded bodies with bracketed names, JSON
answers shaped as Stripe's; every answer has a Request-Id header):

    POST /v1/payment_intents               amount (integer, smallest unit, >= 50),
                                           currency, automatic_payment_methods[enabled],
                                           metadata[k], description, receipt_email,
                                           confirm + payment_method (optional)
    GET  /v1/payment_intents/ID
    POST /v1/payment_intents/ID/confirm    payment_method=pm_card_visa (or
                                           payment_method_data[card][number]=...)
    POST /v1/payment_intents/ID/cancel     cancellation_reason (a succeeded, processing
                                           or canceled intent: 400)
    POST /v1/refunds                       payment_intent (or charge), amount
                                           (optional: the rest), reason, metadata[k]
    GET  /v1/refunds/ID, GET /v1/charges/ID
    GET  /v1/events/ID, GET /v1/events     the events made, newest first

Test cards: pm_card_visa, pm_card_mastercard, 4242424242424242 and
5555555555554444 succeed; pm_card_chargeDeclined, 4000000000000002 are
declined (card_declined / generic_decline), and
pm_card_chargeDeclinedInsufficientFunds, 4000000000009995 with
insufficient_funds: the confirm answers 402 with a card_error carrying the
PaymentIntent, which is back to requires_payment_method with its
last_payment_error set.

Every API call needs "Authorization: Bearer sk_test_..." (else 401).
Idempotency as Stripe's v1: a POST with an Idempotency-Key is executed
once; the same key with the same method, path and parameters answers the
saved status and body again (with Idempotent-Replayed: true); the same key
with anything else answers 400 idempotency_error. Answers to requests that
failed validation (a 400 before anything was done) are not saved.

Events are made as Stripe makes them (payment_intent.created,
charge.succeeded, payment_intent.succeeded, charge.failed,
payment_intent.payment_failed, charge.refunded, refund.created,
charge.dispute.created) and, when a webhook target is set, POSTed to it in
order by one sender thread after the answer that caused them, with
Stripe-Signature: t=<now>,v1=<hex HMAC-SHA256 of "t.body" under the
secret as given>[,v1=... per further secret],v0=<a test-mode signature
under another key, to be ignored>. The body is the event as pretty JSON.

For the browser (the offline demo and the checkout tests), as Stripe.js
talks to Stripe: every answer carries Access-Control-Allow-Origin: *;
GET /v3/ serves a small stand-in for Stripe.js with the surface our pay page
uses (Stripe(pk), .elements({clientSecret}).create("payment").mount(el),
.confirmPayment({elements, confirmParams: {return_url}})) whose card form is
one number field; and POST /v1/payment_intents/ID/confirm also accepts, as
Stripe does for Stripe.js, key=pk_test_... with the intent's client_secret
instead of a secret key.

The control API, never logged:
    POST /_control/state            {"fail": {"status": 500, "times": 1,
                                              "path": "/v1/refunds*",
                                              "after": false,
                                              "headers": {"Stripe-Should-Retry": "false"}}}
                                    the next N API requests matching path
                                    (fnmatch) fail with status (a Stripe
                                    error body; 0: the connection is closed
                                    without an answer). after=true: the
                                    request is carried out (and its answer
                                    saved for its Idempotency-Key) first,
                                    so only the answer is lost.
    POST /_control/webhook_target   {"url": "http://...", "secret": "whsec_..."}
                                    ("secrets": [old, new] signs with each;
                                    "types": [...] only those types, as an
                                    endpoint's enabled_events); {"url": null} stops
    GET  /_control/webhooks         the deliveries made: [{"event", "type", "url",
                                    "signature", "body", "answer"}] (answer: the
                                    HTTP status, or the error as a string)
    DELETE /_control/webhooks
    POST /_control/dispute          {"payment_intent": "pi_...", "reason": "fraudulent"}:
                                    a dispute on its charge (charge.dispute.created)
    GET  /_control/requests, DELETE /_control/requests
    GET  /_control/intents          every PaymentIntent, oldest first
    POST /_control/reset            no objects, events, rules or requests
SIGTERM or SIGINT stop it cleanly.
"""

import fake_serve
import argparse
import base64
import fnmatch
import hashlib
import hmac
import http.client
import json
import os
import queue
import secrets
import signal
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

CONTROL = "/_control/"
DEFAULT_VERSION = "2026-07-29.dahlia"
ALNUM = string.ascii_letters + string.digits
V0_KEY = b"fake-stripe-v0-key"          # v0 is never valid for anyone's secret

SUCCEEDS = {"pm_card_visa", "pm_card_mastercard", "pm_card_amex",
            "4242424242424242", "5555555555554444"}
DECLINES = {"pm_card_chargeDeclined": "generic_decline",
            "pm_card_visa_chargeDeclined": "generic_decline",
            "4000000000000002": "generic_decline",
            "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
            "4000000000009995": "insufficient_funds"}
DECLINE_MESSAGES = {"generic_decline": "Your card was declined.",
                    "insufficient_funds": "Your card has insufficient funds."}


STRIPE_JS = r"""// Stand-in for Stripe.js (test mode, offline), served by tests/fakes/fake_stripe.py.
(function () {
  "use strict";
  var origin = new URL(document.currentScript.src).origin;
  window.Stripe = function (pk) {
    return {
      elements: function (opts) {
        var els = { secret: opts && opts.clientSecret, input: null };
        els.create = function () {
          return { mount: function (where) {
            var box = typeof where === "string" ? document.querySelector(where) : where;
            var label = document.createElement("label");
            label.htmlFor = "stand-in-card";
            label.textContent = "Card number (test mode: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined)";
            var input = document.createElement("input");
            input.id = "stand-in-card";
            input.inputMode = "numeric";
            input.autocomplete = "cc-number";
            input.placeholder = "4242 4242 4242 4242";
            box.textContent = "";
            box.appendChild(label);
            box.appendChild(input);
            els.input = input;
          } };
        };
        return els;
      },
      confirmPayment: function (args) {
        var els = args.elements, secret = els.secret || "";
        var pi = secret.split("_secret_")[0];
        var body = new URLSearchParams();
        body.set("key", pk);
        body.set("client_secret", secret);
        body.set("payment_method_data[type]", "card");
        body.set("payment_method_data[card][number]", (els.input && els.input.value || "").replace(/\D/g, ""));
        return fetch(origin + "/v1/payment_intents/" + pi + "/confirm", { method: "POST", body: body })
          .then(function (r) {
            return r.json().then(function (j) {
              if (r.ok && j.status === "succeeded") {
                var u = new URL(args.confirmParams.return_url);
                u.searchParams.set("payment_intent", pi);
                u.searchParams.set("redirect_status", "succeeded");
                window.location.assign(u.toString());
                return new Promise(function () {});
              }
              return { error: j.error || { message: "The payment did not go through." } };
            });
          })
          .catch(function () { return { error: { message: "Stripe could not be reached." } }; });
      }
    };
  };
})();
"""


def new_id(prefix, n=24):
    return prefix + "".join(secrets.choice(ALNUM) for _ in range(n))


class StripeError(Exception):
    """An answer other than 2xx: status and Stripe's error object."""

    def __init__(self, status, etype, message, code=None, param=None, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": dict({"type": etype, "message": message}, **extra)}
        if code:
            self.body["error"]["code"] = code
            self.body["error"]["doc_url"] = "https://stripe.com/docs/error-codes/" \
                + code.replace("_", "-")
        if param:
            self.body["error"]["param"] = param


def invalid(message, code=None, param=None, status=400, **extra):
    return StripeError(status, "invalid_request_error", message, code, param, **extra)


def nest(pairs):
    """Form pairs with bracketed names ("metadata[order_id]") as nested dicts."""
    out = {}
    for name, value in pairs:
        parts = name.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return out


def integer(params, name, required=False):
    value = params.get(name)
    if value is None:
        if required:
            raise invalid("Missing required param: %s." % name, "parameter_missing", name)
        return None
    if not isinstance(value, str) or not value.isdigit():
        raise invalid("Invalid integer: %s" % value, "parameter_invalid_integer", name)
    return int(value)


def metadata(params):
    meta = params.get("metadata") or {}
    if not isinstance(meta, dict):
        raise invalid("Invalid object", "parameter_invalid_empty", "metadata")
    if len(meta) > 50:
        raise invalid("You can only specify up to 50 metadata keys.", "parameter_invalid_empty",
                      "metadata")
    for key, value in meta.items():
        if not isinstance(value, str) or len(key) > 40 or len(value) > 500:
            raise invalid("Invalid metadata", "parameter_invalid_empty", "metadata[%s]" % key)
    return dict(meta)


class State:
    def __init__(self, log_path):
        self.lock = threading.Lock()
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.stop = threading.Event()
        self.outbox = queue.Queue()
        self.reset()

    def reset(self):
        self.intents = {}       # id -> PaymentIntent, insertion order = creation order
        self.charges = {}
        self.refunds = {}
        self.disputes = {}
        self.events = []        # oldest first
        self.idem = {}          # key -> {"fingerprint", "status", "body"}
        self.fails = []
        self.requests = []
        self.deliveries = []
        self.target = None      # {"url", "secrets", "types"}

    def record(self, entry):
        self.requests.append(entry)
        if self.log:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()

    def close(self):
        if self.log:
            self.log.close()
            self.log = None

    # ---- events ----------------------------------------------------------

    def event(self, etype, obj, ctx):
        """Make an event now; it is sent (ctx["pending"]) after the answer."""
        ev = {"id": new_id("evt_"), "object": "event", "api_version": ctx["version"],
              "created": int(time.time()), "data": {"object": json.loads(json.dumps(obj))},
              "livemode": False, "pending_webhooks": 1 if self.target else 0,
              "request": {"id": ctx["request_id"], "idempotency_key": ctx["key"]},
              "type": etype}
        self.events.append(ev)
        # The endpoint as it is now decides who gets it, not as it is when
        # the sender gets round to it.
        t = self.target
        if t and ("*" in t["types"] or etype in t["types"]):
            ctx["pending"].append((ev, dict(t)))
        return ev

    # ---- objects ---------------------------------------------------------

    def intent(self, pid):
        pi = self.intents.get(pid)
        if not pi:
            raise invalid("No such payment_intent: '%s'" % pid, "resource_missing", "intent",
                          status=404)
        return pi

    def create_intent(self, params, ctx):
        amount = integer(params, "amount", True)
        currency = params.get("currency")
        if not currency:
            raise invalid("Missing required param: currency.", "parameter_missing", "currency")
        currency = currency.lower()
        if len(currency) != 3 or not currency.isalpha():
            raise invalid("Invalid currency: %s." % currency, "parameter_invalid_empty",
                          "currency")
        if amount < 50:
            raise invalid("Amount must be at least $0.50 %s" % currency, "amount_too_small",
                          "amount")
        if amount > 99999999:
            raise invalid("Amount must be no more than $999,999.99", "amount_too_large",
                          "amount")
        meta = metadata(params)
        apm = params.get("automatic_payment_methods") or {}
        pid = new_id("pi_")
        pi = {"id": pid, "object": "payment_intent", "amount": amount,
              "amount_capturable": 0, "amount_details": {"tip": {}}, "amount_received": 0,
              "application": None, "automatic_payment_methods":
                  {"allow_redirects": "always", "enabled": True}
                  if isinstance(apm, dict) and apm.get("enabled") == "true" else None,
              "canceled_at": None, "cancellation_reason": None,
              "capture_method": "automatic_async",
              "client_secret": pid + "_secret_" + new_id("", 25),
              "confirmation_method": "automatic", "created": int(time.time()),
              "currency": currency, "customer": None,
              "description": params.get("description"), "last_payment_error": None,
              "latest_charge": None, "livemode": False, "metadata": meta,
              "next_action": None, "payment_method": None,
              "payment_method_types": ["card"], "receipt_email": params.get("receipt_email"),
              "status": "requires_payment_method"}
        self.intents[pid] = pi
        self.event("payment_intent.created", pi, ctx)
        if params.get("confirm") == "true":
            return self.confirm(pi, params, ctx)
        return 200, pi

    def confirm(self, pi, params, ctx):
        if pi["status"] not in ("requires_payment_method", "requires_confirmation"):
            raise invalid("This PaymentIntent's payment_method could not be updated because "
                          "it has a status of %s." % pi["status"],
                          "payment_intent_unexpected_state", payment_intent=pi)
        pm = params.get("payment_method")
        pmd = params.get("payment_method_data")
        if not pm and isinstance(pmd, dict) and isinstance(pmd.get("card"), dict):
            pm = pmd["card"].get("number")
        if not pm:
            raise invalid("You cannot confirm this PaymentIntent because it's missing a "
                          "payment method.", "payment_intent_unexpected_state",
                          payment_intent=pi)
        if pm not in SUCCEEDS and pm not in DECLINES:
            raise invalid("No such PaymentMethod: '%s'" % pm, "resource_missing",
                          "payment_method")
        charge = {"id": new_id("ch_"), "object": "charge", "amount": pi["amount"],
                  "amount_captured": 0, "amount_refunded": 0, "captured": False,
                  "created": int(time.time()), "currency": pi["currency"],
                  "failure_code": None, "failure_message": None, "livemode": False,
                  "metadata": dict(pi["metadata"]), "outcome": None, "paid": False,
                  "payment_intent": pi["id"], "payment_method": new_id("pm_"),
                  "refunded": False, "status": "pending"}
        self.charges[charge["id"]] = charge
        pi["latest_charge"] = charge["id"]
        pi["payment_method"] = charge["payment_method"]
        if pm in SUCCEEDS:
            charge.update(status="succeeded", paid=True, captured=True,
                          amount_captured=pi["amount"],
                          outcome={"network_status": "approved_by_network",
                                   "type": "authorized", "seller_message":
                                   "Payment complete."})
            pi.update(status="succeeded", amount_received=pi["amount"],
                      last_payment_error=None)
            self.event("charge.succeeded", charge, ctx)
            self.event("payment_intent.succeeded", pi, ctx)
            return 200, pi
        decline = DECLINES[pm]
        message = DECLINE_MESSAGES[decline]
        charge.update(status="failed", failure_code="card_declined", failure_message=message,
                      outcome={"network_status": "declined_by_network",
                               "reason": decline, "type": "issuer_declined"})
        error = {"type": "card_error", "code": "card_declined", "decline_code": decline,
                 "message": message, "charge": charge["id"],
                 "doc_url": "https://stripe.com/docs/error-codes/card-declined"}
        pi.update(status="requires_payment_method", last_payment_error=dict(error),
                  payment_method=None)
        self.event("charge.failed", charge, ctx)
        self.event("payment_intent.payment_failed", pi, ctx)
        raise StripeError(402, "card_error", message, "card_declined", decline_code=decline,
                          charge=charge["id"], payment_intent=json.loads(json.dumps(pi)))

    def cancel(self, pi, params, ctx):
        if pi["status"] in ("succeeded", "processing", "canceled"):
            raise invalid("You cannot cancel this PaymentIntent because it has a status of %s."
                          % pi["status"], "payment_intent_unexpected_state", payment_intent=pi)
        pi.update(status="canceled", canceled_at=int(time.time()),
                  cancellation_reason=params.get("cancellation_reason") or "requested_by_customer")
        self.event("payment_intent.canceled", pi, ctx)
        return 200, pi

    def refund(self, params, ctx):
        charge = None
        if params.get("payment_intent"):
            pi = self.intent(params["payment_intent"])
            charge = self.charges.get(pi.get("latest_charge") or "")
            if not charge or charge["status"] != "succeeded":
                raise invalid("This PaymentIntent does not have a successful charge to "
                              "refund.", "charge_not_refundable", "payment_intent")
        elif params.get("charge"):
            charge = self.charges.get(params["charge"])
            if not charge:
                raise invalid("No such charge: '%s'" % params["charge"], "resource_missing",
                              "charge", status=404)
        else:
            raise invalid("One of the following params should be provided for this request: "
                          "payment_intent or charge.", "parameter_missing")
        left = charge["amount"] - charge["amount_refunded"]
        amount = integer(params, "amount")
        if left == 0:
            raise invalid("Charge %s has already been refunded." % charge["id"],
                          "charge_already_refunded")
        if amount is None:
            amount = left
        if amount < 1 or amount > left:
            raise invalid("Refund amount (%d) is greater than unrefunded amount on charge "
                          "(%d)" % (amount, left), "amount_too_large", "amount")
        reason = params.get("reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise invalid("Invalid reason: must be one of duplicate, fraudulent, or "
                          "requested_by_customer", "parameter_invalid_empty", "reason")
        meta = metadata(params)
        ref = {"id": new_id("re_"), "object": "refund", "amount": amount,
               "charge": charge["id"], "created": int(time.time()),
               "currency": charge["currency"], "metadata": meta,
               "payment_intent": charge["payment_intent"], "reason": reason,
               "status": "succeeded"}
        self.refunds[ref["id"]] = ref
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.event("charge.refunded", charge, ctx)
        self.event("refund.created", ref, ctx)
        return 200, ref

    def dispute(self, doc, ctx):
        pi = self.intent(doc.get("payment_intent") or "")
        charge = self.charges.get(pi.get("latest_charge") or "")
        if not charge or charge["status"] != "succeeded":
            raise invalid("that PaymentIntent has no successful charge to dispute")
        dp = {"id": new_id("dp_"), "object": "dispute",
              "amount": charge["amount"] - charge["amount_refunded"], "charge": charge["id"],
              "created": int(time.time()), "currency": charge["currency"],
              "is_charge_refundable": False, "livemode": False, "metadata": {},
              "payment_intent": pi["id"], "reason": doc.get("reason") or "fraudulent",
              "status": "needs_response"}
        self.disputes[dp["id"]] = dp
        charge["disputed"] = True
        self.event("charge.dispute.created", dp, ctx)
        return dp


# ---- webhook delivery ------------------------------------------------------

def signature_header(body, secrets_, t):
    """Stripe-Signature for @body: t, one v1 per secret, then a v0."""
    signed = ("%d." % t).encode("utf-8") + body
    parts = ["t=%d" % t]
    for s in secrets_:
        parts.append("v1=" + hmac.new(s.encode("utf-8"), signed, hashlib.sha256).hexdigest())
    parts.append("v0=" + hmac.new(V0_KEY, signed, hashlib.sha256).hexdigest())
    return ",".join(parts)


def post(url, body, headers, timeout=10):
    u = urlsplit(url)
    host = u.hostname or ""
    connect = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    try:
        conn = cls(connect, u.port, timeout=timeout)
        conn.request("POST", path, body=body, headers=dict(headers, Host=u.netloc))
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException) as e:
        return "%s: %s" % (type(e).__name__, e)


def sender(state):
    """One thread sends every event in order, so a test sees them in order."""
    while not state.stop.is_set():
        try:
            ev, target = state.outbox.get(timeout=0.1)
        except queue.Empty:
            continue
        body = json.dumps(ev, indent=2).encode("utf-8")
        sig = signature_header(body, target["secrets"], int(time.time()))
        answer = post(target["url"], body, {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sig})
        with state.lock:
            state.deliveries.append({"event": ev["id"], "type": ev["type"],
                                     "url": target["url"], "signature": sig,
                                     "body": body.decode("utf-8"), "answer": answer})


# ---- HTTP ---------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "FakeStripe/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the base's name
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_OPTIONS = do_GET

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, body, headers=None):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body, indent=2)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def drop(self):
        """No answer at all: the client sees the connection closed."""
        self.close_connection = True

    def dispatch(self):
        state = self.server.state
        url = urlsplit(self.path)
        text = self.read_body().decode("utf-8", "replace")
        if self.command == "OPTIONS":
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, POST")
            self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.command == "GET" and url.path in ("/v3", "/v3/"):
            body = STRIPE_JS.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if url.path.startswith(CONTROL):
            with state.lock:
                status, body, pending = self.control(state, url.path[len(CONTROL):], text)
            self.send(status, body)
            self.flush_events(state, pending)
            return
        headers = {}
        for name, value in self.headers.items():
            headers[name.lower()] = value
        now = time.time()
        with state.lock:
            state.record({"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
                          + ".%03dZ" % int(now % 1 * 1000), "method": self.command,
                          "path": url.path, "query": url.query, "headers": headers,
                          "body": text})
            result = self.api(state, url, text, headers)
        status, body, extra, pending = result
        if status == 0:
            self.drop()
        else:
            self.send(status, body, extra)
        self.flush_events(state, pending)

    @staticmethod
    def flush_events(state, pending):
        for item in pending:
            state.outbox.put(item)

    def api(self, state, url, text, headers):
        """(status, body, headers, events to send); status 0: no answer."""
        request_id = new_id("req_", 14)
        extra = {"Request-Id": request_id}
        key = headers.get("idempotency-key")
        ctx = {"request_id": request_id, "key": key, "pending": [],
               "version": headers.get("stripe-version") or DEFAULT_VERSION}
        extra["Stripe-Version"] = ctx["version"]
        auth = headers.get("authorization") or ""
        if auth.lower().startswith("basic "):
            # curl -u sk_test_...: works with Stripe too (the key as user).
            try:
                auth = "Bearer " + base64.b64decode(auth[6:].strip()).decode().split(":")[0]
            except ValueError:
                auth = "Bearer ?"
        if not auth and self.command == "POST" and url.path.endswith("/confirm"):
            # Stripe.js: the publishable key and the intent's client secret.
            form = dict(parse_qsl(text, keep_blank_values=True))
            pid = url.path.strip("/").split("/")[2] if url.path.count("/") >= 4 else ""
            pi = state.intents.get(pid)
            if (form.get("key", "").startswith("pk_test_") and pi
                    and form.get("client_secret") == pi["client_secret"]):
                auth = "Bearer sk_test_browser"
        if not auth.startswith("Bearer sk_test_") or len(auth) <= len("Bearer sk_test_"):
            err = invalid("You did not provide an API key." if not auth else
                          "Invalid API Key provided: %s" % (auth[7:15] + "****"),
                          status=401)
            return 401, err.body, extra, []
        after = None
        for rule in state.fails:
            if fnmatch.fnmatchcase(url.path, rule["path"]):
                rule["times"] -= 1
                if rule["times"] <= 0:
                    state.fails.remove(rule)
                if not rule["after"]:
                    return self.failure(rule, extra)
                after = rule
                break
        pairs = parse_qsl(text, keep_blank_values=True)
        fingerprint = [self.command, url.path, sorted(pairs)]
        if self.command == "POST" and key:
            saved = state.idem.get(key)
            if saved and saved["fingerprint"] != fingerprint:
                err = StripeError(400, "idempotency_error",
                                  "Keys for idempotent requests can only be used with the "
                                  "same parameters they were first used with. Try using a "
                                  "key other than '%s' if you meant to execute a different "
                                  "request." % key)
                return 400, err.body, extra, []
            if saved:
                extra["Idempotent-Replayed"] = "true"
                if after:
                    return self.failure(after, extra)
                return saved["status"], saved["body"], extra, []
        try:
            status, body = self.route(state, url, nest(pairs), ctx)
            saved_ok = True
        except StripeError as e:
            status, body = e.status, e.body
            # Stripe saves what an executed request answered (a decline
            # too), not the refusal of one that failed validation.
            saved_ok = e.status == 402
        if self.command == "POST" and key and saved_ok:
            state.idem[key] = {"fingerprint": fingerprint, "status": status,
                               "body": json.dumps(body, indent=2)}
        if after:
            # Done, but the answer is lost: what it caused still happens.
            return self.failure(after, extra)[:3] + (ctx["pending"],)
        return status, body, extra, ctx["pending"]

    @staticmethod
    def failure(rule, extra):
        hdrs = dict(extra, **rule["headers"])
        status = rule["status"]
        if status == 0:
            return 0, None, hdrs, []
        if status == 429:
            err = StripeError(429, "invalid_request_error", "Request rate limit exceeded. "
                              "You can learn more about rate limits here "
                              "https://stripe.com/docs/rate-limits.", "rate_limit")
        elif status == 409:
            err = StripeError(409, "invalid_request_error",
                              "There is currently another in-progress request using this "
                              "Idempotency-Key, and so we can't process this one.")
        elif status >= 500:
            err = StripeError(status, "api_error", "An unknown error occurred")
        else:
            err = invalid("failing on request (fake)", status=status)
        return status, err.body, hdrs, []

    def route(self, state, url, params, ctx):
        parts = url.path.strip("/").split("/")
        method = self.command
        if parts[:2] == ["v1", "payment_intents"]:
            if len(parts) == 2 and method == "POST":
                return state.create_intent(params, ctx)
            if len(parts) == 3 and method == "GET":
                return 200, state.intent(parts[2])
            if len(parts) == 4 and parts[3] == "confirm" and method == "POST":
                return state.confirm(state.intent(parts[2]), params, ctx)
            if len(parts) == 4 and parts[3] == "cancel" and method == "POST":
                return state.cancel(state.intent(parts[2]), params, ctx)
        elif parts[:2] == ["v1", "refunds"]:
            if len(parts) == 2 and method == "POST":
                return state.refund(params, ctx)
            if len(parts) == 3 and method == "GET":
                return self.get(state.refunds, "refund", parts[2])
        elif parts[:2] == ["v1", "charges"] and len(parts) == 3 and method == "GET":
            return self.get(state.charges, "charge", parts[2])
        elif parts[:2] == ["v1", "events"] and method == "GET":
            if len(parts) == 2:
                return 200, {"object": "list", "url": "/v1/events", "has_more": False,
                             "data": list(reversed(state.events))}
            if len(parts) == 3:
                found = [e for e in state.events if e["id"] == parts[2]]
                if found:
                    return 200, found[0]
                raise invalid("No such event: '%s'" % parts[2], "resource_missing", "id",
                              status=404)
        raise invalid("Unrecognized request URL (%s: %s). Please see https://stripe.com/docs "
                      "or we can help at https://support.stripe.com/." % (method, url.path),
                      status=404)

    @staticmethod
    def get(table, name, oid):
        if oid in table:
            return 200, table[oid]
        raise invalid("No such %s: '%s'" % (name, oid), "resource_missing", "id", status=404)

    # ---- control ---------------------------------------------------------

    def control(self, state, what, text):
        method = self.command
        try:
            doc = json.loads(text) if text.strip() else {}
        except ValueError as e:
            return 400, {"error": "not JSON: %s" % e}, []
        if what == "state" and method == "POST":
            try:
                self.apply(state, doc)
            except (ValueError, KeyError, TypeError) as e:
                return 400, {"error": str(e)}, []
            return 200, {"ok": True}, []
        if what == "webhook_target" and method == "POST":
            if not isinstance(doc, dict):
                return 400, {"error": "an object"}, []
            if doc.get("url") is None:
                state.target = None
                return 200, {"ok": True}, []
            keys = doc.get("secrets") or ([doc["secret"]] if doc.get("secret") else [])
            if not isinstance(doc["url"], str) or not keys \
                    or not all(isinstance(k, str) and k for k in keys):
                return 400, {"error": "url and secret (or secrets) are required"}, []
            types = doc.get("types") or ["*"]
            state.target = {"url": doc["url"], "secrets": list(keys), "types": list(types)}
            return 200, {"ok": True}, []
        if what == "webhooks" and method == "GET":
            return 200, list(state.deliveries), []
        if what == "webhooks" and method == "DELETE":
            state.deliveries.clear()
            return 200, {"ok": True}, []
        if what == "dispute" and method == "POST":
            ctx = {"request_id": None, "key": None, "pending": [],
                   "version": DEFAULT_VERSION}
            try:
                return 200, state.dispute(doc if isinstance(doc, dict) else {}, ctx), \
                    ctx["pending"]
            except StripeError as e:
                return e.status, e.body, []
        if what == "requests" and method == "GET":
            return 200, list(state.requests), []
        if what == "requests" and method == "DELETE":
            state.requests.clear()
            return 200, {"ok": True}, []
        if what == "intents" and method == "GET":
            return 200, list(state.intents.values()), []
        if what == "reset" and method == "POST":
            state.reset()
            return 200, {"ok": True}, []
        return 404, {"error": "unknown control request %s /_control/%s" % (method, what)}, []

    @staticmethod
    def apply(state, doc):
        if not isinstance(doc, dict):
            raise ValueError("the state must be an object")
        unknown = set(doc) - {"fail"}
        if unknown:
            raise ValueError("unknown state keys: " + ", ".join(sorted(unknown)))
        if "fail" in doc:
            f = doc["fail"]
            if not isinstance(f, dict) or not isinstance(f.get("status"), int):
                raise ValueError("fail needs an integer status")
            if not isinstance(f.get("headers", {}), dict):
                raise ValueError("fail headers must be an object")
            state.fails.append({"status": f["status"], "times": int(f.get("times", 1)),
                                "path": f.get("path") or "*", "after": bool(f.get("after")),
                                "headers": dict(f.get("headers") or {})})


def main():
    ap = fake_serve.arguments(__doc__)
    ap.add_argument("--webhook", help="send events there from the start (make run's demo)")
    ap.add_argument("--secret", help="the webhook signing secret (whsec_...)")
    args = ap.parse_args()

    state = State(args.log)
    if args.webhook and args.secret:
        state.target = {"url": args.webhook, "secrets": [args.secret], "types": ["*"]}
    threading.Thread(target=sender, args=(state,), daemon=True).start()
    return fake_serve.serve(Handler, state, args.port, args.portfile)


if __name__ == "__main__":
    sys.exit(main())
