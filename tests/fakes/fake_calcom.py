#!/usr/bin/env python3
"""A stand-in for Cal.com, for make run and tests: the embed a site's booking
page loads, a booking page inside it, the signed webhook Cal.com sends
when someone books, and the API v2 bookings list the daily reconciliation
reads. Standard library only.

    fake_calcom.py --port 0 --portfile FILE --log FILE.jsonl \\
        --webhook http://127.0.0.1:8080/webhooks/calcom --host junk-hauler.localhost \\
        --secret SECRET [--api-key KEY] [--time-zone America/Denver]

    GET  /embed/embed.js   the embed: runs the calls Cal.com's snippet queued
                           (Cal("inline", {elementOrSelector, calLink}) puts
                           the booking page in an iframe there,
                           Cal("modal", {calLink}) in a pop-up dialog). Our
                           own stand-in code, not Cal.com's.
    GET  /USER/EVENT       the booking page: name, email and three times
    POST /USER/EVENT       books: sends BOOKING_CREATED, as Cal.com sends it
                           (X-Cal-Signature-256: hex HMAC-SHA256 of the body
                           under the secret), to --webhook with Host --host
    POST /_control/send    {"triggerEvent", "uid", "rescheduleUid", "start",
                           "end", "name", "email", "drop"}: send one delivery
                           now; answers {"status": the webhook's HTTP status,
                           "uid"}. With "drop": true the booking changes but
                           its webhook is lost (kept for /_control/redeliver);
                           answers {"status": null, "dropped": true, "uid"}
    POST /_control/drop    {"times": N}: the next N webhooks are lost too
    POST /_control/redeliver  send every lost webhook now, late; answers
                           {"statuses": [...]}
    POST /_control/fail    {"status": 503, "times": 1}: the next N API calls
                           answer that status
    POST /_control/reset   no bookings, lost webhooks, failures or logs
    GET  /_control/requests  the webhooks sent, a JSON array of {"time",
                           "status", "body", "answer": the site's reply}
    GET  /_control/api     the API calls received, a JSON array of
                           {"path", "query", "authorization", "version", "status"}
    GET  /v2/bookings      the bookings made here, as Cal.com's API v2 lists
                           them (cal-api-version 2024-08-13): Bearer --api-key
                           (401 otherwise, and without --api-key), the
                           version header (400 otherwise); afterUpdatedAt,
                           take (1 to 250), skip; oldest first

SIGTERM or SIGINT stop the server cleanly.
"""

import fake_serve
import hashlib
import hmac
import html
import http.client
import json
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

EMBED_JS = r"""(function () {
  'use strict';
  var Cal = window.Cal, origin = %(origin)s;
  function el(x) { return typeof x === 'string' ? document.querySelector(x) : x; }
  function modal(o) {
    if (!o.calLink || document.getElementById('cal-standin-modal')) return;
    var d = document.createElement('div'), f = document.createElement('iframe'),
        x = document.createElement('button');
    d.id = 'cal-standin-modal';
    d.setAttribute('role', 'dialog');
    d.setAttribute('aria-modal', 'true');
    d.setAttribute('aria-label', 'Booking calendar');
    d.style.cssText = 'position:fixed;inset:0;background:rgba(0,0,0,.6);display:flex;' +
      'align-items:center;justify-content:center;z-index:99999';
    f.src = origin + '/' + o.calLink + '?embed=1';
    f.title = 'Booking calendar';
    f.style.cssText = 'width:min(56rem,94vw);height:min(40rem,90vh);border:0;background:#fff';
    x.type = 'button';
    x.textContent = 'Close';
    x.style.cssText = 'position:absolute;top:1rem;right:1rem;font:inherit;padding:.4rem .8rem';
    x.onclick = function () { d.remove(); };
    d.appendChild(f);
    d.appendChild(x);
    document.body.appendChild(d);
    x.focus();
  }
  function run(args) {
    if (args && args[0] === 'modal') { modal(args[1] || {}); return; }
    if (!args || args[0] !== 'inline') return;
    var o = args[1] || {}, box = el(o.elementOrSelector);
    if (!box || !o.calLink) return;
    var f = document.createElement('iframe');
    f.src = origin + '/' + o.calLink + '?embed=1';
    f.title = 'Booking calendar';
    f.style.width = '100%%'; f.style.minHeight = '34rem'; f.style.border = '0';
    box.appendChild(f);
  }
  var queued = (Cal && Cal.q) || [];
  queued.forEach(run);
  if (Cal) { Cal.q = { push: run }; Cal.loaded = true; }
})();
"""

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Book: %(link)s</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f23}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}input,select{font:inherit;padding:.4rem;width:min(100%%,24rem)}
button{font:inherit;margin-top:1rem;padding:.6rem 1.2rem;background:#1b1f23;color:#fff;border:0;border-radius:.3rem}
.note{color:#444;font-size:.9rem}</style></head><body><main>
<h1>Free estimate</h1><p class="note">Local Cal.com stand-in (make run): booking here sends Cal.com's signed webhook to the site.</p>
%(body)s</main></body></html>"""


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


API_VERSION = "2024-08-13"


def parse_iso(s):
    return datetime.strptime(s.replace(".000Z", "Z"), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.reset()

    def reset(self):
        self.sent = []
        self.api = []
        self.bookings = []       # as the API lists them, oldest first
        self.lost = []           # webhook bodies never delivered
        self.drop_next = 0
        self.fails = []

    def booking(self, uid):
        for b in self.bookings:
            if b["uid"] == uid:
                return b
        return None

    def remember(self, body):
        """What a delivery says happened, kept as the API would list it."""
        d = json.loads(body)
        pl, trigger, now = d["payload"], d["triggerEvent"], iso(datetime.now(timezone.utc))
        b = self.booking(pl["uid"])
        if trigger == "BOOKING_CANCELLED" and b:
            b.update(status="cancelled", updatedAt=now)
            return
        b = {"id": len(self.bookings) + 1, "uid": pl["uid"], "title": pl.get("title"),
             "description": pl.get("additionalNotes") or "",
             "hosts": [{"id": 1, "name": pl["organizer"]["name"],
                        "email": pl["organizer"]["email"], "username": "haul-away",
                        "timeZone": pl["organizer"]["timeZone"]}],
             "status": {"BOOKING_REQUESTED": "pending",
                        "BOOKING_CANCELLED": "cancelled"}.get(trigger, "accepted"),
             "start": pl["startTime"], "end": pl["endTime"],
             "eventType": {"id": 1, "slug": pl.get("type")}, "location": pl.get("location"),
             "absentHost": False, "createdAt": now, "updatedAt": now, "metadata": {},
             "attendees": [dict(a, absent=False) for a in pl.get("attendees", [])],
             "bookingFieldsResponses": {"name": pl["attendees"][0]["name"],
                                        "email": pl["attendees"][0]["email"]}}
        if trigger == "BOOKING_RESCHEDULED" and pl.get("rescheduleUid"):
            b["rescheduledFromUid"] = pl["rescheduleUid"]
            old = self.booking(pl["rescheduleUid"])
            if old:
                old.update(status="cancelled", rescheduledToUid=pl["uid"], updatedAt=now)
        self.bookings.append(b)

    def list_bookings(self, q):
        after = q.get("afterUpdatedAt")
        take = int(q.get("take", "100"))
        skip = int(q.get("skip", "0"))
        if not 1 <= take <= 250 or skip < 0:
            return 400, {"status": "error", "error": {"code": "BadRequestException",
                                                      "message": "take must be 1 to 250"}}
        rows = [b for b in self.bookings
                if not after or parse_iso(b["updatedAt"]) > parse_iso(after)]
        page = rows[skip:skip + take]
        return 200, {"status": "success", "data": page, "pagination": {
            "totalItems": len(rows), "remainingItems": max(0, len(rows) - skip - len(page)),
            "returnedItems": len(page), "itemsPerPage": take,
            "currentPage": skip // take + 1, "totalPages": (len(rows) + take - 1) // take,
            "hasNextPage": skip + len(page) < len(rows), "hasPreviousPage": skip > 0}}

    def delivery(self, d, link):
        start = d.get("start")
        end = d.get("end")
        payload = {
            "type": link.split("/")[-1], "title": d.get("title") or "Free estimate",
            "startTime": start, "endTime": end, "uid": d.get("uid") or secrets.token_hex(10),
            "bookingId": int(time.time()) % 100000,
            "organizer": {"name": "Haul Away Co", "email": "bookings@haulaway.example",
                          "timeZone": self.args.time_zone},
            "attendees": [{"name": d.get("name") or "Guest", "email": d.get("email") or "",
                           "timeZone": self.args.time_zone}],
            "location": d.get("location") or "On site", "status": "ACCEPTED",
            "additionalNotes": d.get("notes") or "",
        }
        if d.get("rescheduleUid"):
            payload["rescheduleUid"] = d["rescheduleUid"]
        return json.dumps({"triggerEvent": d.get("triggerEvent") or "BOOKING_CREATED",
                           "createdAt": iso(datetime.now(timezone.utc)), "payload": payload},
                          separators=(",", ":"))

    def book(self, body, drop=False):
        """The booking changes here; its webhook goes, unless it is lost."""
        with self.lock:
            self.remember(body)
            if self.drop_next > 0:
                self.drop_next -= 1
                drop = True
            if drop:
                self.lost.append(body)
        return None if drop else self.send(body)

    def send(self, body):
        url = urlsplit(self.args.webhook)
        sig = hmac.new(self.args.secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
        try:
            conn.request("POST", url.path, body.encode(), {
                "Host": self.args.host or url.netloc, "Content-Type": "application/json",
                "X-Cal-Signature-256": sig})
            resp = conn.getresponse()
            status, answer = resp.status, resp.read(2000).decode("utf-8", "replace")
        except OSError as e:
            status, answer = 0, ""
            print("fake_calcom: webhook failed: %s" % e, flush=True)
        finally:
            conn.close()
        entry = {"time": iso(datetime.now(timezone.utc)), "status": status, "body": body,
                 "answer": answer}
        with self.lock:
            self.sent.append(entry)
            if self.log:
                self.log.write(json.dumps(entry) + "\n")
                self.log.flush()
        return status

    def close(self):
        if self.log:
            self.log.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def send(self, status, body, ctype="text/html; charset=utf-8"):
        if not isinstance(body, (bytes, str)):
            body, ctype = json.dumps(body), "application/json"
        body = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def origin(self):
        return "http://" + (self.headers.get("Host") or "127.0.0.1")

    def do_GET(self):
        state = self.server.state
        url = urlsplit(self.path)
        if url.path == "/embed/embed.js":
            self.send(200, EMBED_JS % {"origin": json.dumps(self.origin())},
                      "application/javascript; charset=utf-8")
        elif url.path == "/_control/requests":
            with state.lock:
                self.send(200, list(state.sent))
        elif url.path == "/_control/api":
            with state.lock:
                self.send(200, list(state.api))
        elif url.path == "/v2/bookings":
            self.api(state, url)
        elif url.path.count("/") == 2 and not url.path.startswith("/_"):
            link = url.path[1:]
            now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
            day = now + timedelta(days=1)
            options = "".join(
                '<option value="%s">%s UTC</option>' % (iso(day.replace(hour=h)),
                                                         day.replace(hour=h).strftime("%a %b %d, %H:%M"))
                for h in (15, 17, 19))
            body = ('<form method="post"><label for="n">Your name</label><input id="n" name="name" required>'
                    '<label for="e">Email</label><input id="e" name="email" type="email" required>'
                    '<label for="t">Time</label><select id="t" name="start">%s</select>'
                    '<button type="submit">Book</button></form>' % options)
            self.send(200, PAGE % {"link": html.escape(link), "body": body})
        else:
            self.send(404, "not found", "text/plain")

    def api(self, state, url):
        """GET /v2/bookings, checked as Cal.com checks it."""
        auth = self.headers.get("Authorization") or ""
        version = self.headers.get("cal-api-version") or ""
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        with state.lock:
            fail = state.fails[0] if state.fails else None
            if fail:
                fail["times"] -= 1
                if fail["times"] <= 0:
                    state.fails.pop(0)
                status, doc = int(fail["status"]), {"status": "error", "error": {
                    "code": "InjectedFailure", "message": "injected failure"}}
            elif not state.args.api_key or auth != "Bearer " + state.args.api_key:
                status, doc = 401, {"status": "error", "error": {
                    "code": "UnauthorizedException", "message": "Invalid API Key"}}
            elif version != API_VERSION:
                status, doc = 400, {"status": "error", "error": {
                    "code": "BadRequestException",
                    "message": "cal-api-version %s is not %s" % (version or "(none)", API_VERSION)}}
            else:
                try:
                    status, doc = state.list_bookings(q)
                except ValueError:
                    status, doc = 400, {"status": "error", "error": {"message": "bad query"}}
            state.api.append({"path": url.path, "query": q, "status": status,
                              "authorization": auth.split(" ")[0] if auth else "",
                              "version": version})
        self.send(status, doc)

    def control(self, state, what, d):
        if what == "send":
            body = state.delivery(d, "haul-away/estimate")
            uid = json.loads(body)["payload"]["uid"]
            status = state.book(body, bool(d.get("drop")))
            if status is None:
                return {"status": None, "dropped": True, "uid": uid}
            return {"status": status, "uid": uid}
        with state.lock:
            if what == "drop":
                state.drop_next = int(d.get("times", 1))
                return {"ok": True}
            if what == "fail":
                state.fails.append({"status": int(d.get("status", 503)),
                                    "times": int(d.get("times", 1))})
                return {"ok": True}
            if what == "reset":
                state.reset()
                return {"ok": True}
            if what == "redeliver":
                lost, state.lost = state.lost, []
            else:
                return None
        return {"statuses": [state.send(body) for body in lost]}

    def do_POST(self):
        state = self.server.state
        url = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        if url.path.startswith("/_control/"):
            try:
                d = json.loads(raw or "{}")
                answer = self.control(state, url.path[len("/_control/"):], d)
            except (ValueError, TypeError, KeyError):
                self.send(400, {"error": "expected a JSON object"})
                return
            if answer is None:
                self.send(404, {"error": "unknown control %s" % url.path})
            else:
                self.send(200, answer)
            return
        if url.path.count("/") != 2:
            self.send(404, "not found", "text/plain")
            return
        f = {k: v[0] for k, v in parse_qs(raw).items()}
        start = f.get("start") or iso(datetime.now(timezone.utc) + timedelta(days=1))
        end = iso(datetime.strptime(start, "%Y-%m-%dT%H:%M:%S.000Z") + timedelta(hours=2))
        status = state.book(state.delivery({"name": f.get("name"), "email": f.get("email"),
                                            "start": start, "end": end}, url.path[1:]))
        msg = ("Booked. The site answered %d to Cal.com's webhook." % status if status
               else "Booked here, but the site could not be reached.")
        self.send(200, PAGE % {"link": html.escape(url.path[1:]),
                               "body": "<p role=\"status\">%s</p>" % html.escape(msg)})


def main():
    ap = fake_serve.arguments(__doc__)
    ap.add_argument("--webhook", required=True)
    ap.add_argument("--host")
    ap.add_argument("--secret", required=True)
    ap.add_argument("--api-key", help="the API key GET /v2/bookings accepts (none: 401)")
    ap.add_argument("--time-zone", default="America/Denver")
    args = ap.parse_args()
    return fake_serve.serve(Handler, State(args), args.port, args.portfile)


if __name__ == "__main__":
    raise SystemExit(main())
