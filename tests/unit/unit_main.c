/* Unit test runner: every suite in one SRunner, APR initialized once. */
#include "unit.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

apr_pool_t *unit_pool;

void unit_pool_setup(void)
{
    unit_pool = NULL;
    ck_assert_int_eq(apr_pool_create(&unit_pool, NULL), APR_SUCCESS);
    ck_assert_ptr_nonnull(unit_pool);
}

void unit_pool_teardown(void)
{
    if (unit_pool) {
        apr_pool_destroy(unit_pool);
        unit_pool = NULL;
    }
}

char *unit_repeat(apr_pool_t *p, const char *piece, int times)
{
    size_t n = strlen(piece);
    char *s = apr_palloc(p, n * (size_t)times + 1);
    int i;

    for (i = 0; i < times; i++) {
        memcpy(s + n * (size_t)i, piece, n);
    }
    s[n * (size_t)times] = '\0';
    return s;
}


/* ---- an empty temporary folder per test ---------------------------------- */

char *unit_tmpdir;

static void remove_tree(apr_pool_t *p, const char *path)
{
    apr_dir_t *d;
    apr_finfo_t fi;

    if (apr_dir_open(&d, path, p) != APR_SUCCESS) {
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        const char *child;
        if (!strcmp(fi.name, ".") || !strcmp(fi.name, "..")) {
            continue;
        }
        child = apr_pstrcat(p, path, "/", fi.name, NULL);
        if (fi.filetype == APR_DIR) {
            remove_tree(p, child);
        }
        else {
            apr_file_remove(child, p);
        }
    }
    apr_dir_close(d);
    apr_dir_remove(path, p);
}

void unit_tmpdir_setup(const char *tag)
{
    const char *base = getenv("TMPDIR");

    unit_pool_setup();
    unit_tmpdir = apr_pstrcat(unit_pool, base && *base ? base : "/tmp", "/", tag,
                              "_XXXXXX", NULL);
    ck_assert_msg(mkdtemp(unit_tmpdir) != NULL, "mkdtemp %s failed", unit_tmpdir);
}

void unit_tmpdir_teardown(void)
{
    if (unit_tmpdir && unit_pool) {
        remove_tree(unit_pool, unit_tmpdir);
    }
    unit_tmpdir = NULL;
    unit_pool_teardown();
}

void unit_put_file(const char *name, const char *content)
{
    apr_file_t *f;
    apr_size_t n = strlen(content);
    const char *path = apr_pstrcat(unit_pool, unit_tmpdir, "/", name, NULL);

    ck_assert_int_eq(apr_file_open(&f, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                                   | APR_FOPEN_TRUNCATE, APR_FPROT_OS_DEFAULT,
                                   unit_pool), APR_SUCCESS);
    if (n) {
        ck_assert_int_eq(apr_file_write_full(f, content, n, NULL), APR_SUCCESS);
    }
    ck_assert_int_eq(apr_file_close(f), APR_SUCCESS);
}

void unit_put_dir(const char *name)
{
    ck_assert_int_eq(apr_dir_make(apr_pstrcat(unit_pool, unit_tmpdir, "/", name, NULL),
                                  APR_FPROT_OS_DEFAULT, unit_pool), APR_SUCCESS);
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (apr_initialize() != APR_SUCCESS) {
        fprintf(stderr, "unit_tests: apr_initialize failed\n");
        return EXIT_FAILURE;
    }
    sr = srunner_create(conf_suite());
    srunner_add_suite(sr, text_suite());
    srunner_add_suite(sr, json_suite());
    srunner_add_suite(sr, intake_suite());
    srunner_add_suite(sr, migrate_suite());
    srunner_add_suite(sr, llm_suite());
    srunner_add_suite(sr, multipart_suite());
    srunner_add_suite(sr, sniff_suite());
    srunner_add_suite(sr, tmpl_suite());
    srunner_add_suite(sr, auth_suite());
    srunner_add_suite(sr, classify_suite());
    srunner_add_suite(sr, twilio_suite());
    srunner_add_suite(sr, resend_suite());
    srunner_add_suite(sr, channel_suite());
    srunner_add_suite(sr, hours_suite());
    srunner_add_suite(sr, crypto_suite());
    srunner_add_suite(sr, menu_suite());
    srunner_add_suite(sr, pos_contract_suite());
    srunner_add_suite(sr, pos_square_suite());
    srunner_add_suite(sr, pos_clover_suite());
    srunner_add_suite(sr, pos_toast_suite());
    srunner_add_suite(sr, cart_suite());
    srunner_add_suite(sr, slots_suite());
    srunner_add_suite(sr, order_suite());
    srunner_add_suite(sr, stripe_suite());
    srunner_add_suite(sr, calcom_suite());
    srunner_add_suite(sr, jobber_suite());
    srunner_add_suite(sr, jobs_suite());

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
