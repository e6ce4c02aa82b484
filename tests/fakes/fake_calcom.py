#!/usr/bin/env python3
"""A stand-in for Cal.com, for make run and tests: the embed a site's booking
page loads, a booking page inside it, and the signed webhook Cal.com sends
when someone books. Standard library only.

    fake_calcom.py --port 0 --portfile FILE --log FILE.jsonl \\
        --webhook http://127.0.0.1:8080/webhooks/calcom --host junk-hauler.localhost \\
        --secret SECRET [--time-zone America/Denver]

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
                           "end", "name", "email"}: send one delivery now;
                           answers {"status": the webhook's HTTP status}
    GET  /_control/requests  the webhooks sent, a JSON array

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


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.sent = []
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None

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

    def send(self, body):
        url = urlsplit(self.args.webhook)
        sig = hmac.new(self.args.secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
        try:
            conn.request("POST", url.path, body.encode(), {
                "Host": self.args.host or url.netloc, "Content-Type": "application/json",
                "X-Cal-Signature-256": sig})
            status = conn.getresponse().status
        except OSError as e:
            status = 0
            print("fake_calcom: webhook failed: %s" % e, flush=True)
        finally:
            conn.close()
        entry = {"time": iso(datetime.now(timezone.utc)), "status": status, "body": body}
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

    def do_POST(self):
        state = self.server.state
        url = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        if url.path == "/_control/send":
            try:
                d = json.loads(raw or "{}")
            except ValueError:
                self.send(400, {"error": "expected a JSON object"})
                return
            self.send(200, {"status": state.send(state.delivery(d, "haul-away/estimate"))})
            return
        if url.path.count("/") != 2:
            self.send(404, "not found", "text/plain")
            return
        f = {k: v[0] for k, v in parse_qs(raw).items()}
        start = f.get("start") or iso(datetime.now(timezone.utc) + timedelta(days=1))
        end = iso(datetime.strptime(start, "%Y-%m-%dT%H:%M:%S.000Z") + timedelta(hours=2))
        status = state.send(state.delivery({"name": f.get("name"), "email": f.get("email"),
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
    ap.add_argument("--time-zone", default="America/Denver")
    args = ap.parse_args()
    return fake_serve.serve(Handler, State(args), args.port, args.portfile)


if __name__ == "__main__":
    raise SystemExit(main())
