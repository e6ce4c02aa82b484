/* cs_intake: from form/JSON pairs to a validated submission, the raw
 * fields document, and the 400 error body. */
#include "unit.h"
#include "domain/cs_intake.h"

#include <apr_strings.h>
#include <stdarg.h>
#include <string.h>

#define REPLY_REQUIRED "is required unless a phone number is given, so we can reply"
#define BAD_KEY "has a field name that is empty, longer than 64 characters " \
                "or not plain text"

/* Pairs from key, value, key, value, ..., NULL (values are C strings). */
static apr_array_header_t *pairs_of(const char *key, ...)
{
    apr_array_header_t *pairs = cs_pairs_make(unit_pool);
    va_list ap;

    va_start(ap, key);
    while (key) {
        const char *value = va_arg(ap, const char *);
        cs_pairs_add(pairs, key, value, strlen(value));
        key = va_arg(ap, const char *);
    }
    va_end(ap);
    return pairs;
}

static const cs_pair_t *pair_at(const apr_array_header_t *pairs, int i)
{
    ck_assert_int_lt(i, pairs->nelts);
    return &APR_ARRAY_IDX(pairs, i, cs_pair_t);
}

static const cs_field_error_t *error_at(const apr_array_header_t *errors, int i)
{
    ck_assert_int_lt(i, errors->nelts);
    return &APR_ARRAY_IDX(errors, i, cs_field_error_t);
}

/* Build and expect success. */
static cs_submission_t *build_ok(const apr_array_header_t *pairs)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    cs_submission_t *sub = NULL;
    apr_status_t rv = cs_intake_build(&sub, unit_pool, pairs, errors);

    ck_assert_msg(rv == APR_SUCCESS, "expected success, first error: %s %s",
                  errors->nelts ? error_at(errors, 0)->field : "-",
                  errors->nelts ? error_at(errors, 0)->message : "-");
    ck_assert_int_eq(errors->nelts, 0);
    ck_assert_ptr_nonnull(sub);
    return sub;
}

/* Build and expect failure; returns the errors. */
static apr_array_header_t *build_fails(const apr_array_header_t *pairs)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    static char sentinel;
    cs_submission_t *sub = (cs_submission_t *)(void *)&sentinel;

    ck_assert_int_eq(cs_intake_build(&sub, unit_pool, pairs, errors), APR_EINVAL);
    ck_assert_ptr_null(sub);
    ck_assert_int_gt(errors->nelts, 0);
    return errors;
}

#define ASSERT_ONLY_ERROR(errors, want_field, want_message) do {             \
        const apr_array_header_t *e_ = (errors);                             \
        ck_assert_int_eq(e_->nelts, 1);                                      \
        ck_assert_str_eq(error_at(e_, 0)->field, (want_field));              \
        ck_assert_str_eq(error_at(e_, 0)->message, (want_message));          \
    } while (0)

/* cs_intake_pairs_from_json over a C string. */
static apr_status_t from_json(apr_array_header_t **pout, const char *body,
                              apr_array_header_t *errors)
{
    return cs_intake_pairs_from_json(pout, unit_pool, body, strlen(body), errors);
}

/* Expect @p body to be refused with one error on @p field. */
static const char *json_fails(const char *body, const char *field)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    static char sentinel;
    apr_array_header_t *pairs = (apr_array_header_t *)(void *)&sentinel;

    ck_assert_msg(from_json(&pairs, body, errors) == APR_EINVAL,
                  "body '%s' should be refused", body);
    ck_assert_ptr_null(pairs);
    ck_assert_int_eq(errors->nelts, 1);
    ck_assert_str_eq(error_at(errors, 0)->field, field);
    return error_at(errors, 0)->message;
}

/* ---- pair lists ---------------------------------------------------------- */

START_TEST(test_pairs_make_is_empty)
{
    ck_assert_int_eq(cs_pairs_make(unit_pool)->nelts, 0);
    ck_assert_int_eq(cs_field_errors_make(unit_pool)->nelts, 0);
}
END_TEST

START_TEST(test_pairs_add_keeps_order_pointers_and_length)
{
    apr_array_header_t *pairs = cs_pairs_make(unit_pool);
    const char *k1 = "name", *v1 = "Ann", *k2 = "msg", *v2 = "a\0b";

    cs_pairs_add(pairs, k1, v1, 3);
    cs_pairs_add(pairs, k2, v2, 3);
    ck_assert_int_eq(pairs->nelts, 2);
    ck_assert_ptr_eq(pair_at(pairs, 0)->key, k1);
    ck_assert_ptr_eq(pair_at(pairs, 0)->value, v1);
    ck_assert_uint_eq(pair_at(pairs, 0)->value_len, 3);
    ck_assert_ptr_eq(pair_at(pairs, 1)->key, k2);
    ck_assert_ptr_eq(pair_at(pairs, 1)->value, v2);
    ck_assert_uint_eq(pair_at(pairs, 1)->value_len, 3);
}
END_TEST

/* ---- JSON bodies --------------------------------------------------------- */

START_TEST(test_json_members_become_pairs_in_order_as_text)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    apr_array_header_t *pairs = NULL;

    ck_assert_int_eq(from_json(&pairs,
                               "{\"name\":\" Ann \",\"n\":42,\"neg\":-7,\"d\":1.5,"
                               "\"yes\":true,\"no\":false,\"e\":\"\"}", errors),
                     APR_SUCCESS);
    ck_assert_int_eq(errors->nelts, 0);
    ck_assert_int_eq(pairs->nelts, 7);
    ck_assert_str_eq(pair_at(pairs, 0)->key, "name");
    ck_assert_str_eq(pair_at(pairs, 0)->value, " Ann ");
    ck_assert_uint_eq(pair_at(pairs, 0)->value_len, 5);
    ck_assert_str_eq(pair_at(pairs, 1)->key, "n");
    ck_assert_str_eq(pair_at(pairs, 1)->value, "42");
    ck_assert_uint_eq(pair_at(pairs, 1)->value_len, 2);
    ck_assert_str_eq(pair_at(pairs, 2)->value, "-7");
    ck_assert_str_eq(pair_at(pairs, 3)->value, "1.5");
    ck_assert_uint_eq(pair_at(pairs, 3)->value_len, 3);
    ck_assert_str_eq(pair_at(pairs, 4)->value, "true");
    ck_assert_str_eq(pair_at(pairs, 5)->value, "false");
    ck_assert_str_eq(pair_at(pairs, 6)->key, "e");
    ck_assert_str_eq(pair_at(pairs, 6)->value, "");
    ck_assert_uint_eq(pair_at(pairs, 6)->value_len, 0);
}
END_TEST

START_TEST(test_json_null_members_are_skipped)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    apr_array_header_t *pairs = NULL;

    ck_assert_int_eq(from_json(&pairs, "{\"a\":null,\"message\":\"hi\",\"b\":null}",
                               errors), APR_SUCCESS);
    ck_assert_int_eq(pairs->nelts, 1);
    ck_assert_str_eq(pair_at(pairs, 0)->key, "message");
    ck_assert_str_eq(pair_at(pairs, 0)->value, "hi");
}
END_TEST

START_TEST(test_json_empty_object_gives_no_pairs)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    apr_array_header_t *pairs = NULL;

    ck_assert_int_eq(from_json(&pairs, " {} \n", errors), APR_SUCCESS);
    ck_assert_ptr_nonnull(pairs);
    ck_assert_int_eq(pairs->nelts, 0);
}
END_TEST

START_TEST(test_json_unicode_escapes_are_decoded_with_byte_length)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    apr_array_header_t *pairs = NULL;

    ck_assert_int_eq(from_json(&pairs, "{\"name\":\"Ren\\u00e9e\"}", errors),
                     APR_SUCCESS);
    ck_assert_str_eq(pair_at(pairs, 0)->value, "Ren\xc3\xa9" "e");
    ck_assert_uint_eq(pair_at(pairs, 0)->value_len, 6);
}
END_TEST

START_TEST(test_json_string_with_nul_keeps_its_full_length)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    apr_array_header_t *pairs = NULL;

    ck_assert_int_eq(from_json(&pairs, "{\"message\":\"a\\u0000b\"}", errors),
                     APR_SUCCESS);
    ck_assert_uint_eq(pair_at(pairs, 0)->value_len, 3);
    ck_assert_mem_eq(pair_at(pairs, 0)->value, "a\0b", 3);
}
END_TEST

START_TEST(test_json_nested_object_is_rejected_naming_the_member)
{
    ck_assert_str_eq(json_fails("{\"message\":\"hi\",\"extra\":{\"a\":1}}", "extra"),
                     "must be text, a number or a boolean");
}
END_TEST

START_TEST(test_json_array_member_is_rejected_naming_the_member)
{
    ck_assert_str_eq(json_fails("{\"topics\":[\"a\",\"b\"],\"message\":\"hi\"}",
                                "topics"),
                     "must be text, a number or a boolean");
}
END_TEST

START_TEST(test_json_top_level_array_is_rejected)
{
    ck_assert_str_eq(json_fails("[{\"message\":\"hi\"}]", "body"),
                     "must be a JSON object of field names to values");
}
END_TEST

START_TEST(test_json_top_level_string_is_rejected)
{
    ck_assert_str_eq(json_fails("\"message=hi\"", "body"),
                     "must be a JSON object of field names to values");
}
END_TEST

START_TEST(test_json_top_level_number_or_boolean_is_not_an_object)
{
    /* Valid JSON, just not an object: the sender should be told so. */
    ck_assert_str_eq(json_fails("42", "body"),
                     "must be a JSON object of field names to values");
    ck_assert_str_eq(json_fails("true", "body"),
                     "must be a JSON object of field names to values");
}
END_TEST

START_TEST(test_json_trailing_garbage_after_object_is_rejected)
{
    const char *msg = json_fails("{\"message\":\"hi\"} x", "body");
    ck_assert_msg(strncmp(msg, "is not valid JSON: ", 19) == 0, "message: %s", msg);
    msg = json_fails("{\"message\":\"hi\"}{\"email\":\"a@b.co\"}", "body");
    ck_assert_msg(strncmp(msg, "is not valid JSON: ", 19) == 0, "message: %s", msg);
}
END_TEST

START_TEST(test_json_empty_or_truncated_body_is_rejected)
{
    const char *msg = json_fails("", "body");
    ck_assert_msg(strncmp(msg, "is not valid JSON: ", 19) == 0, "message: %s", msg);
    msg = json_fails("{\"message\":\"hi\"", "body");
    ck_assert_msg(strncmp(msg, "is not valid JSON: ", 19) == 0, "message: %s", msg);
}
END_TEST

START_TEST(test_json_form_encoding_sent_as_json_is_rejected)
{
    const char *msg = json_fails("message=hi&email=a%40b.co", "body");
    ck_assert_msg(strncmp(msg, "is not valid JSON: ", 19) == 0, "message: %s", msg);
}
END_TEST

/* ---- the raw fields document -------------------------------------------- */

START_TEST(test_fields_json_keeps_every_value_as_sent)
{
    cs_submission_t *sub = build_ok(pairs_of("name", "  Ann  ",
                                             "email", " Ann@Example.COM ",
                                             "message", "Hi\r\nthere",
                                             "utm_source", "caf\xc3\xa9",
                                             NULL));
    ck_assert_str_eq(sub->fields_json,
                     "{\"name\":\"  Ann  \",\"email\":\" Ann@Example.COM \","
                     "\"message\":\"Hi\\r\\nthere\",\"utm_source\":\"caf\xc3\xa9\"}");
}
END_TEST

START_TEST(test_repeated_form_keys_become_a_json_array_in_fields_json)
{
    cs_submission_t *sub = build_ok(pairs_of("topic", "roof",
                                             "message", "hi",
                                             "topic", "gutters",
                                             "email", "a@example.com",
                                             "topic", "roof",
                                             NULL));
    ck_assert_str_eq(sub->fields_json,
                     "{\"topic\":[\"roof\",\"gutters\",\"roof\"],\"message\":\"hi\","
                     "\"email\":\"a@example.com\"}");
}
END_TEST

START_TEST(test_repeated_key_first_value_is_the_one_validated)
{
    cs_submission_t *sub = build_ok(pairs_of("name", "First",
                                             "name", "Second",
                                             "message", "hi",
                                             "email", "a@example.com",
                                             NULL));
    ck_assert_str_eq(sub->name, "First");
    ck_assert_str_eq(sub->fields_json,
                     "{\"name\":[\"First\",\"Second\"],\"message\":\"hi\","
                     "\"email\":\"a@example.com\"}");
}
END_TEST

START_TEST(test_fields_json_escapes_quotes_and_keeps_slashes)
{
    cs_submission_t *sub = build_ok(pairs_of("message", "He said \"hi\" \\o/",
                                             "page", "/contact?x=1",
                                             "phone", "5550104477",
                                             NULL));
    ck_assert_str_eq(sub->fields_json,
                     "{\"message\":\"He said \\\"hi\\\" \\\\o/\","
                     "\"page\":\"/contact?x=1\",\"phone\":\"5550104477\"}");
}
END_TEST

/* Pairs with the two required fields and then f1..fN up to @p total. */
static apr_array_header_t *pairs_with_n_fields(int total)
{
    apr_array_header_t *pairs = pairs_of("message", "hi", "email", "a@example.com",
                                         NULL);
    int i;
    for (i = 3; i <= total; i++) {
        cs_pairs_add(pairs, apr_psprintf(unit_pool, "f%d", i), "x", 1);
    }
    return pairs;
}

START_TEST(test_exactly_64_fields_are_accepted)
{
    cs_submission_t *sub = build_ok(pairs_with_n_fields(64));
    ck_assert_ptr_nonnull(strstr(sub->fields_json, "\"f64\":\"x\"}"));
}
END_TEST

START_TEST(test_more_than_64_fields_are_rejected)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_with_n_fields(65)),
                      "body", "has more than 64 fields");
}
END_TEST

START_TEST(test_repeated_keys_count_towards_the_field_limit)
{
    apr_array_header_t *pairs = pairs_of("message", "hi", "email", "a@example.com",
                                         NULL);
    int i;
    for (i = 0; i < 63; i++) {
        cs_pairs_add(pairs, "tag", "x", 1);
    }
    ASSERT_ONLY_ERROR(build_fails(pairs), "body", "has more than 64 fields");
}
END_TEST

START_TEST(test_field_name_of_64_accepted_65_rejected)
{
    const char *k64 = unit_repeat(unit_pool, "k", 64);
    const char *k65 = unit_repeat(unit_pool, "k", 65);

    build_ok(pairs_of("message", "hi", "email", "a@example.com", k64, "v", NULL));
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "email", "a@example.com",
                                           k65, "v", NULL)),
                      "body", BAD_KEY);
}
END_TEST

START_TEST(test_empty_field_name_is_rejected)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "email", "a@example.com",
                                           "", "v", NULL)),
                      "body", BAD_KEY);
}
END_TEST

START_TEST(test_field_name_with_control_or_bad_utf8_is_rejected)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "email", "a@example.com",
                                           "x\x1by", "v", NULL)),
                      "body", BAD_KEY);
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "email", "a@example.com",
                                           "x\xc0\xafy", "v", NULL)),
                      "body", BAD_KEY);
}
END_TEST

START_TEST(test_value_of_10000_bytes_accepted_10001_rejected)
{
    const char *v10000 = unit_repeat(unit_pool, "v", 10000);
    const char *v10001 = unit_repeat(unit_pool, "v", 10001);

    build_ok(pairs_of("message", "hi", "email", "a@example.com", "notes", v10000,
                      NULL));
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "email", "a@example.com",
                                           "notes", v10001, NULL)),
                      "notes", "is larger than 10000 bytes");
}
END_TEST

START_TEST(test_value_with_control_character_is_rejected_naming_the_field)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi\x07", "email",
                                           "a@example.com", NULL)),
                      "message", "contains characters that are not text");
}
END_TEST

START_TEST(test_value_with_embedded_nul_is_rejected)
{
    apr_array_header_t *pairs = pairs_of("email", "a@example.com", NULL);
    cs_pairs_add(pairs, "message", "hi\0there", 8);
    ASSERT_ONLY_ERROR(build_fails(pairs), "message",
                      "contains characters that are not text");
}
END_TEST

START_TEST(test_value_with_invalid_utf8_is_rejected)
{
    static const char *const bad[] = {
        "caf\xc3",              /* truncated */
        "\xc0\xaf",             /* overlong */
        "\xed\xa0\x80",         /* surrogate */
        "\xff",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "email",
                                               "a@example.com", "city", bad[i],
                                               NULL)),
                          "city", "contains characters that are not text");
    }
}
END_TEST

START_TEST(test_json_nul_escape_is_caught_by_validation)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    apr_array_header_t *pairs = NULL;

    ck_assert_int_eq(from_json(&pairs, "{\"email\":\"a@example.com\","
                               "\"message\":\"hi\\u0000there\"}", errors),
                     APR_SUCCESS);
    ASSERT_ONLY_ERROR(build_fails(pairs), "message",
                      "contains characters that are not text");
}
END_TEST

/* ---- validation ---------------------------------------------------------- */

START_TEST(test_valid_submission_is_trimmed_and_normalized)
{
    cs_submission_t *sub = build_ok(pairs_of("name", "  Ann Lee ",
                                             "email", " Ann.Lee@Example.COM ",
                                             "phone", "+1 (555) 010-4477",
                                             "message", "\n  Please call me.  \n",
                                             NULL));
    ck_assert_str_eq(sub->name, "Ann Lee");
    ck_assert_str_eq(sub->email, "Ann.Lee@example.com");
    ck_assert_str_eq(sub->phone, "+15550104477");
    ck_assert_str_eq(sub->message, "Please call me.");
}
END_TEST

START_TEST(test_email_alone_is_enough_to_reply)
{
    cs_submission_t *sub = build_ok(pairs_of("message", "hi",
                                             "email", "a@example.com", NULL));
    ck_assert_str_eq(sub->email, "a@example.com");
    ck_assert_ptr_null(sub->phone);
    ck_assert_ptr_null(sub->name);
}
END_TEST

START_TEST(test_phone_alone_is_enough_to_reply)
{
    cs_submission_t *sub = build_ok(pairs_of("message", "hi",
                                             "phone", "555 010 4477", NULL));
    ck_assert_str_eq(sub->phone, "5550104477");
    ck_assert_ptr_null(sub->email);
}
END_TEST

START_TEST(test_blank_optional_fields_are_null)
{
    cs_submission_t *sub = build_ok(pairs_of("message", "hi", "name", "   ",
                                             "email", "a@example.com",
                                             "phone", " \t ", NULL));
    ck_assert_ptr_null(sub->name);
    ck_assert_ptr_null(sub->phone);
    ck_assert_str_eq(sub->email, "a@example.com");
}
END_TEST

START_TEST(test_missing_message_is_an_error)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("email", "a@example.com", NULL)),
                      "message", "is required");
}
END_TEST

START_TEST(test_blank_message_is_an_error)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("email", "a@example.com",
                                           "message", " \r\n\t ", NULL)),
                      "message", "is required");
}
END_TEST

START_TEST(test_neither_email_nor_phone_is_an_error_on_email)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "name", "Ann", NULL)),
                      "email", REPLY_REQUIRED);
}
END_TEST

START_TEST(test_blank_email_and_blank_phone_count_as_neither)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "email", "  ",
                                           "phone", "", NULL)),
                      "email", REPLY_REQUIRED);
}
END_TEST

START_TEST(test_malformed_email_with_valid_phone_is_still_an_error)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi",
                                           "email", "ann@localhost",
                                           "phone", "+1 555 010 4477", NULL)),
                      "email", "is not a valid email address");
}
END_TEST

START_TEST(test_malformed_phone_with_valid_email_is_still_an_error)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi",
                                           "email", "a@example.com",
                                           "phone", "call me", NULL)),
                      "phone", "is not a valid phone number (7 to 15 digits)");
}
END_TEST

START_TEST(test_name_of_200_chars_accepted_201_rejected)
{
    const char *n200 = unit_repeat(unit_pool, "n", 200);
    cs_submission_t *sub = build_ok(pairs_of("message", "hi", "email", "a@example.com",
                                             "name", n200, NULL));
    ck_assert_str_eq(sub->name, n200);
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "email", "a@example.com",
                                           "name", unit_repeat(unit_pool, "n", 201),
                                           NULL)),
                      "name", "is longer than 200 characters");
}
END_TEST

START_TEST(test_name_length_is_measured_after_trimming)
{
    const char *padded = apr_pstrcat(unit_pool, "   ", unit_repeat(unit_pool, "n", 200),
                                     "   ", NULL);
    cs_submission_t *sub = build_ok(pairs_of("message", "hi", "email", "a@example.com",
                                             "name", padded, NULL));
    ck_assert_uint_eq(strlen(sub->name), 200);
}
END_TEST

START_TEST(test_name_of_200_accented_characters_is_accepted)
{
    /* 200 characters (400 bytes of UTF-8): within the documented limit and
     * within the database's CHECK (length(name) <= 200). */
    const char *n200 = unit_repeat(unit_pool, "\xc3\xa9", 200);
    cs_submission_t *sub = build_ok(pairs_of("message", "hi", "email", "a@example.com",
                                             "name", n200, NULL));
    ck_assert_str_eq(sub->name, n200);
}
END_TEST

START_TEST(test_name_of_201_accented_characters_is_rejected)
{
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", "hi", "email", "a@example.com",
                                           "name", unit_repeat(unit_pool, "\xc3\xa9", 201),
                                           NULL)),
                      "name", "is longer than 200 characters");
}
END_TEST

START_TEST(test_message_of_5000_chars_accepted_5001_rejected)
{
    const char *m5000 = unit_repeat(unit_pool, "m", 5000);
    cs_submission_t *sub = build_ok(pairs_of("message", m5000, "email", "a@example.com",
                                             NULL));
    ck_assert_str_eq(sub->message, m5000);
    ASSERT_ONLY_ERROR(build_fails(pairs_of("message", unit_repeat(unit_pool, "m", 5001),
                                           "email", "a@example.com", NULL)),
                      "message", "is longer than 5000 characters");
}
END_TEST

START_TEST(test_message_of_5000_cyrillic_characters_is_accepted)
{
    /* 5000 characters, 10000 bytes: the documented limit is in characters,
     * like the database's CHECK (length(btrim(message)) BETWEEN 1 AND 5000). */
    const char *m5000 = unit_repeat(unit_pool, "\xd0\x96", 5000);
    cs_submission_t *sub = build_ok(pairs_of("message", m5000, "email", "a@example.com",
                                             NULL));
    ck_assert_str_eq(sub->message, m5000);
}
END_TEST

START_TEST(test_every_problem_is_reported_in_field_order)
{
    apr_array_header_t *errors = build_fails(
        pairs_of("name", unit_repeat(unit_pool, "n", 201),
                 "email", "not-an-email",
                 "phone", "12", NULL));
    ck_assert_int_eq(errors->nelts, 4);
    ck_assert_str_eq(error_at(errors, 0)->field, "name");
    ck_assert_str_eq(error_at(errors, 1)->field, "message");
    ck_assert_str_eq(error_at(errors, 1)->message, "is required");
    ck_assert_str_eq(error_at(errors, 2)->field, "email");
    ck_assert_str_eq(error_at(errors, 2)->message, "is not a valid email address");
    ck_assert_str_eq(error_at(errors, 3)->field, "phone");
}
END_TEST

START_TEST(test_missing_message_and_contact_are_both_reported)
{
    apr_array_header_t *errors = build_fails(pairs_of("name", "Ann", NULL));
    ck_assert_int_eq(errors->nelts, 2);
    ck_assert_str_eq(error_at(errors, 0)->field, "message");
    ck_assert_str_eq(error_at(errors, 1)->field, "email");
    ck_assert_str_eq(error_at(errors, 1)->message, REPLY_REQUIRED);
}
END_TEST

START_TEST(test_empty_submission_is_rejected)
{
    apr_array_header_t *errors = build_fails(cs_pairs_make(unit_pool));
    ck_assert_int_eq(errors->nelts, 2);
    ck_assert_str_eq(error_at(errors, 0)->field, "message");
    ck_assert_str_eq(error_at(errors, 1)->field, "email");
}
END_TEST

START_TEST(test_json_number_phone_is_normalized)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    apr_array_header_t *pairs = NULL;
    cs_submission_t *sub;

    ck_assert_int_eq(from_json(&pairs, "{\"phone\":5550104477,\"message\":\"hi\","
                               "\"consent\":true,\"ref\":null}", errors),
                     APR_SUCCESS);
    sub = build_ok(pairs);
    ck_assert_str_eq(sub->phone, "5550104477");
    ck_assert_str_eq(sub->fields_json,
                     "{\"phone\":\"5550104477\",\"message\":\"hi\",\"consent\":\"true\"}");
}
END_TEST

/* ---- the 400 body -------------------------------------------------------- */

START_TEST(test_error_json_for_one_error)
{
    apr_array_header_t *errors = build_fails(pairs_of("email", "a@example.com", NULL));
    ck_assert_str_eq(cs_field_errors_json(unit_pool, errors),
                     "{\"error\":\"invalid_field\",\"field\":\"message\","
                     "\"message\":\"message is required\","
                     "\"errors\":[{\"field\":\"message\",\"message\":\"is required\"}]}");
}
END_TEST

START_TEST(test_error_json_names_the_first_field_and_lists_all)
{
    apr_array_header_t *errors = build_fails(pairs_of("name", "Ann", NULL));
    ck_assert_str_eq(cs_field_errors_json(unit_pool, errors),
                     "{\"error\":\"invalid_field\",\"field\":\"message\","
                     "\"message\":\"message is required\","
                     "\"errors\":[{\"field\":\"message\",\"message\":\"is required\"},"
                     "{\"field\":\"email\",\"message\":\"" REPLY_REQUIRED "\"}]}");
}
END_TEST

START_TEST(test_error_json_for_malformed_email_with_valid_phone)
{
    apr_array_header_t *errors = build_fails(pairs_of("message", "hi",
                                                      "email", "ann@@example.com",
                                                      "phone", "5550104477", NULL));
    ck_assert_str_eq(cs_field_errors_json(unit_pool, errors),
                     "{\"error\":\"invalid_field\",\"field\":\"email\","
                     "\"message\":\"email is not a valid email address\","
                     "\"errors\":[{\"field\":\"email\","
                     "\"message\":\"is not a valid email address\"}]}");
}
END_TEST

START_TEST(test_error_json_escapes_a_hostile_field_name)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    apr_array_header_t *pairs = NULL;
    cs_json_t *doc = NULL;
    const char *body, *perr = NULL;
    json_object *list, *item, *v;

    ck_assert_int_eq(from_json(&pairs, "{\"a\\\"b</script>\":{\"x\":1}}", errors),
                     APR_EINVAL);
    body = cs_field_errors_json(unit_pool, errors);
    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, body, strlen(body), &perr),
                     APR_SUCCESS);
    ck_assert_str_eq(cs_json_get_str(doc, "error"), "invalid_field");
    ck_assert_str_eq(cs_json_get_str(doc, "field"), "a\"b</script>");
    ck_assert_str_eq(cs_json_get_str(doc, "message"),
                     "a\"b</script> must be text, a number or a boolean");
    ck_assert(json_object_object_get_ex(cs_json_raw(doc), "errors", &list));
    ck_assert_int_eq(json_object_array_length(list), 1);
    item = json_object_array_get_idx(list, 0);
    ck_assert(json_object_object_get_ex(item, "field", &v));
    ck_assert_str_eq(json_object_get_string(v), "a\"b</script>");
}
END_TEST

START_TEST(test_error_json_for_invalid_json_body)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    apr_array_header_t *pairs = NULL;
    cs_json_t *doc = NULL;
    const char *body, *perr = NULL, *msg;

    ck_assert_int_eq(from_json(&pairs, "{\"message\":\"hi\",}", errors), APR_EINVAL);
    body = cs_field_errors_json(unit_pool, errors);
    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, body, strlen(body), &perr),
                     APR_SUCCESS);
    ck_assert_str_eq(cs_json_get_str(doc, "field"), "body");
    msg = cs_json_get_str(doc, "message");
    ck_assert_msg(strncmp(msg, "body is not valid JSON: ", 24) == 0, "message: %s", msg);
}
END_TEST

/* The journal row of a post: what the worker's drain reads back (the keys
 * consult_intake_drain names), values as normalized, nothing invented. */
START_TEST(test_journal_row_keeps_the_fields_and_the_edges_verdicts)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool), *spam;
    cs_submission_t *sub = NULL;
    cs_intake_edge_t edge = { 0 };
    cs_json_t *doc = NULL;
    const char *body, *perr = NULL;
    json_object *o = NULL, *v = NULL;

    ck_assert_int_eq(cs_intake_build(&sub, unit_pool, pairs_of(
        "name", "Ana \"Lima\"", "email", "Ana@Example.COM", "message", "  Do you cater?  ",
        "service", "catering", NULL), errors), APR_SUCCESS);
    spam = apr_array_make(unit_pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(spam, const char *) = "honeypot";
    APR_ARRAY_PUSH(spam, const char *) = "token_too_fast";
    edge.ip = "203.0.113.9";
    edge.user_agent = "Mozilla/5.0";
    edge.key = "key:abc";
    edge.spam = spam;
    edge.files = 2;
    body = cs_intake_journal_json(unit_pool, sub, &edge);
    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, body, strlen(body), &perr), APR_SUCCESS);
    o = cs_json_raw(doc);
    ck_assert_str_eq(cs_jstr(o, "name"), "Ana \"Lima\"");
    ck_assert_str_eq(cs_jstr(o, "email"), "Ana@example.com");   /* the domain, lowered */
    ck_assert_str_eq(cs_jstr(o, "message"), "Do you cater?");
    ck_assert_str_eq(cs_jstr(o, "service"), "catering");
    ck_assert_ptr_null(cs_jstr(o, "phone"));
    ck_assert_ptr_null(cs_jstr(o, "referer"));
    ck_assert_str_eq(cs_jstr(o, "ip"), "203.0.113.9");
    ck_assert_str_eq(cs_jstr(o, "user_agent"), "Mozilla/5.0");
    ck_assert_str_eq(cs_jstr(o, "key"), "key:abc");
    ck_assert(cs_jbool(o, "spam", 0));
    ck_assert(json_object_object_get_ex(o, "reasons", &v));
    ck_assert_int_eq(json_object_array_length(v), 2);
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)), "token_too_fast");
    ck_assert(json_object_object_get_ex(o, "files", &v));
    ck_assert_int_eq(json_object_get_int(v), 2);
    /* The fields as sent (not normalized), as an object. */
    ck_assert_ptr_nonnull(v = cs_jobj(o, "fields"));
    ck_assert_str_eq(cs_jstr(v, "email"), "Ana@Example.COM");
}
END_TEST

START_TEST(test_journal_row_of_a_clean_post_says_not_spam_with_no_reasons)
{
    apr_array_header_t *errors = cs_field_errors_make(unit_pool);
    cs_submission_t *sub = NULL;
    cs_intake_edge_t edge = { 0 };
    cs_json_t *doc = NULL;
    const char *body, *perr = NULL;
    json_object *v = NULL;

    ck_assert_int_eq(cs_intake_build(&sub, unit_pool, pairs_of(
        "phone", "503 555 0100", "message", "hi", NULL), errors), APR_SUCCESS);
    edge.ip = "::1";
    body = cs_intake_journal_json(unit_pool, sub, &edge);
    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, body, strlen(body), &perr), APR_SUCCESS);
    ck_assert(!cs_jbool(cs_json_raw(doc), "spam", 1));
    ck_assert(json_object_object_get_ex(cs_json_raw(doc), "reasons", &v));
    ck_assert_int_eq(json_object_array_length(v), 0);
    ck_assert(!json_object_object_get_ex(cs_json_raw(doc), "files", &v));
    ck_assert(!json_object_object_get_ex(cs_json_raw(doc), "key", &v));
}
END_TEST


Suite *intake_suite(void)
{
    Suite *s = suite_create("cs_intake");
    TCase *tc;

    tc = tcase_create("pair_lists");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_pairs_make_is_empty);
    tcase_add_test(tc, test_pairs_add_keeps_order_pointers_and_length);
    suite_add_tcase(s, tc);

    tc = tcase_create("json_body");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_json_members_become_pairs_in_order_as_text);
    tcase_add_test(tc, test_json_null_members_are_skipped);
    tcase_add_test(tc, test_json_empty_object_gives_no_pairs);
    tcase_add_test(tc, test_json_unicode_escapes_are_decoded_with_byte_length);
    tcase_add_test(tc, test_json_string_with_nul_keeps_its_full_length);
    tcase_add_test(tc, test_json_nested_object_is_rejected_naming_the_member);
    tcase_add_test(tc, test_json_array_member_is_rejected_naming_the_member);
    tcase_add_test(tc, test_json_top_level_array_is_rejected);
    tcase_add_test(tc, test_json_top_level_string_is_rejected);
    tcase_add_test(tc, test_json_top_level_number_or_boolean_is_not_an_object);
    tcase_add_test(tc, test_json_trailing_garbage_after_object_is_rejected);
    tcase_add_test(tc, test_json_empty_or_truncated_body_is_rejected);
    tcase_add_test(tc, test_json_form_encoding_sent_as_json_is_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("fields_json");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_fields_json_keeps_every_value_as_sent);
    tcase_add_test(tc, test_repeated_form_keys_become_a_json_array_in_fields_json);
    tcase_add_test(tc, test_repeated_key_first_value_is_the_one_validated);
    tcase_add_test(tc, test_fields_json_escapes_quotes_and_keeps_slashes);
    tcase_add_test(tc, test_exactly_64_fields_are_accepted);
    tcase_add_test(tc, test_more_than_64_fields_are_rejected);
    tcase_add_test(tc, test_repeated_keys_count_towards_the_field_limit);
    tcase_add_test(tc, test_field_name_of_64_accepted_65_rejected);
    tcase_add_test(tc, test_empty_field_name_is_rejected);
    tcase_add_test(tc, test_field_name_with_control_or_bad_utf8_is_rejected);
    tcase_add_test(tc, test_value_of_10000_bytes_accepted_10001_rejected);
    tcase_add_test(tc, test_value_with_control_character_is_rejected_naming_the_field);
    tcase_add_test(tc, test_value_with_embedded_nul_is_rejected);
    tcase_add_test(tc, test_value_with_invalid_utf8_is_rejected);
    tcase_add_test(tc, test_json_nul_escape_is_caught_by_validation);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_valid_submission_is_trimmed_and_normalized);
    tcase_add_test(tc, test_email_alone_is_enough_to_reply);
    tcase_add_test(tc, test_phone_alone_is_enough_to_reply);
    tcase_add_test(tc, test_blank_optional_fields_are_null);
    tcase_add_test(tc, test_missing_message_is_an_error);
    tcase_add_test(tc, test_blank_message_is_an_error);
    tcase_add_test(tc, test_neither_email_nor_phone_is_an_error_on_email);
    tcase_add_test(tc, test_blank_email_and_blank_phone_count_as_neither);
    tcase_add_test(tc, test_malformed_email_with_valid_phone_is_still_an_error);
    tcase_add_test(tc, test_malformed_phone_with_valid_email_is_still_an_error);
    tcase_add_test(tc, test_name_of_200_chars_accepted_201_rejected);
    tcase_add_test(tc, test_name_length_is_measured_after_trimming);
    tcase_add_test(tc, test_name_of_200_accented_characters_is_accepted);
    tcase_add_test(tc, test_name_of_201_accented_characters_is_rejected);
    tcase_add_test(tc, test_message_of_5000_chars_accepted_5001_rejected);
    tcase_add_test(tc, test_message_of_5000_cyrillic_characters_is_accepted);
    tcase_add_test(tc, test_every_problem_is_reported_in_field_order);
    tcase_add_test(tc, test_missing_message_and_contact_are_both_reported);
    tcase_add_test(tc, test_empty_submission_is_rejected);
    tcase_add_test(tc, test_json_number_phone_is_normalized);
    suite_add_tcase(s, tc);

    tc = tcase_create("error_json");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_error_json_for_one_error);
    tcase_add_test(tc, test_error_json_names_the_first_field_and_lists_all);
    tcase_add_test(tc, test_error_json_for_malformed_email_with_valid_phone);
    tcase_add_test(tc, test_error_json_escapes_a_hostile_field_name);
    tcase_add_test(tc, test_error_json_for_invalid_json_body);
    suite_add_tcase(s, tc);

    tc = tcase_create("journal_row");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_journal_row_keeps_the_fields_and_the_edges_verdicts);
    tcase_add_test(tc, test_journal_row_of_a_clean_post_says_not_spam_with_no_reasons);
    suite_add_tcase(s, tc);

    return s;
}
