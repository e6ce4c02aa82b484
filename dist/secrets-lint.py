#!/usr/bin/env python3
"""secrets-lint: no literal secret in the Apache configuration.

    usage: dist/secrets-lint.py [--allow FILE] DIR...

Every Consult directive that takes a secret (its name ends in Secret, Key,
Token or Password: ConsultSecret, ConsultPOSWebhookSecret, ConsultResendKey,
ConsultSecretKey's second argument, ...) must read it from env:NAME or
file:PATH; a literal value is a finding. Any line of any file that holds a
well-known key shape (Stripe sk_live_, Twilio SK..., AWS AKIA..., a PEM
private key, ...) is a finding whatever the directive.

The demo's made-up values are listed in dist/secrets-allow.txt by file,
directive and the SHA-256 of the value, so a changed value is a finding
again. Prints one line per finding (path:line: directive: why) and exits 1
if there is any.
"""
import hashlib
import os
import re
import sys

SECRET_DIRECTIVE = re.compile(r"^Consult\w*(Secret|Key|Token|Password)$")
NOT_SECRET = {"ConsultIntakeFormToken",       # Off|Optional|Require
              "ConsultStripePublishableKey"}  # public by design: Stripe.js reads it in the page
KEY_SHAPES = [
    (re.compile(r"\b[sr]k_live_[0-9A-Za-z]{10,}"), "a live Stripe key"),
    (re.compile(r"\bwhsec_[0-9A-Za-z]{16,}"), "a Stripe webhook secret"),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a PEM private key"),
    (re.compile(r"\bSK[0-9a-f]{32}\b"), "a Twilio API key"),
    (re.compile(r"\bxox[abprs]-[0-9A-Za-z-]{10,}"), "a Slack token"),
    (re.compile(r"\bgh[pousr]_[0-9A-Za-z]{30,}"), "a GitHub token"),
]


def words(line):
    """Apache's argument splitting, enough for directive lines: quoted or bare."""
    return [quoted or bare for quoted, bare in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', line)]


def load_allow(path):
    allow = set()
    if not path or not os.path.exists(path):
        return allow
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if line:
                rel, directive, digest = line.split()[:3]
                allow.add((rel, directive, digest))
    return allow


def lint_file(path, rel, allow):
    findings = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            for shape, what in KEY_SHAPES:
                if shape.search(line):
                    findings.append(f"{rel}:{n}: {what}")
            if not line or line.startswith("#"):
                continue
            args = words(line)
            name = args[0]
            if not SECRET_DIRECTIVE.match(name) or name in NOT_SECRET or len(args) < 2:
                continue
            value = args[2] if name == "ConsultSecretKey" and len(args) > 2 else args[1]
            if value.startswith(("env:", "file:")):
                continue
            digest = hashlib.sha256(value.encode()).hexdigest()[:16]
            if (rel, name, digest) in allow:
                continue
            findings.append(f"{rel}:{n}: {name}: a literal secret; use env:NAME or file:PATH"
                            f" (a demo value: list '{rel} {name} {digest}' in dist/secrets-allow.txt)")
    return findings


def main(argv):
    allow_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "secrets-allow.txt")
    if len(argv) > 2 and argv[1] == "--allow":
        allow_path, argv = argv[2], argv[2:]
    dirs = argv[1:]
    if not dirs:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    allow = load_allow(allow_path)
    findings, count = [], 0
    for d in dirs:
        base = os.path.basename(os.path.normpath(d))
        for top, _, files in os.walk(d):
            for name in sorted(files):
                path = os.path.join(top, name)
                rel = os.path.join(base, os.path.relpath(path, d))
                count += 1
                findings += lint_file(path, rel, allow)
    for f in findings:
        print(f)
    print(f"secrets-lint: {count} files, {len(findings)} literal secret(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
