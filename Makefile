# Consult — build, run and test. `make help` lists the targets.
#
# Modules are compiled with the toolchain and flags apxs reports for the
# installed httpd, and linked here (not through apxs' libtool) so that each
# .so exports only its module symbol: common/ is linked statically into
# every module and APR loads modules RTLD_GLOBAL, so a leaked cs_* symbol
# would silently replace another module's copy.

APXS       ?= apxs
SAN        ?= 0
JOBS       ?= 2

HTTPD_INC  := $(shell $(APXS) -q INCLUDEDIR 2>/dev/null)
APR_INC    := $(shell $(APXS) -q APR_INCLUDEDIR 2>/dev/null)
APXS_CPP   := $(shell $(APXS) -q EXTRA_CPPFLAGS 2>/dev/null)
PKGS       := json-c libcurl openssl libpq libmagic libargon2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SAN),1)
BUILD      := build/san
SANFLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT        := -O1
else
BUILD      := build/release
SANFLAGS   :=
OPT        := -O2
endif

CC         ?= gcc
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
              -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS     := -std=gnu11 -g $(OPT) -fPIC $(WARN) $(SANFLAGS) \
              $(APXS_CPP) -I$(HTTPD_INC) -I$(APR_INC) $(PKG_CFLAGS) -Icommon -Imodules/core
LDLIBS     := $(PKG_LIBS) -lapr-1 -laprutil-1

COMMON_SRC := $(wildcard common/*/*.c common/*/*/*.c)
COMMON_HDR := $(wildcard common/*/*.h common/*/*/*.h)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_LIB := $(BUILD)/libconsult_common.a

# The builtin classifier's model is trained at build time from the labeled
# examples (and staff corrections exported next to them) into generated C.
EXAMPLES   := common/classify/examples.jsonl
CORRECTIONS:= $(wildcard common/classify/corrections*.jsonl)
TRAINER    := $(BUILD)/classifier-train
MODEL_SRC  := $(BUILD)/gen/cs_model_data.c
MODEL_OBJ  := $(BUILD)/gen/cs_model_data.o
# An archive, so only binaries that classify carry the model tables.
MODEL_LIB  := $(BUILD)/libconsult_model.a
CLASSIFY   := $(BUILD)/consult-classify

MODULES    := core intake inbox twilio email pos integrations orders
MODULE_SO  := $(MODULES:%=$(BUILD)/modules/mod_consult_%.so)
ADMIN      := $(BUILD)/consult-admin

UNIT_SRC   := $(wildcard tests/unit/check_*.c tests/unit/pos_fixture_*.c)
UNIT_BIN   := $(BUILD)/tests/unit_tests
INTEG_SRC  := $(wildcard tests/integration/check_*.c)
INTEG_BIN  := $(BUILD)/tests/integration_tests

.PHONY: all deps run stop test test-unit test-integration test-san psql migrate \
        seed clean help install classify eval bench assets test-browser seed-inbox fault leakcheck test-infra \
        deb test-deb test-delivery validate test-validate test-workflows deploy test-deploy \
        sites-check test-fuzz-runner
.DEFAULT_GOAL := all

all: $(MODULE_SO) $(ADMIN) $(CLASSIFY) assets

help:
	@echo "make            build modules and consult-admin (SAN=1: ASan+UBSan build)"
	@echo "make run        private Postgres + Apache on 127.0.0.1:8080 (Ctrl-C stops both)"
	@echo "make test       unit, integration, browser suites and sites-check; make test-san: the same under ASan/UBSan"
	@echo "make sites-check every client site: HTML, links, axe, weight, form posts, Lighthouse, screenshots"
	@echo "make classify   classify JSON lines from stdin; make eval: held-out accuracy and F1"
	@echo "make fuzz       libFuzzer on every parser (FUZZ_SECONDS per target; FUZZ_RUNS=10000000 for the long mode); make fault: faults under load"
	@echo "make bench      intake posts/s and latency next to pgbench doing the same write"
	@echo "make test-infra infra/: the Pulumi program, node scripts and deploy.sh (offline)"
	@echo "make psql       psql on the make-run database (reads SQL from stdin if piped)"
	@echo "make migrate    apply pending migrations to the make-run database"
	@echo "make install    install the modules into httpd's module folder with apxs"
	@echo "make deb        the Debian package (build/deb/), lintian-checked; make test-deb installs it (root)"
	@echo "make validate   every pre-deploy check in parallel; report in build/validate.json"
	@echo "make deploy     TARGET=FILE: the validated package node by node, smoke checks, rollback"

deps:
	@dist/install-deps.sh

# htmx from the npm registry (pinned in package-lock.json), copied into the
# dashboard's assets.
assets:
	@tools/assets.sh

$(BUILD)/common/%.o: common/%.c $(COMMON_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(TRAINER): tools/classifier-train.c $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -o $@ $< $(COMMON_LIB) $(SANFLAGS) $(LDLIBS) -lm

$(MODEL_SRC): $(TRAINER) $(EXAMPLES) $(CORRECTIONS)
	@mkdir -p $(dir $@)
	$(TRAINER) --out $@ $(EXAMPLES) $(CORRECTIONS)

$(MODEL_OBJ): $(MODEL_SRC)
	$(CC) $(CFLAGS) -c $< -o $@

$(MODEL_LIB): $(MODEL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CLASSIFY): tools/consult-classify.c $(COMMON_LIB) $(MODEL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -o $@ $< $(COMMON_LIB) $(MODEL_LIB) $(SANFLAGS) $(LDLIBS) -lm

# One folder per module; every .c in it makes that module's .so.
.SECONDEXPANSION:
$(BUILD)/modules/mod_consult_%.so: $$(wildcard modules/$$*/*.c) $$(wildcard modules/$$*/*.h) \
                                   modules/core/mod_consult_core.h $(COMMON_LIB) $(MODEL_LIB) \
                                   modules/exports.map
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -o $@ $(filter %.c,$^) $(COMMON_LIB) $(MODEL_LIB) \
	    -Wl,--version-script=modules/exports.map -Wl,--exclude-libs,ALL \
	    -Wl,-z,relro -Wl,-z,now $(SANFLAGS) $(LDLIBS) -lm

ADMIN_SRC  := tools/consult-admin.c tools/site-new.c
$(ADMIN): $(ADMIN_SRC) tools/consult-admin.h $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itools -fPIE -o $@ $(ADMIN_SRC) $(COMMON_LIB) $(SANFLAGS) $(LDLIBS)

$(UNIT_BIN): $(UNIT_SRC) tests/unit/unit_main.c tests/unit/unit_fake.c tests/unit/unit.h tests/unit/pos_fixture.h $(COMMON_LIB) $(MODEL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $(UNIT_SRC) tests/unit/unit_main.c tests/unit/unit_fake.c $(COMMON_LIB) $(MODEL_LIB) \
	    $(SANFLAGS) $(LDLIBS) -lm $(shell pkg-config --libs check)

$(INTEG_BIN): $(INTEG_SRC) tests/integration/integ_main.c tests/integration/integ.h $(COMMON_LIB) $(MODEL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/integration -o $@ $(INTEG_SRC) tests/integration/integ_main.c \
	    $(COMMON_LIB) $(MODEL_LIB) $(SANFLAGS) $(LDLIBS) -lm $(shell pkg-config --libs check)

# ---- running -------------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@BUILD=$(BUILD) tools/run.sh

psql:
	@tools/pg.sh psql

migrate: $(ADMIN)
	@BUILD=$(BUILD) tools/pg.sh migrate

install: $(MODULE_SO)
	@for m in $(MODULE_SO); do $(APXS) -i -n $$(basename $$m .so | sed 's/^mod_//') $$m; done

# ---- classifier ----------------------------------------------------------
# JSON lines {"text": ...} on stdin -> one classification per line on stdout.
classify: $(CLASSIFY)
	@$(CLASSIFY)

# Held-out figures (common/classify/heldout.jsonl, never trained or tuned on) and the goals.
eval: $(TRAINER)
	@$(TRAINER) --eval $(EXAMPLES) $(CORRECTIONS) common/classify/heldout.jsonl

# ---- benchmarks ----------------------------------------------------------
bench: deps all
	@BUILD=$(BUILD) bench/run.sh

# Grow the make-run database's demo inbox (client bench-inbox) to N messages.
seed-inbox:
	@tools/pg.sh start
	@psql -X -q "$$(tools/pg.sh conninfo)" -v slug=$${SLUG:-bench-inbox} -v n=$${N:-10000} -f bench/seed_inbox.sql

# ---- tests ---------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all $(UNIT_BIN) $(INTEG_BIN)
	@$(MAKE) --no-print-directory test-unit test-integration test-browser $(if $(filter 1,$(SAN)),,sites-check test-infra test-delivery test-fuzz-runner)

# The fuzz runner itself (tests/fuzz/run.sh): a crash becomes a regression
# input, a kept one fails the next run, the long mode counts executions.
test-fuzz-runner:
	@echo "== fuzz runner"
	@tests/fuzz/selftest.sh

# infra/: the Pulumi program under Pulumi's mocks, the node scripts and
# deploy.sh, offline (npm packages pinned in infra/package-lock.json).
test-infra:
	@echo "== infra tests"
	@infra/test.sh

test-unit: $(UNIT_BIN)
	@echo "== unit tests ($(BUILD))"
	@CK_FORK=yes $(UNIT_BIN)

test-integration: $(INTEG_BIN) $(MODULE_SO) $(ADMIN)
	@echo "== integration tests ($(BUILD))"
	@BUILD=$(BUILD) SAN=$(SAN) tests/integration/harness.sh $(INTEG_BIN)

# Headless Chromium (Debian's) driven by playwright-core: the dashboard as
# staff use it, axe-core checks, screenshots in tests/out/browser/.
test-browser: all
	@echo "== browser tests ($(BUILD))"
	@BUILD=$(BUILD) SAN=$(SAN) tests/browser/harness.sh

# Every client site (and one new site per vertical from site-new): HTML
# validity, links and assets, axe, page weight, a real post of each form,
# Lighthouse; screenshots at phone and desktop width in tests/out/sites/.
# Not under SAN=1 (the sites, not the C, are what it checks; the
# integration suite runs site-new under the sanitizers).
sites-check: all
	@echo "== sites check ($(BUILD))"
	@BUILD=$(BUILD) SAN=$(SAN) tests/sites/run.sh

test-san:
	@$(MAKE) --no-print-directory SAN=1 test

# Faults under load: a killed Apache child, a graceful restart, Postgres
# gone for ten seconds. Every 2xx must be in the database exactly once.
fault: deps all
	@echo "== fault tests ($(BUILD))"
	@BUILD=$(BUILD) SAN=$(SAN) tests/integration/harness.sh tests/fault/fault.py

clean:
	rm -rf build

# valgrind memcheck over Apache -X driven through every module.
leakcheck: deps all
	@echo "== leak check ($(BUILD))"
	@BUILD=$(BUILD) SAN=0 tests/integration/harness.sh tests/leak/leak.sh

# ---- packaging -----------------------------------------------------------
# The Debian package, built by dpkg-buildpackage from a copy of the
# checkout (dist/debian/), lintian-checked: build/deb/.
deb: deps assets
	@dist/deb.sh

# Every check a release must pass before a deploy, in parallel: build
# (-Werror), unit tests, apache2 -t of the production config, migrations
# over the running release's schema, the secrets lint, the package, the
# sites' checks. A line per check; build/validate.json; non-zero on failure.
validate: deps
	@dist/validate.py

# Delivery's own tests (part of make test): the package on this machine,
# make validate failing on planted faults, the CI workflow linted.
test-delivery: test-deb test-validate test-workflows test-deploy

# The validated package (build/deb/latest, or PACKAGE=) onto TARGET's nodes:
# backup, migrate, then per node drain, install, graceful restart, smoke
# checks, undrain; a failing node is rolled back (dist/deploy.sh).
deploy:
	@TARGET=$(TARGET) PACKAGE=$(PACKAGE) dist/deploy.sh

# Two local nodes behind a balancer under a stream of posts: a deploy and
# a broken release's rollback, 0 failed requests.
test-deploy: deb
	@tests/deploy/test.sh build/deb/$$(cat build/deb/latest)

# .github/workflows/ through action-validator (npm, pinned in package.json).
test-workflows: assets
	@echo "== workflow lint"
	@tests/workflows/test.sh

test-validate: $(ADMIN)
	@echo "== validate tests"
	@tests/validate/test.sh

# Installs that package into this machine's apache2 and removes it again
# (root only; skips otherwise). Apache runs on a private port, stopped after.
test-deb: deb
	@echo "== package test"
	@tests/deb/test.sh build/deb/$$(cat build/deb/latest)

# make fuzz: libFuzzer targets for every parser of untrusted input (clang).
include fuzz.mk
