/* cs_tmpl: compile an arbitrary template (cs_tmpl_add + finalize, and
 * render it over null data when it has no partials), and render a fixed,
 * valid template set over arbitrary JSON data.
 *
 * Templates are trusted (they ship with the dashboard) but the compiler
 * must not crash on any text; the data comes from the database and from
 * what people send, so rendering must hold for any JSON. Arbitrary
 * templates are not rendered over arbitrary data: nested sections over
 * a large array are legitimately exponential. */
#include "fuzz_common.h"
#include "text/cs_tmpl.h"
#include "base/cs_json.h"

FUZZ_APR_INIT

static const char *const fixed[][2] = {
    { "page",
      "<h1>{{title}}</h1>\n"
      "{{! the list }}\n"
      "<ul>\n"
      "{{#items}}\n"
      "  {{> row}}\n"
      "{{/items}}\n"
      "</ul>\n"
      "{{^items}}<p>No messages.</p>{{/items}}\n"
      "<p>{{{raw}}} {{& raw}} {{user.name}} {{user.address.city}}</p>\n"
      "{{#unread}}({{unread}}){{/unread}}\n"
      "{{#flag}}<b>{{.}}</b>{{/flag}}\n" },
    { "row",
      "<li class=\"{{kind}}\" data-id={{id}}>{{name}}: {{text}} {{.}}\n"
      "{{#tags}}<span>{{.}}</span>{{/tags}}{{^tags}}-{{/tags}}\n"
      "{{#meta}}{{meta.a}} {{a.b}} {{title}}{{/meta}}</li>\n" },
    { "dots", "{{a.b.c.d}}{{#a}}{{#b}}{{c}}{{/b}}{{/a}}{{.}}" },
};

static void render_fixed(apr_pool_t *p, json_object *data)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL, *out;
    apr_size_t len, i;

    if (cs_tmpl_set_create(&set, p) != APR_SUCCESS) {
        abort();
    }
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (cs_tmpl_add(set, fixed[i][0], fixed[i][1], strlen(fixed[i][1]),
                        &err) != APR_SUCCESS) {
            abort();
        }
    }
    if (cs_tmpl_finalize(set, &err) != APR_SUCCESS) {
        abort();
    }
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        out = NULL;
        len = 0;
        if (cs_tmpl_render(&out, &len, p, set, fixed[i][0], data, &err)
            == APR_SUCCESS) {
            /* NUL-terminated at len; values may hold NULs ("\u0000") */
            if (!out || out[len] != '\0' || strlen(out) > len) {
                abort();
            }
        }
    }
}

static void compile_arbitrary(apr_pool_t *p, const uint8_t *data, size_t size)
{
    cs_tmpl_set_t *set = NULL;
    const char *err = NULL, *out = NULL;
    char *text = fuzz_exact(data, size);
    apr_size_t len = 0;

    if (cs_tmpl_set_create(&set, p) != APR_SUCCESS) {
        abort();
    }
    if (cs_tmpl_add(set, "fuzz", text, size, &err) != APR_SUCCESS) {
        fuzz_touch_str(err);
        free(text);
        return;
    }
    free(text);  /* the set holds its own copy */
    if (cs_tmpl_finalize(set, &err) != APR_SUCCESS) {
        fuzz_touch_str(err);
        return;
    }
    if (!memchr(data, '>', size)) {
        /* literal text may hold NULs: the length is authoritative */
        if (cs_tmpl_render(&out, &len, p, set, "fuzz", NULL, &err)
            == APR_SUCCESS
            && (!out || out[len] != '\0' || strlen(out) > len
                || (!memchr(data, '\0', size) && strlen(out) != len))) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *buf = fuzz_exact(data, size);
    cs_json_t *j = NULL;
    const char *err = NULL;

    if (cs_json_parse(&j, p, buf, size, &err) == APR_SUCCESS) {
        render_fixed(p, cs_json_raw(j));
    }
    free(buf);
    compile_arbitrary(p, data, size);
    apr_pool_destroy(p);
    return 0;
}
