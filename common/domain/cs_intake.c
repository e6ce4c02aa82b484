#include "domain/cs_intake.h"
#include "text/cs_text.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <string.h>

apr_array_header_t *cs_pairs_make(apr_pool_t *p)
{
    return apr_array_make(p, 8, sizeof(cs_pair_t));
}

void cs_pairs_add(apr_array_header_t *pairs, const char *key,
                  const char *value, apr_size_t value_len)
{
    cs_pair_t *pair = apr_array_push(pairs);
    pair->key = key;
    pair->value = value;
    pair->value_len = value_len;
}

apr_array_header_t *cs_field_errors_make(apr_pool_t *p)
{
    return apr_array_make(p, 4, sizeof(cs_field_error_t));
}

static void add_error(apr_array_header_t *errors, const char *field,
                      const char *message)
{
    cs_field_error_t *e = apr_array_push(errors);
    e->field = field;
    e->message = message;
}

apr_status_t cs_intake_pairs_from_json(apr_array_header_t **pout,
                                       apr_pool_t *p, const char *body,
                                       apr_size_t len,
                                       apr_array_header_t *errors)
{
    cs_json_t *doc;
    const char *perr = NULL;
    apr_array_header_t *pairs;

    *pout = NULL;
    if (cs_json_parse(&doc, p, body, len, &perr) != APR_SUCCESS) {
        add_error(errors, "body", apr_pstrcat(p, "is not valid JSON: ", perr, NULL));
        return APR_EINVAL;
    }
    if (!json_object_is_type(cs_json_raw(doc), json_type_object)) {
        add_error(errors, "body", "must be a JSON object of field names to values");
        return APR_EINVAL;
    }
    pairs = cs_pairs_make(p);
    json_object_object_foreach(cs_json_raw(doc), key, val) {
        const char *s;
        switch (json_object_get_type(val)) {
        case json_type_null:
            continue;
        case json_type_string:
        case json_type_int:
        case json_type_double:
        case json_type_boolean:
            /* Strings are copied by length: one may hold \u0000, which the
             * text check then refuses instead of silently truncating. */
            if (json_object_is_type(val, json_type_string)) {
                apr_size_t n = (apr_size_t)json_object_get_string_len(val);
                s = apr_pstrmemdup(p, json_object_get_string(val), n);
                cs_pairs_add(pairs, apr_pstrdup(p, key), s, n);
            }
            else {
                s = apr_pstrdup(p, json_object_get_string(val));
                cs_pairs_add(pairs, apr_pstrdup(p, key), s, strlen(s));
            }
            break;
        default:
            add_error(errors, apr_pstrdup(p, key),
                      "must be text, a number or a boolean");
            return APR_EINVAL;
        }
    }
    *pout = pairs;
    return APR_SUCCESS;
}

/* The first value sent for @p key, or NULL. */
static const cs_pair_t *find(const apr_array_header_t *pairs, const char *key)
{
    int i;
    for (i = 0; i < pairs->nelts; i++) {
        const cs_pair_t *pair = &APR_ARRAY_IDX(pairs, i, cs_pair_t);
        if (!strcmp(pair->key, key)) {
            return pair;
        }
    }
    return NULL;
}

/* Trimmed value of @p key, NULL when absent or blank. */
static const char *field(apr_pool_t *p, const apr_array_header_t *pairs,
                         const char *key)
{
    const cs_pair_t *pair = find(pairs, key);
    char *v = pair ? cs_trim(p, pair->value) : NULL;
    return (v && *v) ? v : NULL;
}

/* Checks every pair is storable; repeated keys become arrays in the raw
 * document so nothing a form sent is lost. */
static apr_status_t build_raw(const char **pout, apr_pool_t *p,
                              const apr_array_header_t *pairs,
                              const char *skip, apr_array_header_t *errors)
{
    cs_json_t *raw = cs_json_object(p);
    json_object *obj = cs_json_raw(raw);
    int i;

    if (pairs->nelts > CS_INTAKE_MAX_FIELDS) {
        add_error(errors, "body", apr_psprintf(p, "has more than %d fields",
                                               CS_INTAKE_MAX_FIELDS));
        return APR_EINVAL;
    }
    for (i = 0; i < pairs->nelts; i++) {
        const cs_pair_t *pair = &APR_ARRAY_IDX(pairs, i, cs_pair_t);
        json_object *prev, *val;
        apr_size_t klen = strlen(pair->key);

        if (klen == 0 || klen > CS_INTAKE_MAX_KEY_LEN
            || !cs_text_is_clean(pair->key, klen)) {
            add_error(errors, "body", apr_psprintf(
                          p, "has a field name that is empty, longer than %d "
                          "characters or not plain text", CS_INTAKE_MAX_KEY_LEN));
            return APR_EINVAL;
        }
        if (pair->value_len > CS_INTAKE_MAX_VALUE_LEN) {
            add_error(errors, pair->key, apr_psprintf(
                          p, "is larger than %d bytes", CS_INTAKE_MAX_VALUE_LEN));
            return APR_EINVAL;
        }
        if (!cs_text_is_clean(pair->value, pair->value_len)) {
            add_error(errors, pair->key, "contains characters that are not text");
            return APR_EINVAL;
        }
        if (skip && !strcmp(pair->key, skip)) {
            continue;       /* the form token is a credential, not content */
        }
        val = json_object_new_string_len(pair->value, (int)pair->value_len);
        if (!json_object_object_get_ex(obj, pair->key, &prev)) {
            json_object_object_add(obj, pair->key, val);
        }
        else if (json_object_is_type(prev, json_type_array)) {
            json_object_array_add(prev, val);
        }
        else {
            json_object *arr = json_object_new_array();
            json_object_array_add(arr, json_object_get(prev));
            json_object_array_add(arr, val);
            json_object_object_add(obj, pair->key, arr);
        }
    }
    *pout = cs_json_dump(raw, p);
    return APR_SUCCESS;
}

apr_status_t cs_intake_build(cs_submission_t **pout, apr_pool_t *p,
                             const apr_array_header_t *pairs,
                             apr_array_header_t *errors)
{
    cs_intake_opts_t opts = { NULL, NULL, NULL };
    return cs_intake_build_ex(pout, p, pairs, &opts, errors);
}

apr_status_t cs_intake_build_ex(cs_submission_t **pout, apr_pool_t *p,
                                const apr_array_header_t *pairs,
                                const cs_intake_opts_t *opts,
                                apr_array_header_t *errors)
{
    cs_submission_t *sub = apr_pcalloc(p, sizeof(*sub));
    const char *email, *phone;
    apr_status_t rv;

    *pout = NULL;
    if (build_raw(&sub->fields_json, p, pairs, opts->token_field, errors)
        != APR_SUCCESS) {
        return APR_EINVAL;
    }
    sub->name = field(p, pairs, "name");
    sub->message = field(p, pairs, "message");
    sub->service = field(p, pairs, "service");
    sub->preferred_time = field(p, pairs, "preferred_time");
    sub->token = opts->token_field ? field(p, pairs, opts->token_field) : NULL;
    sub->honeypot_tripped = opts->honeypot && field(p, pairs, opts->honeypot) != NULL;
    email = field(p, pairs, "email");
    phone = field(p, pairs, "phone");

    if (sub->name && cs_utf8_chars(sub->name) > CS_INTAKE_MAX_NAME_LEN) {
        add_error(errors, "name", apr_psprintf(
                      p, "is longer than %d characters", CS_INTAKE_MAX_NAME_LEN));
    }
    if (!sub->message) {
        add_error(errors, "message", "is required");
    }
    else if (cs_utf8_chars(sub->message) > CS_INTAKE_MAX_MESSAGE_LEN) {
        add_error(errors, "message", apr_psprintf(
                      p, "is longer than %d characters", CS_INTAKE_MAX_MESSAGE_LEN));
    }
    if (sub->service && cs_utf8_chars(sub->service) > CS_INTAKE_MAX_NAME_LEN) {
        add_error(errors, "service", apr_psprintf(
                      p, "is longer than %d characters", CS_INTAKE_MAX_NAME_LEN));
    }
    if (sub->preferred_time
        && cs_utf8_chars(sub->preferred_time) > CS_INTAKE_MAX_NAME_LEN) {
        add_error(errors, "preferred_time", apr_psprintf(
                      p, "is longer than %d characters", CS_INTAKE_MAX_NAME_LEN));
    }
    if (email && cs_email_normalize(p, email, &sub->email) != APR_SUCCESS) {
        add_error(errors, "email", "is not a valid email address");
    }
    if (phone) {
        rv = opts->region ? cs_phone_e164(p, phone, opts->region, &sub->phone)
                          : cs_phone_normalize(p, phone, &sub->phone);
        if (rv != APR_SUCCESS) {
            add_error(errors, "phone", opts->region
                      ? "is not a valid phone number"
                      : "is not a valid phone number (7 to 15 digits)");
        }
    }
    if (!email && !phone) {
        add_error(errors, "email",
                  "is required unless a phone number is given, so we can reply");
    }
    if (errors->nelts) {
        return APR_EINVAL;
    }
    *pout = sub;
    return APR_SUCCESS;
}

const char *cs_field_errors_json(apr_pool_t *p, const apr_array_header_t *errors)
{
    cs_json_t *doc = cs_json_object(p), *list = cs_json_array(p);
    int i;

    for (i = 0; i < errors->nelts; i++) {
        const cs_field_error_t *e = &APR_ARRAY_IDX(errors, i, cs_field_error_t);
        cs_json_t *item = cs_json_object(p);
        cs_json_set_str(item, "field", e->field);
        cs_json_set_str(item, "message", e->message);
        cs_json_append(list, item);
        if (i == 0) {
            cs_json_set_str(doc, "error", "invalid_field");
            cs_json_set_str(doc, "field", e->field);
            cs_json_set_str(doc, "message",
                            apr_pstrcat(p, e->field, " ", e->message, NULL));
        }
    }
    cs_json_set_obj(doc, "errors", list);
    return cs_json_dump(doc, p);
}

static void set_opt(cs_json_t *o, const char *key, const char *val)
{
    if (val) {
        cs_json_set_str(o, key, val);
    }
}

const char *cs_intake_journal_json(apr_pool_t *p, const cs_submission_t *sub,
                                   const cs_intake_edge_t *edge)
{
    cs_json_t *o = cs_json_object(p), *fields = NULL, *reasons = cs_json_array(p);
    const char *err = NULL;
    int i;

    set_opt(o, "name", sub->name);
    set_opt(o, "email", sub->email);
    set_opt(o, "phone", sub->phone);
    set_opt(o, "message", sub->message);
    /* fields_json is our own dump of what was sent: it always parses. */
    if (sub->fields_json
        && cs_json_parse(&fields, p, sub->fields_json, strlen(sub->fields_json), &err)
           == APR_SUCCESS) {
        cs_json_set_obj(o, "fields", fields);
    }
    set_opt(o, "service", sub->service);
    set_opt(o, "preferred_time", sub->preferred_time);
    set_opt(o, "ip", edge->ip);
    set_opt(o, "user_agent", edge->user_agent);
    set_opt(o, "referer", edge->referer);
    set_opt(o, "key", edge->key);
    cs_json_set_bool(o, "spam", edge->spam && edge->spam->nelts > 0);
    if (edge->spam) {
        for (i = 0; i < edge->spam->nelts; i++) {
            json_object_array_add(cs_json_raw(reasons), json_object_new_string(
                APR_ARRAY_IDX(edge->spam, i, const char *)));
        }
    }
    cs_json_set_obj(o, "reasons", reasons);
    if (edge->files) {
        cs_json_set_int(o, "files", edge->files);
    }
    return cs_json_dump(o, p);
}
