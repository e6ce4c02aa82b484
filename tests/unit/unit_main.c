/* Unit test runner: every suite in one SRunner, APR initialized once. */
#include "unit.h"

#include <apr_general.h>
#include <apr_strings.h>
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
    srunner_add_suite(sr, channel_suite());
    srunner_add_suite(sr, hours_suite());

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
