# libFuzzer targets (tests/fuzz/). Included from the Makefile
# (`include fuzz.mk`); until then: make -f Makefile -f fuzz.mk fuzz.
#
# Each target is built with clang, -fsanitize=fuzzer,address,undefined, and
# compiles the common/*.c sources it needs directly (not the gcc-built
# archive), so the code under test is instrumented for coverage and ASan.
#
#   make fuzz                 build every target, then run each for
#                             FUZZ_SECONDS (default 10) and replay
#                             tests/fuzz/regressions/ (tests/fuzz/run.sh)
#   make fuzz-build           only build them, into build/fuzz/

ifndef FUZZ_MK_INCLUDED
FUZZ_MK_INCLUDED := 1

FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_DIR     := tests/fuzz
FUZZ_SAN     := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -g -O1 $(WARN) $(FUZZ_SAN) \
                $(APXS_CPP) -I$(HTTPD_INC) -I$(APR_INC) $(PKG_CFLAGS) -Icommon -I$(FUZZ_DIR)
FUZZ_LDLIBS  := $(LDLIBS) -lm

# target name -> the common sources it needs (cs_*.c, without the common/)
FUZZ_SRC_intake    := cs_intake cs_text cs_json
FUZZ_SRC_text      := cs_text
FUZZ_SRC_multipart := cs_multipart cs_text
FUZZ_SRC_token     := cs_token
FUZZ_SRC_twilio    := cs_twilio cs_json
FUZZ_SRC_resend    := cs_resend cs_json
FUZZ_SRC_llm       := cs_llm cs_http cs_json cs_text cs_classify_core cs_classify_feat \
                      cs_classify_rules
FUZZ_SRC_tmpl      := cs_tmpl cs_json
FUZZ_SRC_classify  := cs_classify cs_classify_core cs_classify_feat cs_classify_rules cs_json
FUZZ_SRC_json      := cs_json
FUZZ_SRC_hours     := cs_hours
FUZZ_SRC_conf      := cs_conf
FUZZ_SRC_migrate   := cs_migrate cs_db

FUZZ_TARGETS := intake text multipart token twilio resend llm tmpl classify json hours conf \
                migrate
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SECONDS ?= 10

.PHONY: fuzz fuzz-build

fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_NO_BUILD=1 \
	    $(FUZZ_DIR)/run.sh

# The classifier target also compiles the generated model (the Makefile's
# $(MODEL_SRC) rule trains it).
$(FUZZ_BUILD)/fuzz_classify: $(MODEL_SRC)
$(FUZZ_BUILD)/fuzz_classify: FUZZ_EXTRA := $(MODEL_SRC)

define FUZZ_RULE
$(FUZZ_BUILD)/fuzz_$(1): $(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_DIR)/fuzz_common.h \
                         $(FUZZ_SRC_$(1):%=common/%.c) $(wildcard common/*.h) fuzz.mk
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ $(FUZZ_DIR)/fuzz_$(1).c \
	    $(FUZZ_SRC_$(1):%=common/%.c) $$(FUZZ_EXTRA) $(FUZZ_LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

endif # FUZZ_MK_INCLUDED
