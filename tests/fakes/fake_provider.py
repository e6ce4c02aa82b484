#!/usr/bin/env python3
"""A generic fake of the HTTP APIs Consult calls (an OpenAI-compatible LLM,
Twilio, Resend), for tests and as make run's provider stand-in. Standard
library only.

    fake_provider.py --port 0 --portfile FILE --log FILE.jsonl
                     [--standin] [--status-callbacks] [--callback-delay S]

Listens on 127.0.0.1 (port 0: any free port), writes the port to --portfile
once listening (atomically: the file appears complete), and appends every
request to --log as one JSON line, flushed at once:

    {"time": "2024-05-01T12:00:00.123Z", "method": "POST",
     "path": "/v1/chat/completions", "query": "a=1",
     "headers": {"content-type": "application/json", ...},   # names lowercased
     "body": "..."}                                          # UTF-8, lossy

Answers come from rules, set through the control API (never logged):

    POST   /_control/rules     a JSON list of rules (or one rule): appended
    GET    /_control/rules     the current rules, with remaining "times"
    DELETE /_control/rules     remove all rules
    GET    /_control/requests  the logged requests, a JSON array
    DELETE /_control/requests  forget them (the --log file is kept)

A rule, every key optional:

    {"method": "POST",                 # any method when absent or "*"
     "path": "/v1/chat/completions",   # fnmatch pattern on the path (no query)
     "body_contains": "text",          # only requests whose body has this
     "query_contains": "To=%2B1",      # only requests whose raw query has this
     "status": 200,
     "body": "...",                    # a string, or any JSON value (sent as JSON)
     "headers": {"X-Name": "value"},   # Content-Type defaults to application/json
     "chunked": false,                 # true: chunked, without Content-Length
     "delay": 0,                       # seconds to wait before answering
     "times": null}                    # null: always; N: the next N matches only

The first matching rule wins. In a body, "{{classification}}" with its
quotes becomes the default classification as a JSON string (what goes in
message.content), and {{classification}} without quotes the object itself.

In a rule's body, "{{sid}}" becomes a new Twilio-like message SID at each
answer. A 2xx answer to a POST .../Messages.json is remembered as a message
Twilio created (sid, To, From, Body, date_created, status "queued"), and a
GET .../Messages.json without a matching rule lists them, newest first,
filtered by its To and From, as Twilio's list does.

Without a matching rule, POST .../chat/completions answers a valid OpenAI
chat completion whose message.content is the default classification; any
other request answers 404 with a JSON error. SIGTERM or SIGINT stop the
server cleanly (waiting delays are cut short).

--status-callbacks: after a 2xx answer to POST .../Messages.json whose form
has a StatusCallback, the fake calls it back as Twilio does, "sent" then
"delivered" (--callback-delay seconds apart, 1 by default): a form POST of
AccountSid, From, To, MessageSid, SmsSid, MessageStatus, SmsStatus and
ApiVersion, with X-Twilio-Signature computed exactly as Twilio computes it
(base64 HMAC-SHA1 of the URL followed by every sorted name and value) under
the auth token the request authenticated with (its basic-auth password,
which is the account's auth token). Hosts named localhost or *.localhost are
reached on 127.0.0.1, as browsers and curl do. The remembered message's
status follows, and every callback made is listed by

    GET    /_control/callbacks  [{"url", "status", "answer"}...] (answer: the
                                HTTP status, or the error as a string)
    DELETE /_control/callbacks  forget them

--standin (make run's stand-in for the real providers; implies
--status-callbacks): without a matching rule, POST .../Messages.json
answers 201 with a queued Twilio Message resource (remembered as above), and
POST .../emails answers 200 {"id": ...} as Resend does (the same id again
for the same Idempotency-Key).
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
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import uuid
from email.utils import formatdate
from urllib.parse import parse_qs, urlencode, urlsplit

DEFAULT_CLASSIFICATION = {
    "intent": "question",
    "urgency": "normal",
    "confidence": 0.9,
    "service": None,
    "when": [],
    "budget": None,
}
RULE_KEYS = {"method", "path", "body_contains", "query_contains", "status", "body", "headers",
             "chunked", "delay", "times", "comment"}
CONTROL = "/_control/"


class State:
    """Rules and requests, shared by the handler threads."""

    def __init__(self, log_path, standin=False, callbacks=False, callback_delay=1.0):
        self.standin = standin
        self.status_callbacks = callbacks or standin
        self.callback_delay = callback_delay
        self.callbacks = []     # status callbacks made: {"url", "status", "answer"}
        self.emails = {}        # Idempotency-Key -> the email id answered
        self.lock = threading.Lock()
        self.rules = []
        self.requests = []
        self.stop = threading.Event()
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.completions = 0
        self.sms = []           # messages "created" at the fake Twilio

    def record(self, entry):
        line = json.dumps(entry, ensure_ascii=False)
        with self.lock:
            self.requests.append(entry)
            if self.log:
                self.log.write(line + "\n")
                self.log.flush()

    def take_rule(self, method, path, body, query=""):
        """The first matching rule, its "times" counted down."""
        with self.lock:
            for i, rule in enumerate(self.rules):
                want = rule.get("method") or "*"
                if want != "*" and want.upper() != method:
                    continue
                if not fnmatch.fnmatchcase(path, rule.get("path") or "*"):
                    continue
                if rule.get("body_contains") is not None \
                        and rule["body_contains"] not in body:
                    continue
                if rule.get("query_contains") is not None \
                        and rule["query_contains"] not in query:
                    continue
                if rule.get("times") is not None:
                    rule["times"] -= 1
                    if rule["times"] <= 0:
                        del self.rules[i]
                return dict(rule)
        return None

    def close(self):
        with self.lock:
            if self.log:
                self.log.close()
                self.log = None


def check_rule(rule):
    if not isinstance(rule, dict):
        raise ValueError("a rule must be an object")
    unknown = set(rule) - RULE_KEYS
    if unknown:
        raise ValueError("unknown rule keys: " + ", ".join(sorted(unknown)))
    times = rule.get("times")
    if times is not None and (not isinstance(times, int) or times < 1):
        raise ValueError("times must be null or a positive integer")
    status = rule.get("status", 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("status must be an integer from 100 to 599")
    if not isinstance(rule.get("delay", 0), (int, float)):
        raise ValueError("delay must be a number of seconds")
    if not isinstance(rule.get("headers", {}), dict):
        raise ValueError("headers must be an object")
    return dict(rule)


def expand(body):
    text = json.dumps(DEFAULT_CLASSIFICATION)
    return (body.replace('"{{classification}}"', json.dumps(text))
                .replace("{{classification}}", text))


def chat_completion(state, request_body):
    model = "fake-model"
    try:
        doc = json.loads(request_body)
        if isinstance(doc, dict) and isinstance(doc.get("model"), str):
            model = doc["model"]
    except ValueError:
        pass
    with state.lock:
        state.completions += 1
        n = state.completions
    return {
        "id": "chatcmpl-fake-%d" % n,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant",
                        "content": json.dumps(DEFAULT_CLASSIFICATION),
                        "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def twilio_signature(auth_token, url, params):
    """X-Twilio-Signature of a form POST of @params (name, value pairs) to
    @url: base64(HMAC-SHA1(auth token, url + every name and value, sorted by
    name, then value)), as Twilio's request validators check it."""
    data = url + "".join(k + v for k, v in sorted(set(params)))
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def post_form(url, params, headers, timeout=10):
    """POST @params form-encoded to @url; the HTTP status, or the error as a
    string. localhost and *.localhost are 127.0.0.1 (browsers and curl
    resolve them so; the system resolver may not)."""
    u = urlsplit(url)
    host = u.hostname or ""
    connect = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    body = urlencode(params)
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    try:
        conn = cls(connect, u.port, timeout=timeout)
        conn.request("POST", path, body=body, headers=dict(headers, **{
            "Host": u.netloc,
            "Content-Type": "application/x-www-form-urlencoded"}))
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException) as e:
        return "%s: %s" % (type(e).__name__, e)


def basic_password(authorization):
    """The password of an "Authorization: Basic ..." header, or None."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        user_pass = base64.b64decode(authorization[6:].strip()).decode("utf-8")
    except ValueError:
        return None
    return user_pass.partition(":")[2] if ":" in user_pass else None


def status_callbacks(state, form, sid, account, auth_token):
    """Twilio's delivery reports for message @sid: "sent", then "delivered"."""
    url = form.get("StatusCallback", [""])[0]
    for status in ("sent", "delivered"):
        if state.stop.wait(state.callback_delay):
            return      # shutting down
        params = [("AccountSid", account), ("ApiVersion", "2010-04-01"),
                  ("From", form.get("From", [""])[0]), ("To", form.get("To", [""])[0]),
                  ("MessageSid", sid), ("SmsSid", sid),
                  ("MessageStatus", status), ("SmsStatus", status)]
        with state.lock:
            for m in state.sms:
                if m["sid"] == sid:
                    m["status"] = status
                    if status == "sent":
                        m["date_sent"] = formatdate(usegmt=True)
        answer = post_form(url, params, {
            "X-Twilio-Signature": twilio_signature(auth_token, url, params),
            "User-Agent": "TwilioProxy/1.1"})
        with state.lock:
            state.callbacks.append({"url": url, "status": status, "answer": answer})


def twilio_message(form, sid, account):
    """A queued Message resource, as Twilio answers POST Messages.json."""
    now = formatdate(usegmt=True)
    return {"sid": sid, "account_sid": account, "to": form.get("To", [""])[0],
            "from": form.get("From", [""])[0],
            "messaging_service_sid": form.get("MessagingServiceSid", [None])[0],
            "body": form.get("Body", [""])[0], "status": "queued", "num_segments": "1",
            "num_media": "0", "direction": "outbound-api", "api_version": "2010-04-01",
            "price": None, "price_unit": "USD", "error_code": None, "error_message": None,
            "date_created": now, "date_updated": now, "date_sent": None,
            "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (account, sid)}


def account_of(path):
    """AC... from /2010-04-01/Accounts/AC.../Messages.json."""
    parts = path.split("/")
    return parts[parts.index("Accounts") + 1] if "Accounts" in parts[:-1] else ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "FakeProvider/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the base's name
        pass    # the JSON lines log is the record

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ---- plumbing -------------------------------------------------------

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass    # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, body, headers=None, chunked=False):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = dict(headers or {})
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, str(value))
        no_body = self.command == "HEAD" or status in (204, 304) or status < 200
        if no_body:
            self.end_headers()
        elif chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 1000):
                piece = body[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        self.wfile.flush()

    # ---- requests -------------------------------------------------------

    def dispatch(self):
        state = self.server.state
        url = urlsplit(self.path)
        body = self.read_body()
        text = body.decode("utf-8", "replace")
        if url.path.startswith(CONTROL):
            self.control(state, url.path[len(CONTROL):], text)
            return
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        now = time.time()
        state.record({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
                    + ".%03dZ" % int(now % 1 * 1000),
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "headers": headers,
            "body": text,
        })
        rule = state.take_rule(self.command, url.path, text, url.query)
        if rule is not None:
            delay = rule.get("delay") or 0
            if delay > 0 and state.stop.wait(delay):
                self.close_connection = True
                return      # shutting down: no answer
            body_out = rule.get("body", "")
            if isinstance(body_out, str):
                body_out = expand(body_out)
            else:
                body_out = json.dumps(body_out)
            while "{{sid}}" in body_out:
                body_out = body_out.replace("{{sid}}", "SM" + uuid.uuid4().hex, 1)
            status = rule.get("status", 200)
            sent = self.command == "POST" and url.path.endswith("/Messages.json") \
                and 200 <= status < 300
            if sent:
                self.remember_sms(state, text, body_out)
            self.send(status, body_out, rule.get("headers"), bool(rule.get("chunked")))
            if sent:
                self.report_delivery(state, url.path, text, body_out)
        elif state.standin and self.command == "POST" and url.path.endswith("/Messages.json"):
            form = parse_qs(text)
            answer = json.dumps(twilio_message(form, "SM" + uuid.uuid4().hex,
                                               account_of(url.path)))
            self.remember_sms(state, text, answer)
            self.send(201, answer)
            self.report_delivery(state, url.path, text, answer)
        elif state.standin and self.command == "POST" and url.path.endswith("/emails"):
            key = self.headers.get("Idempotency-Key")
            with state.lock:
                email_id = state.emails.get(key) if key else None
                if not email_id:
                    email_id = str(uuid.uuid4())
                    if key:
                        state.emails[key] = email_id
            self.send(200, {"id": email_id})
        elif self.command == "GET" and url.path.endswith("/Messages.json"):
            q = parse_qs(url.query)
            with state.lock:
                found = [m for m in reversed(state.sms)
                         if m["to"] == q.get("To", [m["to"]])[0]
                         and m["from"] == q.get("From", [m["from"]])[0]]
            self.send(200, {"messages": found[:int(q.get("PageSize", ["50"])[0])]})
        elif self.command == "POST" and url.path.endswith("/chat/completions"):
            self.send(200, chat_completion(state, text))
        else:
            self.send(404, {"error": {"type": "not_found",
                                      "message": "no rule for %s %s"
                                                 % (self.command, url.path)}})

    def report_delivery(self, state, path, form_text, answer):
        """--status-callbacks: Twilio's delivery reports, after the answer."""
        form = parse_qs(form_text)
        token = basic_password(self.headers.get("Authorization"))
        try:
            sid = json.loads(answer).get("sid")
        except (ValueError, AttributeError):
            sid = None
        if not state.status_callbacks or not sid or not token \
                or not form.get("StatusCallback", [""])[0]:
            return
        threading.Thread(target=status_callbacks, daemon=True,
                         args=(state, form, sid, account_of(path), token)).start()

    @staticmethod
    def remember_sms(state, form, answer):
        try:
            sid = json.loads(answer).get("sid")
        except ValueError:
            sid = None
        f = parse_qs(form)
        if sid:
            with state.lock:
                state.sms.append({"sid": sid, "to": f.get("To", [""])[0],
                                  "from": f.get("From", [""])[0], "body": f.get("Body", [""])[0],
                                  "date_created": formatdate(usegmt=True), "date_sent": None,
                                  "status": "queued"})

    def control(self, state, what, text):
        method = self.command
        if what == "rules" and method == "POST":
            try:
                doc = json.loads(text)
                rules = [check_rule(r) for r in (doc if isinstance(doc, list) else [doc])]
            except ValueError as e:
                self.send(400, {"error": str(e)})
                return
            with state.lock:
                state.rules.extend(rules)
                n = len(state.rules)
            self.send(200, {"rules": n})
        elif what == "rules" and method == "GET":
            with state.lock:
                rules = [dict(r) for r in state.rules]
            self.send(200, rules)
        elif what == "rules" and method == "DELETE":
            with state.lock:
                state.rules.clear()
            self.send(200, {"rules": 0})
        elif what == "requests" and method == "GET":
            with state.lock:
                requests = list(state.requests)
            self.send(200, requests)
        elif what == "requests" and method == "DELETE":
            with state.lock:
                state.requests.clear()
            self.send(200, {"requests": 0})
        elif what == "callbacks" and method == "GET":
            with state.lock:
                callbacks = list(state.callbacks)
            self.send(200, callbacks)
        elif what == "callbacks" and method == "DELETE":
            with state.lock:
                state.callbacks.clear()
            self.send(200, {"callbacks": 0})
        else:
            self.send(404, {"error": "unknown control request %s /_control/%s"
                                     % (method, what)})


def main():
    ap = fake_serve.arguments(__doc__)
    ap.add_argument("--standin", action="store_true",
                    help="answer Twilio and Resend sends without rules (implies --status-callbacks)")
    ap.add_argument("--status-callbacks", action="store_true",
                    help="report accepted Twilio messages sent, then delivered, to their StatusCallback")
    ap.add_argument("--callback-delay", type=float, default=1.0,
                    help="seconds before each status callback (default 1)")
    args = ap.parse_args()

    state = State(args.log, args.standin, args.status_callbacks, args.callback_delay)
    return fake_serve.serve(Handler, state, args.port, args.portfile)


if __name__ == "__main__":
    sys.exit(main())
