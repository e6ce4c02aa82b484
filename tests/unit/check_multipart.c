/* cs_multipart: RFC 7578 bodies as browsers send them, the boundary
 * parameter, filenames, malformed bodies, limits and adversarial input. */
#include "unit.h"
#include "http/cs_multipart.h"

#include <apr_strings.h>
#include <string.h>

/* A string literal and its length, embedded NULs included. */
#define LIT(s) (s), (sizeof(s) - 1)

#define CT "multipart/form-data; boundary=XyZ"

static const cs_multipart_limits_t limits = { 80, 1 << 20, 2 << 20, 10000 };

static apr_array_header_t *parts;
static const char *err;

static apr_status_t parse_with(const char *ct, const char *body, apr_size_t len,
                               const cs_multipart_limits_t *lim)
{
    static apr_array_header_t unset;

    parts = &unset;
    err = "unset";
    return cs_multipart_parse(&parts, unit_pool, ct, body, len, lim, &err);
}

static apr_status_t parse(const char *ct, const char *body, apr_size_t len)
{
    return parse_with(ct, body, len, &limits);
}

static const cs_part_t *part_at(int i)
{
    ck_assert_int_lt(i, parts->nelts);
    return &APR_ARRAY_IDX(parts, i, cs_part_t);
}

/* Parse a body with CT and expect exactly one part; return it. */
static const cs_part_t *only_part(const char *body, apr_size_t len)
{
    ck_assert_int_eq(parse(CT, body, len), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(parts->nelts, 1);
    return part_at(0);
}

/* The filename of a single file part whose Content-Disposition
 * parameters after name="f" are @p params. */
static const char *filename_of(const char *params)
{
    const char *body = apr_pstrcat(unit_pool, "--XyZ\r\nContent-Disposition: form-data; "
                                   "name=\"f\"; ", params, "\r\n\r\ndata\r\n--XyZ--\r\n",
                                   NULL);
    return only_part(body, strlen(body))->filename;
}

/* Variadic so that LIT(...) may stand for the body and its length. */
#define ASSERT_INVALID_CT(ct, ...) ASSERT_INVALID_CT_((ct), __VA_ARGS__)
#define ASSERT_INVALID_CT_(ct, body, len) do {                               \
        ck_assert_int_eq(parse((ct), (body), (len)), APR_EINVAL);            \
        ck_assert_ptr_null(parts);                                           \
        ck_assert_ptr_nonnull(err);                                          \
    } while (0)

#define ASSERT_INVALID(...) ASSERT_INVALID_CT_(CT, __VA_ARGS__)

/* Expect APR_EINVAL with a message containing the last argument. */
#define ASSERT_INVALID_MSG(...) ASSERT_INVALID_MSG_(__VA_ARGS__)
#define ASSERT_INVALID_MSG_(body, len, what) do {                            \
        ASSERT_INVALID_CT_(CT, (body), (len));                               \
        ck_assert_msg(strstr(err, (what)) != NULL,                           \
                      "message '%s' should mention '%s'", err, (what));      \
    } while (0)

#define ASSERT_DATA(part, want) do {                                         \
        ck_assert_uint_eq((part)->len, sizeof(want) - 1);                    \
        ck_assert_int_eq(memcmp((part)->data, (want), sizeof(want) - 1), 0); \
    } while (0)

/* Two fields and a file, as a browser sends them. */
static const char form[] =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"name\"\r\n"
    "\r\n"
    "Ann Lee\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"message\"\r\n"
    "\r\n"
    "Hello,\r\nworld\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"photo\"; filename=\"cat.png\"\r\n"
    "Content-Type: image/png\r\n"
    "\r\n"
    "\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
    "\r\n--XyZ--\r\n";

/* ---- well-formed bodies --------------------------------------------- */

START_TEST(test_two_fields_and_a_file_parse_in_order)
{
    const cs_part_t *pt;

    ck_assert_int_eq(parse(CT, LIT(form)), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(parts->nelts, 3);

    pt = part_at(0);
    ck_assert_str_eq(pt->name, "name");
    ck_assert_ptr_null(pt->filename);
    ck_assert_ptr_null(pt->content_type);
    ASSERT_DATA(pt, "Ann Lee");

    pt = part_at(1);
    ck_assert_str_eq(pt->name, "message");
    ASSERT_DATA(pt, "Hello,\r\nworld");

    pt = part_at(2);
    ck_assert_str_eq(pt->name, "photo");
    ck_assert_str_eq(pt->filename, "cat.png");
    ck_assert_str_eq(pt->content_type, "image/png");
    ASSERT_DATA(pt, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
}
END_TEST

START_TEST(test_fields_are_nul_terminated_copies_files_point_into_body)
{
    const cs_part_t *field, *file;

    ck_assert_int_eq(parse(CT, LIT(form)), APR_SUCCESS);
    field = part_at(0);
    file = part_at(2);
    ck_assert_str_eq(field->data, "Ann Lee");
    ck_assert(field->data < form || field->data >= form + sizeof(form));
    ck_assert(file->data > form && file->data + file->len < form + sizeof(form));
}
END_TEST

START_TEST(test_quoted_boundary_with_allowed_punctuation_and_space)
{
    static const char body[] =
        "--a b'()+_,-./:=?\r\n"
        "Content-Disposition: form-data; name=\"x\"\r\n\r\n"
        "1\r\n--a b'()+_,-./:=?--\r\n";
    const cs_part_t *pt;

    ck_assert_int_eq(parse("multipart/form-data; boundary=\"a b'()+_,-./:=?\"",
                           LIT(body)), APR_SUCCESS);
    ck_assert_int_eq(parts->nelts, 1);
    pt = part_at(0);
    ck_assert_str_eq(pt->name, "x");
    ASSERT_DATA(pt, "1");
}
END_TEST

START_TEST(test_content_type_is_case_insensitive_and_may_carry_other_params)
{
    ck_assert_int_eq(parse("Multipart/Form-Data ; charset=utf-8;BOUNDARY=XyZ",
                           LIT(form)), APR_SUCCESS);
    ck_assert_int_eq(parts->nelts, 3);
}
END_TEST

START_TEST(test_preamble_and_epilogue_are_ignored)
{
    static const char body[] =
        "This is the preamble.\r\n--XyZ is not here\r\nstill preamble"
        "\r\n--XyZ\r\n"
        "Content-Disposition: form-data; name=\"a\"\r\n\r\n"
        "A\r\n--XyZ--\r\n"
        "This is the epilogue.\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n";
    const cs_part_t *pt = only_part(LIT(body));
    ck_assert_str_eq(pt->name, "a");
    ASSERT_DATA(pt, "A");
}
END_TEST

START_TEST(test_closing_delimiter_may_end_the_body_without_crlf)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n--XyZ--";
    ASSERT_DATA(only_part(LIT(body)), "A");
}
END_TEST

START_TEST(test_transport_padding_after_delimiters_is_allowed)
{
    static const char body[] =
        "--XyZ \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA"
        "\r\n--XyZ  \r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nB"
        "\r\n--XyZ-- \t\r\n";
    ck_assert_int_eq(parse(CT, LIT(body)), APR_SUCCESS);
    ck_assert_int_eq(parts->nelts, 2);
    ASSERT_DATA(part_at(1), "B");
}
END_TEST

START_TEST(test_form_with_no_fields_is_an_empty_list)
{
    ck_assert_int_eq(parse(CT, LIT("--XyZ--\r\n")), APR_SUCCESS);
    ck_assert_ptr_nonnull(parts);
    ck_assert_int_eq(parts->nelts, 0);
}
END_TEST

START_TEST(test_empty_values_are_kept)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
        "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n"
        "\r\n--XyZ--\r\n";
    ck_assert_int_eq(parse(CT, LIT(body)), APR_SUCCESS);
    ck_assert_int_eq(parts->nelts, 2);
    ck_assert_uint_eq(part_at(0)->len, 0);
    ck_assert_str_eq(part_at(0)->data, "");
    ck_assert_uint_eq(part_at(1)->len, 0);
}
END_TEST

START_TEST(test_header_and_parameter_names_ignore_case)
{
    static const char body[] =
        "--XyZ\r\n"
        "CONTENT-TYPE: Text/Plain; Charset=UTF-8\r\n"
        "X-Other: ignored\r\n"
        "content-disposition: FORM-DATA; NAME=\"Field\"; FileName=\"A.TXT\"\r\n"
        "content-transfer-encoding: BINARY\r\n"
        "\r\n"
        "x\r\n--XyZ--\r\n";
    const cs_part_t *pt = only_part(LIT(body));
    ck_assert_str_eq(pt->name, "Field");         /* values keep their case */
    ck_assert_str_eq(pt->filename, "A.TXT");
    ck_assert_str_eq(pt->content_type, "text/plain");
}
END_TEST

START_TEST(test_unquoted_parameter_values_and_whitespace_around_them)
{
    static const char body[] =
        "--XyZ\r\n"
        "Content-Disposition:form-data ;name=plain ; filename = \"f.txt\";\r\n"
        "\r\n"
        "x\r\n--XyZ--\r\n";
    const cs_part_t *pt = only_part(LIT(body));
    ck_assert_str_eq(pt->name, "plain");
    ck_assert_str_eq(pt->filename, "f.txt");
}
END_TEST

/* ---- content -------------------------------------------------------- */

START_TEST(test_binary_file_with_nuls_and_fake_boundaries_is_kept_whole)
{
    static const char content[] =
        "A\0B--XyZ\r\n"                 /* not after CRLF */
        "\r\n--XyZX\r\n"                /* boundary is only a prefix */
        "\r\n--XyZ \tjunk\r\n"          /* padding, then not CRLF */
        "\r\n--XyZ--junk\r\n"           /* close, then not CRLF */
        "\r\n--Xy\0\r\n"                /* cut short */
        "\r\n-XyZ--\r\n"                /* one dash */
        "\r\n--XyZ\n"                   /* bare LF is not a delimiter line end */
        "\0\0end\0";
    static const char body[] =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"blob\"; filename=\"b.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n"
        "\r\n"
        "A\0B--XyZ\r\n"
        "\r\n--XyZX\r\n"
        "\r\n--XyZ \tjunk\r\n"
        "\r\n--XyZ--junk\r\n"
        "\r\n--Xy\0\r\n"
        "\r\n-XyZ--\r\n"
        "\r\n--XyZ\n"
        "\0\0end\0"
        "\r\n--XyZ--\r\n";
    const cs_part_t *pt = only_part(LIT(body));
    ck_assert_str_eq(pt->filename, "b.bin");
    ASSERT_DATA(pt, content);
}
END_TEST

START_TEST(test_trailing_crlf_of_content_belongs_to_the_content)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
        "line\r\n\r\n\r\n--XyZ--\r\n";
    ASSERT_DATA(only_part(LIT(body)), "line\r\n\r\n");
}
END_TEST

START_TEST(test_field_with_nul_keeps_its_length)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
        "a\0b\r\n--XyZ--\r\n";
    const cs_part_t *pt = only_part(LIT(body));
    ASSERT_DATA(pt, "a\0b");
    ck_assert_int_eq(pt->data[3], '\0');
}
END_TEST

START_TEST(test_declared_content_type_is_lowercased_without_parameters)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.pdf\"\r\n"
        "Content-Type:  Application/PDF ; name=\"x\"  \r\n\r\n"
        "%PDF\r\n--XyZ--\r\n";
    ck_assert_str_eq(only_part(LIT(body))->content_type, "application/pdf");
}
END_TEST

/* ---- filenames ------------------------------------------------------ */

START_TEST(test_filename_paths_are_stripped_to_the_base_name)
{
    ck_assert_str_eq(filename_of("filename=\"C:\\Users\\ann\\y.pdf\""), "y.pdf");
    ck_assert_str_eq(filename_of("filename=\"../../etc\""), "etc");
    ck_assert_str_eq(filename_of("filename=\"/etc/passwd\""), "passwd");
    ck_assert_str_eq(filename_of("filename=\"..\\..\\boot.ini\""), "boot.ini");
    ck_assert_str_eq(filename_of("filename=\"a/b\\c/d.txt\""), "d.txt");
}
END_TEST

START_TEST(test_filename_empty_dot_or_dir_becomes_upload)
{
    ck_assert_str_eq(filename_of("filename=\"\""), "upload");
    ck_assert_str_eq(filename_of("filename=\".\""), "upload");
    ck_assert_str_eq(filename_of("filename=\"..\""), "upload");
    ck_assert_str_eq(filename_of("filename=\"x/..\""), "upload");
    ck_assert_str_eq(filename_of("filename=\"dir/\""), "upload");
    ck_assert_str_eq(filename_of("filename=\"   \""), "upload");
}
END_TEST

START_TEST(test_filename_control_chars_and_invalid_utf8_are_dropped)
{
    ck_assert_str_eq(filename_of("filename=\"a\tb.txt\""), "ab.txt");
    ck_assert_str_eq(filename_of("filename*=UTF-8''a%01b%7Fc%0D%0A.txt"), "abc.txt");
    ck_assert_str_eq(filename_of("filename=\"a\xff" "b\xc3.txt\""), "ab.txt");
    ck_assert_str_eq(filename_of("filename=\"  caf\xc3\xa9 .txt \""), "caf\xc3\xa9 .txt");
    ck_assert_str_eq(filename_of("filename=\"\xc2\x85" "x.txt\""), "x.txt");   /* C1 NEL */
}
END_TEST

START_TEST(test_filename_bidi_overrides_are_dropped)
{
    /* U+202E makes "invoicefdp.exe" display as "invoiceexe.pdf". */
    ck_assert_str_eq(filename_of("filename=\"invoice\xe2\x80\xae" "fdp.exe\""),
                     "invoicefdp.exe");
    ck_assert_str_eq(filename_of("filename=\"a\xe2\x81\xa6" "b\xe2\x80\x8f.txt\""), "ab.txt");
}
END_TEST

START_TEST(test_filename_quoted_pairs_for_quote_and_backslash)
{
    ck_assert_str_eq(filename_of("filename=\"say \\\"hi\\\".txt\""), "say \"hi\".txt");
}
END_TEST

START_TEST(test_filename_too_long_is_cut_keeping_the_extension)
{
    const char *f = filename_of(apr_pstrcat(unit_pool, "filename=\"",
                                            unit_repeat(unit_pool, "a", 300), ".pdf\"",
                                            NULL));
    ck_assert_uint_eq(strlen(f), CS_MULTIPART_MAX_FILENAME);
    ck_assert_str_eq(f + CS_MULTIPART_MAX_FILENAME - 5, "a.pdf");

    /* A cut never splits a UTF-8 character. */
    f = filename_of(apr_pstrcat(unit_pool, "filename=\"",
                                unit_repeat(unit_pool, "\xc3\xa9", 200), "\"", NULL));
    ck_assert_uint_eq(strlen(f), 254);
}
END_TEST

START_TEST(test_filename_star_utf8_is_decoded_and_preferred)
{
    ck_assert_str_eq(filename_of("filename=\"rates.pdf\"; "
                                 "filename*=UTF-8''%E2%82%AC%20rates.pdf"),
                     "\xe2\x82\xac rates.pdf");
    ck_assert_str_eq(filename_of("filename*=utf-8'en'%2e%2E%2F..%2Fetc%2Fpasswd"), "passwd");
    ck_assert_str_eq(filename_of("filename*=UTF-8''a%00b.txt"), "ab.txt");
}
END_TEST

START_TEST(test_filename_star_latin1_is_converted_to_utf8)
{
    ck_assert_str_eq(filename_of("filename*=ISO-8859-1''caf%E9.txt"), "caf\xc3\xa9.txt");
}
END_TEST

START_TEST(test_filename_star_in_unknown_charset_falls_back)
{
    ck_assert_str_eq(filename_of("filename=\"a.txt\"; filename*=koi8-r''%C1.txt"), "a.txt");
    ck_assert_str_eq(filename_of("filename*=koi8-r''%C1.txt"), "upload");
}
END_TEST

START_TEST(test_malformed_filename_star_is_rejected)
{
    static const char bad_pct[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''%G1\r\n"
        "\r\nx\r\n--XyZ--\r\n";
    static const char no_quotes[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8%41\r\n"
        "\r\nx\r\n--XyZ--\r\n";
    static const char cut_pct[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''a%4\r\n"
        "\r\nx\r\n--XyZ--\r\n";
    ASSERT_INVALID_MSG(LIT(bad_pct), "'f'");
    ASSERT_INVALID(LIT(no_quotes));
    ASSERT_INVALID(LIT(cut_pct));
}
END_TEST

START_TEST(test_empty_file_input_arrives_as_upload_with_no_bytes)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
        "\r\n--XyZ--\r\n";
    const cs_part_t *pt = only_part(LIT(body));
    ck_assert_str_eq(pt->filename, "upload");
    ck_assert_uint_eq(pt->len, 0);
}
END_TEST

/* ---- the boundary parameter ----------------------------------------- */

START_TEST(test_content_type_without_boundary_is_rejected)
{
    ASSERT_INVALID_CT("multipart/form-data", LIT(form));
    ASSERT_INVALID_CT("multipart/form-data; charset=utf-8", LIT(form));
    ASSERT_INVALID_CT("multipart/form-data; boundary=", LIT(form));
    ASSERT_INVALID_CT("multipart/form-data; boundary=\"\"", LIT(form));
    ck_assert_str_eq(err, "the multipart boundary is empty, too long or ends in a space");
}
END_TEST

START_TEST(test_other_content_types_are_rejected)
{
    ASSERT_INVALID_CT(NULL, LIT(form));
    ASSERT_INVALID_CT("", LIT(form));
    ASSERT_INVALID_CT("application/x-www-form-urlencoded", LIT(form));
    ASSERT_INVALID_CT("multipart/mixed; boundary=XyZ", LIT(form));
    ASSERT_INVALID_CT("multipart/form-data-x; boundary=XyZ", LIT(form));
    ASSERT_INVALID_CT("multipart; boundary=XyZ", LIT(form));
}
END_TEST

START_TEST(test_boundary_of_70_accepted_71_rejected)
{
    const char *b70 = unit_repeat(unit_pool, "b", 70);
    const char *b71 = unit_repeat(unit_pool, "b", 71);
    const char *body = apr_pstrcat(unit_pool, "--", b70, "\r\nContent-Disposition: "
                                   "form-data; name=\"a\"\r\n\r\nA\r\n--", b70, "--\r\n",
                                   NULL);

    ck_assert_int_eq(parse(apr_pstrcat(unit_pool, "multipart/form-data; boundary=", b70,
                                       NULL), body, strlen(body)), APR_SUCCESS);
    ck_assert_int_eq(parts->nelts, 1);

    body = apr_pstrcat(unit_pool, "--", b71, "\r\nContent-Disposition: "
                       "form-data; name=\"a\"\r\n\r\nA\r\n--", b71, "--\r\n", NULL);
    ASSERT_INVALID_CT(apr_pstrcat(unit_pool, "multipart/form-data; boundary=", b71, NULL),
                      body, strlen(body));
}
END_TEST

START_TEST(test_boundary_outside_rfc2046_bchars_is_rejected)
{
    ASSERT_INVALID_CT("multipart/form-data; boundary=\"a@b\"", LIT(form));
    ASSERT_INVALID_CT("multipart/form-data; boundary=\"ab \"", LIT(form));
    ASSERT_INVALID_CT("multipart/form-data; boundary=\"a\tb\"", LIT(form));
    ASSERT_INVALID_CT("multipart/form-data; boundary=a\"b", LIT(form));
}
END_TEST

START_TEST(test_repeated_boundary_parameter_is_rejected)
{
    ASSERT_INVALID_CT("multipart/form-data; boundary=XyZ; boundary=XyZ", LIT(form));
    ASSERT_INVALID_CT("multipart/form-data; boundary=XyZ; Boundary=other", LIT(form));
}
END_TEST

START_TEST(test_unterminated_quoted_boundary_is_rejected)
{
    ASSERT_INVALID_CT("multipart/form-data; boundary=\"XyZ", LIT(form));
}
END_TEST

/* ---- malformed bodies ----------------------------------------------- */

START_TEST(test_body_without_any_delimiter_is_rejected)
{
    ASSERT_INVALID(LIT(""));
    ASSERT_INVALID(NULL, 0);
    ASSERT_INVALID(LIT("name=Ann"));
    ASSERT_INVALID(LIT("--XyZ"));
    ASSERT_INVALID(LIT("--XyZX\r\n"));
    ck_assert_str_eq(err, "the body has no multipart boundary delimiter");
}
END_TEST

START_TEST(test_missing_closing_delimiter_is_rejected)
{
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA"),
                       "closing");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA"
                           "\r\n--XyZ\r\n"), "closing");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA"
                           "\r\n--XyZ--junk\r\n"), "closing");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA"
                           "\r\n--XyZ-"), "closing");
}
END_TEST

START_TEST(test_bare_lf_line_endings_are_rejected)
{
    ASSERT_INVALID(LIT("--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nA\n--XyZ--\n"));
    /* CRLF delimiters, but a bare LF inside the headers. */
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\nX: y"
                           "\r\n\r\nA\r\n--XyZ--\r\n"), "control character");
}
END_TEST

START_TEST(test_part_without_headers_is_rejected)
{
    ASSERT_INVALID_MSG(LIT("--XyZ\r\n\r\nA\r\n--XyZ--\r\n"), "part 1 has no headers");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\n--XyZ--\r\n"), "part 1 has no headers");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA"
                           "\r\n--XyZ\r\n\r\n--XyZ--\r\n"), "part 2 has no headers");
}
END_TEST

START_TEST(test_part_without_blank_line_after_headers_is_rejected)
{
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                           "--XyZ--\r\n"), "blank line");
    /* One CRLF short: the blank line's CRLF is the delimiter's. */
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
                           "--XyZ--\r\n"), "blank line");
}
END_TEST

START_TEST(test_missing_or_wrong_content_disposition_is_rejected)
{
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Type: text/plain\r\n\r\nA\r\n--XyZ--\r\n"),
                       "no Content-Disposition");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n"
                           "A\r\n--XyZ--\r\n"), "invalid Content-Disposition");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data name=\"a\"\r\n\r\n"
                           "A\r\n--XyZ--\r\n"), "invalid Content-Disposition");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\n"
                           "A\r\n--XyZ--\r\n"), "invalid Content-Disposition");
}
END_TEST

START_TEST(test_part_without_name_is_rejected)
{
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; filename=\"a.txt\"\r\n"
                           "\r\nA\r\n--XyZ--\r\n"), "part 1 has no name");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"\"\r\n"
                           "\r\nA\r\n--XyZ--\r\n"), "part 1 has no name");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data\r\n"
                           "\r\nA\r\n--XyZ--\r\n"), "part 1 has no name");
}
END_TEST

START_TEST(test_repeated_parameters_or_headers_are_rejected)
{
    ASSERT_INVALID(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"; name=\"b\"\r\n"
                       "\r\nA\r\n--XyZ--\r\n"));
    ASSERT_INVALID(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"x\";"
                       " FILENAME=\"y\"\r\n\r\nA\r\n--XyZ--\r\n"));
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                           "content-disposition: form-data; name=\"b\"\r\n"
                           "\r\nA\r\n--XyZ--\r\n"), "repeats");
}
END_TEST

START_TEST(test_bad_header_lines_are_rejected)
{
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n"
                           "\r\nA\r\n--XyZ--\r\n"), "folded");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                           "no colon here\r\n\r\nA\r\n--XyZ--\r\n"), "Name: value");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                           ": empty name\r\n\r\nA\r\n--XyZ--\r\n"), "Name: value");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                           "Bad Name: x\r\n\r\nA\r\n--XyZ--\r\n"), "invalid header name");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\rX: y\r\n"
                           "\r\nA\r\n--XyZ--\r\n"), "control character");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\0b\"\r\n"
                           "\r\nA\r\n--XyZ--\r\n"), "control character");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                           "Content-Type: image\r\n\r\nA\r\n--XyZ--\r\n"),
                       "invalid Content-Type");
}
END_TEST

START_TEST(test_headers_longer_than_the_limit_are_rejected)
{
    const char *pad = unit_repeat(unit_pool, "a", CS_MULTIPART_MAX_HEADER_LEN);
    const char *body = apr_pstrcat(unit_pool, "--XyZ\r\nContent-Disposition: form-data; "
                                   "name=\"a\"\r\nX-Pad: ", pad, "\r\n\r\nA\r\n--XyZ--\r\n",
                                   NULL);
    ASSERT_INVALID_MSG(body, strlen(body), "headers longer than 8192 bytes");
}
END_TEST

START_TEST(test_name_that_is_not_clean_text_is_rejected)
{
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\tb\"\r\n"
                           "\r\nA\r\n--XyZ--\r\n"), "clean");
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\xff\"\r\n"
                           "\r\nA\r\n--XyZ--\r\n"), "clean");
}
END_TEST

START_TEST(test_encoded_transfer_encodings_are_rejected)
{
    ASSERT_INVALID_MSG(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                           "Content-Transfer-Encoding: base64\r\n\r\nQQ==\r\n--XyZ--\r\n"),
                       "part 'a' uses Content-Transfer-Encoding base64");
    ASSERT_INVALID(LIT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                       "Content-Transfer-Encoding: quoted-printable\r\n\r\nA\r\n--XyZ--\r\n"));
}
END_TEST

/* ---- limits --------------------------------------------------------- */

START_TEST(test_field_over_its_limit_names_the_field)
{
    cs_multipart_limits_t lim = limits;

    lim.max_field_size = 13;    /* "Hello,\r\nworld" fits exactly */
    ck_assert_int_eq(parse_with(CT, LIT(form), &lim), APR_SUCCESS);
    lim.max_field_size = 12;
    ck_assert_int_eq(parse_with(CT, LIT(form), &lim), APR_ENOSPC);
    ck_assert_ptr_null(parts);
    ck_assert_str_eq(err, "field 'message' is larger than 12 bytes");
    lim.max_field_size = 6;     /* the first field over the limit is named */
    ck_assert_int_eq(parse_with(CT, LIT(form), &lim), APR_ENOSPC);
    ck_assert_str_eq(err, "field 'name' is larger than 6 bytes");
}
END_TEST

START_TEST(test_file_over_its_limit_names_the_field)
{
    cs_multipart_limits_t lim = limits;

    lim.max_file_size = 16;     /* the PNG stub is 16 bytes */
    ck_assert_int_eq(parse_with(CT, LIT(form), &lim), APR_SUCCESS);
    lim.max_file_size = 15;
    ck_assert_int_eq(parse_with(CT, LIT(form), &lim), APR_ENOSPC);
    ck_assert_ptr_null(parts);
    ck_assert_str_eq(err, "file 'photo' is larger than 15 bytes");
}
END_TEST

START_TEST(test_files_over_the_total_name_the_file_that_crossed_it)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a\"\r\n\r\n"
        "0123456789\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"big\"\r\n\r\n"
        "not a file, not counted\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"b\"; filename=\"b\"\r\n\r\n"
        "0123456789\r\n--XyZ--\r\n";
    cs_multipart_limits_t lim = limits;

    lim.max_file_size = 10;
    lim.max_files_total = 20;
    ck_assert_int_eq(parse_with(CT, LIT(body), &lim), APR_SUCCESS);
    lim.max_files_total = 19;
    ck_assert_int_eq(parse_with(CT, LIT(body), &lim), APR_ENOSPC);
    ck_assert_str_eq(err, "file 'b' brings the files over 19 bytes in total");
}
END_TEST

START_TEST(test_more_parts_than_allowed_is_refused)
{
    cs_multipart_limits_t lim = limits;

    lim.max_parts = 3;
    ck_assert_int_eq(parse_with(CT, LIT(form), &lim), APR_SUCCESS);
    lim.max_parts = 2;
    ck_assert_int_eq(parse_with(CT, LIT(form), &lim), APR_ENOSPC);
    ck_assert_ptr_null(parts);
    ck_assert_str_eq(err, "the form has more than 2 parts");
}
END_TEST

START_TEST(test_many_parts_are_refused_before_the_body_is_walked)
{
    /* 10000 tiny parts, no closing delimiter: the limit answers first. */
    const char *one = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nA\r\n";
    const char *body = unit_repeat(unit_pool, one, 10000);

    ck_assert_int_eq(parse(CT, body, strlen(body)), APR_ENOSPC);
    ck_assert_str_eq(err, "the form has more than 80 parts");
}
END_TEST

START_TEST(test_zero_limits_fail_closed)
{
    cs_multipart_limits_t lim = { 0, 0, 0, 0 };

    ck_assert_int_eq(parse_with(CT, LIT("--XyZ--\r\n"), &lim), APR_SUCCESS);
    ck_assert_int_eq(parse_with(CT, LIT(form), &lim), APR_ENOSPC);
    lim.max_parts = 1;
    ck_assert_int_eq(parse_with(CT, LIT(form), &lim), APR_ENOSPC);
    ck_assert_str_eq(err, "field 'name' is larger than 0 bytes");
}
END_TEST

/* ---- adversarial input ---------------------------------------------- */

START_TEST(test_many_near_delimiters_parse_in_linear_time)
{
    /* 4 MiB of false delimiters, each one byte short of real: a parser
     * that restarts its scan per hit would take minutes. */
    const char *fakes = unit_repeat(unit_pool, "\r\n--XyZx", 512 * 1024);
    const char *body = apr_pstrcat(unit_pool, "--XyZ\r\nContent-Disposition: form-data; "
                                   "name=\"f\"; filename=\"f\"\r\n\r\n", fakes,
                                   "\r\n--XyZ--\r\n", NULL);
    cs_multipart_limits_t lim = limits;

    lim.max_file_size = lim.max_files_total = 8 << 20;
    ck_assert_int_eq(parse_with(CT, body, strlen(body), &lim), APR_SUCCESS);
    ck_assert_uint_eq(part_at(0)->len, strlen(fakes));
}
END_TEST

START_TEST(test_content_dense_with_carriage_returns_stays_linear)
{
    const char *crs = unit_repeat(unit_pool, "\r\r\r\r\r\r\r\r", 512 * 1024);
    const char *body = apr_pstrcat(unit_pool, "--XyZ\r\nContent-Disposition: form-data; "
                                   "name=\"f\"; filename=\"f\"\r\n\r\n", crs,
                                   "\r\n--XyZ--\r\n", NULL);
    cs_multipart_limits_t lim = limits;

    lim.max_file_size = lim.max_files_total = 8 << 20;
    ck_assert_int_eq(parse_with(CT, body, strlen(body), &lim), APR_SUCCESS);
    ck_assert_uint_eq(part_at(0)->len, strlen(crs));
}
END_TEST

START_TEST(test_huge_part_without_headers_end_is_rejected_cheaply)
{
    const char *junk = unit_repeat(unit_pool, "\r\nX: y", 1 << 20);
    const char *body = apr_pstrcat(unit_pool, "--XyZ\r\nContent-Disposition: form-data; "
                                   "name=\"a\"", junk, "\r\n\r\nA\r\n--XyZ--\r\n", NULL);
    ASSERT_INVALID_MSG(body, strlen(body), "headers longer");
}
END_TEST

START_TEST(test_long_transport_padding_runs_stay_linear)
{
    /* Padding followed by junk, again and again. */
    const char *fake = apr_pstrcat(unit_pool, "\r\n--XyZ",
                                   unit_repeat(unit_pool, " ", 1000), "x", NULL);
    const char *fakes = unit_repeat(unit_pool, fake, 2000);
    const char *body = apr_pstrcat(unit_pool, "--XyZ\r\nContent-Disposition: form-data; "
                                   "name=\"f\"; filename=\"f\"\r\n\r\n", fakes,
                                   "\r\n--XyZ--\r\n", NULL);
    cs_multipart_limits_t lim = limits;

    lim.max_file_size = lim.max_files_total = 8 << 20;
    ck_assert_int_eq(parse_with(CT, body, strlen(body), &lim), APR_SUCCESS);
    ck_assert_uint_eq(part_at(0)->len, strlen(fakes));
}
END_TEST

Suite *multipart_suite(void)
{
    Suite *s = suite_create("cs_multipart");
    TCase *tc;

    tc = tcase_create("well_formed");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_two_fields_and_a_file_parse_in_order);
    tcase_add_test(tc, test_fields_are_nul_terminated_copies_files_point_into_body);
    tcase_add_test(tc, test_quoted_boundary_with_allowed_punctuation_and_space);
    tcase_add_test(tc, test_content_type_is_case_insensitive_and_may_carry_other_params);
    tcase_add_test(tc, test_preamble_and_epilogue_are_ignored);
    tcase_add_test(tc, test_closing_delimiter_may_end_the_body_without_crlf);
    tcase_add_test(tc, test_transport_padding_after_delimiters_is_allowed);
    tcase_add_test(tc, test_form_with_no_fields_is_an_empty_list);
    tcase_add_test(tc, test_empty_values_are_kept);
    tcase_add_test(tc, test_header_and_parameter_names_ignore_case);
    tcase_add_test(tc, test_unquoted_parameter_values_and_whitespace_around_them);
    suite_add_tcase(s, tc);

    tc = tcase_create("content");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_binary_file_with_nuls_and_fake_boundaries_is_kept_whole);
    tcase_add_test(tc, test_trailing_crlf_of_content_belongs_to_the_content);
    tcase_add_test(tc, test_field_with_nul_keeps_its_length);
    tcase_add_test(tc, test_declared_content_type_is_lowercased_without_parameters);
    suite_add_tcase(s, tc);

    tc = tcase_create("filename");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_filename_paths_are_stripped_to_the_base_name);
    tcase_add_test(tc, test_filename_empty_dot_or_dir_becomes_upload);
    tcase_add_test(tc, test_filename_control_chars_and_invalid_utf8_are_dropped);
    tcase_add_test(tc, test_filename_bidi_overrides_are_dropped);
    tcase_add_test(tc, test_filename_quoted_pairs_for_quote_and_backslash);
    tcase_add_test(tc, test_filename_too_long_is_cut_keeping_the_extension);
    tcase_add_test(tc, test_filename_star_utf8_is_decoded_and_preferred);
    tcase_add_test(tc, test_filename_star_latin1_is_converted_to_utf8);
    tcase_add_test(tc, test_filename_star_in_unknown_charset_falls_back);
    tcase_add_test(tc, test_malformed_filename_star_is_rejected);
    tcase_add_test(tc, test_empty_file_input_arrives_as_upload_with_no_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("boundary");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_content_type_without_boundary_is_rejected);
    tcase_add_test(tc, test_other_content_types_are_rejected);
    tcase_add_test(tc, test_boundary_of_70_accepted_71_rejected);
    tcase_add_test(tc, test_boundary_outside_rfc2046_bchars_is_rejected);
    tcase_add_test(tc, test_repeated_boundary_parameter_is_rejected);
    tcase_add_test(tc, test_unterminated_quoted_boundary_is_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_body_without_any_delimiter_is_rejected);
    tcase_add_test(tc, test_missing_closing_delimiter_is_rejected);
    tcase_add_test(tc, test_bare_lf_line_endings_are_rejected);
    tcase_add_test(tc, test_part_without_headers_is_rejected);
    tcase_add_test(tc, test_part_without_blank_line_after_headers_is_rejected);
    tcase_add_test(tc, test_missing_or_wrong_content_disposition_is_rejected);
    tcase_add_test(tc, test_part_without_name_is_rejected);
    tcase_add_test(tc, test_repeated_parameters_or_headers_are_rejected);
    tcase_add_test(tc, test_bad_header_lines_are_rejected);
    tcase_add_test(tc, test_headers_longer_than_the_limit_are_rejected);
    tcase_add_test(tc, test_name_that_is_not_clean_text_is_rejected);
    tcase_add_test(tc, test_encoded_transfer_encodings_are_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_field_over_its_limit_names_the_field);
    tcase_add_test(tc, test_file_over_its_limit_names_the_field);
    tcase_add_test(tc, test_files_over_the_total_name_the_file_that_crossed_it);
    tcase_add_test(tc, test_more_parts_than_allowed_is_refused);
    tcase_add_test(tc, test_many_parts_are_refused_before_the_body_is_walked);
    tcase_add_test(tc, test_zero_limits_fail_closed);
    suite_add_tcase(s, tc);

    tc = tcase_create("adversarial");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_many_near_delimiters_parse_in_linear_time);
    tcase_add_test(tc, test_content_dense_with_carriage_returns_stays_linear);
    tcase_add_test(tc, test_huge_part_without_headers_end_is_rejected_cheaply);
    tcase_add_test(tc, test_long_transport_padding_runs_stay_linear);
    suite_add_tcase(s, tc);

    return s;
}
