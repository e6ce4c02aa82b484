#!/usr/bin/env python3
"""The carts make bench checks out: N guests, each with a cart of one
Margherita (12-inch) and a lemonade, stored as mod_consult_orders stores
them (carts.token_hash = SHA-256 of the cookie), and a wrk Lua script
posting each guest's checkout once (its cookie and its form token, which
is HMAC-SHA256 under the server secret of "consult-cart-form:CLIENT:TOKEN",
first 32 hex digits, as modules/orders/orders_cart.c derives it).
usage: orders_carts.py CONNINFO SECRET_FILE CLIENT_ID HOST N OUT.lua"""
import base64, hashlib, hmac, json, os, subprocess, sys

conninfo, secret_file, client, host, n, out = sys.argv[1:7]
n = int(n)
key = open(secret_file, "rb").read().rstrip(b"\n")
lines = '[{"item": "margherita", "qty": 1, "mods": ["size-12"]}, {"item": "lemonade", "qty": 1, "mods": []}]'
rows, reqs = [], ["local reqs = {"]
for i in range(n):
    token = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    csrf = hmac.new(key, ("consult-cart-form:%s:%s" % (client, token)).encode(),
                    hashlib.sha256).hexdigest()[:32]
    rows.append("%s\t%s\t%s" % (client, hashlib.sha256(token.encode()).hexdigest(), lines))
    reqs.append("{%s,%s}," % (json.dumps("consult_cart=" + token), json.dumps(csrf)))
reqs.append("}")
reqs.append('''
local counter = 1
function setup(thread) thread:set("id", counter); counter = counter + 1 end
-- Each of the two threads takes its own half: every checkout is a new cart.
function init(args) i = (id - 1) * math.floor(#reqs / 2) end
request = function()
  i = i + 1
  local r = reqs[(i %% #reqs) + 1]
  return wrk.format("POST", "/order/checkout", {["Host"] = "%s", ["Cookie"] = r[1],
    ["Accept"] = "application/json", ["Content-Type"] = "application/x-www-form-urlencoded"},
    "csrf=" .. r[2] .. "&name=Bench+Guest&phone=%%2B14015550142&pickup=asap")
end
''' % host)
open(out, "w").write("\n".join(reqs))
subprocess.run(["psql", "-X", "-q", conninfo, "-c",
                "COPY carts (client_id, token_hash, lines) FROM STDIN"],
               input="\n".join(rows) + "\n", text=True, check=True)
