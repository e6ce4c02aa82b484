/**
 * @file cs_json.h
 * @brief The only place that touches json-c ownership rules: a JSON value
 * bound to an APR pool (json_object_put runs in the pool's cleanup), typed
 * getters that answer NULL on a missing key or a wrong type, and
 * serialization into pool memory.
 */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <json-c/json.h>

typedef struct cs_json_t cs_json_t;

/** Parse @p len bytes. On failure returns APR_EINVAL and sets *perr. */
apr_status_t cs_json_parse(cs_json_t **pout, apr_pool_t *p,
                           const char *buf, apr_size_t len, const char **perr);

/** A new, empty object owned by @p p. */
cs_json_t *cs_json_object(apr_pool_t *p);

/** A new, empty array owned by @p p. */
cs_json_t *cs_json_array(apr_pool_t *p);

/** Append @p child (same pool) to an array. */
void cs_json_append(cs_json_t *arr, cs_json_t *child);

/** The json-c value, still owned by the wrapper's pool. */
json_object *cs_json_raw(const cs_json_t *j);

/** String member @p key, or NULL when absent or not a string. */
const char *cs_json_get_str(const cs_json_t *j, const char *key);

/** Setters on an object; the value is copied. */
void cs_json_set_str(cs_json_t *j, const char *key, const char *val);
void cs_json_set_int(cs_json_t *j, const char *key, apr_int64_t val);
void cs_json_set_double(cs_json_t *j, const char *key, double val);
void cs_json_set_bool(cs_json_t *j, const char *key, int val);
/** Attach @p child (which must come from the same pool) under @p key. */
void cs_json_set_obj(cs_json_t *j, const char *key, cs_json_t *child);

/** Compact serialization copied into @p p. */
const char *cs_json_dump(const cs_json_t *j, apr_pool_t *p);

/* ---- reading json-c values: typed, NULL-safe getters ---------------------
 * For walking a provider's answer: each takes any json_object (NULL too)
 * and answers NULL / 0 when the key is absent or holds another type, so a
 * parser never dereferences a value it did not check. */

/** Member @p key of object @p o when it is a string, else NULL. */
const char *cs_jstr(json_object *o, const char *key);
/** Member @p key when it is an object, else NULL. */
json_object *cs_jobj(json_object *o, const char *key);
/** Member @p key when it is an array, else NULL. */
json_object *cs_jarr(json_object *o, const char *key);
/** 1 and *pout when member @p key is an integer (not a double, not a
 * string), else 0. */
int cs_jint(json_object *o, const char *key, apr_int64_t *pout);
/** Member @p key as a boolean when it is one, else @p dflt. */
int cs_jbool(json_object *o, const char *key, int dflt);
/** Elements of @p arr (0 when not an array). */
apr_size_t cs_jlen(json_object *arr);
/** Element @p i of @p arr, or NULL. */
json_object *cs_jat(json_object *arr, apr_size_t i);

#endif
