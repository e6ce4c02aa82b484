# Pass/fail lines for the shell tests of tests/deb, tests/deploy,
# tests/validate and tests/workflows. Source it; it defines functions only.
#   ok TEXT     counts a pass and prints "  ok - TEXT"
#   fail TEXT   prints "  FAIL - TEXT" on stderr and exits 1
pass=0
ok() { pass=$((pass + 1)); echo "  ok - $*"; }
fail() { echo "  FAIL - $*" >&2; exit 1; }
