#!/usr/bin/env python3
"""make validate: every check a release must pass before it is deployed.

The checks run in parallel (those needing the build start when it is done),
one progress line each as it starts and ends, and a JSON report: each
check's name, status (passed, failed, skipped), seconds, and the first
lines of its failure. Exits 1 if any check failed.

Environment:
  VALIDATE_REPORT  the report's path (default build/validate.json)
  VALIDATE_ONLY    comma-separated checks to run (the others are left out)
  VALIDATE_CONF    the folder the secrets lint reads (default conf)
  VALIDATE_SQL     the migrations folder (default sql)
  VALIDATE_BASE    the running release's git ref for the migrations check
  JOBS             make's -j for the build steps (default 2)
"""
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(ROOT, "build", "validate")
JOBS = os.environ.get("JOBS", "2")
CONF = os.environ.get("VALIDATE_CONF", "conf")
SQL = os.environ.get("VALIDATE_SQL", "sql")
MAKE = f"make --no-print-directory -j{JOBS}"

# name, what it checks, shell command (run in the checkout), checks it needs.
CHECKS = [
    # Before the two that read them: the pinned npm packages and the
    # vendored files the package ships (a package without htmx is broken).
    ("assets", "the pinned front-end packages installed and copied in",
     "tools/assets.sh", []),
    ("build", "modules, consult-admin and the unit tests compile with -Werror",
     # The flags first: a build that passes because -Werror went is no check.
     "make -s --no-print-directory -f Makefile -f <(printf 'validate-cflags:\\n\\t@echo $(CFLAGS)\\n')"
     " validate-cflags | tr ' ' '\\n' | grep -qx -- -Werror || { echo 'build: CFLAGS lack -Werror'; exit 1; }; "
     f"{MAKE} all build/release/tests/unit_tests", ["assets"]),
    ("unit", "the unit suites",
     "CK_FORK=yes build/release/tests/unit_tests", ["build"]),
    ("httpd-config", "apache2 -t of the production config (infra's consult-render)",
     "dist/validate-httpd.sh", ["build"]),
    ("migrations", "migrations over the running release's schema; no applied one changed",
     f"dist/validate-migrations.sh {SQL}", ["build"]),
    ("secrets", "no literal secret in the Apache configuration",
     f"dist/secrets-lint.py {CONF}", []),
    ("package", "the Debian package builds and is lintian-clean",
     "dist/deb.sh", ["assets"]),
    ("sites", "the client sites' checks (make sites-check)",
     f"{MAKE} sites-check", []),
]


def has_make_target(name):
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        return any(re.match(rf"^{re.escape(name)}\s*:", line) for line in f)


def failure_lines(log, limit=15):
    """The lines that say what went wrong: error-looking ones first, else the tail."""
    lines = [l.rstrip("\n") for l in log.splitlines() if l.strip()]
    hits = [l for l in lines if re.search(r"error|fail|FAIL|not ok|refus|changed|literal|:\d+:", l)]
    return (hits or lines[-limit:])[:limit]


class Runner:
    def __init__(self, checks):
        self.checks = checks
        self.results = {}
        self.lock = threading.Lock()
        self.done = threading.Condition(self.lock)
        self.t0 = time.monotonic()

    def say(self, line):
        with self.lock:
            print(f"validate: [{time.monotonic() - self.t0:6.1f}s] {line}", flush=True)

    def run_one(self, name, what, cmd, needs):
        with self.done:
            self.done.wait_for(lambda: all(n in self.results for n in needs))
            blocked = [n for n in needs if self.results[n]["status"] != "passed"]
        if blocked:
            self.finish(name, "skipped", 0.0, [f"needs {', '.join(blocked)}, which did not pass"])
            return
        if name == "sites" and not has_make_target("sites-check"):
            self.finish(name, "skipped", 0.0, ["this checkout has no make sites-check"])
            return
        self.say(f"start {name}: {what}")
        start = time.monotonic()
        with open(os.path.join(LOGS, f"{name}.log"), "w+", encoding="utf-8") as log:
            rc = subprocess.call(["bash", "-c", cmd], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
            log.seek(0)
            text = log.read()
        seconds = time.monotonic() - start
        if rc == 0:
            self.finish(name, "passed", seconds, [])
        else:
            self.finish(name, "failed", seconds, [f"exit {rc}: {cmd}"] + failure_lines(text))

    def finish(self, name, status, seconds, failure):
        word = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[status]
        detail = f" - {failure[-1] if status == 'failed' else failure[0]}" if failure else ""
        self.say(f"{word}  {name} ({seconds:.1f} s){detail}")
        with self.done:
            self.results[name] = {"name": name, "status": status, "seconds": round(seconds, 1),
                                  "failure": failure}
            self.done.notify_all()

    def run(self):
        threads = [threading.Thread(target=self.run_one, args=c) for c in self.checks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [self.results[c[0]] for c in self.checks]


def git(*args):
    try:
        return subprocess.check_output(["git", *args], cwd=ROOT, text=True, stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    only = [n for n in os.environ.get("VALIDATE_ONLY", "").split(",") if n]
    unknown = set(only) - {c[0] for c in CHECKS}
    if unknown:
        print(f"validate: no check named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    checks = [(n, w, c, [d for d in needs if not only or d in only])
              for n, w, c, needs in CHECKS if not only or n in only]
    report = os.environ.get("VALIDATE_REPORT", os.path.join(ROOT, "build", "validate.json"))
    os.makedirs(LOGS, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    runner = Runner(checks)
    results = runner.run()
    failed = [r["name"] for r in results if r["status"] == "failed"]
    doc = {
        "ok": not failed,
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - runner.t0, 1),
        "checks": results,
    }
    # The package this report vouches for: deploy.sh refuses any other.
    latest = os.path.join(ROOT, "build", "deb", "latest")
    if runner.results.get("package", {}).get("status") == "passed" and os.path.exists(latest):
        with open(latest, encoding="utf-8") as f:
            deb = os.path.join(ROOT, "build", "deb", f.read().strip())
        with open(deb, "rb") as f:
            doc["package"] = {"file": os.path.basename(deb), "sha256": hashlib.sha256(f.read()).hexdigest()}
    os.makedirs(os.path.dirname(os.path.abspath(report)), exist_ok=True)
    with open(report + ".tmp", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(report + ".tmp", report)
    passed = sum(r["status"] == "passed" for r in results)
    skipped = sum(r["status"] == "skipped" for r in results)
    print(f"validate: {passed} passed, {len(failed)} failed, {skipped} skipped in {doc['seconds']} s"
          f"{' (failed: ' + ', '.join(failed) + ')' if failed else ''}; report: {os.path.relpath(report, ROOT)},"
          f" logs: build/validate/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
