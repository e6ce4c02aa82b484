/**
 * @file cs_tmpl.h
 * @brief A logic-less, mustache-like template engine for the staff
 * dashboard's HTML pages and HTMX fragments, rendering json-c data.
 *
 * Templates are compiled once at startup into a tree, and rendering only
 * walks that tree: a page costs one pass over the template and the data,
 * and a template error surfaces when the server starts, not when a
 * member of staff first opens the page.
 *
 * Syntax (the mustache spec, without set-delimiters and lambdas):
 * - `{{name}}` HTML-escaped value; `{{{name}}}` or `{{& name}}` raw value.
 *   Escaping covers & < > " ' ` = so a value is safe in element content
 *   and in quoted attributes. Raw output is only ever what was asked for.
 * - `{{a.b.c}}` dotted names: `a` is looked up through the context stack
 *   (innermost first), `b` and `c` only inside what `a` resolved to.
 * - `{{.}}` the current context (an array item, say).
 * - `{{#name}}...{{/name}}` section: once per item of a non-empty array
 *   (each item becomes the current context), once for any other truthy
 *   value (which becomes the current context), not at all for a falsy one.
 *   Falsy: missing, null, false, 0, 0.0, "" and the empty array; as in
 *   mustache.js, so `{{#unread}}({{unread}}){{/unread}}` hides a zero.
 * - `{{^name}}...{{/name}}` inverted section: rendered only when falsy.
 * - `{{! comment }}` dropped (may span lines).
 * - `{{> name}}` partial: another template of the set, rendered with the
 *   current context. Partials may recurse (a tree of notes, say), up to
 *   #CS_TMPL_MAX_PARTIAL_DEPTH levels.
 * - A section, inverted, close, comment or partial tag alone on a line
 *   (only spaces or tabs around it) removes that whole line, so control
 *   tags leave no blank lines; a standalone partial's lines are indented
 *   by the tag's indentation, as the mustache spec asks.
 *
 * Interpolated values: strings as they are, integers in decimal, doubles
 * in their shortest round-tripping form ("0.1", "2.5", "3"), booleans as
 * "true" / "false", null and missing names as nothing. Objects and arrays
 * interpolate as nothing: json-c's serializer writes into the value it
 * serializes, which a read-only render must not do (pass a string).
 *
 * A set is built single-threaded (cs_tmpl_add, cs_tmpl_load_dir, then
 * cs_tmpl_finalize); once finalized it is never written again, so any
 * number of threads may render from it at once.
 */
#ifndef CS_TMPL_H
#define CS_TMPL_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <json-c/json.h>

/** Deepest chain of partials a render follows before failing. */
#define CS_TMPL_MAX_PARTIAL_DEPTH 16
/** Deepest nesting of sections one template may contain. */
#define CS_TMPL_MAX_SECTION_DEPTH 100
/** Deepest folder nesting cs_tmpl_load_dir descends (catches symlink
 * loops). */
#define CS_TMPL_MAX_DIR_DEPTH     16

typedef struct cs_tmpl_set_t cs_tmpl_set_t;

/** A new, empty set whose templates live in @p p. */
apr_status_t cs_tmpl_set_create(cs_tmpl_set_t **pout, apr_pool_t *p);

/**
 * Compile @p len bytes of @p text as template @p name ("inbox",
 * "partials/row"). Both are copied. Partial references are only checked
 * by cs_tmpl_finalize, so templates may be added in any order.
 * @return APR_SUCCESS; APR_EINVAL with *perr ("inbox:12: unclosed section
 *         {{#items}}") for a syntax error, a name already in the set, or
 *         a set already finalized.
 */
apr_status_t cs_tmpl_add(cs_tmpl_set_t *set, const char *name,
                         const char *text, apr_size_t len, const char **perr);

/**
 * Add every "*.mustache" file under @p dir, descending into subfolders;
 * a template's name is its path relative to @p dir without the extension
 * ("partials/row" for dir/partials/row.mustache). Names starting with a
 * dot are skipped (editor lock and swap files). Symlinks are followed.
 * Files are added in name order, so the first error reported is stable.
 * @return APR_SUCCESS, or the error of the folder or file that failed
 *         (or of cs_tmpl_add) with *perr set.
 */
apr_status_t cs_tmpl_load_dir(cs_tmpl_set_t *set, const char *dir,
                              const char **perr);

/**
 * Resolve every partial reference; call once after the last add. The set
 * is read-only (and renderable) afterwards. Calling it again is harmless.
 * @return APR_SUCCESS, or APR_EINVAL with *perr ("inbox:7: unknown
 *         partial 'partials/rowz'").
 */
apr_status_t cs_tmpl_finalize(cs_tmpl_set_t *set, const char **perr);

/**
 * Render template @p name of the finalized @p set over @p data (any json-c
 * value, NULL meaning null) into a NUL-terminated string in @p p; its
 * length goes to *plen when @p plen is not NULL. Does not modify @p data.
 * On failure *pout is NULL: a caller never gets half a page.
 * @return APR_SUCCESS; APR_ENOENT for an unknown template; APR_EINVAL when
 *         the set is not finalized or partials nest deeper than
 *         #CS_TMPL_MAX_PARTIAL_DEPTH; APR_ENOMEM; *perr says which.
 */
apr_status_t cs_tmpl_render(const char **pout, apr_size_t *plen, apr_pool_t *p,
                            const cs_tmpl_set_t *set, const char *name,
                            json_object *data, const char **perr);

#endif
