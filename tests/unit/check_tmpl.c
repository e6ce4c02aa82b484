/* cs_tmpl: the dashboard's mustache-like templates: escaping, sections,
 * context lookup, partials, standalone lines, compile errors, loading a
 * folder and concurrent rendering from one set. */
#include "unit.h"
#include "text/cs_tmpl.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_thread_proc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A non-NULL value to check that failures reset *pout. */
static const char sentinel[] = "sentinel";

/* json-c value for @p text, released with the test's pool. */
static json_object *js(const char *text)
{
    cs_json_t *j = NULL;
    const char *err = NULL;

    ck_assert_msg(cs_json_parse(&j, unit_pool, text, strlen(text), &err)
                  == APR_SUCCESS, "bad test JSON %s: %s", text, err);
    return cs_json_raw(j);
}

/* A finalized set of NULL-terminated (name, text) pairs. */
static cs_tmpl_set_t *set_of(const char *name, ...)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL;
    va_list ap;

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    va_start(ap, name);
    for (; name; name = va_arg(ap, const char *)) {
        const char *text = va_arg(ap, const char *);
        apr_status_t rv = cs_tmpl_add(set, name, text, strlen(text), &err);
        ck_assert_msg(rv == APR_SUCCESS, "add %s: %s", name, err);
    }
    va_end(ap);
    ck_assert_msg(cs_tmpl_finalize(set, &err) == APR_SUCCESS, "finalize: %s", err);
    return set;
}

/* Render @p name of @p set over JSON @p data; must succeed. */
static const char *render_set(const cs_tmpl_set_t *set, const char *name,
                              const char *data)
{
    const char *out = sentinel, *err = NULL;
    apr_size_t len = 12345;
    apr_status_t rv = cs_tmpl_render(&out, &len, unit_pool, set, name,
                                     data ? js(data) : NULL, &err);

    ck_assert_msg(rv == APR_SUCCESS, "render %s: %s", name, err);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(len, strlen(out));
    return out;
}

/* One template "t" rendered over @p data. */
static const char *render(const char *tmpl, const char *data)
{
    return render_set(set_of("t", tmpl, NULL), "t", data);
}

#define ASSERT_RENDER(tmpl, data, want) \
    ck_assert_str_eq(render((tmpl), (data)), (want))

/* Compiling @p tmpl fails; returns the message. */
static const char *add_fails(const char *name, const char *tmpl)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL;

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_msg(cs_tmpl_add(set, name, tmpl, strlen(tmpl), &err) == APR_EINVAL,
                  "'%s' should not compile", tmpl);
    ck_assert_ptr_nonnull(err);
    return err;
}

#define ASSERT_CONTAINS(hay, needle) \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' lacks '%s'", (hay), (needle))

/* ---- escaping ------------------------------------------------------------ */

START_TEST(test_escape_covers_html_specials_and_attribute_breakers)
{
    ASSERT_RENDER("{{v}}", "{\"v\": \"a&b <c> \\\"d\\\" 'e' `f` g=h /i\"}",
                  "a&amp;b &lt;c&gt; &quot;d&quot; &#39;e&#39; &#96;f&#96; g&#61;h /i");
}
END_TEST

START_TEST(test_escape_neutralizes_a_script_payload)
{
    ASSERT_RENDER("<p>{{name}}</p>",
                  "{\"name\": \"<script>alert(document.cookie)</script>\"}",
                  "<p>&lt;script&gt;alert(document.cookie)&lt;/script&gt;</p>");
}
END_TEST

START_TEST(test_escape_neutralizes_an_img_onerror_payload)
{
    const char *out = render("<td>{{subject}}</td>",
                             "{\"subject\": \"<img src=x onerror=alert(1)>\"}");
    ck_assert_str_eq(out, "<td>&lt;img src&#61;x onerror&#61;alert(1)&gt;</td>");
    ck_assert_ptr_null(strstr(out, "<img"));
}
END_TEST

START_TEST(test_escape_keeps_values_inside_quoted_attributes)
{
    const char *out = render("<a title=\"{{t}}\" data-note='{{t}}' href=/x?q={{t}}>",
                             "{\"t\": \"\\\" onmouseover=\\\"alert(1)\\\" x='y' \"}");
    ck_assert_str_eq(out,
        "<a title=\"&quot; onmouseover&#61;&quot;alert(1)&quot; x&#61;&#39;y&#39; \""
        " data-note='&quot; onmouseover&#61;&quot;alert(1)&quot; x&#61;&#39;y&#39; '"
        " href=/x?q=&quot; onmouseover&#61;&quot;alert(1)&quot; x&#61;&#39;y&#39; >");
}
END_TEST

START_TEST(test_raw_output_only_when_asked)
{
    ASSERT_RENDER("{{v}}|{{{v}}}|{{&v}}|{{& v }}|{{{ v }}}", "{\"v\": \"<b>&</b>\"}",
                  "&lt;b&gt;&amp;&lt;/b&gt;|<b>&</b>|<b>&</b>|<b>&</b>|<b>&</b>");
}
END_TEST

START_TEST(test_escaping_applies_to_dotted_and_current_item_values)
{
    ASSERT_RENDER("{{a.b}} {{#l}}{{.}}{{/l}}", "{\"a\": {\"b\": \"<i>\"}, \"l\": [\"<u>\"]}",
                  "&lt;i&gt; &lt;u&gt;");
}
END_TEST

START_TEST(test_utf8_passes_through_unchanged)
{
    ASSERT_RENDER("¡{{v}}!", "{\"v\": \"Jos\\u00e9 \\u2014 \\ud83d\\ude00\"}",
                  "¡José — \xf0\x9f\x98\x80!");
}
END_TEST

/* ---- values -------------------------------------------------------------- */

START_TEST(test_value_types_render_as_text)
{
    ASSERT_RENDER("{{i}} {{n}} {{big}} {{huge}} {{d}} {{tenth}} {{whole}} {{t}} {{f}}",
                  "{\"i\": 42, \"n\": -7, \"big\": 9007199254740993,"
                  " \"huge\": 18446744073709551615, \"d\": 2.5, \"tenth\": 0.1,"
                  " \"whole\": 3.0, \"t\": true, \"f\": false}",
                  "42 -7 9007199254740993 18446744073709551615 2.5 0.1 3 true false");
}
END_TEST

START_TEST(test_null_missing_objects_and_arrays_render_nothing)
{
    ASSERT_RENDER("[{{z}}][{{missing}}][{{o}}][{{a}}][{{{o}}}]",
                  "{\"z\": null, \"o\": {\"k\": 1}, \"a\": [1, 2]}", "[][][][][]");
}
END_TEST

START_TEST(test_null_data_renders_the_text)
{
    ASSERT_RENDER("hi {{name}}{{#x}}no{{/x}}{{^x}}!{{/x}}", NULL, "hi !");
}
END_TEST

START_TEST(test_empty_template_renders_empty_string)
{
    ASSERT_RENDER("", "{}", "");
}
END_TEST

START_TEST(test_render_does_not_modify_data)
{
    json_object *data = js("{\"n\": 1.5, \"i\": 3, \"o\": {\"a\": [1]}}");
    const char *before = apr_pstrdup(unit_pool, json_object_to_json_string(data));
    cs_tmpl_set_t *set = set_of("t", "{{n}}{{i}}{{o}}{{o.a}}{{#o}}{{a}}{{/o}}", NULL);
    const char *out = NULL, *err = NULL;

    ck_assert_int_eq(cs_tmpl_render(&out, NULL, unit_pool, set, "t", data, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(out, "1.53");
    ck_assert_str_eq(json_object_to_json_string(data), before);
}
END_TEST

/* ---- sections ------------------------------------------------------------ */

START_TEST(test_section_iterates_arrays)
{
    ASSERT_RENDER("<ul>{{#items}}<li>{{name}}</li>{{/items}}</ul>",
                  "{\"items\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": \"c\"}]}",
                  "<ul><li>a</li><li>b</li><li>c</li></ul>");
    ASSERT_RENDER("{{#tags}}[{{.}}]{{/tags}}", "{\"tags\": [\"x\", 2, true, null]}",
                  "[x][2][true][]");
}
END_TEST

START_TEST(test_section_over_object_pushes_it_as_context)
{
    ASSERT_RENDER("{{#contact}}{{name}} <{{email}}>{{/contact}}",
                  "{\"contact\": {\"name\": \"Ann\", \"email\": \"a@x.org\"}}",
                  "Ann <a@x.org>");
}
END_TEST

START_TEST(test_section_on_truthy_scalars_renders_once)
{
    ASSERT_RENDER("{{#t}}yes{{/t}}{{#s}}[{{.}}]{{/s}}{{#n}}({{.}}){{/n}}",
                  "{\"t\": true, \"s\": \"str\", \"n\": 5}", "yes[str](5)");
    ASSERT_RENDER("{{#o}}obj{{/o}}", "{\"o\": {}}", "obj");
}
END_TEST

START_TEST(test_section_skipped_for_falsy_values)
{
    ASSERT_RENDER("{{#f}}1{{/f}}{{#z}}2{{/z}}{{#m}}3{{/m}}{{#e}}4{{/e}}"
                  "{{#s}}5{{/s}}{{#zero}}6{{/zero}}{{#zd}}7{{/zd}}.",
                  "{\"f\": false, \"z\": null, \"e\": [], \"s\": \"\","
                  " \"zero\": 0, \"zd\": 0.0}", ".");
}
END_TEST

START_TEST(test_inverted_renders_only_for_falsy_values)
{
    ASSERT_RENDER("{{^f}}1{{/f}}{{^z}}2{{/z}}{{^m}}3{{/m}}{{^e}}4{{/e}}"
                  "{{^s}}5{{/s}}{{^zero}}6{{/zero}}",
                  "{\"f\": false, \"z\": null, \"e\": [], \"s\": \"\", \"zero\": 0}",
                  "123456");
    ASSERT_RENDER("{{^t}}1{{/t}}{{^a}}2{{/a}}{{^o}}3{{/o}}{{^s}}4{{/s}}.",
                  "{\"t\": true, \"a\": [0], \"o\": {}, \"s\": \"x\"}", ".");
}
END_TEST

START_TEST(test_inverted_does_not_push_context)
{
    ASSERT_RENDER("{{^none}}{{name}}{{/none}}", "{\"name\": \"top\"}", "top");
}
END_TEST

START_TEST(test_empty_list_with_inverted_placeholder)
{
    const char *tmpl = "{{#rows}}<tr><td>{{id}}</td></tr>{{/rows}}"
                       "{{^rows}}<tr><td>No messages</td></tr>{{/rows}}";
    ASSERT_RENDER(tmpl, "{\"rows\": []}", "<tr><td>No messages</td></tr>");
    ASSERT_RENDER(tmpl, "{\"rows\": [{\"id\": 1}]}", "<tr><td>1</td></tr>");
}
END_TEST

/* ---- context lookup ------------------------------------------------------ */

START_TEST(test_lookup_walks_the_stack_outward)
{
    ASSERT_RENDER("{{#inboxes}}{{#messages}}{{subject}}@{{inbox}}/{{org}};"
                  "{{/messages}}{{/inboxes}}",
                  "{\"org\": \"acme\", \"inboxes\": [{\"inbox\": \"sales\","
                  " \"messages\": [{\"subject\": \"hi\"}, {\"subject\": \"yo\"}]}]}",
                  "hi@sales/acme;yo@sales/acme;");
}
END_TEST

START_TEST(test_inner_context_shadows_outer)
{
    ASSERT_RENDER("{{name}}{{#child}}-{{name}}{{/child}}-{{name}}",
                  "{\"name\": \"outer\", \"child\": {\"name\": \"inner\"}}",
                  "outer-inner-outer");
}
END_TEST

START_TEST(test_key_present_with_null_stops_the_walk)
{
    ASSERT_RENDER("{{#child}}[{{name}}]{{/child}}",
                  "{\"name\": \"outer\", \"child\": {\"name\": null}}", "[]");
}
END_TEST

START_TEST(test_current_item_dot)
{
    ASSERT_RENDER("{{.}}", "\"just a string\"", "just a string");
    ASSERT_RENDER("{{#a}}{{#.}}<{{.}}>{{/.}}{{/a}}", "{\"a\": [[1, 2], [3]]}",
                  "<1><2><3>");
}
END_TEST

START_TEST(test_dotted_names)
{
    const char *data = "{\"contact\": {\"email\": \"a@x.org\", \"addr\": {\"city\": \"Lima\"}},"
                       " \"n\": {\"v\": 0}}";
    ASSERT_RENDER("{{contact.email}} {{contact.addr.city}} {{{contact.addr.city}}}",
                  data, "a@x.org Lima Lima");
    ASSERT_RENDER("{{#contact.addr}}{{city}}{{/contact.addr}}"
                  "{{^contact.phone}}no phone{{/contact.phone}}", data, "Limano phone");
    /* Broken chains are empty, not errors. */
    ASSERT_RENDER("[{{contact.nope.city}}][{{nope.email}}][{{contact.email.x}}][{{n.v}}]",
                  data, "[][][][0]");
}
END_TEST

START_TEST(test_dotted_name_resolves_first_part_only_through_the_stack)
{
    /* a.b finds the inner "a", which has no b; it must not fall back to
     * the outer a.b (mustache's "broken chain resolution"). */
    ASSERT_RENDER("{{#x}}[{{a.b}}]{{/x}}",
                  "{\"a\": {\"b\": \"outer\"}, \"x\": {\"a\": {\"c\": 1}}}", "[]");
    ASSERT_RENDER("{{#x}}[{{a.b}}]{{/x}}",
                  "{\"a\": {\"b\": \"outer\"}, \"x\": {\"y\": 1}}", "[outer]");
}
END_TEST

/* ---- comments and standalone lines --------------------------------------- */

START_TEST(test_comments_are_dropped)
{
    ASSERT_RENDER("a{{! a comment }}b{{!\nspans\nlines\n}}c", "{}", "abc");
    ASSERT_RENDER("<p>\n  {{! standalone }}\n</p>\n", "{}", "<p>\n</p>\n");
}
END_TEST

START_TEST(test_standalone_section_lines_leave_no_blank_lines)
{
    const char *tmpl =
        "<ul>\n"
        "  {{#items}}\n"
        "  <li>{{.}}</li>\n"
        "  {{/items}}\n"
        "  {{^items}}\n"
        "  <li>none</li>\n"
        "  {{/items}}\n"
        "</ul>\n";
    ASSERT_RENDER(tmpl, "{\"items\": [\"a\", \"b\"]}",
                  "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n");
    ASSERT_RENDER(tmpl, "{\"items\": []}", "<ul>\n  <li>none</li>\n</ul>\n");
}
END_TEST

START_TEST(test_standalone_handles_crlf_tabs_start_and_end_of_template)
{
    ASSERT_RENDER("{{#a}}\r\nx\r\n\t {{/a}}\r\n", "{\"a\": true}", "x\r\n");
    ASSERT_RENDER("x\n  {{#a}}\n  {{/a}}", "{\"a\": true}", "x\n");
    ASSERT_RENDER("{{! c }}\ny", "{}", "y");
}
END_TEST

START_TEST(test_tags_sharing_a_line_are_not_standalone)
{
    ASSERT_RENDER("  {{#a}}{{/a}}\n", "{\"a\": true}", "  \n");
    ASSERT_RENDER(" x {{#a}}\ny\n{{/a}}", "{\"a\": true}", " x \ny\n");
    ASSERT_RENDER("{{#a}} x\n{{/a}}", "{\"a\": true}", " x\n");
    /* Interpolation is never standalone. */
    ASSERT_RENDER("  {{v}}\n", "{\"v\": \"\"}", "  \n");
}
END_TEST

START_TEST(test_standalone_partial_indents_its_lines)
{
    cs_tmpl_set_t *set = set_of(
        "page", "<ul>\n  {{>row}}\n</ul>\n",
        "row", "<li>\n  {{{v}}}\n</li>\n",
        NULL);
    ck_assert_str_eq(render_set(set, "page", "{\"v\": \"a\\nb\"}"),
                     "<ul>\n  <li>\n    a\nb\n  </li>\n</ul>\n");
}
END_TEST

/* ---- partials ------------------------------------------------------------ */

START_TEST(test_partial_uses_the_current_context)
{
    cs_tmpl_set_t *set = set_of(
        "inbox", "<table>{{#rows}}{{> partials/row}}{{/rows}}</table>",
        "partials/row", "<tr><td>{{subject}}</td><td>{{inbox}}</td></tr>",
        NULL);
    ck_assert_str_eq(render_set(set, "inbox",
                                "{\"inbox\": \"sales\", \"rows\": [{\"subject\": \"<a>\"},"
                                " {\"subject\": \"b\"}]}"),
                     "<table><tr><td>&lt;a&gt;</td><td>sales</td></tr>"
                     "<tr><td>b</td><td>sales</td></tr></table>");
    /* The fragment alone, as an HTMX swap would request it. */
    ck_assert_str_eq(render_set(set, "partials/row", "{\"subject\": \"c\"}"),
                     "<tr><td>c</td><td></td></tr>");
}
END_TEST

START_TEST(test_partial_may_be_added_before_its_target)
{
    cs_tmpl_set_t *set = set_of("a", "[{{>b}}]", "b", "{{>c}}", "c", "c", NULL);
    ck_assert_str_eq(render_set(set, "a", "{}"), "[c]");
}
END_TEST

START_TEST(test_recursive_partial_renders_a_tree)
{
    /* Leaves need "kids": [] of their own: a missing key would be looked
     * up in the parent, as mustache does, and recurse until the limit. */
    cs_tmpl_set_t *set = set_of(
        "node", "{{name}}{{#kids}}({{>node}}){{/kids}}", NULL);
    ck_assert_str_eq(render_set(set, "node",
                                "{\"name\": \"r\", \"kids\": [{\"name\": \"a\", \"kids\":"
                                " [{\"name\": \"b\", \"kids\": []}]},"
                                " {\"name\": \"c\", \"kids\": []}]}"),
                     "r(a(b))(c)");
}
END_TEST

/* A chain of @p depth nested objects {"k": {"k": ... {"k": null}}}; the
 * null ends the chain (a missing "k" would be found further out). */
static const char *nested(int depth)
{
    return apr_pstrcat(unit_pool, unit_repeat(unit_pool, "{\"k\": ", depth), "null",
                       unit_repeat(unit_pool, "}", depth), NULL);
}

START_TEST(test_partial_recursion_depth_is_limited)
{
    cs_tmpl_set_t *set = set_of("r", "x{{#k}}{{>r}}{{/k}}", NULL);
    const char *out = sentinel, *err = NULL;
    apr_size_t len = 99;

    /* The top-level template is not a partial: 16 partial levels are fine
     * (17 objects: the top one and one per level). */
    ck_assert_str_eq(render_set(set, "r", nested(CS_TMPL_MAX_PARTIAL_DEPTH + 1)),
                     unit_repeat(unit_pool, "x", CS_TMPL_MAX_PARTIAL_DEPTH + 1));
    ck_assert_int_eq(cs_tmpl_render(&out, &len, unit_pool, set, "r",
                                    js(nested(CS_TMPL_MAX_PARTIAL_DEPTH + 2)), &err),
                     APR_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(len, 0);
    ASSERT_CONTAINS(err, "partials nested deeper than 16");
}
END_TEST

START_TEST(test_infinite_partial_recursion_fails_without_output)
{
    cs_tmpl_set_t *set = set_of("a", "a{{>b}}", "b", "b{{>a}}", NULL);
    const char *out = sentinel, *err = NULL;

    ck_assert_int_eq(cs_tmpl_render(&out, NULL, unit_pool, set, "a", NULL, &err),
                     APR_EINVAL);
    ck_assert_ptr_null(out);
    ASSERT_CONTAINS(err, "partials nested deeper");
}
END_TEST

/* ---- compile errors ------------------------------------------------------ */

START_TEST(test_unclosed_section_reports_name_and_line)
{
    ck_assert_str_eq(add_fails("inbox", "<ul>\n{{#items}}\n<li>{{.}}</li>\n</ul>\n"),
                     "inbox:2: unclosed section {{#items}}");
    ck_assert_str_eq(add_fails("x", "{{#a}}{{^b}}\n{{/b}}"),
                     "x:1: unclosed section {{#a}}");
}
END_TEST

START_TEST(test_mismatched_close_reports_both_lines)
{
    ck_assert_str_eq(add_fails("inbox", "{{#a}}\n{{#b}}\n\n{{/a}}\n{{/b}}\n"),
                     "inbox:4: {{/a}} does not match {{#b}} opened on line 2");
    ck_assert_str_eq(add_fails("x", "ok\n{{/a}}"), "x:2: {{/a}} closes no open section");
}
END_TEST

START_TEST(test_unclosed_tag_reports_line)
{
    ck_assert_str_eq(add_fails("p", "a\nb\n<p>{{name</p>\n"), "p:3: unclosed tag {{ (no }})");
    ck_assert_str_eq(add_fails("p", "{{{raw}}\n"), "p:1: unclosed tag {{{ (no }}})");
}
END_TEST

START_TEST(test_line_numbers_count_newlines_inside_tags)
{
    ck_assert_str_eq(add_fails("p", "{{!\n\n}}\n{{#a\n}}\n{{/b}}"),
                     "p:6: {{/b}} does not match {{#a}} opened on line 4");
}
END_TEST

START_TEST(test_invalid_names_are_refused)
{
    ASSERT_CONTAINS(add_fails("p", "{{a b}}"), "p:1: invalid name 'a b'");
    ASSERT_CONTAINS(add_fails("p", "{{}}"), "invalid name ''");
    ASSERT_CONTAINS(add_fails("p", "{{a..b}}"), "invalid name");
    ASSERT_CONTAINS(add_fails("p", "{{.a}}"), "invalid name");
    ASSERT_CONTAINS(add_fails("p", "{{a.}}"), "invalid name");
    ASSERT_CONTAINS(add_fails("p", "{{#}}{{/}}"), "invalid section name");
    ASSERT_CONTAINS(add_fails("p", "{{>}}"), "invalid partial name");
    ASSERT_CONTAINS(add_fails("p", "{{{a{b}}}"), "invalid name");
}
END_TEST

START_TEST(test_set_delimiters_are_refused)
{
    ASSERT_CONTAINS(add_fails("p", "x\n{{=<% %>=}}"), "p:2: set-delimiter");
}
END_TEST

START_TEST(test_section_nesting_is_limited)
{
    const char *ok = apr_pstrcat(unit_pool,
                                 unit_repeat(unit_pool, "{{#a}}", CS_TMPL_MAX_SECTION_DEPTH),
                                 unit_repeat(unit_pool, "{{/a}}", CS_TMPL_MAX_SECTION_DEPTH),
                                 NULL);
    const char *deep = apr_pstrcat(unit_pool, "{{#a}}", ok, "{{/a}}", NULL);
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL;

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_add(set, "ok", ok, strlen(ok), &err), APR_SUCCESS);
    ASSERT_CONTAINS(add_fails("deep", deep), "nested too deeply");
}
END_TEST

START_TEST(test_duplicate_template_name_is_refused)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL;

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_add(set, "a", "1", 1, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_add(set, "a", "2", 1, &err), APR_EINVAL);
    ck_assert_str_eq(err, "template 'a' is defined twice");
}
END_TEST

START_TEST(test_failed_add_leaves_the_set_unchanged)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL, *out = sentinel;

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_add(set, "a", "{{#x}}", 6, &err), APR_EINVAL);
    ck_assert_int_eq(cs_tmpl_add(set, "a", "fixed", 5, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_finalize(set, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_render(&out, NULL, unit_pool, set, "a", NULL, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(out, "fixed");
}
END_TEST

START_TEST(test_text_length_is_respected_and_may_hold_nul)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL, *out = NULL;
    apr_size_t len = 0;

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_add(set, "a", "ab\0c{{x}}{{#", 9, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_finalize(set, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_render(&out, &len, unit_pool, set, "a",
                                    js("{\"x\": 1}"), &err), APR_SUCCESS);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(memcmp(out, "ab\0c1", 6), 0);
}
END_TEST

/* ---- finalize and render failures ---------------------------------------- */

START_TEST(test_missing_partial_detected_at_finalize)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL, *out = sentinel;
    const char *page = "<table>\n{{#rows}}\n  {{> partials/rowz}}\n{{/rows}}\n</table>\n";

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_add(set, "partials/row", "<tr/>", 5, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_add(set, "inbox", page, strlen(page), &err), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_finalize(set, &err), APR_EINVAL);
    ck_assert_str_eq(err, "inbox:3: unknown partial 'partials/rowz'");
    /* Still not renderable. */
    ck_assert_int_eq(cs_tmpl_render(&out, NULL, unit_pool, set, "partials/row", NULL,
                                    &err), APR_EINVAL);
    ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_render_before_finalize_fails)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL, *out = sentinel;

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_add(set, "a", "x", 1, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_render(&out, NULL, unit_pool, set, "a", NULL, &err),
                     APR_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(err, "template set is not finalized");
}
END_TEST

START_TEST(test_add_after_finalize_is_refused)
{
    cs_tmpl_set_t *set = set_of("a", "x", NULL);
    const char *err = NULL;

    ck_assert_int_eq(cs_tmpl_add(set, "b", "y", 1, &err), APR_EINVAL);
    ASSERT_CONTAINS(err, "already finalized");
    ck_assert_int_eq(cs_tmpl_finalize(set, &err), APR_SUCCESS);
}
END_TEST

START_TEST(test_render_of_unknown_template_fails_with_no_output)
{
    cs_tmpl_set_t *set = set_of("inbox", "x", NULL);
    const char *err = NULL, *out = sentinel;
    apr_size_t len = 7;

    ck_assert_int_eq(cs_tmpl_render(&out, &len, unit_pool, set, "inbx", js("{}"), &err),
                     APR_ENOENT);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(err, "unknown template 'inbx'");
}
END_TEST

START_TEST(test_large_output_grows_the_buffer)
{
    const int n = 20000;
    char *data = apr_pstrcat(unit_pool, "{\"l\": [",
                             unit_repeat(unit_pool, "\"0123456789\",", n), "\"z\"]}", NULL);
    const char *out = render("{{#l}}<i>{{.}}</i>{{/l}}", data);

    ck_assert_uint_eq(strlen(out), (size_t)n * 17 + 8);
    ck_assert_int_eq(strncmp(out, "<i>0123456789</i>", 17), 0);
    ck_assert_str_eq(out + (size_t)n * 17, "<i>z</i>");
}
END_TEST

/* ---- load_dir ------------------------------------------------------------ */

/* A fresh pool and an empty temporary folder (unit_main.c). */
static void dir_setup(void)
{
    unit_tmpdir_setup("cs_tmpl_unit");
}

static void dir_teardown(void)
{
    unit_tmpdir_teardown();
}


START_TEST(test_load_dir_names_templates_by_relative_path)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL, *out = sentinel;

    unit_put_dir("partials");
    unit_put_dir("partials/deep");
    unit_put_file("inbox.mustache", "<table>\n{{#rows}}\n{{> partials/row}}\n{{/rows}}\n</table>\n");
    unit_put_file("partials/row.mustache", "<tr>{{> partials/deep/cell}}</tr>\n");
    unit_put_file("partials/deep/cell.mustache", "<td>{{subject}}</td>");
    unit_put_file("empty.mustache", "");
    unit_put_file("notes.txt", "{{#broken");
    unit_put_file(".#inbox.mustache", "{{#broken");
    unit_put_file("inbox.mustache.swp", "{{#broken");

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_msg(cs_tmpl_load_dir(set, unit_tmpdir, &err) == APR_SUCCESS, "%s", err);
    ck_assert_msg(cs_tmpl_finalize(set, &err) == APR_SUCCESS, "%s", err);
    ck_assert_str_eq(render_set(set, "inbox", "{\"rows\": [{\"subject\": \"a\"}]}"),
                     "<table>\n<tr><td>a</td></tr>\n</table>\n");
    ck_assert_str_eq(render_set(set, "partials/deep/cell", "{\"subject\": \"&\"}"),
                     "<td>&amp;</td>");
    ck_assert_str_eq(render_set(set, "empty", NULL), "");
    ck_assert_int_eq(cs_tmpl_render(&out, NULL, unit_pool, set, "notes", NULL, &err),
                     APR_ENOENT);
    ck_assert_int_eq(cs_tmpl_render(&out, NULL, unit_pool, set, "row", NULL, &err),
                     APR_ENOENT);
}
END_TEST

START_TEST(test_load_dir_reports_the_failing_template_and_line)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL;

    unit_put_dir("partials");
    unit_put_file("a.mustache", "fine");
    unit_put_file("partials/row.mustache", "<tr>\n{{#x}}\n</tr>\n");

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_load_dir(set, unit_tmpdir, &err), APR_EINVAL);
    ck_assert_str_eq(err, "partials/row:2: unclosed section {{#x}}");
}
END_TEST

START_TEST(test_load_dir_of_missing_folder_fails)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL;
    const char *dir = apr_pstrcat(unit_pool, unit_tmpdir, "/nope", NULL);

    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_int_ne(cs_tmpl_load_dir(set, dir, &err), APR_SUCCESS);
    ASSERT_CONTAINS(err, "cannot open template folder");
    ASSERT_CONTAINS(err, dir);
}
END_TEST

START_TEST(test_load_dir_then_add_conflicting_name_fails)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL;

    unit_put_file("a.mustache", "x");
    ck_assert_int_eq(cs_tmpl_set_create(&set, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_load_dir(set, unit_tmpdir, &err), APR_SUCCESS);
    ck_assert_int_eq(cs_tmpl_add(set, "a", "y", 1, &err), APR_EINVAL);
}
END_TEST

/* ---- concurrency --------------------------------------------------------- */

#define THREADS 8
#define ROUNDS  300

typedef struct {
    const cs_tmpl_set_t *set;
    json_object *data;
    const char *want;
    int bad;
} job_t;

static void *APR_THREAD_FUNC render_many(apr_thread_t *th, void *arg)
{
    job_t *job = arg;
    apr_pool_t *p;
    int i;

    /* Each thread its own pool; only the set and the data are shared. */
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        job->bad = -1;
        return NULL;
    }
    for (i = 0; i < ROUNDS; i++) {
        const char *out = NULL, *err = NULL;
        if (cs_tmpl_render(&out, NULL, p, job->set, "page", job->data, &err)
            != APR_SUCCESS || strcmp(out, job->want)) {
            job->bad++;
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(test_finalized_set_renders_concurrently)
{
    cs_tmpl_set_t *set = set_of(
        "page", "<h1>{{title}}</h1>\n<ul>\n  {{#rows}}\n  {{>row}}\n  {{/rows}}\n</ul>\n",
        "row", "<li>{{n}}: {{name}}</li>\n", NULL);
    json_object *data = js("{\"title\": \"<Inbox>\", \"rows\": [{\"n\": 1, \"name\": \"a\"},"
                           " {\"n\": 2.5, \"name\": \"b'\"}]}");
    const char *want = "<h1>&lt;Inbox&gt;</h1>\n<ul>\n  <li>1: a</li>\n"
                       "  <li>2.5: b&#39;</li>\n</ul>\n";
    apr_thread_t *th[THREADS];
    job_t jobs[THREADS];
    int i;

    ck_assert_str_eq(render_set(set, "page", json_object_to_json_string(data)), want);
    for (i = 0; i < THREADS; i++) {
        jobs[i].set = set;
        jobs[i].data = data;
        jobs[i].want = want;
        jobs[i].bad = 0;
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, render_many, &jobs[i],
                                           unit_pool), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        apr_status_t trv;
        ck_assert_int_eq(apr_thread_join(&trv, th[i]), APR_SUCCESS);
    }
    for (i = 0; i < THREADS; i++) {
        ck_assert_int_eq(jobs[i].bad, 0);
    }
}
END_TEST

Suite *tmpl_suite(void)
{
    Suite *s = suite_create("cs_tmpl");
    TCase *tc;

    tc = tcase_create("escaping");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_escape_covers_html_specials_and_attribute_breakers);
    tcase_add_test(tc, test_escape_neutralizes_a_script_payload);
    tcase_add_test(tc, test_escape_neutralizes_an_img_onerror_payload);
    tcase_add_test(tc, test_escape_keeps_values_inside_quoted_attributes);
    tcase_add_test(tc, test_raw_output_only_when_asked);
    tcase_add_test(tc, test_escaping_applies_to_dotted_and_current_item_values);
    tcase_add_test(tc, test_utf8_passes_through_unchanged);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_value_types_render_as_text);
    tcase_add_test(tc, test_null_missing_objects_and_arrays_render_nothing);
    tcase_add_test(tc, test_null_data_renders_the_text);
    tcase_add_test(tc, test_empty_template_renders_empty_string);
    tcase_add_test(tc, test_render_does_not_modify_data);
    suite_add_tcase(s, tc);

    tc = tcase_create("sections");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_section_iterates_arrays);
    tcase_add_test(tc, test_section_over_object_pushes_it_as_context);
    tcase_add_test(tc, test_section_on_truthy_scalars_renders_once);
    tcase_add_test(tc, test_section_skipped_for_falsy_values);
    tcase_add_test(tc, test_inverted_renders_only_for_falsy_values);
    tcase_add_test(tc, test_inverted_does_not_push_context);
    tcase_add_test(tc, test_empty_list_with_inverted_placeholder);
    suite_add_tcase(s, tc);

    tc = tcase_create("lookup");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_lookup_walks_the_stack_outward);
    tcase_add_test(tc, test_inner_context_shadows_outer);
    tcase_add_test(tc, test_key_present_with_null_stops_the_walk);
    tcase_add_test(tc, test_current_item_dot);
    tcase_add_test(tc, test_dotted_names);
    tcase_add_test(tc, test_dotted_name_resolves_first_part_only_through_the_stack);
    suite_add_tcase(s, tc);

    tc = tcase_create("standalone");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_comments_are_dropped);
    tcase_add_test(tc, test_standalone_section_lines_leave_no_blank_lines);
    tcase_add_test(tc, test_standalone_handles_crlf_tabs_start_and_end_of_template);
    tcase_add_test(tc, test_tags_sharing_a_line_are_not_standalone);
    tcase_add_test(tc, test_standalone_partial_indents_its_lines);
    suite_add_tcase(s, tc);

    tc = tcase_create("partials");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_partial_uses_the_current_context);
    tcase_add_test(tc, test_partial_may_be_added_before_its_target);
    tcase_add_test(tc, test_recursive_partial_renders_a_tree);
    tcase_add_test(tc, test_partial_recursion_depth_is_limited);
    tcase_add_test(tc, test_infinite_partial_recursion_fails_without_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_unclosed_section_reports_name_and_line);
    tcase_add_test(tc, test_mismatched_close_reports_both_lines);
    tcase_add_test(tc, test_unclosed_tag_reports_line);
    tcase_add_test(tc, test_line_numbers_count_newlines_inside_tags);
    tcase_add_test(tc, test_invalid_names_are_refused);
    tcase_add_test(tc, test_set_delimiters_are_refused);
    tcase_add_test(tc, test_section_nesting_is_limited);
    tcase_add_test(tc, test_duplicate_template_name_is_refused);
    tcase_add_test(tc, test_failed_add_leaves_the_set_unchanged);
    tcase_add_test(tc, test_text_length_is_respected_and_may_hold_nul);
    tcase_add_test(tc, test_missing_partial_detected_at_finalize);
    tcase_add_test(tc, test_render_before_finalize_fails);
    tcase_add_test(tc, test_add_after_finalize_is_refused);
    tcase_add_test(tc, test_render_of_unknown_template_fails_with_no_output);
    tcase_add_test(tc, test_large_output_grows_the_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("load_dir");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_load_dir_names_templates_by_relative_path);
    tcase_add_test(tc, test_load_dir_reports_the_failing_template_and_line);
    tcase_add_test(tc, test_load_dir_of_missing_folder_fails);
    tcase_add_test(tc, test_load_dir_then_add_conflicting_name_fails);
    suite_add_tcase(s, tc);

    tc = tcase_create("concurrency");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_finalized_set_renders_concurrently);
    suite_add_tcase(s, tc);

    return s;
}
