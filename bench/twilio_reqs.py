#!/usr/bin/env python3
"""Write a wrk Lua script posting N distinct, correctly signed Twilio SMS
webhooks (distinct MessageSids, so each is a new message, not a
redelivery). usage: twilio_reqs.py URL_BASE TOKEN N OUT.lua"""
import base64, hashlib, hmac, sys, urllib.parse

base, token, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
url = base + "/twilio/sms"
lines = ["local reqs = {"]
for i in range(n):
    p = {"MessageSid": "SMbench%027d" % i, "AccountSid": "AC" + "0" * 32,
         "From": "+1503555%04d" % (i % 10000), "To": "+15005550006",
         "Body": "Hi, can I book a table for two tonight at 7? (%d)" % i, "NumMedia": "0"}
    signing = url + "".join(k + p[k] for k in sorted(p))
    sig = base64.b64encode(hmac.new(token.encode(), signing.encode(), hashlib.sha1).digest()).decode()
    body = urllib.parse.urlencode(p)
    lines.append("{%r,%r}," % (body, sig))
lines.append("}")
lines.append('''
local counter = 1
local threads = {}
function setup(thread) thread:set("id", counter); table.insert(threads, thread); counter = counter + 1 end
-- Each of the two threads takes its own half, so every SID is new.
function init(args) i = (id - 1) * math.floor(#reqs / 2) end
request = function()
  i = i + 1
  local r = reqs[(i % #reqs) + 1]
  return wrk.format("POST", "/twilio/sms", {["Host"] = "bench.localhost",
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = r[2]}, r[1])
end
''')
open(out, "w").write("\n".join(lines))
