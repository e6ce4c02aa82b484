#!/usr/bin/env python3
"""Fault tests (make fault): a steady stream of form posts while an Apache
child is killed, Apache restarts gracefully, and PostgreSQL stops for ten
seconds. Run by tests/integration/harness.sh, which starts the servers and
exports CS_TEST_URL, CS_TEST_DATABASE and CS_TEST_ROOT.

Each post carries a unique Idempotency-Key. The rules checked:
  - every post answered 2xx/3xx is in the database exactly once;
  - a post whose answer was lost, retried with its key, never makes a
    second row;
  - a graceful restart fails no request;
  - while PostgreSQL is down, answers are 503 with Retry-After and come
    within the configured timeouts (no hang); within two seconds of its
    return posts succeed again; connections stay within the pool bounds;
  - replies sent while Twilio fails and the job worker is killed reach
    Twilio exactly once each;
  - signed Twilio SMS webhooks while every child is killed: each text ends
    as exactly one message (journaled before the 200, processed by a job).
"""
import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

URL = urllib.parse.urlsplit(os.environ["CS_TEST_URL"])
DB = os.environ["CS_TEST_DATABASE"]
ROOT = os.environ["CS_TEST_ROOT"]
HOST = "coffee-shop.localhost"
results = []


def check(name, ok, detail=""):
    results.append((name, ok))
    print(("ok     " if ok else "FAILED ") + name + ("" if ok else ": " + detail), flush=True)


def sql(q):
    out = subprocess.run(["psql", "-X", "-q", "-t", "-A", DB, "-c", q],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def ctl(*args):
    subprocess.run([ROOT + "/tests/integration/ctl.sh", *args], check=True,
                   capture_output=True, timeout=120)


def post(key, timeout=10.0):
    """One form post; returns (status or None, seconds, retry_after)."""
    body = urllib.parse.urlencode({"email": "fault@example.com", "message": "fault test " + key})
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection(URL.hostname, URL.port, timeout=timeout)
        c.request("POST", "/api/intake", body, {
            "Host": HOST, "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": key})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, time.monotonic() - t0, r.getheader("Retry-After")
    except (OSError, http.client.HTTPException):
        return None, time.monotonic() - t0, None


class Stream:
    """Posts from a few threads until stopped, remembering every answer."""

    def __init__(self, tag, threads=4, pause=0.01):
        self.tag, self.stop, self.log, self.lock = tag, False, [], threading.Lock()
        self.pause = pause
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, n):
        i = 0
        while not self.stop:
            key = "%s-%d-%d" % (self.tag, n, i)
            st, secs, ra = post(key)
            with self.lock:
                self.log.append((key, st, secs, ra, time.monotonic()))
            i += 1
            time.sleep(self.pause)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        for t in self.threads:
            t.join()


def intake_settled(seconds=20):
    # Journal-first intake: an answered post is a journal row until the job
    # worker files it as a submission.
    for _ in range(seconds * 10):
        if sql("SELECT count(*) FROM provider_events WHERE provider = 'intake' "
               "AND processed_at IS NULL AND attempts < 5").strip() == "0":
            return True
        time.sleep(0.1)
    return False


def rows_for(keys):
    if not keys:
        return {}
    check("every answered post is filed by the worker", intake_settled())
    out = sql("SELECT idempotency_key, count(*) FROM submissions WHERE idempotency_key LIKE 'key:%' "
              "GROUP BY 1")
    counts = {}
    for line in out.splitlines():
        k, n = line.split("|")
        counts[k[4:]] = int(n)
    return counts


def child_pids():
    pid = int(open(os.environ["CS_TEST_TMP"] + "/var/run/httpd.pid").read())
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def test_child_killed():
    # Every child at once, so posts in flight die with them (a lone idle
    # child could die without cutting anything); again if none was cut.
    with Stream("kill", threads=8, pause=0) as s:
        time.sleep(1.5)
        for _ in range(10):
            victims = child_pids()
            check("Apache has children to kill", len(victims) > 0)
            for pid in victims:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.7)
            with s.lock:
                if any(not st or st >= 500 for _, st, _, _, _ in s.log):
                    break
    ok = [k for k, st, _, _, _ in s.log if st and st < 400]
    lost = [k for k, st, _, _, _ in s.log if not st or st >= 500]
    check("the kill cut posts in flight (else this proves nothing)", len(lost) > 0)
    counts = rows_for(ok)
    check("every answered post is stored exactly once",
          all(counts.get(k) == 1 for k in ok), "%d answered" % len(ok))
    # Retry the posts whose answer was lost, with the same key.
    for k in lost:
        post(k)
    counts = rows_for(ok + lost)
    check("retried posts never make a second row",
          all(counts.get(k, 0) <= 1 for k in ok + lost) and all(counts.get(k) == 1 for k in lost),
          "%d lost and retried" % len(lost))
    print("  %d posts, %d lost to the kill and retried" % (len(s.log), len(lost)), flush=True)


def test_graceful_restart():
    pid = int(open(os.environ["CS_TEST_TMP"] + "/var/run/httpd.pid").read())
    with Stream("graceful") as s:
        time.sleep(1.0)
        os.kill(pid, signal.SIGUSR1)      # apachectl graceful
        time.sleep(3.0)
    failed = [(k, st) for k, st, _, _, _ in s.log if not st or st >= 400]
    check("a graceful restart fails no request", not failed,
          "%d of %d failed: %s" % (len(failed), len(s.log), failed[:3]))


def test_postgres_down():
    with Stream("pgdown", threads=3) as s:
        time.sleep(1.0)
        ctl("pg-stop")
        down_at = time.monotonic()
        time.sleep(10.0)
        ctl("pg-start")
        up_at = time.monotonic()
        time.sleep(4.0)
    during = [(st, secs, ra) for k, st, secs, ra, _ in s.log]
    bad = [x for x in during if x[0] not in (303, 503)]
    check("answers are 303 or 503, never an error page or a hang", not bad, str(bad[:3]))
    no_retry = [x for x in during if x[0] == 503 and not x[2]]
    check("every 503 carries Retry-After", not no_retry, str(no_retry[:3]))
    slow = [x for x in during if x[1] > 8.0]
    check("no answer takes longer than the timeouts allow (8 s)", not slow, str(slow[:3]))
    # Recovery: the stream's posts succeed within two seconds of the return.
    back = [t for k, st, _, _, t in s.log if st == 303 and t > up_at]
    check("posts succeed within 2 s of Postgres' return",
          bool(back) and min(back) - up_at <= 2.0,
          "first success %.2f s after" % (min(back) - up_at) if back else "none")
    print("  %d posts while Postgres was away for %.0f s" % (len(s.log), up_at - down_at), flush=True)
    n = int(sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'consult-httpd'") or 0)
    check("connections stay within the pool bounds (<= 4 children x 16)", n <= 64, str(n))


def fake(method, path, body=None):
    import json
    fu = urllib.parse.urlsplit(os.environ["CS_TEST_FAKE_URL"])
    c = http.client.HTTPConnection(fu.hostname, fu.port, timeout=10)
    c.request(method, path, json.dumps(body) if body is not None else None,
              {"Content-Type": "application/json"})
    r = c.getresponse()
    out = json.loads(r.read() or b"null")
    c.close()
    return out


def test_worker_killed_while_twilio_fails():
    """Replies queued while Twilio answers 503 at first and slowly after,
    and every Apache child (the job worker among them) killed three times:
    each reply reaches Twilio exactly once, and its SID is stored."""
    n = 20
    fake("DELETE", "/_control/rules")
    fake("POST", "/_control/rules", [
        {"method": "POST", "path": "*/Messages.json", "body_contains": "fault+reply",
         "status": 503, "times": 8, "body": {"code": 20500, "message": "busy"}},
        {"method": "POST", "path": "*/Messages.json", "body_contains": "fault+reply",
         "status": 201, "delay": 0.4, "body": {"sid": "{{sid}}", "status": "queued"}}])
    # As the composer queues them: the message and its send job together.
    sql("""WITH c AS (SELECT id FROM clients WHERE slug = 'sms-client'),
      ct AS (INSERT INTO contacts (client_id, phone)
             SELECT c.id, '+1503777' || lpad(g::text, 4, '0') FROM c, generate_series(1, %d) g
             RETURNING id, client_id, phone),
      cv AS (INSERT INTO conversations (client_id, contact_id) SELECT client_id, id FROM ct
             RETURNING id, client_id, contact_id),
      m AS (INSERT INTO messages (client_id, conversation_id, channel, direction, body,
                                  delivery_status, to_address, provider)
            SELECT cv.client_id, cv.id, 'sms', 'outbound', 'fault reply to ' || ct.phone,
                   'queued', ct.phone, 'twilio'
              FROM cv JOIN ct ON ct.id = cv.contact_id RETURNING id, client_id)
      INSERT INTO jobs (kind, payload, unique_key)
      SELECT 'twilio.sms.send', jsonb_build_object('message_id', id, 'client_id', client_id),
             'twilio.sms.send:' || id FROM m""" % n)
    # Kill while a send is in flight: its "sending" mark just committed.
    kills, deadline = 0, time.monotonic() + 30
    while kills < 3 and time.monotonic() < deadline:
        busy = sql("SELECT count(*) FROM messages m JOIN jobs j ON j.unique_key ="
                   " 'twilio.sms.send:' || m.id WHERE j.state = 'running'"
                   " AND m.delivery_status = 'sending' AND m.provider_id IS NULL"
                   " AND m.send_started_at > now() - interval '300 ms'")
        if busy and int(busy) > 0:
            for pid in child_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            kills += 1
            time.sleep(0.5)
        else:
            time.sleep(0.02)
    check("the worker was killed mid-send three times", kills == 3, "%d kills" % kills)
    deadline = time.monotonic() + 90
    done = 0
    while time.monotonic() < deadline:
        done = int(sql("SELECT count(*) FROM messages WHERE body LIKE 'fault reply to %%'"
                       " AND provider_id IS NOT NULL") or 0)
        if done == n:
            break
        time.sleep(0.5)
    check("every reply has its Twilio SID", done == n, "%d of %d" % (done, n))
    created = fake("GET", "/2010-04-01/Accounts/x/Messages.json?PageSize=1000")["messages"]
    bodies = [m["body"] for m in created if m["body"].startswith("fault reply to ")]
    twice = sorted(b for b in set(bodies) if bodies.count(b) > 1)
    check("Twilio created each reply exactly once", len(bodies) == n and not twice,
          "%d created, sent twice: %s" % (len(bodies), twice[:3]))
    stored = set(sql("SELECT provider_id FROM messages WHERE body LIKE 'fault reply to %%'"
                     " AND provider_id IS NOT NULL").split())
    check("the stored SIDs are the ones Twilio gave",
          stored == {m["sid"] for m in created if m["body"].startswith("fault reply to ")})
    attempts = int(sql("SELECT coalesce(max(attempts), 0) FROM jobs j JOIN messages m"
                       " ON m.id = (j.payload->>'message_id')::bigint"
                       " WHERE m.body LIKE 'fault reply to %%'") or 0)
    asked = sum(1 for r in fake("GET", "/_control/requests")
                if r["method"] == "GET" and r["path"].endswith("/Messages.json")
                and "PageSize=1000" not in r["query"])
    print("  %d replies, up to %d attempts each; Twilio asked %d times before a resend"
          % (n, attempts, asked), flush=True)
    fake("DELETE", "/_control/rules")


def twilio_sms(sid, text, timeout=10.0):
    """One signed inbound SMS webhook to sms.localhost, signed as Twilio
    signs it: over the vhost's ConsultTwilioPublicURL. Returns the status
    or None when the answer was lost."""
    import base64, hashlib, hmac
    p = {"MessageSid": sid, "AccountSid": "AC0123456789abcdef0123456789abcdef",
         "From": "+15037770999", "To": "+15005550006", "Body": text}
    signing = "https://sms.example.com/twilio/sms" + "".join(k + p[k] for k in sorted(p))
    sig = base64.b64encode(hmac.new(b"test-auth-token-0123456789abcdef", signing.encode(),
                                    hashlib.sha1).digest()).decode()
    try:
        c = http.client.HTTPConnection(URL.hostname, URL.port, timeout=timeout)
        c.request("POST", "/twilio/sms", urllib.parse.urlencode(p), {
            "Host": "sms.localhost", "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sig})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status
    except (OSError, http.client.HTTPException):
        return None


def test_twilio_webhooks_survive_killed_children():
    """Signed SMS webhooks from a few threads while every Apache child (the
    job worker among them) is killed until some webhook in flight was cut:
    Twilio redelivers what was not answered 200, and in the end every text
    is exactly one message. The 200 goes out only after the journal
    committed, so an answered webhook is never lost, and its job runs even
    when the worker that claimed it died."""
    lock, log, stop = threading.Lock(), [], threading.Event()

    def sender(t):
        i = 0
        while not stop.is_set():
            sid = "SMfault%d%026d" % (t, i)
            st = twilio_sms(sid, "fault text " + sid)
            with lock:
                log.append((sid, st))
            i += 1

    threads = [threading.Thread(target=sender, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    for _ in range(10):
        for pid in child_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.7)
        with lock:
            if any(st != 200 for _, st in log):
                break
    stop.set()
    for t in threads:
        t.join()
    cut = [sid for sid, st in log if st != 200]
    check("the kills cut webhooks in flight (else this proves nothing)", len(cut) > 0)
    # Twilio redelivers what it got no 200 for (the same event).
    deadline = time.monotonic() + 60
    pending = list(cut)
    while pending and time.monotonic() < deadline:
        pending = [sid for sid in pending if twilio_sms(sid, "fault text " + sid) != 200]
        time.sleep(0.2)
    check("every webhook was answered 200 in the end", not pending, "%d never" % len(pending))
    sids = set(sid for sid, _ in log)
    n = len(sids)
    deadline = time.monotonic() + 60
    counts = {}
    while time.monotonic() < deadline:
        out = sql("SELECT provider_id, count(*) FROM messages WHERE provider_id LIKE 'SMfault%' GROUP BY 1")
        counts = dict((l.split("|")[0], int(l.split("|")[1])) for l in out.splitlines() if l)
        if len(counts) >= n:
            break
        time.sleep(0.5)
    check("every text is one message, none lost, none twice",
          set(counts) == sids and all(v == 1 for v in counts.values()),
          "%d messages for %d texts, twice: %s" % (len(counts), n,
                                                   [s for s, v in counts.items() if v > 1][:3]))
    events = int(sql("SELECT count(*) FROM provider_events WHERE provider = 'twilio'"
                     " AND event_id LIKE 'sms:SMfault%' AND processed_at IS NOT NULL") or 0)
    check("each text is one journal event, processed", events == n, "%d of %d" % (events, n))
    print("  %d texts, %d webhooks cut by the kills and redelivered" % (n, len(cut)), flush=True)


def main():
    t0 = time.monotonic()
    for t in (test_child_killed, test_graceful_restart, test_postgres_down,
              test_worker_killed_while_twilio_fails, test_twilio_webhooks_survive_killed_children):
        print("== " + t.__name__, flush=True)
        t()
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print("fault tests took %.0f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
