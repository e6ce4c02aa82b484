/* cs_sniff: detection by content with the system's libmagic database,
 * allow-lists, and the type a stored file may be served back with. */
#include "unit.h"
#include "http/cs_sniff.h"

#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <string.h>

/* A string literal and its length, embedded NULs included. */
#define LIT(s) (s), (sizeof(s) - 1)

/* Small but real files. */
static const char pdf[] =
    "%PDF-1.4\n"
    "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    "2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    "trailer\n<< /Root 1 0 R >>\n%%EOF\n";
static const char png[] =
    "\x89PNG\r\n\x1a\n"
    "\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
    "\0\0\0\0IEND\xae\x42\x60\x82";
static const char jpeg[] =
    "\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    "\xff\xd9";
static const char gif[] =
    "GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff"
    "!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02" "D\x01\0;";
static const char html[] =
    "<!DOCTYPE html>\n<html><head><title>Invoice</title></head>\n"
    "<body><script>fetch('/admin')</script></body></html>\n";
static const char svg[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">"
    "<script>alert(document.cookie)</script></svg>\n";
static const char shell[] = "#!/bin/sh\necho hello\nrm -rf \"$HOME/tmp\"\n";
static const char text[] = "Dear team,\nplease find my notes below.\n";
static const char elf[] =
    "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0";

static cs_sniffer_t *sniffer;

static void sniffer_setup(void)
{
    const char *err = "unset";

    unit_pool_setup();
    sniffer = NULL;
    ck_assert_int_eq(cs_sniffer_create(&sniffer, unit_pool, &err), APR_SUCCESS);
    ck_assert_ptr_nonnull(sniffer);
    ck_assert_ptr_null(err);
}

static void sniffer_teardown(void)
{
    sniffer = NULL;
    unit_pool_teardown();
}

static const char *sniff(const char *data, apr_size_t len)
{
    return cs_sniff(sniffer, unit_pool, data, len);
}

/* ---- sniffing ------------------------------------------------------- */

START_TEST(test_documents_and_images_are_recognized)
{
    ck_assert_str_eq(sniff(LIT(pdf)), "application/pdf");
    ck_assert_str_eq(sniff(LIT(png)), "image/png");
    ck_assert_str_eq(sniff(LIT(jpeg)), "image/jpeg");
    ck_assert_str_eq(sniff(LIT(gif)), "image/gif");
}
END_TEST

START_TEST(test_html_and_svg_are_recognized_whatever_they_are_called)
{
    ck_assert_str_eq(sniff(LIT(html)), "text/html");
    ck_assert_str_eq(sniff(LIT("<html><body>hi</body></html>")), "text/html");
    ck_assert_str_eq(sniff(LIT(svg)), "image/svg+xml");
    ck_assert_str_eq(sniff(LIT("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>\n")),
                     "image/svg+xml");
}
END_TEST

START_TEST(test_scripts_executables_and_text_are_recognized)
{
    ck_assert_str_eq(sniff(LIT(shell)), "text/x-shellscript");
    ck_assert_str_eq(sniff(LIT(elf)), "application/x-executable");
    ck_assert_str_eq(sniff(LIT(text)), "text/plain");
}
END_TEST

START_TEST(test_unknown_bytes_are_octet_stream)
{
    ck_assert_str_eq(sniff(LIT("\0\x01\x02\x03\xfe\xff\x80\x81")), "application/octet-stream");
}
END_TEST

START_TEST(test_empty_input_is_x_empty)
{
    ck_assert_str_eq(sniff("", 0), "application/x-empty");
    ck_assert_str_eq(sniff(NULL, 0), "application/x-empty");
}
END_TEST

START_TEST(test_trailing_bytes_do_not_change_the_type)
{
    /* Only the start decides: a PDF with junk after %%EOF is a PDF. */
    const char *padded = apr_pstrcat(unit_pool, pdf, unit_repeat(unit_pool, "x", 100), NULL);
    ck_assert_str_eq(sniff(padded, strlen(padded)), "application/pdf");
}
END_TEST

START_TEST(test_large_input_is_sniffed_by_its_start)
{
    apr_size_t n = 3 * CS_SNIFF_MAX_BYTES;
    char *big = apr_palloc(unit_pool, n);

    memset(big, 0, n);
    memcpy(big, pdf, sizeof(pdf) - 1);
    ck_assert_str_eq(sniff(big, n), "application/pdf");
}
END_TEST

START_TEST(test_result_is_a_copy_in_the_callers_pool)
{
    const char *a = sniff(LIT(pdf));
    const char *b = sniff(LIT(png));
    ck_assert_ptr_ne(a, b);
    ck_assert_str_eq(a, "application/pdf");     /* not overwritten by the next call */
    ck_assert_str_eq(b, "image/png");
}
END_TEST

/* Many threads sniffing through one sniffer: each must get its own answer. */
typedef struct {
    apr_pool_t *pool;
    int wrong;
} sniff_job_t;

static void *APR_THREAD_FUNC sniff_worker(apr_thread_t *t, void *data)
{
    sniff_job_t *job = data;
    int i;

    for (i = 0; i < 200; i++) {
        const char *want = (i % 2) ? "image/png" : "application/pdf";
        const char *got = (i % 2) ? cs_sniff(sniffer, job->pool, LIT(png))
                                  : cs_sniff(sniffer, job->pool, LIT(pdf));
        job->wrong += strcmp(got, want) != 0;
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

START_TEST(test_one_sniffer_is_safe_to_share_between_threads)
{
    enum { N = 4 };
    apr_thread_t *threads[N];
    sniff_job_t jobs[N];
    apr_status_t rv;
    int i;

    for (i = 0; i < N; i++) {
        jobs[i].wrong = 0;
        ck_assert_int_eq(apr_pool_create(&jobs[i].pool, unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(apr_thread_create(&threads[i], NULL, sniff_worker, &jobs[i],
                                           unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
        ck_assert_int_eq(jobs[i].wrong, 0);
    }
}
END_TEST

START_TEST(test_destroying_the_pool_closes_the_sniffer)
{
    apr_pool_t *sub;
    cs_sniffer_t *s = NULL;
    const char *err = NULL;
    int i;

    /* Create and drop repeatedly; ASan/LSan would flag a leaked cookie. */
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(apr_pool_create(&sub, unit_pool), APR_SUCCESS);
        ck_assert_int_eq(cs_sniffer_create(&s, sub, &err), APR_SUCCESS);
        ck_assert_str_eq(cs_sniff(s, sub, LIT(gif)), "image/gif");
        apr_pool_destroy(sub);
    }
}
END_TEST

/* ---- allow-lists ---------------------------------------------------- */

START_TEST(test_allowed_matches_whole_types_ignoring_case)
{
    const char *list = "image/jpeg image/png application/pdf";
    ck_assert_int_eq(cs_type_allowed("image/png", list), 1);
    ck_assert_int_eq(cs_type_allowed("application/pdf", list), 1);
    ck_assert_int_eq(cs_type_allowed("IMAGE/JPEG", list), 1);
    ck_assert_int_eq(cs_type_allowed("image/png", "IMAGE/PNG"), 1);
    ck_assert_int_eq(cs_type_allowed("image/gif", list), 0);
    ck_assert_int_eq(cs_type_allowed("text/html", list), 0);
}
END_TEST

START_TEST(test_allowed_list_may_use_commas_spaces_or_both)
{
    const char *list = " image/jpeg,image/png ,\tapplication/pdf,, ";
    ck_assert_int_eq(cs_type_allowed("image/jpeg", list), 1);
    ck_assert_int_eq(cs_type_allowed("image/png", list), 1);
    ck_assert_int_eq(cs_type_allowed("application/pdf", list), 1);
    ck_assert_int_eq(cs_type_allowed("image/gif", list), 0);
}
END_TEST

START_TEST(test_allowed_is_not_a_prefix_or_substring_match)
{
    ck_assert_int_eq(cs_type_allowed("image/pn", "image/png"), 0);
    ck_assert_int_eq(cs_type_allowed("image/png", "image/pn"), 0);
    ck_assert_int_eq(cs_type_allowed("image/png-x", "image/png"), 0);
    ck_assert_int_eq(cs_type_allowed("application/pdf", "application/pdfx"), 0);
    ck_assert_int_eq(cs_type_allowed("image", "image/png"), 0);
}
END_TEST

START_TEST(test_allowed_major_type_wildcard)
{
    ck_assert_int_eq(cs_type_allowed("image/png", "image/*"), 1);
    ck_assert_int_eq(cs_type_allowed("image/svg+xml", "application/pdf Image/*"), 1);
    ck_assert_int_eq(cs_type_allowed("imagex/png", "image/*"), 0);
    ck_assert_int_eq(cs_type_allowed("text/plain", "image/*"), 0);
    ck_assert_int_eq(cs_type_allowed("image/png", "image*"), 0);
}
END_TEST

START_TEST(test_allowed_has_no_match_everything_wildcard)
{
    ck_assert_int_eq(cs_type_allowed("text/html", "*/*"), 0);
    ck_assert_int_eq(cs_type_allowed("text/html", "*"), 0);
}
END_TEST

START_TEST(test_allowed_ignores_parameters_on_the_type)
{
    ck_assert_int_eq(cs_type_allowed("text/plain; charset=utf-8", "text/plain"), 1);
    ck_assert_int_eq(cs_type_allowed("text/plain ;charset=utf-8", "text/csv"), 0);
}
END_TEST

START_TEST(test_allowed_null_empty_or_malformed_never_match)
{
    ck_assert_int_eq(cs_type_allowed(NULL, "image/png"), 0);
    ck_assert_int_eq(cs_type_allowed("image/png", NULL), 0);
    ck_assert_int_eq(cs_type_allowed("image/png", ""), 0);
    ck_assert_int_eq(cs_type_allowed("", "image/png"), 0);
    ck_assert_int_eq(cs_type_allowed("", ""), 0);
    ck_assert_int_eq(cs_type_allowed("image/", "image/*"), 0);
    ck_assert_int_eq(cs_type_allowed("image png", "image png"), 0);
}
END_TEST

/* ---- serving -------------------------------------------------------- */

#define ASSERT_DOWNGRADED(t) \
    ck_assert_str_eq(cs_safe_serve_type(t), "application/octet-stream")

START_TEST(test_serve_turns_markup_and_script_into_octet_stream)
{
    ASSERT_DOWNGRADED("text/html");
    ASSERT_DOWNGRADED("image/svg+xml");
    ASSERT_DOWNGRADED("application/xhtml+xml");
    ASSERT_DOWNGRADED("application/javascript");
    ASSERT_DOWNGRADED("text/javascript");
    ASSERT_DOWNGRADED("text/xml");
    ASSERT_DOWNGRADED("application/xml");
    ASSERT_DOWNGRADED("application/rss+xml");
    ASSERT_DOWNGRADED("application/ecmascript");
    ASSERT_DOWNGRADED("multipart/related");
    ASSERT_DOWNGRADED("message/rfc822");
}
END_TEST

START_TEST(test_serve_turns_executables_and_scripts_into_octet_stream)
{
    ASSERT_DOWNGRADED("application/x-executable");
    ASSERT_DOWNGRADED("application/x-pie-executable");
    ASSERT_DOWNGRADED("application/x-sharedlib");
    ASSERT_DOWNGRADED("application/x-dosexec");
    ASSERT_DOWNGRADED("application/vnd.microsoft.portable-executable");
    ASSERT_DOWNGRADED("application/x-mach-binary");
    ASSERT_DOWNGRADED("application/java-archive");
    ASSERT_DOWNGRADED("application/x-msi");
    ASSERT_DOWNGRADED("text/x-shellscript");
    ASSERT_DOWNGRADED("text/x-python");
    ASSERT_DOWNGRADED("text/x-php");
    ASSERT_DOWNGRADED("text/x-msdos-batch");
    ASSERT_DOWNGRADED("application/x-sh");
}
END_TEST

START_TEST(test_serve_ignores_case_and_parameters_when_judging)
{
    ASSERT_DOWNGRADED("TEXT/HTML");
    ASSERT_DOWNGRADED("text/html; charset=utf-8");
    ASSERT_DOWNGRADED(" Image/SVG+XML ");
}
END_TEST

START_TEST(test_serve_passes_other_types_through_unchanged)
{
    const char *t = "application/pdf";
    ck_assert_ptr_eq(cs_safe_serve_type(t), t);
    ck_assert_str_eq(cs_safe_serve_type("image/png"), "image/png");
    ck_assert_str_eq(cs_safe_serve_type("image/jpeg"), "image/jpeg");
    ck_assert_str_eq(cs_safe_serve_type("image/gif"), "image/gif");
    ck_assert_str_eq(cs_safe_serve_type("text/plain"), "text/plain");
    ck_assert_str_eq(cs_safe_serve_type("text/csv"), "text/csv");
    ck_assert_str_eq(cs_safe_serve_type("application/zip"), "application/zip");
    ck_assert_str_eq(cs_safe_serve_type("application/octet-stream"),
                     "application/octet-stream");
}
END_TEST

START_TEST(test_serve_null_or_malformed_is_octet_stream)
{
    ASSERT_DOWNGRADED(NULL);
    ASSERT_DOWNGRADED("");
    ASSERT_DOWNGRADED("html");
    ASSERT_DOWNGRADED("text/");
    ASSERT_DOWNGRADED("/html");
    ASSERT_DOWNGRADED("text/html<script>");
}
END_TEST

START_TEST(test_sniffed_html_svg_and_script_are_never_served_as_such)
{
    ASSERT_DOWNGRADED(sniff(LIT(html)));
    ASSERT_DOWNGRADED(sniff(LIT(svg)));
    ASSERT_DOWNGRADED(sniff(LIT(shell)));
    ASSERT_DOWNGRADED(sniff(LIT(elf)));
    ck_assert_str_eq(cs_safe_serve_type(sniff(LIT(pdf))), "application/pdf");
    ck_assert_str_eq(cs_safe_serve_type(sniff(LIT(jpeg))), "image/jpeg");
}
END_TEST

START_TEST(test_html_disguised_as_an_allowed_upload_is_refused)
{
    /* What the module does: sniff, then check the allow-list. */
    ck_assert_int_eq(cs_type_allowed(sniff(LIT(html)), "image/* application/pdf"), 0);
    ck_assert_int_eq(cs_type_allowed(sniff(LIT(png)), "image/* application/pdf"), 1);
}
END_TEST

Suite *sniff_suite(void)
{
    Suite *s = suite_create("cs_sniff");
    TCase *tc;

    tc = tcase_create("sniff");
    tcase_add_checked_fixture(tc, sniffer_setup, sniffer_teardown);
    tcase_add_test(tc, test_documents_and_images_are_recognized);
    tcase_add_test(tc, test_html_and_svg_are_recognized_whatever_they_are_called);
    tcase_add_test(tc, test_scripts_executables_and_text_are_recognized);
    tcase_add_test(tc, test_unknown_bytes_are_octet_stream);
    tcase_add_test(tc, test_empty_input_is_x_empty);
    tcase_add_test(tc, test_trailing_bytes_do_not_change_the_type);
    tcase_add_test(tc, test_large_input_is_sniffed_by_its_start);
    tcase_add_test(tc, test_result_is_a_copy_in_the_callers_pool);
    tcase_add_test(tc, test_one_sniffer_is_safe_to_share_between_threads);
    tcase_add_test(tc, test_destroying_the_pool_closes_the_sniffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("allowed");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_allowed_matches_whole_types_ignoring_case);
    tcase_add_test(tc, test_allowed_list_may_use_commas_spaces_or_both);
    tcase_add_test(tc, test_allowed_is_not_a_prefix_or_substring_match);
    tcase_add_test(tc, test_allowed_major_type_wildcard);
    tcase_add_test(tc, test_allowed_has_no_match_everything_wildcard);
    tcase_add_test(tc, test_allowed_ignores_parameters_on_the_type);
    tcase_add_test(tc, test_allowed_null_empty_or_malformed_never_match);
    suite_add_tcase(s, tc);

    tc = tcase_create("serve");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_serve_turns_markup_and_script_into_octet_stream);
    tcase_add_test(tc, test_serve_turns_executables_and_scripts_into_octet_stream);
    tcase_add_test(tc, test_serve_ignores_case_and_parameters_when_judging);
    tcase_add_test(tc, test_serve_passes_other_types_through_unchanged);
    tcase_add_test(tc, test_serve_null_or_malformed_is_octet_stream);
    suite_add_tcase(s, tc);

    tc = tcase_create("sniff_then_serve");
    tcase_add_checked_fixture(tc, sniffer_setup, sniffer_teardown);
    tcase_add_test(tc, test_sniffed_html_svg_and_script_are_never_served_as_such);
    tcase_add_test(tc, test_html_disguised_as_an_allowed_upload_is_refused);
    suite_add_tcase(s, tc);

    return s;
}
