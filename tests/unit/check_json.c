/* cs_json: strict parsing, typed getters, setters and compact dumps of
 * json-c values owned by APR pools. */
#include "unit.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <string.h>

/* A non-NULL value to check that failures reset *pout. */
static char sentinel;

static apr_status_t parse(cs_json_t **pout, const char *text, const char **perr)
{
    return cs_json_parse(pout, unit_pool, text, strlen(text), perr);
}

/* Expect @p text to be refused; returns the error message. */
static const char *parse_fails(const char *text)
{
    cs_json_t *j = (cs_json_t *)(void *)&sentinel;
    const char *err = NULL;

    ck_assert_msg(parse(&j, text, &err) == APR_EINVAL,
                  "'%s' should not parse", text);
    ck_assert_ptr_null(j);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(*err != '\0', "empty error for '%s'", text);
    return err;
}

/* Expect @p text to parse and dump back as @p want. */
static cs_json_t *parse_ok(const char *text, const char *want)
{
    cs_json_t *j = NULL;
    const char *err = NULL;
    apr_status_t rv = parse(&j, text, &err);

    ck_assert_msg(rv == APR_SUCCESS, "'%s' should parse, got: %s", text,
                  err ? err : "(no message)");
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cs_json_dump(j, unit_pool), want);
    return j;
}

/* ---- parsing ------------------------------------------------------------- */

START_TEST(test_parse_object_and_dump_compact)
{
    parse_ok("{ \"name\" : \"Ann\", \"n\": 42, \"ok\": true, \"x\": null }",
             "{\"name\":\"Ann\",\"n\":42,\"ok\":true,\"x\":null}");
}
END_TEST

START_TEST(test_parse_allows_whitespace_around_the_value)
{
    parse_ok("  {\"a\":\"b\"}", "{\"a\":\"b\"}");
    parse_ok("{\"a\":\"b\"}\n", "{\"a\":\"b\"}");
    parse_ok("\r\n\t{}\r\n ", "{}");
}
END_TEST

START_TEST(test_parse_array_and_string_top_level)
{
    parse_ok("[1, \"two\", [3]]", "[1,\"two\",[3]]");
    parse_ok("\"just text\"", "\"just text\"");
}
END_TEST

START_TEST(test_parse_accepts_top_level_numbers_and_literals)
{
    /* RFC 8259: any JSON value may be the whole document. */
    parse_ok("123", "123");
    parse_ok("1.5", "1.5");
    parse_ok("true", "true");
}
END_TEST

START_TEST(test_parse_keeps_utf8_and_unicode_escapes)
{
    cs_json_t *j = parse_ok("{\"c\":\"caf\\u00e9\",\"d\":\"caf\xc3\xa9\"}",
                            "{\"c\":\"caf\xc3\xa9\",\"d\":\"caf\xc3\xa9\"}");
    ck_assert_str_eq(cs_json_get_str(j, "c"), "caf\xc3\xa9");
}
END_TEST

START_TEST(test_parse_only_reads_len_bytes)
{
    cs_json_t *j = NULL;
    const char *err = NULL;
    const char *buf = "{\"a\":1}GARBAGE";

    ck_assert_int_eq(cs_json_parse(&j, unit_pool, buf, 7, &err), APR_SUCCESS);
    ck_assert_str_eq(cs_json_dump(j, unit_pool), "{\"a\":1}");
}
END_TEST

START_TEST(test_parse_trailing_garbage_after_value_is_rejected)
{
    parse_fails("{\"a\":1} x");
    parse_fails("{\"a\":1}}");
    parse_fails("{}{}");
    parse_fails("{} {}");
    parse_fails("[1] [2]");
    parse_fails("\"a\" \"b\"");
}
END_TEST

START_TEST(test_parse_embedded_nul_after_value_is_rejected)
{
    cs_json_t *j = (cs_json_t *)(void *)&sentinel;
    const char *err = NULL;
    static const char buf[] = "{\"a\":1}\0{\"b\":2}";

    ck_assert_int_eq(cs_json_parse(&j, unit_pool, buf, sizeof(buf) - 1, &err),
                     APR_EINVAL);
    ck_assert_ptr_null(j);
    ck_assert_str_eq(err, "unexpected data after the JSON value");
}
END_TEST

START_TEST(test_parse_truncated_document_is_rejected)
{
    parse_fails("{");
    parse_fails("{\"a\":");
    parse_fails("{\"a\":\"unterminated");
    parse_fails("[1, 2");
}
END_TEST

START_TEST(test_parse_empty_and_blank_input_is_rejected)
{
    parse_fails("");
    parse_fails("   \n");
}
END_TEST

START_TEST(test_parse_is_strict)
{
    parse_fails("{\"a\":1,}");          /* trailing comma */
    parse_fails("[1,]");
    parse_fails("{a:1}");               /* unquoted key */
    parse_fails("{'a':'b'}");           /* single quotes */
    parse_fails("{\"a\":1} // note");
    parse_fails("/* c */ {\"a\":1}");
    parse_fails("{\"a\":TRUE}");
}
END_TEST

START_TEST(test_parse_error_message_is_the_tokener_description)
{
    ck_assert_str_eq(parse_fails("{\"a\" 1}"),
                     json_tokener_error_desc(json_tokener_error_parse_object_key_sep));
    ck_assert_str_eq(parse_fails("{\"a\":"),
                     json_tokener_error_desc(json_tokener_error_parse_eof));
}
END_TEST

/* ---- getters ------------------------------------------------------------- */

START_TEST(test_get_str_returns_string_members)
{
    cs_json_t *j = parse_ok("{\"name\":\"Ann\",\"empty\":\"\"}",
                            "{\"name\":\"Ann\",\"empty\":\"\"}");
    ck_assert_str_eq(cs_json_get_str(j, "name"), "Ann");
    ck_assert_str_eq(cs_json_get_str(j, "empty"), "");
}
END_TEST

START_TEST(test_get_str_missing_key_is_null)
{
    cs_json_t *j = parse_ok("{\"name\":\"Ann\"}", "{\"name\":\"Ann\"}");
    ck_assert_ptr_null(cs_json_get_str(j, "email"));
    ck_assert_ptr_null(cs_json_get_str(j, "Name"));
}
END_TEST

START_TEST(test_get_str_wrong_type_is_null)
{
    cs_json_t *j = parse_ok("{\"n\":42,\"b\":false,\"z\":null,\"o\":{},\"a\":[\"x\"]}",
                            "{\"n\":42,\"b\":false,\"z\":null,\"o\":{},\"a\":[\"x\"]}");
    ck_assert_ptr_null(cs_json_get_str(j, "n"));
    ck_assert_ptr_null(cs_json_get_str(j, "b"));
    ck_assert_ptr_null(cs_json_get_str(j, "z"));
    ck_assert_ptr_null(cs_json_get_str(j, "o"));
    ck_assert_ptr_null(cs_json_get_str(j, "a"));
}
END_TEST

START_TEST(test_get_str_on_non_object_is_null)
{
    ck_assert_ptr_null(cs_json_get_str(parse_ok("[\"name\"]", "[\"name\"]"), "name"));
    ck_assert_ptr_null(cs_json_get_str(parse_ok("\"name\"", "\"name\""), "name"));
    ck_assert_ptr_null(cs_json_get_str(cs_json_array(unit_pool), "name"));
}
END_TEST

START_TEST(test_raw_exposes_the_json_c_value)
{
    ck_assert(json_object_is_type(cs_json_raw(cs_json_object(unit_pool)),
                                  json_type_object));
    ck_assert(json_object_is_type(cs_json_raw(cs_json_array(unit_pool)),
                                  json_type_array));
}
END_TEST

/* ---- building ------------------------------------------------------------ */

START_TEST(test_new_object_and_array_dump_empty)
{
    ck_assert_str_eq(cs_json_dump(cs_json_object(unit_pool), unit_pool), "{}");
    ck_assert_str_eq(cs_json_dump(cs_json_array(unit_pool), unit_pool), "[]");
}
END_TEST

START_TEST(test_setters_dump_in_insertion_order)
{
    cs_json_t *j = cs_json_object(unit_pool);
    cs_json_set_str(j, "s", "text");
    cs_json_set_int(j, "i", -42);
    cs_json_set_int(j, "big", APR_INT64_C(9007199254740993));
    cs_json_set_bool(j, "t", 7);
    cs_json_set_bool(j, "f", 0);
    ck_assert_str_eq(cs_json_dump(j, unit_pool),
                     "{\"s\":\"text\",\"i\":-42,\"big\":9007199254740993,"
                     "\"t\":true,\"f\":false}");
}
END_TEST

START_TEST(test_set_double_prints_three_decimals)
{
    cs_json_t *j = cs_json_object(unit_pool);
    cs_json_set_double(j, "rtt_ms", 1.23456789);
    cs_json_set_double(j, "whole", 2.0);
    cs_json_set_double(j, "neg", -0.5);
    ck_assert_str_eq(cs_json_dump(j, unit_pool),
                     "{\"rtt_ms\":1.235,\"whole\":2.000,\"neg\":-0.500}");
}
END_TEST

START_TEST(test_set_str_null_is_json_null)
{
    cs_json_t *j = cs_json_object(unit_pool);
    cs_json_set_str(j, "gone", NULL);
    ck_assert_str_eq(cs_json_dump(j, unit_pool), "{\"gone\":null}");
    ck_assert_ptr_null(cs_json_get_str(j, "gone"));
}
END_TEST

START_TEST(test_set_str_copies_the_value)
{
    cs_json_t *j = cs_json_object(unit_pool);
    char buf[8] = "before";
    cs_json_set_str(j, "k", buf);
    strcpy(buf, "after");
    ck_assert_str_eq(cs_json_get_str(j, "k"), "before");
}
END_TEST

START_TEST(test_set_same_key_replaces_value)
{
    cs_json_t *j = cs_json_object(unit_pool);
    cs_json_set_str(j, "k", "one");
    cs_json_set_int(j, "other", 1);
    cs_json_set_str(j, "k", "two");
    ck_assert_str_eq(cs_json_dump(j, unit_pool), "{\"k\":\"two\",\"other\":1}");
}
END_TEST

START_TEST(test_dump_escapes_quotes_controls_but_not_slashes)
{
    cs_json_t *j = cs_json_object(unit_pool);
    cs_json_set_str(j, "q", "say \"hi\"\\ \n\t/path");
    ck_assert_str_eq(cs_json_dump(j, unit_pool),
                     "{\"q\":\"say \\\"hi\\\"\\\\ \\n\\t/path\"}");
}
END_TEST

START_TEST(test_nested_objects_and_arrays_share_the_pool)
{
    cs_json_t *doc = cs_json_object(unit_pool);
    cs_json_t *list = cs_json_array(unit_pool);
    cs_json_t *a = cs_json_object(unit_pool), *b = cs_json_object(unit_pool);

    cs_json_set_str(a, "field", "email");
    cs_json_set_int(b, "n", 2);
    cs_json_append(list, a);
    cs_json_append(list, b);
    cs_json_set_obj(doc, "errors", list);
    /* Children stay usable through their own wrappers after attaching. */
    cs_json_set_str(a, "late", "yes");
    ck_assert_str_eq(cs_json_dump(doc, unit_pool),
                     "{\"errors\":[{\"field\":\"email\",\"late\":\"yes\"},{\"n\":2}]}");
    ck_assert_str_eq(cs_json_dump(a, unit_pool),
                     "{\"field\":\"email\",\"late\":\"yes\"}");
}
END_TEST

START_TEST(test_values_outlive_a_subpool_destroyed_before_them)
{
    /* A document in a sub-pool is released when that pool goes; the parent
     * pool's values are unaffected (ASan would flag a double put). */
    apr_pool_t *sub = NULL;
    cs_json_t *keep = cs_json_object(unit_pool), *tmp;

    ck_assert_int_eq(apr_pool_create(&sub, unit_pool), APR_SUCCESS);
    tmp = cs_json_object(sub);
    cs_json_set_str(tmp, "x", "y");
    cs_json_set_str(keep, "k", cs_json_dump(tmp, unit_pool));
    apr_pool_destroy(sub);
    ck_assert_str_eq(cs_json_dump(keep, unit_pool), "{\"k\":\"{\\\"x\\\":\\\"y\\\"}\"}");
}
END_TEST

Suite *json_suite(void)
{
    Suite *s = suite_create("cs_json");
    TCase *tc;

    tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_parse_object_and_dump_compact);
    tcase_add_test(tc, test_parse_allows_whitespace_around_the_value);
    tcase_add_test(tc, test_parse_array_and_string_top_level);
    tcase_add_test(tc, test_parse_accepts_top_level_numbers_and_literals);
    tcase_add_test(tc, test_parse_keeps_utf8_and_unicode_escapes);
    tcase_add_test(tc, test_parse_only_reads_len_bytes);
    tcase_add_test(tc, test_parse_trailing_garbage_after_value_is_rejected);
    tcase_add_test(tc, test_parse_embedded_nul_after_value_is_rejected);
    tcase_add_test(tc, test_parse_truncated_document_is_rejected);
    tcase_add_test(tc, test_parse_empty_and_blank_input_is_rejected);
    tcase_add_test(tc, test_parse_is_strict);
    tcase_add_test(tc, test_parse_error_message_is_the_tokener_description);
    suite_add_tcase(s, tc);

    tc = tcase_create("getters");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_get_str_returns_string_members);
    tcase_add_test(tc, test_get_str_missing_key_is_null);
    tcase_add_test(tc, test_get_str_wrong_type_is_null);
    tcase_add_test(tc, test_get_str_on_non_object_is_null);
    tcase_add_test(tc, test_raw_exposes_the_json_c_value);
    suite_add_tcase(s, tc);

    tc = tcase_create("build_and_dump");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_new_object_and_array_dump_empty);
    tcase_add_test(tc, test_setters_dump_in_insertion_order);
    tcase_add_test(tc, test_set_double_prints_three_decimals);
    tcase_add_test(tc, test_set_str_null_is_json_null);
    tcase_add_test(tc, test_set_str_copies_the_value);
    tcase_add_test(tc, test_set_same_key_replaces_value);
    tcase_add_test(tc, test_dump_escapes_quotes_controls_but_not_slashes);
    tcase_add_test(tc, test_nested_objects_and_arrays_share_the_pool);
    tcase_add_test(tc, test_values_outlive_a_subpool_destroyed_before_them);
    suite_add_tcase(s, tc);

    return s;
}
