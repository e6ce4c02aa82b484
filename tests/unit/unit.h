/**
 * @file unit.h
 * @brief Shared pieces of the unit test runner: one constructor per suite
 * (one suite per common/ source) and the per-test APR pool fixture.
 */
#ifndef UNIT_H
#define UNIT_H

#include <check.h>
#include <apr_pools.h>

/* One suite per source file in common/ (cs_db is covered by the
 * integration tests, since it needs a live database). */
Suite *conf_suite(void);
Suite *text_suite(void);
Suite *json_suite(void);
Suite *intake_suite(void);
Suite *migrate_suite(void);
Suite *llm_suite(void);
Suite *multipart_suite(void);
Suite *sniff_suite(void);
Suite *tmpl_suite(void);
Suite *auth_suite(void);
Suite *classify_suite(void);
Suite *twilio_suite(void);
Suite *resend_suite(void);
Suite *channel_suite(void);
Suite *hours_suite(void);
Suite *crypto_suite(void);
Suite *menu_suite(void);
Suite *pos_contract_suite(void);
Suite *pos_square_suite(void);
Suite *pos_clover_suite(void);
Suite *pos_toast_suite(void);
Suite *cart_suite(void);
Suite *slots_suite(void);
Suite *order_suite(void);
Suite *stripe_suite(void);
Suite *calcom_suite(void);
Suite *jobber_suite(void);
Suite *jobs_suite(void);

/** The pool of the running test: created fresh by unit_pool_setup and
 * destroyed by unit_pool_teardown (use them as a checked fixture). */
extern apr_pool_t *unit_pool;

void unit_pool_setup(void);
void unit_pool_teardown(void);

/** @p piece repeated @p times, allocated in @p p. */
char *unit_repeat(apr_pool_t *p, const char *piece, int times);

/* An empty temporary folder with a fresh pool, removed with its contents. */
extern char *unit_tmpdir;
void unit_tmpdir_setup(const char *tag);
void unit_tmpdir_teardown(void);
void unit_put_file(const char *name, const char *content);
void unit_put_dir(const char *name);

/* A fake provider (tests/fakes/NAME.py) on a free loopback port; plain C
 * buffers, since an unchecked fixture runs before any test pool exists. */
#include <sys/types.h>
typedef struct {
    pid_t pid;
    char dir[512];
    char portfile[600];
    char log[600];          /* the requests it received, one JSON line each */
    char base[64];          /* http://127.0.0.1:PORT */
} unit_fake_t;

/** Start @p script (relative to the source root, or CS_SOURCE_ROOT) and wait
 * until it listens; a test failure if it does not within 15 s. */
void unit_fake_start(unit_fake_t *f, const char *script);
/** Stop it and remove its files. Harmless when not started. */
void unit_fake_stop(unit_fake_t *f);

#endif
