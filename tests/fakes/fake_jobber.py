#!/usr/bin/env python3
"""A fake of Jobber's API for tests: OAuth 2.0 with rotating refresh tokens
and the GraphQL calls Consult makes, on Jobber's paths and JSON shapes.
Standard library only.

    fake_jobber.py --port 0 --portfile FILE --log FILE.jsonl

Listens on 127.0.0.1 (port 0: any free port), writes the port to --portfile
once listening (atomically), and appends every API request (not the control
requests) to --log as one JSON line, flushed at once:

    {"time": "...Z", "method": "POST", "path": "/api/graphql", "query": "",
     "headers": {"authorization": "Bearer ...", ...}, "body": "..."}

The app is CLIENT_ID / CLIENT_SECRET below. Jobber's API, as far as Consult
uses it:

    GET  /api/oauth/authorize?response_type=code&client_id=&redirect_uri=&state=
         -> 302 to redirect_uri?code=...&state=... (the owner said yes)
    POST /api/oauth/token   a form, client_id and client_secret in it
         grant_type=authorization_code, code, redirect_uri
         grant_type=refresh_token, refresh_token
         -> {"access_token": "<JWT with exp>", "refresh_token": "..."}
         A code works once and only with its redirect_uri. Refresh tokens
         ROTATE: each refresh answers a new one and the one used is revoked,
         so using it again is refused. Refused grants answer 400
         {"error": "invalid_grant", "error_description"}; a wrong client
         401 {"error": "invalid_client"}.
    POST /api/graphql       {"query", "variables"}, application/json only,
         "Authorization: Bearer <live access token>" (else 401) and
         X-JOBBER-GRAPHQL-VERSION (else 400). Operations, found by their
         root field: clients(searchTerm:, first:) (fuzzy, as Jobber's
         search: any client whose name, email or phone contains the term),
         clientCreate, requestCreate, requestCreateNote, account { id name },
         client(id:) { requests { nodes { id title notes { nodes { ...
         on RequestNote { id message } } } } } }, and the items
         webhooks name: client(id:), request(id:), quote(id:), job(id:)
         (null when there is none). Answers carry
         extensions.cost {requestedQueryCost, actualQueryCost,
         throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}}
         and extensions.versioning {version}; business errors come back as
         userErrors [{message, path}], unknown fields as top-level errors.
         Ids are EncodedIds: base64 of "gid://Jobber/Client/N".

The control API, never logged:

    POST /_control/state  a JSON object, any of:
         {"fail": {"status": 503, "times": 1, "retry_after": 2,
                   "path": "glob", "skip": 0}}
                                       the next N matching API calls fail
                                       (after letting "skip" of them pass)
         {"clear_fails": true}         no failure rules left
         {"throttle": N}               the next N GraphQL answers are
                                       THROTTLED (HTTP 200, errors with
                                       extensions.code THROTTLED)
         {"malformed": N}              the next N API answers are broken JSON
         {"token_ttl": seconds}        lifetime of access tokens issued from
                                       now on (default 3600)
         {"expire_tokens": true}       every access token stops working now
                                       (refresh tokens still work)
         {"revoke": true}              the owner removed the app: every
                                       access and refresh token is refused
         {"token_delay": seconds}      the token endpoint answers this late
                                       (widens a refresh race)
         {"request_status": "..."}     the status every request reports
                                       (as if staff moved it in Jobber)
         {"answer_delay": {"match": "requestCreate(", "seconds": 2,
                           "times": 1}}
                                       the next N GraphQL calls whose query
                                       contains "match" are carried out at
                                       once but answered this late (a
                                       worker killed meanwhile never hears
                                       that Jobber made it)
         {"account": {"id", "name"}}   the Jobber account the next
                                       authorizations connect (default
                                       ACCOUNT_ID, "Haul Away Co"); tokens
                                       keep theirs, and account { id name }
                                       answers it
    POST /_control/reset               no clients, requests or tokens
    GET  /_control/requests            the logged requests, a JSON array
    DELETE /_control/requests          forget them
    GET  /_control/data                {"clients", "requests", "notes"}
                                       as the fake holds them

SIGTERM or SIGINT stop the server cleanly.
"""

import fake_serve
import argparse
import base64
import fnmatch
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "consult-jobber-client"
CLIENT_SECRET = "consult-jobber-secret-0123456789"
ACCOUNT_ID = "Z2lkOi8vSm9iYmVyL0FjY291bnQvNDI="     # gid://Jobber/Account/42
CONTROL = "/_control/"
WEB = "https://secure.getjobber.com"       # jobberWebUri of what it holds
DEFAULT_TTL = 3600
BUCKET_MAX = 10000.0
RESTORE_RATE = 500.0


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int(t % 1 * 1000)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def encoded_id(kind, n):
    return base64.b64encode(("gid://Jobber/%s/%d" % (kind, n)).encode()).decode("ascii")


def digits(s):
    return re.sub(r"\D", "", s or "")


class State:
    def __init__(self, log_path):
        self.lock = threading.Lock()
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.requests = []
        self.reset()

    def reset(self):
        self.fails = []
        self.throttle = 0
        self.malformed = 0
        self.token_ttl = DEFAULT_TTL
        self.token_delay = 0.0
        self.request_status = "new"
        self.account = {"id": ACCOUNT_ID, "name": "Haul Away Co"}
        self.answer_delays = []
        self.token_account = {}     # access or refresh token -> its account
        self.codes = {}             # code -> redirect_uri
        self.access = {}            # access token -> expiry
        self.refresh = set()        # live refresh tokens
        self.used_refresh = set()   # rotated out: refused
        self.clients = []
        self.work_requests = []
        self.notes = []
        self.seq = 0
        self.available = BUCKET_MAX
        self.last_fill = time.time()

    def close(self):
        if self.log:
            self.log.close()

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
                    if f.get("skip", 0) > 0:
                        f["skip"] -= 1
                        return None
                    f["times"] -= 1
                    if f["times"] <= 0:
                        del self.fails[i]
                    return dict(f)
        return None

    def take(self, name):
        with self.lock:
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return True
        return False

    def next_id(self, kind):
        self.seq += 1
        return encoded_id(kind, self.seq)

    # ---- tokens ---------------------------------------------------------

    def issue(self, account):
        """A new access token (a JWT whose exp Consult reads) and a new
        refresh token of @account; the caller holds the lock."""
        now = int(time.time())
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = b64url(json.dumps({"sub": account["id"], "iat": now,
                                     "exp": now + self.token_ttl,
                                     "jti": secrets.token_hex(8)}).encode())
        sig = b64url(hmac.new(CLIENT_SECRET.encode(), (header + "." + payload).encode(),
                              hashlib.sha256).digest())
        access = header + "." + payload + "." + sig
        refresh = "rt_" + secrets.token_urlsafe(24)
        self.access[access] = time.time() + self.token_ttl
        self.refresh.add(refresh)
        self.token_account[access] = self.token_account[refresh] = account
        return {"access_token": access, "refresh_token": refresh}

    # ---- the query cost bucket -------------------------------------------

    def spend(self, cost):
        with self.lock:
            t = time.time()
            self.available = min(BUCKET_MAX, self.available + (t - self.last_fill) * RESTORE_RATE)
            self.last_fill = t
            self.available = max(0.0, self.available - cost)
            return self.available

    # ---- GraphQL operations ----------------------------------------------

    def client_view(self, c):
        return dict(c)

    def search_clients(self, term, first):
        t = (term or "").strip().lower()
        td = digits(t)
        found = []
        with self.lock:
            for c in self.clients:
                hay = [c["name"].lower()] + [e["address"].lower() for e in c["emails"]]
                if (t and any(t in h for h in hay)) or \
                        (len(td) >= 7 and any(td[-10:] in digits(ph["number"])
                                              for ph in c["phones"])):
                    found.append(self.client_view(c))
        return found[:first]

    def create_client(self, inp):
        errors = []
        first = (inp.get("firstName") or "").strip()
        last = (inp.get("lastName") or "").strip()
        company = (inp.get("companyName") or "").strip()
        if not (first or last or company):
            errors.append({"message": "Client must have a first name, last name or company "
                                      "name", "path": ["input"]})
        emails = inp.get("emails") or []
        for i, e in enumerate(emails):
            if "@" not in (e.get("address") or ""):
                errors.append({"message": "Email address is invalid",
                               "path": ["input", "emails", str(i), "address"]})
        phones = inp.get("phones") or []
        for i, ph in enumerate(phones):
            if len(digits(ph.get("number"))) < 7:
                errors.append({"message": "Phone number is invalid",
                               "path": ["input", "phones", str(i), "number"]})
        if errors:
            return {"client": None, "userErrors": errors}
        with self.lock:
            c = {"id": self.next_id("Client"),
                 "firstName": first, "lastName": last, "companyName": company or None,
                 "name": (first + " " + last).strip() or company,
                 "isCompany": bool(inp.get("isCompany")), "isArchived": False,
                 "emails": [{"address": e["address"], "description": e.get("description", "MAIN"),
                             "primary": bool(e.get("primary"))} for e in emails],
                 "phones": [{"number": ph["number"],
                             "description": ph.get("description", "MAIN"),
                             "primary": bool(ph.get("primary"))} for ph in phones],
                 "createdAt": now_iso()}
            c["jobberWebUri"] = WEB + "/clients/" + str(self.seq)
            self.clients.append(c)
        return {"client": self.client_view(c), "userErrors": []}

    def create_request(self, inp):
        cid = inp.get("clientId")
        with self.lock:
            client = next((c for c in self.clients if c["id"] == cid), None)
            if not client:
                return {"request": None, "userErrors": [
                    {"message": "Client could not be found", "path": ["input", "clientId"]}]}
            r = {"id": self.next_id("Request"), "title": inp.get("title"),
                 "client": {"id": cid, "name": client["name"]},
                 "requestStatus": "new", "createdAt": now_iso(),
                 "jobberWebUri": WEB + "/requests/" + str(self.seq)}
            self.work_requests.append(r)
        return {"request": r, "userErrors": []}

    def find(self, kind, item_id):
        with self.lock:
            if kind == "client":
                c = next((c for c in self.clients if c["id"] == item_id), None)
                return dict(c) if c else None
            if kind == "request":
                r = next((r for r in self.work_requests if r["id"] == item_id), None)
                return dict(r, requestStatus=self.request_status) if r else None
        return None

    def client_requests(self, client_id):
        """client(id:) { requests { nodes { id title notes { nodes } } } },
        newest first, or None."""
        with self.lock:
            if not any(c["id"] == client_id for c in self.clients):
                return None
            reqs = [r for r in self.work_requests if r["client"]["id"] == client_id]
            nodes = [{"id": r["id"], "title": r["title"],
                      "notes": {"nodes": [{"id": n["id"], "message": n["message"]}
                                          for n in reversed(self.notes)
                                          if n["requestId"] == r["id"]]}}
                     for r in reversed(reqs)]
        return {"id": client_id, "requests": {"nodes": nodes}}

    def create_note(self, request_id, inp):
        message = (inp or {}).get("message") or ""
        with self.lock:
            req = next((r for r in self.work_requests if r["id"] == request_id), None)
            if not req:
                return {"requestNote": None, "request": None, "userErrors": [
                    {"message": "Request could not be found", "path": ["requestId"]}]}
            if not message.strip():
                return {"requestNote": None, "request": None, "userErrors": [
                    {"message": "Message can't be blank", "path": ["input", "message"]}]}
            n = {"id": self.next_id("RequestNote"), "message": message,
                 "requestId": request_id, "createdAt": now_iso()}
            self.notes.append(n)
        return {"requestNote": n, "request": {"id": request_id}, "userErrors": []}


def oauth_error(status, error, desc):
    return status, {"error": error, "error_description": desc}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "FakeJobber/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the base's name
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body, headers=None):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
        self.send_response(status)
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
        state.record({"time": now_iso(), "method": self.command, "path": url.path,
                      "query": url.query, "headers": headers, "body": body})
        fail = state.take_fail(url.path)
        if fail:
            extra = {}
            if fail.get("retry_after") is not None:
                extra["Retry-After"] = fail["retry_after"]
            self.send(int(fail.get("status", 503)),
                      {"message": "injected failure", "status": fail.get("status", 503)}, extra)
            return
        if state.take("malformed"):
            self.send(200, '{"data": {"clients": {"nodes": [')
            return
        if url.path == "/api/oauth/authorize" and self.command == "GET":
            self.authorize(state, parse_qs(url.query))
        elif url.path == "/api/oauth/token" and self.command == "POST":
            self.token(state, body)
        elif url.path == "/api/graphql" and self.command == "POST":
            self.graphql(state, body)
        else:
            self.send(404, {"message": "Not Found"})

    # ---- OAuth ----------------------------------------------------------

    def authorize(self, state, q):
        one = lambda k: q.get(k, [""])[0]  # noqa: E731
        if one("client_id") != CLIENT_ID or one("response_type") != "code" \
                or not one("redirect_uri").startswith(("http://", "https://")):
            self.send(400, {"error": "invalid_request",
                            "error_description": "client_id, response_type=code and an "
                                                 "http(s) redirect_uri are required"})
            return
        code = "code_" + secrets.token_urlsafe(16)
        with state.lock:
            state.codes[code] = (one("redirect_uri"), dict(state.account))
        redirect = one("redirect_uri")
        sep = "&" if "?" in redirect else "?"
        params = {"code": code}
        if one("state"):
            params["state"] = one("state")
        self.send(302, "", {"Location": redirect + sep + urlencode(params),
                            "Content-Type": "text/html"})

    def token(self, state, body):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            status, doc = oauth_error(400, "invalid_request", "expected a form")
            self.send(status, doc)
            return
        f = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if f.get("client_id") != CLIENT_ID or f.get("client_secret") != CLIENT_SECRET:
            status, doc = oauth_error(401, "invalid_client", "Client authentication failed "
                                                             "due to unknown client.")
            self.send(status, doc)
            return
        grant = f.get("grant_type")
        if state.token_delay:
            time.sleep(state.token_delay)
        with state.lock:
            if grant == "authorization_code":
                want, account = state.codes.pop(f.get("code", ""), (None, None))
                if want is None or want != f.get("redirect_uri"):
                    answer = oauth_error(400, "invalid_grant",
                                         "The provided authorization grant is invalid, expired, "
                                         "revoked, does not match the redirection URI used in the "
                                         "authorization request, or was issued to another client.")
                else:
                    answer = (200, state.issue(account))
            elif grant == "refresh_token":
                rt = f.get("refresh_token", "")
                if rt not in state.refresh:
                    answer = oauth_error(400, "invalid_grant",
                                         "The refresh token is invalid, expired or was already "
                                         "used." if rt in state.used_refresh else
                                         "The refresh token is invalid.")
                else:
                    state.refresh.discard(rt)       # rotation: the old one is spent
                    state.used_refresh.add(rt)
                    answer = (200, state.issue(state.token_account.get(rt, state.account)))
            else:
                answer = oauth_error(400, "unsupported_grant_type",
                                     "The authorization grant type is not supported.")
        self.send(answer[0], answer[1], {"Cache-Control": "no-store"})

    # ---- GraphQL --------------------------------------------------------

    def graphql(self, state, body):
        auth = self.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else None
        with state.lock:
            exp = state.access.get(token)
            account = state.token_account.get(token)
        if exp is None or exp <= time.time():
            self.send(401, {"message": "Unauthorized"})
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        version = self.headers.get("X-JOBBER-GRAPHQL-VERSION")
        if ctype != "application/json":
            self.send(400, {"errors": [{"message": "Content-Type must be application/json"}]})
            return
        if not version or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", version):
            self.send(400, {"errors": [{"message": "X-JOBBER-GRAPHQL-VERSION header is "
                                                   "required (YYYY-MM-DD)"}]})
            return
        try:
            doc = json.loads(body)
            query = doc["query"]
            variables = doc.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            self.send(400, {"errors": [{"message": "the body must be {\"query\", "
                                                   "\"variables\"}"}]})
            return
        ext = {"versioning": {"version": version}}
        if state.take("throttle"):
            ext["cost"] = {"requestedQueryCost": 1200, "actualQueryCost": None,
                           "throttleStatus": {"maximumAvailable": BUCKET_MAX,
                                              "currentlyAvailable": 200,
                                              "restoreRate": RESTORE_RATE}}
            self.send(200, {"errors": [{"message": "Throttled",
                                        "extensions": {"code": "THROTTLED"}}],
                            "extensions": ext})
            return
        data, errors, cost = self.execute(state, query, variables, account)
        delay = 0.0
        with state.lock:
            for d in state.answer_delays:
                if d["match"] in query and d["times"] > 0:
                    d["times"] -= 1
                    delay = d["seconds"]
                    break
        if delay:
            time.sleep(delay)
        left = state.spend(cost)
        ext["cost"] = {"requestedQueryCost": cost, "actualQueryCost": cost,
                       "throttleStatus": {"maximumAvailable": BUCKET_MAX,
                                          "currentlyAvailable": left,
                                          "restoreRate": RESTORE_RATE}}
        out = {"data": data, "extensions": ext}
        if errors:
            out["errors"] = errors
        self.send(200, out)

    @staticmethod
    def execute(state, query, v, account):
        """(data, errors, cost) for the one operation Consult sends."""
        if re.search(r"\baccount\s*[{]", query):
            return {"account": dict(account)}, None, 1
        if re.search(r"\bclient\s*\(\s*id:[^{]*[{][^}]*\brequests\s*\(", query):
            return {"client": state.client_requests(v.get("id"))}, None, 20
        if re.search(r"\bclientCreate\s*\(", query):
            return {"clientCreate": state.create_client(v.get("input") or {})}, None, 10
        if re.search(r"\brequestCreateNote\s*\(", query):
            return {"requestCreateNote": state.create_note(v.get("requestId"),
                                                           v.get("input"))}, None, 10
        if re.search(r"\brequestCreate\s*\(", query):
            return {"requestCreate": state.create_request(v.get("input") or {})}, None, 10
        m = re.search(r"\b(client|request|quote|job)\s*\(\s*id:", query)
        if m:
            return {m.group(1): state.find(m.group(1), v.get("id"))}, None, 1
        m = re.search(r"\bclients\s*\(([^)]*)\)", query)
        if m:
            if "searchTerm" in m.group(1) and not isinstance(v.get("term"), str):
                return None, [{"message": "Variable $term of type String! was provided "
                                          "invalid value", "extensions": {
                                              "code": "variableMismatch"}}], 1
            first = v.get("first") or 20
            fm = re.search(r"first:\s*(\d+)", m.group(1))
            if fm:
                first = int(fm.group(1))
            nodes = state.search_clients(v.get("term", ""), first)
            return {"clients": {"nodes": nodes, "totalCount": len(nodes),
                                "pageInfo": {"hasNextPage": False, "endCursor": None}}}, \
                None, 2 + first
        field = re.search(r"[{]\s*(\w+)", query)
        name = field.group(1) if field else "?"
        return None, [{"message": "Field '%s' doesn't exist on type 'Query'" % name,
                       "locations": [{"line": 1, "column": 1}],
                       "path": ["query", name],
                       "extensions": {"code": "undefinedField", "typeName": "Query",
                                      "fieldName": name}}], 1

    # ---- control --------------------------------------------------------

    def control(self, state, what, text):
        m = self.command
        if what == "state" and m == "POST":
            try:
                doc = json.loads(text or "{}")
                if not isinstance(doc, dict):
                    raise ValueError("the state must be an object")
                self.apply_state(state, doc)
            except (ValueError, TypeError) as e:
                self.send(400, {"error": str(e)})
                return
            self.send(200, {"ok": True})
        elif what == "reset" and m == "POST":
            with state.lock:
                state.reset()
                state.requests.clear()
            self.send(200, {"ok": True})
        elif what == "requests" and m == "GET":
            with state.lock:
                out = list(state.requests)
            self.send(200, out)
        elif what == "requests" and m == "DELETE":
            with state.lock:
                state.requests.clear()
            self.send(200, {"requests": 0})
        elif what == "data" and m == "GET":
            with state.lock:
                out = {"clients": state.clients, "requests": state.work_requests,
                       "notes": state.notes}
            self.send(200, out)
        else:
            self.send(404, {"error": "unknown control request %s /_control/%s" % (m, what)})

    @staticmethod
    def apply_state(state, doc):
        known = {"fail", "throttle", "malformed", "token_ttl", "expire_tokens", "revoke",
                 "token_delay", "request_status", "account", "answer_delay", "clear_fails"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError("unknown state keys: " + ", ".join(sorted(unknown)))
        with state.lock:
            if "fail" in doc:
                f = dict(doc["fail"])
                f.setdefault("status", 503)
                f.setdefault("times", 1)
                if not isinstance(f["times"], int) or f["times"] < 1:
                    raise ValueError("fail.times must be a positive integer")
                state.fails.append(f)
            if doc.get("clear_fails"):
                state.fails = []
            if "throttle" in doc:
                state.throttle = int(doc["throttle"])
            if "malformed" in doc:
                state.malformed = int(doc["malformed"])
            if "token_ttl" in doc:
                state.token_ttl = int(doc["token_ttl"])
            if doc.get("expire_tokens"):
                for t in state.access:
                    state.access[t] = 0
            if doc.get("revoke"):
                state.access.clear()
                state.used_refresh |= state.refresh
                state.refresh.clear()
            if "token_delay" in doc:
                state.token_delay = float(doc["token_delay"])
            if "request_status" in doc:
                state.request_status = str(doc["request_status"])
            if "answer_delay" in doc:
                d = doc["answer_delay"]
                if not isinstance(d, dict) or not isinstance(d.get("match"), str):
                    raise ValueError("answer_delay must be {\"match\", \"seconds\", \"times\"}")
                state.answer_delays.append({"match": d["match"],
                                            "seconds": float(d.get("seconds", 2)),
                                            "times": int(d.get("times", 1))})
            if "account" in doc:
                a = doc["account"]
                if not isinstance(a, dict) or not isinstance(a.get("id"), str):
                    raise ValueError("account must be {\"id\", \"name\"}")
                state.account = {"id": a["id"], "name": str(a.get("name") or "")}


def main():
    ap = fake_serve.arguments(__doc__)
    args = ap.parse_args()

    state = State(args.log)
    return fake_serve.serve(Handler, state, args.port, args.portfile)


if __name__ == "__main__":
    sys.exit(main())
