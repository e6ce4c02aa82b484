/* cs_text: trimming, the "is this storable text" check, email and phone
 * normalizers. */
#include "unit.h"
#include "text/cs_text.h"
#include "text/cs_time.h"

#include <apr_strings.h>
#include <string.h>

/* cs_text_is_clean over a whole C string. */
static int clean(const char *s)
{
    return cs_text_is_clean(s, strlen(s));
}

/* Expect @p in to normalize to @p want. */
#define ASSERT_EMAIL(in, want) do {                                          \
        const char *out_ = "unset";                                          \
        ck_assert_int_eq(cs_email_normalize(unit_pool, (in), &out_),         \
                         APR_SUCCESS);                                       \
        ck_assert_str_eq(out_, (want));                                      \
    } while (0)

#define ASSERT_EMAIL_BAD(in) do {                                            \
        const char *out_ = "unset";                                          \
        ck_assert_msg(cs_email_normalize(unit_pool, (in), &out_) == APR_EINVAL, \
                      "email '%s' should be rejected", (in) ? (in) : "(null)"); \
        ck_assert_ptr_null(out_);                                            \
    } while (0)

#define ASSERT_PHONE(in, want) do {                                          \
        const char *out_ = "unset";                                          \
        ck_assert_int_eq(cs_phone_normalize(unit_pool, (in), &out_),         \
                         APR_SUCCESS);                                       \
        ck_assert_str_eq(out_, (want));                                      \
    } while (0)

#define ASSERT_PHONE_BAD(in) do {                                            \
        const char *out_ = "unset";                                          \
        ck_assert_msg(cs_phone_normalize(unit_pool, (in), &out_) == APR_EINVAL, \
                      "phone '%s' should be rejected", (in) ? (in) : "(null)"); \
        ck_assert_ptr_null(out_);                                            \
    } while (0)

/* ---- trim ---------------------------------------------------------------- */

START_TEST(test_trim_removes_leading_and_trailing_whitespace_only)
{
    ck_assert_str_eq(cs_trim(unit_pool, "  \t\r\n Ann  Lee \n\t "), "Ann  Lee");
    ck_assert_str_eq(cs_trim(unit_pool, "x"), "x");
    ck_assert_str_eq(cs_trim(unit_pool, "a\tb"), "a\tb");
}
END_TEST

START_TEST(test_trim_of_blank_or_empty_is_empty)
{
    ck_assert_str_eq(cs_trim(unit_pool, ""), "");
    ck_assert_str_eq(cs_trim(unit_pool, " \t\r\n\v\f"), "");
}
END_TEST

START_TEST(test_trim_null_stays_null)
{
    ck_assert_ptr_null(cs_trim(unit_pool, NULL));
}
END_TEST

START_TEST(test_trim_returns_a_copy_and_keeps_utf8)
{
    const char *in = " caf\xc3\xa9 ";
    char *out = cs_trim(unit_pool, in);
    ck_assert_str_eq(out, "caf\xc3\xa9");
    ck_assert_ptr_ne(out, in + 1);
    ck_assert_str_eq(in, " caf\xc3\xa9 ");
}
END_TEST

/* ---- clean text ---------------------------------------------------------- */

START_TEST(test_clean_accepts_ascii_tab_cr_lf_and_empty)
{
    ck_assert_int_eq(clean("Hello, world! ~"), 1);
    ck_assert_int_eq(clean("line one\r\nline two\tcol"), 1);
    ck_assert_int_eq(cs_text_is_clean("", 0), 1);
}
END_TEST

START_TEST(test_clean_accepts_multibyte_utf8_up_to_u10ffff)
{
    ck_assert_int_eq(clean("caf\xc3\xa9"), 1);                 /* é, 2 bytes */
    ck_assert_int_eq(clean("\xc2\x80"), 1);                    /* U+0080 */
    ck_assert_int_eq(clean("\xe0\xa0\x80"), 1);                /* U+0800 */
    ck_assert_int_eq(clean("\xe6\x97\xa5\xe6\x9c\xac"), 1);    /* 日本 */
    ck_assert_int_eq(clean("\xed\x9f\xbf"), 1);                /* U+D7FF */
    ck_assert_int_eq(clean("\xee\x80\x80"), 1);                /* U+E000 */
    ck_assert_int_eq(clean("\xef\xbf\xbd"), 1);                /* U+FFFD */
    ck_assert_int_eq(clean("\xf0\x90\x80\x80"), 1);            /* U+10000 */
    ck_assert_int_eq(clean("\xf0\x9f\x98\x80"), 1);            /* 😀 */
    ck_assert_int_eq(clean("\xf4\x8f\xbf\xbf"), 1);            /* U+10FFFF */
}
END_TEST

START_TEST(test_clean_rejects_c0_controls_del_and_nul)
{
    ck_assert_int_eq(clean("a\x01"), 0);
    ck_assert_int_eq(clean("a\x1b[31m"), 0);
    ck_assert_int_eq(clean("\x0b"), 0);     /* vertical tab */
    ck_assert_int_eq(clean("\x0c"), 0);     /* form feed */
    ck_assert_int_eq(clean("\x1f"), 0);
    ck_assert_int_eq(clean("a\x7f"), 0);
    ck_assert_int_eq(cs_text_is_clean("a\0b", 3), 0);
    ck_assert_int_eq(cs_text_is_clean("\0", 1), 0);
}
END_TEST

START_TEST(test_clean_only_looks_at_len_bytes)
{
    ck_assert_int_eq(cs_text_is_clean("ab\x01", 2), 1);
    ck_assert_int_eq(cs_text_is_clean("ab\x01", 3), 0);
}
END_TEST

START_TEST(test_clean_rejects_overlong_encodings)
{
    ck_assert_int_eq(clean("\xc0\xaf"), 0);             /* '/' in 2 bytes */
    ck_assert_int_eq(clean("\xc1\xbf"), 0);             /* U+007F in 2 bytes */
    ck_assert_int_eq(clean("\xc0\x80"), 0);             /* "modified UTF-8" NUL */
    ck_assert_int_eq(clean("\xe0\x80\xaf"), 0);         /* '/' in 3 bytes */
    ck_assert_int_eq(clean("\xe0\x9f\xbf"), 0);         /* U+07FF in 3 bytes */
    ck_assert_int_eq(clean("\xf0\x80\x80\xaf"), 0);     /* '/' in 4 bytes */
    ck_assert_int_eq(clean("\xf0\x8f\xbf\xbf"), 0);     /* U+FFFF in 4 bytes */
}
END_TEST

START_TEST(test_clean_rejects_utf16_surrogates)
{
    ck_assert_int_eq(clean("\xed\xa0\x80"), 0);         /* U+D800 */
    ck_assert_int_eq(clean("\xed\xbf\xbf"), 0);         /* U+DFFF */
    ck_assert_int_eq(clean("\xed\xa0\xbd\xed\xb8\x80"), 0);  /* CESU-8 pair */
}
END_TEST

START_TEST(test_clean_rejects_code_points_above_u10ffff)
{
    ck_assert_int_eq(clean("\xf4\x90\x80\x80"), 0);     /* U+110000 */
    ck_assert_int_eq(clean("\xf7\xbf\xbf\xbf"), 0);
    ck_assert_int_eq(clean("\xf8\x88\x80\x80\x80"), 0); /* 5-byte form */
    ck_assert_int_eq(clean("\xfc\x84\x80\x80\x80\x80"), 0);
    ck_assert_int_eq(clean("\xfe"), 0);
    ck_assert_int_eq(clean("\xff"), 0);
}
END_TEST

START_TEST(test_clean_rejects_truncated_sequences)
{
    ck_assert_int_eq(clean("caf\xc3"), 0);
    ck_assert_int_eq(clean("\xe6\x97"), 0);
    ck_assert_int_eq(clean("\xe6"), 0);
    ck_assert_int_eq(clean("\xf0\x9f\x98"), 0);
    /* A complete character cut off by len is truncated too. */
    ck_assert_int_eq(cs_text_is_clean("\xc3\xa9", 1), 0);
    ck_assert_int_eq(cs_text_is_clean("\xf0\x9f\x98\x80", 3), 0);
}
END_TEST

START_TEST(test_clean_rejects_bad_continuation_bytes)
{
    ck_assert_int_eq(clean("\x80"), 0);                 /* lone continuation */
    ck_assert_int_eq(clean("a\xbf" "b"), 0);
    ck_assert_int_eq(clean("\xc3\x28"), 0);             /* lead + ASCII */
    ck_assert_int_eq(clean("\xe2\x28\xa1"), 0);
    ck_assert_int_eq(clean("\xe2\x82\x28"), 0);
    ck_assert_int_eq(clean("\xf0\x9f\x98\x28"), 0);
    ck_assert_int_eq(clean("\xc3\xa9\xa9"), 0);         /* one continuation too many */
}
END_TEST

/* ---- email --------------------------------------------------------------- */

START_TEST(test_email_domain_is_lowercased_local_part_kept)
{
    ASSERT_EMAIL("Ann.Lee@Example.COM", "Ann.Lee@example.com");
    ASSERT_EMAIL("BOB@MAIL.EXAMPLE.ORG", "BOB@mail.example.org");
}
END_TEST

START_TEST(test_email_surrounding_whitespace_is_trimmed)
{
    ASSERT_EMAIL("  ann@example.com \r\n", "ann@example.com");
}
END_TEST

START_TEST(test_email_accepts_atext_symbols_digits_and_hyphenated_domains)
{
    ASSERT_EMAIL("ann+tag@example.com", "ann+tag@example.com");
    ASSERT_EMAIL("o'brien@example.ie", "o'brien@example.ie");
    ASSERT_EMAIL("a!#$%&'*+-/=?^_`{|}~z@ex-ample.co.uk",
                 "a!#$%&'*+-/=?^_`{|}~z@ex-ample.co.uk");
    ASSERT_EMAIL("1@2.3", "1@2.3");
    ASSERT_EMAIL("a.b.c@x-1.example", "a.b.c@x-1.example");
}
END_TEST

START_TEST(test_email_local_part_of_64_accepted_65_rejected)
{
    ASSERT_EMAIL(apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 64),
                             "@example.com", NULL),
                 apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 64),
                             "@example.com", NULL));
    ASSERT_EMAIL_BAD(apr_pstrcat(unit_pool, unit_repeat(unit_pool, "a", 65),
                                 "@example.com", NULL));
}
END_TEST

START_TEST(test_email_domain_label_of_63_accepted_64_rejected)
{
    const char *ok = apr_pstrcat(unit_pool, "ann@", unit_repeat(unit_pool, "d", 63),
                                 ".com", NULL);
    ASSERT_EMAIL(ok, ok);
    ASSERT_EMAIL_BAD(apr_pstrcat(unit_pool, "ann@", unit_repeat(unit_pool, "d", 64),
                                 ".com", NULL));
}
END_TEST

START_TEST(test_email_total_of_254_accepted_255_rejected)
{
    /* 64 + 1 + (63 + 1 + 63 + 1 + 61) = 254 */
    const char *local = unit_repeat(unit_pool, "a", 64);
    const char *d63 = unit_repeat(unit_pool, "b", 63);
    const char *ok = apr_pstrcat(unit_pool, local, "@", d63, ".", d63, ".",
                                 unit_repeat(unit_pool, "c", 61), NULL);
    const char *too_long = apr_pstrcat(unit_pool, local, "@", d63, ".", d63, ".",
                                       unit_repeat(unit_pool, "c", 62), NULL);
    ck_assert_uint_eq(strlen(ok), 254);
    ck_assert_uint_eq(strlen(too_long), 255);
    ASSERT_EMAIL(ok, ok);
    ASSERT_EMAIL_BAD(too_long);
}
END_TEST

START_TEST(test_email_without_at_or_with_two_ats_is_rejected)
{
    ASSERT_EMAIL_BAD("ann.example.com");
    ASSERT_EMAIL_BAD("ann@@example.com");
    ASSERT_EMAIL_BAD("ann@b@example.com");
    ASSERT_EMAIL_BAD("@example.com");
    ASSERT_EMAIL_BAD("ann@");
    ASSERT_EMAIL_BAD("@");
}
END_TEST

START_TEST(test_email_single_label_domain_is_rejected)
{
    ASSERT_EMAIL_BAD("ann@localhost");
    ASSERT_EMAIL_BAD("ann@com");
}
END_TEST

START_TEST(test_email_dots_in_wrong_places_are_rejected)
{
    ASSERT_EMAIL_BAD(".ann@example.com");
    ASSERT_EMAIL_BAD("ann.@example.com");
    ASSERT_EMAIL_BAD("an..n@example.com");
    ASSERT_EMAIL_BAD("ann@.example.com");
    ASSERT_EMAIL_BAD("ann@example..com");
    ASSERT_EMAIL_BAD("ann@example.com.");
}
END_TEST

START_TEST(test_email_bad_domain_labels_are_rejected)
{
    ASSERT_EMAIL_BAD("ann@-example.com");
    ASSERT_EMAIL_BAD("ann@example-.com");
    ASSERT_EMAIL_BAD("ann@exa_mple.com");
    ASSERT_EMAIL_BAD("ann@exa mple.com");
    ASSERT_EMAIL_BAD("ann@[127.0.0.1]");
    ASSERT_EMAIL_BAD("ann@ex\xc3\xa4mple.com");
}
END_TEST

START_TEST(test_email_local_part_outside_atext_is_rejected)
{
    ASSERT_EMAIL_BAD("an n@example.com");
    ASSERT_EMAIL_BAD("\"ann lee\"@example.com");
    ASSERT_EMAIL_BAD("ann,lee@example.com");
    ASSERT_EMAIL_BAD("ann<x>@example.com");
    ASSERT_EMAIL_BAD("ann\n@example.com");
    ASSERT_EMAIL_BAD("Ann Lee <ann@example.com>");
}
END_TEST

START_TEST(test_email_empty_blank_and_null_are_rejected)
{
    ASSERT_EMAIL_BAD("");
    ASSERT_EMAIL_BAD("   ");
    ASSERT_EMAIL_BAD(NULL);
}
END_TEST

/* ---- phone --------------------------------------------------------------- */

START_TEST(test_phone_separators_are_dropped_plus_kept)
{
    ASSERT_PHONE("+1 (555) 010-4477", "+15550104477");
    ASSERT_PHONE("555.010.4477", "5550104477");
    ASSERT_PHONE("  +44 20 7946 0958 ", "+442079460958");
    ASSERT_PHONE("(0)30-1234567", "0301234567");
}
END_TEST

START_TEST(test_phone_of_7_digits_accepted_6_rejected)
{
    ASSERT_PHONE("555-0104", "5550104");
    ASSERT_PHONE("+1234567", "+1234567");
    ASSERT_PHONE_BAD("555-010");
    ASSERT_PHONE_BAD("+123456");
}
END_TEST

START_TEST(test_phone_of_15_digits_accepted_16_rejected)
{
    ASSERT_PHONE("+123 456 789 012 345", "+123456789012345");
    ASSERT_PHONE_BAD("+123 456 789 012 3456");
    ASSERT_PHONE_BAD("1234567890123456");
}
END_TEST

START_TEST(test_phone_plus_only_allowed_before_the_first_digit)
{
    ASSERT_PHONE_BAD("1+5550104477");
    ASSERT_PHONE_BAD("++15550104477");
    ASSERT_PHONE_BAD("+1 +5550104477");
    ASSERT_PHONE_BAD("5550104477+");
}
END_TEST

START_TEST(test_phone_letters_and_other_symbols_are_rejected)
{
    ASSERT_PHONE_BAD("555-CALL-NOW");
    ASSERT_PHONE_BAD("555 0104 ext 2");
    ASSERT_PHONE_BAD("555#0104477");
    ASSERT_PHONE_BAD("555*0104477");
    ASSERT_PHONE_BAD("555,0104477");
    ASSERT_PHONE_BAD("555_0104477");
    ASSERT_PHONE_BAD("\xef\xbc\x95\xef\xbc\x95\xef\xbc\x95" "0104477");  /* fullwidth 5s */
}
END_TEST

START_TEST(test_phone_empty_blank_plus_only_and_null_are_rejected)
{
    ASSERT_PHONE_BAD("");
    ASSERT_PHONE_BAD("   ");
    ASSERT_PHONE_BAD("+");
    ASSERT_PHONE_BAD("() - .");
    ASSERT_PHONE_BAD(NULL);
}
END_TEST

START_TEST(test_ip_v4_is_itself_also_when_mapped)
{
    ck_assert_str_eq(cs_ip_network(unit_pool, "203.0.113.9"), "203.0.113.9");
    ck_assert_str_eq(cs_ip_network(unit_pool, "::ffff:203.0.113.9"), "203.0.113.9");
}
END_TEST

START_TEST(test_ip_v6_counts_its_slash_64_however_written)
{
    const char *net = "v6:2001:0db8:0000:0001";
    /* Compressed, expanded, zeros in the host part: one /64, one key. */
    ck_assert_str_eq(cs_ip_network(unit_pool, "2001:db8:0:1::1"), net);
    ck_assert_str_eq(cs_ip_network(unit_pool, "2001:db8:0:1::dead:beef"), net);
    ck_assert_str_eq(cs_ip_network(unit_pool, "2001:0db8:0000:0001:1:2:3:4"), net);
    ck_assert_str_eq(cs_ip_network(unit_pool, "2001:DB8:0:1:ffff::"), net);
    /* The next /64 is another network. */
    ck_assert_str_eq(cs_ip_network(unit_pool, "2001:db8:0:2::1"), "v6:2001:0db8:0000:0002");
    ck_assert_str_eq(cs_ip_network(unit_pool, "::1"), "v6:0000:0000:0000:0000");
}
END_TEST

START_TEST(test_ip_unparsable_is_returned_as_given)
{
    ck_assert_str_eq(cs_ip_network(unit_pool, "2001:db8::g"), "2001:db8::g");
    ck_assert_str_eq(cs_ip_network(unit_pool, "unix"), "unix");
    ck_assert_ptr_null(cs_ip_network(unit_pool, NULL));
}
END_TEST

/* The sign-in throttle counts an address's network in SQL: the same /64
 * (or IPv4 address) as the intake limit, as a block PostgreSQL reads. */
START_TEST(test_ip_network_cidr_is_the_same_network_as_a_block)
{
    ck_assert_str_eq(cs_ip_network_cidr(unit_pool, "203.0.113.9"), "203.0.113.9/32");
    ck_assert_str_eq(cs_ip_network_cidr(unit_pool, "::ffff:203.0.113.9"), "203.0.113.9/32");
    /* Two hosts of one /64, however written, are one block; the next /64 is not. */
    ck_assert_str_eq(cs_ip_network_cidr(unit_pool, "2001:db8:0:1::1"), "2001:0db8:0000:0001::/64");
    ck_assert_str_eq(cs_ip_network_cidr(unit_pool, "2001:DB8:0:1:ffff:1:2:3"),
                     "2001:0db8:0000:0001::/64");
    ck_assert_str_eq(cs_ip_network_cidr(unit_pool, "2001:db8:0:2::1"), "2001:0db8:0000:0002::/64");
    ck_assert_ptr_null(cs_ip_network_cidr(unit_pool, "2001:db8::g"));
    ck_assert_ptr_null(cs_ip_network_cidr(unit_pool, "unix"));
    ck_assert_ptr_null(cs_ip_network_cidr(unit_pool, "203.0.113"));
    ck_assert_ptr_null(cs_ip_network_cidr(unit_pool, NULL));
}
END_TEST

START_TEST(test_attachment_disposition_encodes_for_rfc_5987)
{
    ck_assert_str_eq(cs_attachment_disposition(unit_pool, "sofa <1>.png"),
                     "attachment; filename=\"sofa _1_.png\"; filename*=UTF-8''sofa%20%3C1%3E.png");
    /* UTF-8 bytes are percent-encoded; quotes and backslashes never reach the quoted string. */
    ck_assert_str_eq(cs_attachment_disposition(unit_pool, "caf\xc3\xa9 \"x\"\\.pdf"),
                     "attachment; filename=\"caf__ _x__.pdf\"; filename*=UTF-8''caf%C3%A9%20%22x%22%5C.pdf");
    ck_assert_str_eq(cs_attachment_disposition(unit_pool, ""),
                     "attachment; filename=\"download\"; filename*=UTF-8''");
}
END_TEST

START_TEST(test_iso8601_times_from_every_provider_read_the_same)
{
    apr_time_t t, base;

    ck_assert_int_eq(cs_time_parse_iso8601(&base, "2024-05-01T15:00:00Z"), APR_SUCCESS);
    ck_assert_int_eq(apr_time_sec(base), 1714575600);
    /* Square's fractions, Toast's +0000, Cal.com's lowercase z, a space for T */
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-05-01T15:00:00.250Z"), APR_SUCCESS);
    ck_assert_int_eq(t - base, 250000);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-05-01T10:00:00-0500"), APR_SUCCESS);
    ck_assert_int_eq(t, base);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-05-01T17:00:00+02:00"), APR_SUCCESS);
    ck_assert_int_eq(t, base);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-05-01 15:00:00z"), APR_SUCCESS);
    ck_assert_int_eq(t, base);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-05-01T15:00:00"), APR_SUCCESS);
    ck_assert_int_eq(t, base);
    /* and nothing else */
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-13-01T15:00:00Z"), APR_EINVAL);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-05-01T15:00Z"), APR_EINVAL);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-05-01T15:00:00.Z"), APR_EINVAL);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-05-01T15:00:00+25:00"), APR_EINVAL);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "1969-12-31T23:59:59Z"), APR_EINVAL);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, "2024-05-01T15:00:00Z trailing"), APR_EINVAL);
    ck_assert_int_eq(cs_time_parse_iso8601(&t, NULL), APR_EINVAL);
    ck_assert_int_eq(t, 0);
}
END_TEST

Suite *text_suite(void)
{
    Suite *s = suite_create("cs_text");
    TCase *tc;

    tc = tcase_create("trim");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_iso8601_times_from_every_provider_read_the_same);
    tcase_add_test(tc, test_trim_removes_leading_and_trailing_whitespace_only);
    tcase_add_test(tc, test_trim_of_blank_or_empty_is_empty);
    tcase_add_test(tc, test_trim_null_stays_null);
    tcase_add_test(tc, test_trim_returns_a_copy_and_keeps_utf8);
    suite_add_tcase(s, tc);

    tc = tcase_create("clean_text");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_clean_accepts_ascii_tab_cr_lf_and_empty);
    tcase_add_test(tc, test_clean_accepts_multibyte_utf8_up_to_u10ffff);
    tcase_add_test(tc, test_clean_rejects_c0_controls_del_and_nul);
    tcase_add_test(tc, test_clean_only_looks_at_len_bytes);
    tcase_add_test(tc, test_clean_rejects_overlong_encodings);
    tcase_add_test(tc, test_clean_rejects_utf16_surrogates);
    tcase_add_test(tc, test_clean_rejects_code_points_above_u10ffff);
    tcase_add_test(tc, test_clean_rejects_truncated_sequences);
    tcase_add_test(tc, test_clean_rejects_bad_continuation_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("email");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_email_domain_is_lowercased_local_part_kept);
    tcase_add_test(tc, test_email_surrounding_whitespace_is_trimmed);
    tcase_add_test(tc, test_email_accepts_atext_symbols_digits_and_hyphenated_domains);
    tcase_add_test(tc, test_email_local_part_of_64_accepted_65_rejected);
    tcase_add_test(tc, test_email_domain_label_of_63_accepted_64_rejected);
    tcase_add_test(tc, test_email_total_of_254_accepted_255_rejected);
    tcase_add_test(tc, test_email_without_at_or_with_two_ats_is_rejected);
    tcase_add_test(tc, test_email_single_label_domain_is_rejected);
    tcase_add_test(tc, test_email_dots_in_wrong_places_are_rejected);
    tcase_add_test(tc, test_email_bad_domain_labels_are_rejected);
    tcase_add_test(tc, test_email_local_part_outside_atext_is_rejected);
    tcase_add_test(tc, test_email_empty_blank_and_null_are_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("ip network");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_ip_v4_is_itself_also_when_mapped);
    tcase_add_test(tc, test_ip_v6_counts_its_slash_64_however_written);
    tcase_add_test(tc, test_ip_unparsable_is_returned_as_given);
    tcase_add_test(tc, test_ip_network_cidr_is_the_same_network_as_a_block);
    suite_add_tcase(s, tc);

    tc = tcase_create("attachment name");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_attachment_disposition_encodes_for_rfc_5987);
    suite_add_tcase(s, tc);

    tc = tcase_create("phone");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_phone_separators_are_dropped_plus_kept);
    tcase_add_test(tc, test_phone_of_7_digits_accepted_6_rejected);
    tcase_add_test(tc, test_phone_of_15_digits_accepted_16_rejected);
    tcase_add_test(tc, test_phone_plus_only_allowed_before_the_first_digit);
    tcase_add_test(tc, test_phone_letters_and_other_symbols_are_rejected);
    tcase_add_test(tc, test_phone_empty_blank_plus_only_and_null_are_rejected);
    suite_add_tcase(s, tc);

    return s;
}
