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

# target name -> the common sources it needs (folder/cs_*, without common/ and .c)
FUZZ_SRC_intake    := domain/cs_intake text/cs_text base/cs_json
FUZZ_SRC_text      := text/cs_text
FUZZ_SRC_multipart := http/cs_multipart text/cs_text
FUZZ_SRC_token     := auth/cs_token base/cs_crypto
FUZZ_SRC_twilio    := providers/cs_twilio base/cs_json base/cs_crypto
FUZZ_SRC_resend    := providers/cs_resend base/cs_json
FUZZ_SRC_llm       := providers/cs_llm http/cs_http base/cs_json text/cs_text classify/cs_classify_core classify/cs_classify_feat \
                      classify/cs_classify_rules
FUZZ_SRC_tmpl      := text/cs_tmpl base/cs_json base/cs_file
FUZZ_SRC_classify  := classify/cs_classify classify/cs_classify_core classify/cs_classify_feat classify/cs_classify_rules base/cs_json
FUZZ_SRC_json      := base/cs_json
FUZZ_SRC_hours     := domain/cs_hours
FUZZ_SRC_conf      := base/cs_conf base/cs_file
FUZZ_SRC_migrate   := db/cs_migrate db/cs_db base/cs_crypto base/cs_file
# cs_pos.c's registry links every adapter, so the three targets build them all
FUZZ_SRC_pos_toast := providers/pos/cs_pos providers/pos/cs_pos_util text/cs_time providers/pos/cs_pos_mock \
                      providers/pos/cs_pos_square providers/pos/cs_pos_square_catalog \
                      providers/pos/cs_pos_square_menu providers/pos/cs_pos_square_parse \
                      providers/pos/cs_pos_clover providers/pos/cs_pos_clover_menu \
                      providers/pos/cs_pos_clover_parse providers/pos/cs_pos_toast \
                      providers/pos/cs_pos_toast_menu providers/pos/cs_pos_toast_parse \
                      domain/cs_menu base/cs_json base/cs_crypto base/cs_file http/cs_http
FUZZ_SRC_pos_square := $(FUZZ_SRC_pos_toast)
FUZZ_SRC_pos_clover := $(FUZZ_SRC_pos_toast)
FUZZ_SRC_stripe    := providers/cs_stripe base/cs_json base/cs_crypto
FUZZ_SRC_calcom    := providers/cs_calcom base/cs_json base/cs_crypto text/cs_time
FUZZ_SRC_jobber    := providers/cs_jobber base/cs_json base/cs_crypto text/cs_time
FUZZ_SRC_cart      := domain/cs_cart domain/cs_menu

FUZZ_TARGETS := intake text multipart token twilio resend llm tmpl classify json hours conf \
                migrate
FUZZ_TARGETS += pos_toast
FUZZ_TARGETS += pos_square pos_clover
FUZZ_TARGETS += stripe
FUZZ_TARGETS += calcom jobber
FUZZ_TARGETS += cart
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SECONDS ?= 10
# The long mode: each target to FUZZ_RUNS executions (FUZZ_SECONDS caps it).
FUZZ_RUNS    ?= 0

.PHONY: fuzz fuzz-build

fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_NO_BUILD=1 \
	    $(FUZZ_DIR)/run.sh

# The classifier target also compiles the generated model (the Makefile's
# $(MODEL_SRC) rule trains it).
$(FUZZ_BUILD)/fuzz_classify: $(MODEL_SRC)
$(FUZZ_BUILD)/fuzz_classify: FUZZ_EXTRA := $(MODEL_SRC)

define FUZZ_RULE
$(FUZZ_BUILD)/fuzz_$(1): $(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_DIR)/fuzz_common.h \
                         $(FUZZ_SRC_$(1):%=common/%.c) $(COMMON_HDR) fuzz.mk
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ $(FUZZ_DIR)/fuzz_$(1).c \
	    $(FUZZ_SRC_$(1):%=common/%.c) $$(FUZZ_EXTRA) $(FUZZ_LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

endif # FUZZ_MK_INCLUDED
