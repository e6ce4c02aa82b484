#include "base/cs_json.h"

#include <apr_strings.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

struct cs_json_t {
    json_object *obj;
};

static apr_status_t json_cleanup(void *data)
{
    cs_json_t *j = data;
    if (j->obj) {
        json_object_put(j->obj);
        j->obj = NULL;
    }
    return APR_SUCCESS;
}

static cs_json_t *wrap(apr_pool_t *p, json_object *obj)
{
    cs_json_t *j = apr_pcalloc(p, sizeof(*j));
    j->obj = obj;
    apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
    return j;
}

apr_status_t cs_json_parse(cs_json_t **pout, apr_pool_t *p,
                           const char *buf, apr_size_t len, const char **perr)
{
    json_tokener *tok;
    json_object *obj;
    enum json_tokener_error jerr;
    size_t end;
    apr_status_t rv = APR_SUCCESS;

    *pout = NULL;
    if (len > (apr_size_t)INT32_MAX) {
        *perr = "document too large";
        return APR_EINVAL;
    }
    tok = json_tokener_new();
    if (!tok) {
        *perr = "out of memory";
        return APR_ENOMEM;
    }
    /* Strict mode: no trailing commas, no comments, no junk after the value. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, buf, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        /* Tell the tokener the input ended (a number at the very end is only
         * complete then), so a truncated body is an error. */
        obj = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    }
    if (!obj || jerr != json_tokener_success || end < len) {
        *perr = apr_pstrdup(p, jerr != json_tokener_success
                            ? json_tokener_error_desc(jerr)
                            : "unexpected data after the JSON value");
        if (obj) {
            json_object_put(obj);
        }
        rv = APR_EINVAL;
    }
    else {
        *pout = wrap(p, obj);
    }
    json_tokener_free(tok);
    return rv;
}

cs_json_t *cs_json_object(apr_pool_t *p)
{
    return wrap(p, json_object_new_object());
}

cs_json_t *cs_json_array(apr_pool_t *p)
{
    return wrap(p, json_object_new_array());
}

void cs_json_append(cs_json_t *arr, cs_json_t *child)
{
    json_object_array_add(arr->obj, json_object_get(child->obj));
}

json_object *cs_json_raw(const cs_json_t *j)
{
    return j->obj;
}

const char *cs_json_get_str(const cs_json_t *j, const char *key)
{
    json_object *v;
    if (!json_object_is_type(j->obj, json_type_object)
        || !json_object_object_get_ex(j->obj, key, &v)
        || !json_object_is_type(v, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(v);
}

static void set(cs_json_t *j, const char *key, json_object *v)
{
    json_object_object_add(j->obj, key, v);
}

void cs_json_set_str(cs_json_t *j, const char *key, const char *val)
{
    set(j, key, val ? json_object_new_string(val) : NULL);
}

void cs_json_set_int(cs_json_t *j, const char *key, apr_int64_t val)
{
    set(j, key, json_object_new_int64(val));
}

void cs_json_set_double(cs_json_t *j, const char *key, double val)
{
    /* Three decimals: json-c would otherwise print 17 significant digits. */
    char buf[64];
    snprintf(buf, sizeof(buf), "%.3f", val);
    set(j, key, json_object_new_double_s(val, buf));
}

void cs_json_set_bool(cs_json_t *j, const char *key, int val)
{
    set(j, key, json_object_new_boolean(val ? 1 : 0));
}

void cs_json_set_obj(cs_json_t *j, const char *key, cs_json_t *child)
{
    /* The parent takes a reference; the child's own cleanup drops its one. */
    set(j, key, json_object_get(child->obj));
}

const char *cs_json_dump(const cs_json_t *j, apr_pool_t *p)
{
    return apr_pstrdup(p, json_object_to_json_string_ext(
                           j->obj, JSON_C_TO_STRING_PLAIN
                                   | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- typed getters ------------------------------------------------------ */

static json_object *member(json_object *o, const char *key, json_type want)
{
    json_object *v = NULL;

    if (!o || !json_object_is_type(o, json_type_object)
        || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, want)) {
        return NULL;
    }
    return v;
}

const char *cs_jstr(json_object *o, const char *key)
{
    json_object *v = member(o, key, json_type_string);
    return v ? json_object_get_string(v) : NULL;
}

json_object *cs_jobj(json_object *o, const char *key)
{
    return member(o, key, json_type_object);
}

json_object *cs_jarr(json_object *o, const char *key)
{
    return member(o, key, json_type_array);
}

int cs_jint(json_object *o, const char *key, apr_int64_t *pout)
{
    json_object *v = member(o, key, json_type_int);

    if (!v) {
        return 0;
    }
    /* json-c saturates out-of-range integers; treat the limits as broken. */
    errno = 0;
    *pout = json_object_get_int64(v);
    return !(errno == ERANGE || *pout == INT64_MAX || *pout == INT64_MIN);
}

int cs_jbool(json_object *o, const char *key, int dflt)
{
    json_object *v = member(o, key, json_type_boolean);
    return v ? json_object_get_boolean(v) : dflt;
}

apr_size_t cs_jlen(json_object *arr)
{
    return arr && json_object_is_type(arr, json_type_array)
           ? json_object_array_length(arr) : 0;
}

json_object *cs_jat(json_object *arr, apr_size_t i)
{
    return i < cs_jlen(arr) ? json_object_array_get_idx(arr, i) : NULL;
}
