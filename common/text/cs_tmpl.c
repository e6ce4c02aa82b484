#include "text/cs_tmpl.h"
#include "base/cs_file.h"

#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_lib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMPL_EXT ".mustache"

typedef enum {
    N_TEXT,        /* literal template text */
    N_ESCAPED,     /* {{name}} */
    N_RAW,         /* {{{name}}}, {{& name}} */
    N_SECTION,     /* {{#name}} ... {{/name}} */
    N_INVERTED,    /* {{^name}} ... {{/name}} */
    N_PARTIAL      /* {{> name}} */
} node_kind_t;

typedef struct tmpl_t tmpl_t;
typedef struct node_t node_t;

struct node_t {
    node_kind_t kind;
    int line;                  /* where the tag starts, for finalize's errors */
    const char *text;          /* N_TEXT: the bytes; otherwise the name as written */
    apr_size_t len;            /* N_TEXT: byte count */
    const char **path;         /* the name split at dots; npath 0 is "." */
    int npath;
    apr_array_header_t *kids;  /* sections: node_t * */
    const char *indent;        /* N_PARTIAL: standalone indentation, else NULL */
    apr_size_t indent_len;
    const tmpl_t *target;      /* N_PARTIAL: set by cs_tmpl_finalize */
};

struct tmpl_t {
    const char *name;
    apr_array_header_t *nodes; /* node_t * */
};

struct cs_tmpl_set_t {
    apr_pool_t *pool;
    apr_hash_t *by_name;       /* name -> tmpl_t * */
    apr_array_header_t *order; /* tmpl_t *, in add order, so errors are stable */
    int finalized;
};

static void set_err(const char **perr, const char *msg)
{
    if (perr) {
        *perr = msg;
    }
}

apr_status_t cs_tmpl_set_create(cs_tmpl_set_t **pout, apr_pool_t *p)
{
    cs_tmpl_set_t *set = apr_pcalloc(p, sizeof(*set));

    set->pool = p;
    set->by_name = apr_hash_make(p);
    set->order = apr_array_make(p, 16, sizeof(tmpl_t *));
    *pout = set;
    return APR_SUCCESS;
}

/* ---- parsing ------------------------------------------------------------- */

typedef struct {
    node_t *node;              /* the open section */
    apr_array_header_t *outer; /* the list its {{/...}} returns to */
} open_t;

typedef struct {
    apr_pool_t *p;
    const char *name;
    const char *src, *end;
    const char *counted;       /* lines are counted up to here ... */
    int line;                  /* ... and this is the line there */
    const char *err;
    apr_array_header_t *cur;   /* the node list tags go into now */
    apr_array_header_t *open;  /* open_t: the sections open, innermost last */
    const char *seg;           /* start of text not yet emitted */
} parser_t;

/* Line of @p at. Tags are visited in order, so counting resumes where the
 * last call stopped and the whole parse stays linear. */
static int line_at(parser_t *ps, const char *at)
{
    for (; ps->counted < at; ps->counted++) {
        if (*ps->counted == '\n') {
            ps->line++;
        }
    }
    return ps->line;
}

static apr_status_t parse_fail(parser_t *ps, int line, const char *msg)
{
    ps->err = apr_psprintf(ps->p, "%s:%d: %s", ps->name, line, msg);
    return APR_EINVAL;
}

/* First @p needle (2 or 3 bytes) in [s, end), or NULL. Templates may hold
 * any bytes, NUL included, so this cannot be strstr. */
static const char *find(const char *s, const char *end, const char *needle,
                        apr_size_t n)
{
    while ((apr_size_t)(end - s) >= n) {
        const char *hit = memchr(s, needle[0], (apr_size_t)(end - s) - n + 1);
        if (!hit) {
            return NULL;
        }
        if (!memcmp(hit, needle, n)) {
            return hit;
        }
        s = hit + 1;
    }
    return NULL;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Split a tag's name into its dotted parts. "." alone is the current
 * context; otherwise every part must be non-empty, and nothing may be
 * whitespace, a brace or a control byte: those mean a typo or a stray
 * "{{" in the text, better refused than silently rendering nothing. */
static int split_name(node_t *n, apr_pool_t *p, const char *s, apr_size_t len)
{
    apr_size_t i, start = 0;
    int parts = 1, k = 0;

    n->text = apr_pstrmemdup(p, s, len);
    n->npath = 0;
    if (len == 1 && s[0] == '.') {
        return 1;
    }
    if (len == 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == '{' || c == '}') {
            return 0;
        }
        if (c == '.') {
            if (i == start) {
                return 0;
            }
            parts++;
            start = i + 1;
        }
    }
    if (start == len) {
        return 0;
    }
    n->path = apr_palloc(p, sizeof(*n->path) * (apr_size_t)parts);
    start = 0;
    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            n->path[k++] = apr_pstrmemdup(p, s + start, i - start);
            start = i + 1;
        }
    }
    n->npath = parts;
    return 1;
}

static node_t *push_node(apr_array_header_t *list, apr_pool_t *p, node_kind_t kind,
                         int line)
{
    node_t *n = apr_pcalloc(p, sizeof(*n));

    n->kind = kind;
    n->line = line;
    APR_ARRAY_PUSH(list, node_t *) = n;
    return n;
}

static void push_text(apr_array_header_t *list, apr_pool_t *p,
                      const char *s, const char *e)
{
    if (e > s) {
        node_t *n = push_node(list, p, N_TEXT, 0);
        n->text = s;
        n->len = (apr_size_t)(e - s);
    }
}

/* One {{...}} tag, as scan_tag read it and consume_tag placed it. */
typedef struct {
    const char *start;         /* its first '{' */
    const char *after;         /* just past its closing braces */
    const char *in, *in_end;   /* its name, the sigil and whitespace cut off */
    int line;
    char sigil;                /* '{' for {{{...}}}, one of "#^/!>&=", or 0 */
    int standalone;            /* alone on its line, which it took along */
    const char *line_begin;    /* standalone: the start of that line */
} tag_t;

/* Read the tag opening at @p start: where it ends, its sigil and its name.
 * Fails only on a tag that is never closed. */
static apr_status_t scan_tag(parser_t *ps, const char *start, tag_t *tag)
{
    const char *close;
    int triple;

    memset(tag, 0, sizeof(*tag));
    tag->start = start;
    tag->line = line_at(ps, start);
    triple = start + 2 < ps->end && start[2] == '{';
    if (triple) {
        close = find(start + 3, ps->end, "}}}", 3);
        tag->in = start + 3;
        tag->after = close ? close + 3 : NULL;
    }
    else {
        close = find(start + 2, ps->end, "}}", 2);
        tag->in = start + 2;
        tag->after = close ? close + 2 : NULL;
    }
    if (!close) {
        return parse_fail(ps, tag->line, triple ? "unclosed tag {{{ (no }}})"
                                                : "unclosed tag {{ (no }})");
    }
    tag->in_end = close;
    while (tag->in < tag->in_end && apr_isspace(*tag->in)) {
        tag->in++;
    }
    while (tag->in_end > tag->in && apr_isspace(tag->in_end[-1])) {
        tag->in_end--;
    }
    /* *tag->in is tested before strchr, which finds a NUL byte too (as the
     * terminator of its set), and templates may hold NULs. */
    if (triple) {
        tag->sigil = '{';
    }
    else if (tag->in < tag->in_end && *tag->in && strchr("#^/!>&=", *tag->in)) {
        /* The sigil may be followed by blanks: "{{# items }}". */
        tag->sigil = *tag->in++;
        while (tag->in < tag->in_end && apr_isspace(*tag->in)) {
            tag->in++;
        }
    }
    return APR_SUCCESS;
}

/* Start of the line holding @p tag if only blanks precede the tag there,
 * else NULL. The walk back stops at ps->seg: a tag earlier on the same
 * line ends there, and then this one is not alone. So ps->seg is itself a
 * line start only at the top of the source or right after a newline
 * (where a standalone tag took its line). */
static const char *blank_line_start(const parser_t *ps, const char *tag)
{
    const char *begin = NULL, *s;

    for (s = tag; s > ps->seg; s--) {
        if (s[-1] == '\n') {
            begin = s;
            break;
        }
    }
    if (!begin && (ps->seg == ps->src || ps->seg[-1] == '\n')) {
        begin = ps->seg;
    }
    if (!begin) {
        return NULL;
    }
    for (s = begin; s < tag && is_blank(*s); s++) {
    }
    return s == tag ? begin : NULL;
}

/* Just past the blanks and the line break after a tag ending at @p after,
 * if nothing else follows it on its line (the end of the source counts as
 * a line end), else NULL. */
static const char *blank_line_end(const parser_t *ps, const char *after)
{
    const char *s;

    for (s = after; s < ps->end && is_blank(*s); s++) {
    }
    if (s == ps->end) {
        return s;
    }
    if (*s == '\n') {
        return s + 1;
    }
    if (*s == '\r' && s + 1 < ps->end && s[1] == '\n') {
        return s + 2;
    }
    return NULL;
}

/* Emit the text before @p tag and move ps->seg past the tag. A control tag
 * alone on its line takes the line with it: the blanks before it, and the
 * blanks and newline after it, so that a template's {{#...}} lines leave
 * no empty lines in the page. Values ({{x}}, {{{x}}}, {{& x}}) and {{=}}
 * never do. */
static void consume_tag(parser_t *ps, tag_t *tag)
{
    const char *begin = NULL, *rest = NULL;

    if (tag->sigil && strchr("#^/!>", tag->sigil)
        && (begin = blank_line_start(ps, tag->start)) != NULL) {
        rest = blank_line_end(ps, tag->after);
    }
    if (rest) {
        tag->standalone = 1;
        tag->line_begin = begin;
        push_text(ps->cur, ps->p, ps->seg, begin);
        ps->seg = rest;
    }
    else {
        push_text(ps->cur, ps->p, ps->seg, tag->start);
        ps->seg = tag->after;
    }
}

/* The sigil that opened @p o's section, for messages. */
static char open_sigil(const open_t *o)
{
    return o->node->kind == N_SECTION ? '#' : '^';
}

/* {{#name}} or {{^name}}: a section node, which later tags go into until
 * its {{/name}}. */
static apr_status_t open_section(parser_t *ps, const tag_t *tag)
{
    node_t *n;
    open_t *o;

    /* render_nodes recurses once per level: this bounds its stack. */
    if (ps->open->nelts >= CS_TMPL_MAX_SECTION_DEPTH) {
        return parse_fail(ps, tag->line, "sections nested too deeply");
    }
    n = push_node(ps->cur, ps->p, tag->sigil == '#' ? N_SECTION : N_INVERTED,
                  tag->line);
    if (!split_name(n, ps->p, tag->in, (apr_size_t)(tag->in_end - tag->in))) {
        return parse_fail(ps, tag->line, apr_psprintf(ps->p,
                          "invalid section name '%s'", n->text));
    }
    n->kids = apr_array_make(ps->p, 4, sizeof(node_t *));
    o = apr_array_push(ps->open);
    o->node = n;
    o->outer = ps->cur;
    ps->cur = n->kids;
    return APR_SUCCESS;
}

/* {{/name}}: must name the innermost open section, byte for byte as its
 * opening tag did. */
static apr_status_t close_section(parser_t *ps, const tag_t *tag)
{
    const char *want = apr_pstrmemdup(ps->p, tag->in,
                                      (apr_size_t)(tag->in_end - tag->in));
    open_t *o;

    if (!ps->open->nelts) {
        return parse_fail(ps, tag->line, apr_psprintf(ps->p,
                          "{{/%s}} closes no open section", want));
    }
    o = &APR_ARRAY_IDX(ps->open, ps->open->nelts - 1, open_t);
    if (strcmp(want, o->node->text)) {
        return parse_fail(ps, tag->line, apr_psprintf(ps->p,
                          "{{/%s}} does not match {{%c%s}} opened on line %d",
                          want, open_sigil(o), o->node->text, o->node->line));
    }
    ps->cur = o->outer;
    ps->open->nelts--;
    return APR_SUCCESS;
}

/* {{> name}}: resolved by cs_tmpl_finalize, once every template is in. */
static apr_status_t add_partial(parser_t *ps, const tag_t *tag)
{
    node_t *n = push_node(ps->cur, ps->p, N_PARTIAL, tag->line);

    /* A partial name is a template name, dots and slashes alike. */
    if (!split_name(n, ps->p, tag->in, (apr_size_t)(tag->in_end - tag->in))
        || !strcmp(n->text, ".")) {
        return parse_fail(ps, tag->line, apr_psprintf(ps->p,
                          "invalid partial name '%s'", n->text));
    }
    /* Only a standalone partial indents its lines, by the blanks it took. */
    if (tag->standalone) {
        n->indent = tag->line_begin;
        n->indent_len = (apr_size_t)(tag->start - tag->line_begin);
    }
    return APR_SUCCESS;
}

/* {{name}}, or unescaped {{{name}}} / {{& name}}. */
static apr_status_t add_value(parser_t *ps, const tag_t *tag)
{
    node_t *n = push_node(ps->cur, ps->p, tag->sigil ? N_RAW : N_ESCAPED,
                          tag->line);

    if (!split_name(n, ps->p, tag->in, (apr_size_t)(tag->in_end - tag->in))) {
        return parse_fail(ps, tag->line, apr_psprintf(ps->p,
                          "invalid name '%s'", n->text));
    }
    return APR_SUCCESS;
}

/* Add what @p tag stands for to the current list (comments add nothing). */
static apr_status_t add_tag(parser_t *ps, const tag_t *tag)
{
    switch (tag->sigil) {
    case '!':
        return APR_SUCCESS;
    case '=':
        return parse_fail(ps, tag->line,
                          "set-delimiter tags {{=...=}} are not supported");
    case '#':
    case '^':
        return open_section(ps, tag);
    case '/':
        return close_section(ps, tag);
    case '>':
        return add_partial(ps, tag);
    default:
        return add_value(ps, tag);
    }
}

/* Parse the whole of ps->src into @p top. Text nodes point into src,
 * which the caller has copied into the set's pool. */
static apr_status_t parse(parser_t *ps, apr_array_header_t *top)
{
    const char *start;
    tag_t tag;
    apr_status_t rv;

    ps->cur = top;
    ps->open = apr_array_make(ps->p, 8, sizeof(open_t));
    ps->seg = ps->src;
    while ((start = find(ps->seg, ps->end, "{{", 2)) != NULL) {
        if ((rv = scan_tag(ps, start, &tag)) != APR_SUCCESS) {
            return rv;
        }
        consume_tag(ps, &tag);
        if ((rv = add_tag(ps, &tag)) != APR_SUCCESS) {
            return rv;
        }
    }
    push_text(ps->cur, ps->p, ps->seg, ps->end);
    if (ps->open->nelts) {
        open_t *o = &APR_ARRAY_IDX(ps->open, ps->open->nelts - 1, open_t);
        return parse_fail(ps, o->node->line, apr_psprintf(ps->p,
                          "unclosed section {{%c%s}}", open_sigil(o),
                          o->node->text));
    }
    return APR_SUCCESS;
}

apr_status_t cs_tmpl_add(cs_tmpl_set_t *set, const char *name,
                         const char *text, apr_size_t len, const char **perr)
{
    parser_t ps;
    tmpl_t *t;
    apr_status_t rv;

    if (set->finalized) {
        set_err(perr, apr_psprintf(set->pool, "cannot add '%s': the template "
                                   "set is already finalized", name));
        return APR_EINVAL;
    }
    if (!*name) {
        set_err(perr, "a template needs a name");
        return APR_EINVAL;
    }
    if (apr_hash_get(set->by_name, name, APR_HASH_KEY_STRING)) {
        set_err(perr, apr_psprintf(set->pool, "template '%s' is defined twice", name));
        return APR_EINVAL;
    }
    memset(&ps, 0, sizeof(ps));
    ps.p = set->pool;
    ps.name = apr_pstrdup(set->pool, name);
    ps.src = apr_pstrmemdup(set->pool, text, len);
    ps.end = ps.src + len;
    ps.counted = ps.src;
    ps.line = 1;
    t = apr_pcalloc(set->pool, sizeof(*t));
    t->name = ps.name;
    t->nodes = apr_array_make(set->pool, 16, sizeof(node_t *));
    if ((rv = parse(&ps, t->nodes)) != APR_SUCCESS) {
        set_err(perr, ps.err);
        return rv;
    }
    apr_hash_set(set->by_name, t->name, APR_HASH_KEY_STRING, t);
    APR_ARRAY_PUSH(set->order, tmpl_t *) = t;
    return APR_SUCCESS;
}

/* ---- loading a folder ---------------------------------------------------- */

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static apr_status_t load_file(cs_tmpl_set_t *set, apr_pool_t *tmp,
                              const char *path, const char *name,
                              const char **perr)
{
    apr_size_t n;
    char *buf;
    apr_status_t rv;

    if ((rv = cs_file_read(&buf, &n, tmp, path, 0)) != APR_SUCCESS) {
        set_err(perr, apr_psprintf(set->pool, "cannot read template %s", path));
        return rv;
    }
    return cs_tmpl_add(set, name, buf, n, perr);
}

/* Add the templates in @p dir, their names prefixed with @p prefix ("" or
 * "sub/folder/"). */
static apr_status_t load_tree(cs_tmpl_set_t *set, apr_pool_t *tmp,
                              const char *dir, const char *prefix, int depth,
                              const char **perr)
{
    apr_array_header_t *names = apr_array_make(tmp, 16, sizeof(const char *));
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_status_t rv;
    int i;

    if (depth > CS_TMPL_MAX_DIR_DEPTH) {
        set_err(perr, apr_psprintf(set->pool, "template folders nested deeper "
                                   "than %d at %s (a symlink loop?)",
                                   CS_TMPL_MAX_DIR_DEPTH, dir));
        return APR_EINVAL;
    }
    if ((rv = apr_dir_open(&d, dir, tmp)) != APR_SUCCESS) {
        set_err(perr, apr_psprintf(set->pool, "cannot open template folder %s", dir));
        return rv;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (fi.name[0] != '.') {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(tmp, fi.name);
        }
    }
    apr_dir_close(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), by_string);

    for (i = 0; i < names->nelts; i++) {
        const char *base = APR_ARRAY_IDX(names, i, const char *);
        const char *path = apr_pstrcat(tmp, dir, "/", base, NULL);
        apr_size_t blen = strlen(base), elen = sizeof(TMPL_EXT) - 1;

        /* apr_stat follows symlinks, which readdir's type would not. */
        if ((rv = apr_stat(&fi, path, APR_FINFO_TYPE, tmp)) != APR_SUCCESS) {
            set_err(perr, apr_psprintf(set->pool, "cannot stat %s", path));
            return rv;
        }
        if (fi.filetype == APR_DIR) {
            rv = load_tree(set, tmp, path, apr_pstrcat(tmp, prefix, base, "/", NULL),
                           depth + 1, perr);
        }
        else if (fi.filetype == APR_REG && blen > elen
                 && !strcmp(base + blen - elen, TMPL_EXT)) {
            rv = load_file(set, tmp, path,
                           apr_pstrcat(tmp, prefix,
                                       apr_pstrmemdup(tmp, base, blen - elen), NULL),
                           perr);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t cs_tmpl_load_dir(cs_tmpl_set_t *set, const char *dir,
                              const char **perr)
{
    apr_pool_t *tmp;
    apr_status_t rv;

    /* File contents are copied by cs_tmpl_add; the buffers, paths and
     * listings go when the load is done. */
    if ((rv = apr_pool_create(&tmp, set->pool)) != APR_SUCCESS) {
        set_err(perr, "out of memory");
        return rv;
    }
    rv = load_tree(set, tmp, dir, "", 0, perr);
    apr_pool_destroy(tmp);
    return rv;
}

/* ---- finalize ------------------------------------------------------------ */

static apr_status_t resolve(cs_tmpl_set_t *set, const tmpl_t *t,
                            const apr_array_header_t *nodes, const char **perr)
{
    int i;

    for (i = 0; i < nodes->nelts; i++) {
        node_t *n = APR_ARRAY_IDX(nodes, i, node_t *);
        apr_status_t rv;

        if (n->kind == N_PARTIAL) {
            n->target = apr_hash_get(set->by_name, n->text, APR_HASH_KEY_STRING);
            if (!n->target) {
                set_err(perr, apr_psprintf(set->pool, "%s:%d: unknown partial '%s'",
                                           t->name, n->line, n->text));
                return APR_EINVAL;
            }
        }
        else if (n->kids && (rv = resolve(set, t, n->kids, perr)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t cs_tmpl_finalize(cs_tmpl_set_t *set, const char **perr)
{
    int i;

    for (i = 0; i < set->order->nelts; i++) {
        const tmpl_t *t = APR_ARRAY_IDX(set->order, i, tmpl_t *);
        apr_status_t rv = resolve(set, t, t->nodes, perr);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    set->finalized = 1;
    return APR_SUCCESS;
}

/* ---- rendering ----------------------------------------------------------- */

/* Output grows by doubling in malloc'd memory and is copied into the pool
 * once at the end: appends stay amortized O(1), and a failed render leaves
 * nothing behind in the caller's pool. */
typedef struct {
    char *data;
    apr_size_t len, cap;
} outbuf_t;

typedef struct {
    apr_pool_t *p;
    outbuf_t out;
    apr_array_header_t *stack; /* json_object *, innermost last */
    int partial_depth;
    const char *indent;        /* standalone partials' indentation ... */
    apr_size_t indent_len;
    int bol;                   /* ... due before the next output when set */
    const char *err;
} render_t;

static apr_status_t out_put(render_t *r, const char *s, apr_size_t n)
{
    outbuf_t *b = &r->out;

    if (!n) {
        return APR_SUCCESS;  /* memcpy's pointers must be valid even for 0 */
    }
    if (n > b->cap - b->len) {
        apr_size_t cap = b->cap ? b->cap : 4096;
        char *grown;
        while (n > cap - b->len) {
            if (cap > SIZE_MAX / 2) {
                r->err = "rendered page too large";
                return APR_ENOMEM;
            }
            cap *= 2;
        }
        if (!(grown = realloc(b->data, cap))) {
            r->err = "out of memory";
            return APR_ENOMEM;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return APR_SUCCESS;
}

/* Start a line of a standalone partial with its indentation. */
static apr_status_t out_indent(render_t *r)
{
    if (r->bol) {
        r->bol = 0;
        if (r->indent_len) {
            return out_put(r, r->indent, r->indent_len);
        }
    }
    return APR_SUCCESS;
}

/* Template text: only its own newlines start indented lines (a value's
 * newlines do not, as in the mustache spec). */
static apr_status_t out_text(render_t *r, const char *s, apr_size_t n)
{
    apr_status_t rv;

    if (!r->indent_len) {
        if (n) {
            r->bol = s[n - 1] == '\n';
        }
        return out_put(r, s, n);
    }
    while (n) {
        const char *nl = memchr(s, '\n', n);
        apr_size_t k = nl ? (apr_size_t)(nl - s) + 1 : n;
        if ((rv = out_indent(r)) != APR_SUCCESS
            || (rv = out_put(r, s, k)) != APR_SUCCESS) {
            return rv;
        }
        r->bol = nl != NULL;
        s += k;
        n -= k;
    }
    return APR_SUCCESS;
}

/* Replacement for each byte that needs escaping, else NULL. ' ` and =
 * matter in unquoted or wrongly quoted attributes; / is left alone since
 * it cannot end an attribute or a tag by itself. */
static const char *escape_of(unsigned char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    case '`': return "&#96;";
    case '=': return "&#61;";
    default: return NULL;
    }
}

static apr_status_t out_escaped(render_t *r, const char *s, apr_size_t n)
{
    apr_size_t i, run = 0;
    apr_status_t rv;

    for (i = 0; i < n; i++) {
        const char *rep = escape_of((unsigned char)s[i]);
        if (rep) {
            if ((rv = out_put(r, s + run, i - run)) != APR_SUCCESS
                || (rv = out_put(r, rep, strlen(rep))) != APR_SUCCESS) {
                return rv;
            }
            run = i + 1;
        }
    }
    return out_put(r, s + run, n - run);
}

/* Falsy values skip a section and show an inverted one. */
static int truthy(json_object *v)
{
    double d;

    switch (json_object_get_type(v)) {
    case json_type_null:
        return 0;
    case json_type_boolean:
        return json_object_get_boolean(v);
    case json_type_int:
        /* get_int64 clamps a large unsigned value, which stays non-zero. */
        return json_object_get_int64(v) != 0;
    case json_type_double:
        d = json_object_get_double(v);
        return d == d && d != 0.0;   /* NaN is falsy too, as in JavaScript */
    case json_type_string:
        return json_object_get_string_len(v) > 0;
    case json_type_array:
        return json_object_array_length(v) > 0;
    case json_type_object:
    default:
        return 1;
    }
}

/* Mustache lookup: the first part through the stack, innermost first (a
 * key present with a null value counts as found and stops the walk); the
 * rest only inside what the previous part resolved to. NULL when missing. */
static json_object *lookup(const render_t *r, const node_t *n)
{
    const apr_array_header_t *st = r->stack;
    json_object *v = NULL;
    int i, found = 0;

    if (!n->npath) {
        return APR_ARRAY_IDX(st, st->nelts - 1, json_object *);
    }
    for (i = st->nelts - 1; i >= 0 && !found; i--) {
        json_object *ctx = APR_ARRAY_IDX(st, i, json_object *);
        found = json_object_is_type(ctx, json_type_object)
                && json_object_object_get_ex(ctx, n->path[0], &v);
    }
    if (!found) {
        return NULL;
    }
    for (i = 1; i < n->npath; i++) {
        if (!json_object_is_type(v, json_type_object)
            || !json_object_object_get_ex(v, n->path[i], &v)) {
            return NULL;
        }
    }
    return v;
}

/* Shortest of %.15g / %.16g / %.17g that reads back as @p d, so 0.1 is
 * "0.1" rather than "0.10000000000000001". */
static void format_double(char *buf, apr_size_t size, double d)
{
    snprintf(buf, size, "%.15g", d);
    if (strtod(buf, NULL) != d) {
        snprintf(buf, size, "%.16g", d);
        if (strtod(buf, NULL) != d) {
            snprintf(buf, size, "%.17g", d);
        }
    }
}

static apr_status_t out_value(render_t *r, json_object *v, int escape)
{
    char num[64];
    const char *s;
    apr_size_t n;
    apr_status_t rv;

    if ((rv = out_indent(r)) != APR_SUCCESS) {
        return rv;
    }
    /* Only read accessors here: json_object_get_string on a non-string
     * would serialize into (write to) the caller's object. */
    switch (json_object_get_type(v)) {
    case json_type_string:
        s = json_object_get_string(v);
        n = (apr_size_t)json_object_get_string_len(v);
        break;
    case json_type_int: {
        apr_int64_t i = json_object_get_int64(v);
        if (i == INT64_MAX) {
            /* Possibly a uint64 above INT64_MAX that get_int64 clamped. */
            snprintf(num, sizeof(num), "%" APR_UINT64_T_FMT,
                     (apr_uint64_t)json_object_get_uint64(v));
        }
        else {
            snprintf(num, sizeof(num), "%" APR_INT64_T_FMT, i);
        }
        s = num;
        n = strlen(num);
        break;
    }
    case json_type_double:
        format_double(num, sizeof(num), json_object_get_double(v));
        s = num;
        n = strlen(num);
        break;
    case json_type_boolean:
        s = json_object_get_boolean(v) ? "true" : "false";
        n = strlen(s);
        break;
    default:
        return APR_SUCCESS;
    }
    return escape ? out_escaped(r, s, n) : out_put(r, s, n);
}

static apr_status_t render_nodes(render_t *r, const apr_array_header_t *nodes);

static apr_status_t render_with(render_t *r, json_object *ctx,
                                const apr_array_header_t *kids)
{
    apr_status_t rv;

    APR_ARRAY_PUSH(r->stack, json_object *) = ctx;
    rv = render_nodes(r, kids);
    r->stack->nelts--;
    return rv;
}

static apr_status_t render_partial(render_t *r, const node_t *n)
{
    const char *saved = r->indent;
    apr_size_t saved_len = r->indent_len;
    apr_status_t rv;

    if (r->partial_depth >= CS_TMPL_MAX_PARTIAL_DEPTH) {
        r->err = apr_psprintf(r->p, "partials nested deeper than %d at '%s'",
                              CS_TMPL_MAX_PARTIAL_DEPTH, n->text);
        return APR_EINVAL;
    }
    /* A standalone partial adds its indentation to the one in force; an
     * inline one continues the current line and indents nothing. */
    if (n->indent) {
        if (saved_len && n->indent_len) {
            r->indent = apr_pstrcat(r->p, apr_pstrmemdup(r->p, saved, saved_len),
                                    apr_pstrmemdup(r->p, n->indent, n->indent_len),
                                    NULL);
        }
        else if (n->indent_len) {
            r->indent = n->indent;
        }
        r->indent_len = saved_len + n->indent_len;
    }
    else {
        r->indent_len = 0;
    }
    r->partial_depth++;
    rv = render_nodes(r, n->target->nodes);
    r->partial_depth--;
    r->indent = saved;
    r->indent_len = saved_len;
    return rv;
}

static apr_status_t render_nodes(render_t *r, const apr_array_header_t *nodes)
{
    int i;

    for (i = 0; i < nodes->nelts; i++) {
        const node_t *n = APR_ARRAY_IDX(nodes, i, const node_t *);
        apr_status_t rv = APR_SUCCESS;
        json_object *v;

        switch (n->kind) {
        case N_TEXT:
            rv = out_text(r, n->text, n->len);
            break;
        case N_ESCAPED:
        case N_RAW:
            rv = out_value(r, lookup(r, n), n->kind == N_ESCAPED);
            break;
        case N_SECTION:
            v = lookup(r, n);
            if (json_object_is_type(v, json_type_array)) {
                size_t k, len = json_object_array_length(v);
                for (k = 0; k < len && rv == APR_SUCCESS; k++) {
                    rv = render_with(r, json_object_array_get_idx(v, k), n->kids);
                }
            }
            else if (truthy(v)) {
                rv = render_with(r, v, n->kids);
            }
            break;
        case N_INVERTED:
            if (!truthy(lookup(r, n))) {
                rv = render_nodes(r, n->kids);
            }
            break;
        case N_PARTIAL:
            rv = render_partial(r, n);
            break;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t cs_tmpl_render(const char **pout, apr_size_t *plen, apr_pool_t *p,
                            const cs_tmpl_set_t *set, const char *name,
                            json_object *data, const char **perr)
{
    const tmpl_t *t;
    render_t r;
    apr_status_t rv;
    char *page;

    *pout = NULL;
    if (plen) {
        *plen = 0;
    }
    if (!set->finalized) {
        set_err(perr, "template set is not finalized");
        return APR_EINVAL;
    }
    /* apr_hash_get only reads, so concurrent renders may share the set. */
    t = apr_hash_get(set->by_name, name, APR_HASH_KEY_STRING);
    if (!t) {
        set_err(perr, apr_psprintf(p, "unknown template '%s'", name));
        return APR_ENOENT;
    }
    memset(&r, 0, sizeof(r));
    r.p = p;
    r.stack = apr_array_make(p, 16, sizeof(json_object *));
    r.bol = 1;
    APR_ARRAY_PUSH(r.stack, json_object *) = data;
    rv = render_nodes(&r, t->nodes);
    if (rv == APR_SUCCESS) {
        page = apr_palloc(p, r.out.len + 1);
        if (r.out.len) {
            memcpy(page, r.out.data, r.out.len);
        }
        page[r.out.len] = '\0';
        *pout = page;
        if (plen) {
            *plen = r.out.len;
        }
    }
    else {
        set_err(perr, r.err);
    }
    free(r.out.data);
    return rv;
}
