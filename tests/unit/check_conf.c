/* cs_conf: the directive value parsers and the client slug check. */
#include "unit.h"
#include "base/cs_conf.h"

#include <apr_time.h>
#include <string.h>

#define KB ((apr_off_t)1024)
#define MB (KB * 1024)
#define GB (MB * 1024)

/* ---- integers ------------------------------------------------------------ */

START_TEST(test_int_plain_decimal_is_accepted)
{
    long v = -1;
    ck_assert_ptr_null(cs_conf_parse_int(unit_pool, "42", 0, 1024, &v));
    ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_int_bounds_are_inclusive)
{
    long v = -1;
    ck_assert_ptr_null(cs_conf_parse_int(unit_pool, "1", 1, 1024, &v));
    ck_assert_int_eq(v, 1);
    ck_assert_ptr_null(cs_conf_parse_int(unit_pool, "1024", 1, 1024, &v));
    ck_assert_int_eq(v, 1024);
}
END_TEST

START_TEST(test_int_one_past_max_is_rejected_with_range_in_message)
{
    long v = 7;
    const char *err = cs_conf_parse_int(unit_pool, "1025", 1, 1024, &v);
    ck_assert_str_eq(err, "expected an integer from 1 to 1024, got '1025'");
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_int_one_below_min_is_rejected)
{
    long v = 7;
    const char *err = cs_conf_parse_int(unit_pool, "0", 1, 3600, &v);
    ck_assert_str_eq(err, "expected an integer from 1 to 3600, got '0'");
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_int_negative_accepted_when_min_allows)
{
    long v = 0;
    ck_assert_ptr_null(cs_conf_parse_int(unit_pool, "-5", -10, 10, &v));
    ck_assert_int_eq(v, -5);
}
END_TEST

START_TEST(test_int_trailing_garbage_is_rejected)
{
    long v = 7;
    ck_assert_str_eq(cs_conf_parse_int(unit_pool, "12abc", 0, 100, &v),
                     "expected an integer from 0 to 100, got '12abc'");
    ck_assert_ptr_nonnull(cs_conf_parse_int(unit_pool, "5 ", 0, 100, &v));
    ck_assert_ptr_nonnull(cs_conf_parse_int(unit_pool, "1.5", 0, 100, &v));
    ck_assert_ptr_nonnull(cs_conf_parse_int(unit_pool, "0x10", 0, 100, &v));
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_int_words_are_rejected)
{
    long v = 7;
    ck_assert_str_eq(cs_conf_parse_int(unit_pool, "ten", 0, 100, &v),
                     "expected an integer from 0 to 100, got 'ten'");
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_int_empty_and_null_are_rejected)
{
    long v = 7;
    ck_assert_str_eq(cs_conf_parse_int(unit_pool, "", 0, 100, &v),
                     "expected an integer from 0 to 100, got ''");
    ck_assert_str_eq(cs_conf_parse_int(unit_pool, NULL, 0, 100, &v),
                     "expected an integer from 0 to 100, got ''");
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_int_overflowing_long_is_rejected)
{
    long v = 7;
    ck_assert_ptr_nonnull(cs_conf_parse_int(unit_pool, "99999999999999999999999",
                                            0, 1024, &v));
    ck_assert_ptr_nonnull(cs_conf_parse_int(unit_pool, "-99999999999999999999999",
                                            -1024, 1024, &v));
    ck_assert_int_eq(v, 7);
}
END_TEST

/* ---- sizes --------------------------------------------------------------- */

START_TEST(test_size_bare_number_is_bytes)
{
    apr_off_t v = -1;
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "4096", 1024, 64 * MB, &v));
    ck_assert_int_eq(v, 4096);
}
END_TEST

START_TEST(test_size_k_m_g_suffixes_are_binary_units_either_case)
{
    apr_off_t v = -1;
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "64k", 0, 4 * GB, &v));
    ck_assert_int_eq(v, 64 * KB);
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "64K", 0, 4 * GB, &v));
    ck_assert_int_eq(v, 64 * KB);
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "2M", 0, 4 * GB, &v));
    ck_assert_int_eq(v, 2 * MB);
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "2m", 0, 4 * GB, &v));
    ck_assert_int_eq(v, 2 * MB);
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "3G", 0, 4 * GB, &v));
    ck_assert_int_eq(v, 3 * GB);
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "1g", 0, 4 * GB, &v));
    ck_assert_int_eq(v, GB);
}
END_TEST

START_TEST(test_size_exactly_max_with_suffix_is_accepted)
{
    apr_off_t v = -1;
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "64M", 1024, 64 * MB, &v));
    ck_assert_int_eq(v, 64 * MB);
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "65536k", 1024, 64 * MB, &v));
    ck_assert_int_eq(v, 64 * MB);
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "67108864", 1024, 64 * MB, &v));
    ck_assert_int_eq(v, 64 * MB);
}
END_TEST

START_TEST(test_size_one_unit_past_max_is_rejected_with_range_in_message)
{
    apr_off_t v = 7;
    ck_assert_str_eq(cs_conf_parse_size(unit_pool, "65M", 1024, 64 * MB, &v),
                     "expected a size from 1024 to 67108864 bytes (suffix k, "
                     "M or G allowed), got '65M'");
    ck_assert_ptr_nonnull(cs_conf_parse_size(unit_pool, "65537k", 1024, 64 * MB, &v));
    ck_assert_ptr_nonnull(cs_conf_parse_size(unit_pool, "67108865", 1024, 64 * MB, &v));
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_size_suffix_that_overshoots_a_non_multiple_max_is_rejected)
{
    apr_off_t v = 7;
    /* 2k = 2048 > 2047, although 2 <= 2047/1024 would be tempting. */
    ck_assert_ptr_nonnull(cs_conf_parse_size(unit_pool, "2k", 0, 2047, &v));
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "1k", 0, 2047, &v));
    ck_assert_int_eq(v, 1024);
}
END_TEST

START_TEST(test_size_min_is_inclusive_and_below_min_rejected)
{
    apr_off_t v = 7;
    ck_assert_ptr_null(cs_conf_parse_size(unit_pool, "1k", 1024, 64 * MB, &v));
    ck_assert_int_eq(v, 1024);
    v = 7;
    ck_assert_str_eq(cs_conf_parse_size(unit_pool, "1023", 1024, 64 * MB, &v),
                     "expected a size from 1024 to 67108864 bytes (suffix k, "
                     "M or G allowed), got '1023'");
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_size_malformed_values_are_rejected)
{
    static const char *const bad[] = {
        "", "k", "-1", "+5", " 5", "5 ", "1.5M", "64kb", "64KiB", "2T", "1kk",
        "abc", "99999999999999999999999"
    };
    apr_off_t v = 7;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = cs_conf_parse_size(unit_pool, bad[i], 0, 4 * GB, &v);
        ck_assert_msg(err != NULL, "size '%s' should be rejected", bad[i]);
        ck_assert_msg(strstr(err, "expected a size from 0 to") == err,
                      "message for '%s': %s", bad[i], err);
    }
    ck_assert_ptr_nonnull(cs_conf_parse_size(unit_pool, NULL, 0, 4 * GB, &v));
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_size_huge_number_with_suffix_does_not_overflow)
{
    apr_off_t v = 7;
    ck_assert_ptr_nonnull(cs_conf_parse_size(unit_pool, "9223372036854775807k",
                                             0, 4 * GB, &v));
    ck_assert_ptr_nonnull(cs_conf_parse_size(unit_pool, "9007199254740993G",
                                             0, 4 * GB, &v));
    ck_assert_int_eq(v, 7);
}
END_TEST

/* ---- durations ----------------------------------------------------------- */

START_TEST(test_duration_units_ms_s_m_h)
{
    apr_interval_time_t v = -1;
    apr_interval_time_t max = apr_time_from_sec(3600);

    ck_assert_ptr_null(cs_conf_parse_duration(unit_pool, "250ms", 0, max, &v));
    ck_assert_int_eq(v, apr_time_from_msec(250));
    ck_assert_ptr_null(cs_conf_parse_duration(unit_pool, "3s", 0, max, &v));
    ck_assert_int_eq(v, apr_time_from_sec(3));
    ck_assert_ptr_null(cs_conf_parse_duration(unit_pool, "2m", 0, max, &v));
    ck_assert_int_eq(v, apr_time_from_sec(120));
    ck_assert_ptr_null(cs_conf_parse_duration(unit_pool, "1h", 0, max, &v));
    ck_assert_int_eq(v, apr_time_from_sec(3600));
}
END_TEST

START_TEST(test_duration_bare_number_is_seconds)
{
    apr_interval_time_t v = -1;
    ck_assert_ptr_null(cs_conf_parse_duration(unit_pool, "5", 0,
                                              apr_time_from_sec(3600), &v));
    ck_assert_int_eq(v, apr_time_from_sec(5));
}
END_TEST

START_TEST(test_duration_bounds_are_inclusive)
{
    apr_interval_time_t v = -1;
    apr_interval_time_t min = apr_time_from_msec(100), max = apr_time_from_sec(3600);

    ck_assert_ptr_null(cs_conf_parse_duration(unit_pool, "100ms", min, max, &v));
    ck_assert_int_eq(v, min);
    ck_assert_ptr_null(cs_conf_parse_duration(unit_pool, "3600s", min, max, &v));
    ck_assert_int_eq(v, max);
    ck_assert_ptr_null(cs_conf_parse_duration(unit_pool, "60m", min, max, &v));
    ck_assert_int_eq(v, max);
    ck_assert_ptr_null(cs_conf_parse_duration(unit_pool, "3600000ms", min, max, &v));
    ck_assert_int_eq(v, max);
}
END_TEST

START_TEST(test_duration_just_outside_bounds_is_rejected_with_range_in_message)
{
    apr_interval_time_t v = 7;
    apr_interval_time_t min = apr_time_from_msec(100), max = apr_time_from_sec(3600);

    ck_assert_str_eq(cs_conf_parse_duration(unit_pool, "99ms", min, max, &v),
                     "expected a duration from 100ms to 3600s (like 500ms, 3s, "
                     "2m), got '99ms'");
    ck_assert_str_eq(cs_conf_parse_duration(unit_pool, "3601s", min, max, &v),
                     "expected a duration from 100ms to 3600s (like 500ms, 3s, "
                     "2m), got '3601s'");
    ck_assert_ptr_nonnull(cs_conf_parse_duration(unit_pool, "3600001ms", min, max, &v));
    ck_assert_ptr_nonnull(cs_conf_parse_duration(unit_pool, "61m", min, max, &v));
    ck_assert_ptr_nonnull(cs_conf_parse_duration(unit_pool, "2h", min, max, &v));
    ck_assert_ptr_nonnull(cs_conf_parse_duration(unit_pool, "0", min, max, &v));
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_duration_min_of_two_seconds_named_in_ms)
{
    apr_interval_time_t v = 7;
    ck_assert_str_eq(cs_conf_parse_duration(unit_pool, "1s", apr_time_from_sec(2),
                                            apr_time_from_sec(3600), &v),
                     "expected a duration from 2000ms to 3600s (like 500ms, 3s, "
                     "2m), got '1s'");
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_duration_unknown_or_malformed_units_are_rejected)
{
    static const char *const bad[] = {
        "", "s", "ms", "-1s", "1d", "1S", "1MS", "3 s", " 3s", "3s ", "1.5s",
        "2sec", "1hm", "1msx", "abc", "99999999999999999999999s"
    };
    apr_interval_time_t v = 7;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = cs_conf_parse_duration(unit_pool, bad[i], 0,
                                                 apr_time_from_sec(3600), &v);
        ck_assert_msg(err != NULL, "duration '%s' should be rejected", bad[i]);
    }
    ck_assert_ptr_nonnull(cs_conf_parse_duration(unit_pool, NULL, 0,
                                                 apr_time_from_sec(3600), &v));
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_duration_huge_hours_do_not_overflow)
{
    apr_interval_time_t v = 7;
    ck_assert_ptr_nonnull(cs_conf_parse_duration(unit_pool, "9223372036854775807h",
                                                 0, apr_time_from_sec(3600), &v));
    ck_assert_int_eq(v, 7);
}
END_TEST

/* ---- flags --------------------------------------------------------------- */

START_TEST(test_flag_on_and_off_any_case)
{
    int v = -1;
    ck_assert_ptr_null(cs_conf_parse_flag(unit_pool, "On", &v));
    ck_assert_int_eq(v, 1);
    ck_assert_ptr_null(cs_conf_parse_flag(unit_pool, "off", &v));
    ck_assert_int_eq(v, 0);
    ck_assert_ptr_null(cs_conf_parse_flag(unit_pool, "ON", &v));
    ck_assert_int_eq(v, 1);
    ck_assert_ptr_null(cs_conf_parse_flag(unit_pool, "oFF", &v));
    ck_assert_int_eq(v, 0);
}
END_TEST

START_TEST(test_flag_other_words_rejected_naming_the_value)
{
    int v = 7;
    ck_assert_str_eq(cs_conf_parse_flag(unit_pool, "yes", &v),
                     "expected On or Off, got 'yes'");
    ck_assert_str_eq(cs_conf_parse_flag(unit_pool, "1", &v),
                     "expected On or Off, got '1'");
    ck_assert_str_eq(cs_conf_parse_flag(unit_pool, "onn", &v),
                     "expected On or Off, got 'onn'");
    ck_assert_str_eq(cs_conf_parse_flag(unit_pool, "", &v),
                     "expected On or Off, got ''");
    ck_assert_str_eq(cs_conf_parse_flag(unit_pool, NULL, &v),
                     "expected On or Off, got ''");
    ck_assert_int_eq(v, 7);
}
END_TEST

/* ---- slugs --------------------------------------------------------------- */

START_TEST(test_slug_lowercase_digits_and_hyphens_are_valid)
{
    ck_assert_int_eq(cs_slug_is_valid("acme"), 1);
    ck_assert_int_eq(cs_slug_is_valid("a"), 1);
    ck_assert_int_eq(cs_slug_is_valid("9"), 1);
    ck_assert_int_eq(cs_slug_is_valid("42-plumbing"), 1);
    ck_assert_int_eq(cs_slug_is_valid("acme-co-2"), 1);
}
END_TEST

START_TEST(test_slug_of_63_is_valid_and_64_is_not)
{
    ck_assert_int_eq(cs_slug_is_valid(unit_repeat(unit_pool, "a", 63)), 1);
    ck_assert_int_eq(cs_slug_is_valid(unit_repeat(unit_pool, "a", 64)), 0);
}
END_TEST

START_TEST(test_slug_empty_null_and_leading_hyphen_are_invalid)
{
    ck_assert_int_eq(cs_slug_is_valid(""), 0);
    ck_assert_int_eq(cs_slug_is_valid(NULL), 0);
    ck_assert_int_eq(cs_slug_is_valid("-acme"), 0);
    ck_assert_int_eq(cs_slug_is_valid("-"), 0);
}
END_TEST

START_TEST(test_slug_uppercase_and_other_symbols_are_invalid)
{
    static const char *const bad[] = {
        "Acme", "acme_co", "acme.co", "acme co", "acme/x", "caf\xc3\xa9", "a\n"
    };
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!cs_slug_is_valid(bad[i]), "slug '%s' should be invalid", bad[i]);
    }
}
END_TEST

Suite *conf_suite(void)
{
    Suite *s = suite_create("cs_conf");
    TCase *tc;

    tc = tcase_create("integers");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_int_plain_decimal_is_accepted);
    tcase_add_test(tc, test_int_bounds_are_inclusive);
    tcase_add_test(tc, test_int_one_past_max_is_rejected_with_range_in_message);
    tcase_add_test(tc, test_int_one_below_min_is_rejected);
    tcase_add_test(tc, test_int_negative_accepted_when_min_allows);
    tcase_add_test(tc, test_int_trailing_garbage_is_rejected);
    tcase_add_test(tc, test_int_words_are_rejected);
    tcase_add_test(tc, test_int_empty_and_null_are_rejected);
    tcase_add_test(tc, test_int_overflowing_long_is_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("sizes");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_size_bare_number_is_bytes);
    tcase_add_test(tc, test_size_k_m_g_suffixes_are_binary_units_either_case);
    tcase_add_test(tc, test_size_exactly_max_with_suffix_is_accepted);
    tcase_add_test(tc, test_size_one_unit_past_max_is_rejected_with_range_in_message);
    tcase_add_test(tc, test_size_suffix_that_overshoots_a_non_multiple_max_is_rejected);
    tcase_add_test(tc, test_size_min_is_inclusive_and_below_min_rejected);
    tcase_add_test(tc, test_size_malformed_values_are_rejected);
    tcase_add_test(tc, test_size_huge_number_with_suffix_does_not_overflow);
    suite_add_tcase(s, tc);

    tc = tcase_create("durations");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_duration_units_ms_s_m_h);
    tcase_add_test(tc, test_duration_bare_number_is_seconds);
    tcase_add_test(tc, test_duration_bounds_are_inclusive);
    tcase_add_test(tc, test_duration_just_outside_bounds_is_rejected_with_range_in_message);
    tcase_add_test(tc, test_duration_min_of_two_seconds_named_in_ms);
    tcase_add_test(tc, test_duration_unknown_or_malformed_units_are_rejected);
    tcase_add_test(tc, test_duration_huge_hours_do_not_overflow);
    suite_add_tcase(s, tc);

    tc = tcase_create("flags");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_flag_on_and_off_any_case);
    tcase_add_test(tc, test_flag_other_words_rejected_naming_the_value);
    suite_add_tcase(s, tc);

    tc = tcase_create("slugs");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_slug_lowercase_digits_and_hyphens_are_valid);
    tcase_add_test(tc, test_slug_of_63_is_valid_and_64_is_not);
    tcase_add_test(tc, test_slug_empty_null_and_leading_hyphen_are_invalid);
    tcase_add_test(tc, test_slug_uppercase_and_other_symbols_are_invalid);
    suite_add_tcase(s, tc);

    return s;
}
