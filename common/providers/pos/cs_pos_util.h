/**
 * @file cs_pos_util.h
 * @brief Internal to providers/pos: what the Square, Clover and Toast
 * adapters share, so each does these things one way. Strict JSON member
 * access, reading an answer's root, building and sending requests (one
 * page at a time in a scratch pool), the steps every menu build ends with,
 * order-body members, webhook headers and signatures, timestamps.
 * Nothing here knows a provider: names and messages come from the caller.
 * Modules use cs_pos.h only.
 */
#ifndef CS_POS_UTIL_H
#define CS_POS_UTIL_H

#include "providers/pos/cs_pos_parse.h"
#include "base/cs_json.h"

/** Set *perr (allocated in the pool @c p in scope) and return @p rvv. */
#define CS_POS_FAIL(rvv, ...) \
    do { *perr = apr_psprintf(p, __VA_ARGS__); return (rvv); } while (0)

/** Longest object, order or merchant id Square and Clover send that we
 * take. */
#define CS_POS_MAX_ID 200

/* ---- strict member access ---------------------------------------------------
 * Unlike base/cs_json.h's getters, these tell a missing member from a
 * broken one: 0 absent or null, 1 present with the type (*pout set),
 * -1 present with another type (a broken answer, refused by the caller). */

/** Member @p key of object @p o whatever its type; NULL when @p o is not
 * an object or the member is absent or null. */
json_object *cs_pos_member(json_object *o, const char *key);
int cs_pos_get(json_object *o, const char *key, json_type t, json_object **pv);
/** *pout NULL unless 1. */
int cs_pos_get_str(json_object *o, const char *key, const char **pout);
/** *pout untouched unless 1 (callers preset their default). */
int cs_pos_get_int(json_object *o, const char *key, apr_int64_t *pout);
int cs_pos_get_bool(json_object *o, const char *key, int *pout);

/** 1 when array @p arr holds the string @p s. */
int cs_pos_jarr_has(json_object *arr, const char *s);

/** @p s when it is a non-empty string, else NULL. */
const char *cs_pos_nonempty(const char *s);
/** 1 when both are strings and equal. */
int cs_pos_streq(const char *a, const char *b);

/** @p o's string member "id", required, 1 to CS_POS_MAX_ID characters,
 * copied into @p p; else APR_EINVAL "NAME sent WHAT without a usable id". */
apr_status_t cs_pos_object_id(const char **pid, json_object *o, const char *name,
                              const char *what, apr_pool_t *p, const char **perr);

/* ---- answers ------------------------------------------------------------------ */

/** For cs_pos_json_root: a root of any type. */
#define CS_POS_JSON_ANY json_type_null

/**
 * Parse @p body (NULL is refused) in @p p, its root of type @p want
 * (CS_POS_JSON_ANY: any). APR_EINVAL otherwise, *pwhy json-c's reason, or
 * NULL when there was no body or the root has another type: the caller
 * words the refusal.
 */
apr_status_t cs_pos_json_root(json_object **proot, apr_pool_t *p, const char *body,
                              apr_size_t len, json_type want, const char **pwhy);

/** A result for order @p id (copied) in state @p status. */
cs_pos_order_result_t *cs_pos_order_result(apr_pool_t *p, const char *id,
                                           const char *status);

/* ---- requests ------------------------------------------------------------------ */

/** Percent-encode everything but RFC 3986's unreserved characters
 * (uppercase hex, a space is %20): path segments and query values. */
const char *cs_pos_urlenc(apr_pool_t *p, const char *s);

/** s->conf->api_base when one is configured, else @p dflt. */
const char *cs_pos_api_base(const cs_pos_session_t *s, const char *dflt);

/** A session set up for a static bearer token: APR_EINVAL "NAME is not
 * configured" without settings, APR_EACCES "no NAME TOKEN is configured"
 * without an access token, APR_EINVAL "no NAME LOCATION is configured"
 * without a location. */
apr_status_t cs_pos_require_token(const cs_pos_session_t *s, const char *name,
                                  const char *token, const char *location,
                                  apr_pool_t *p, const char **perr);

/** A request to a JSON API: @p header (a "Name: value" line, or NULL)
 * then Accept: application/json; @p body (or NULL) sent as
 * application/json. The caller adds bearer and limits. */
cs_http_req_t cs_pos_json_request(apr_pool_t *p, const char *method, const char *url,
                                  const char *header, const char *body);

/** How an adapter sends: cs_pos_send, or its own wrapper of it. */
typedef apr_status_t (*cs_pos_call_fn)(cs_http_resp_t **presp, cs_pos_session_t *s,
                                       const cs_http_req_t *req, apr_pool_t *p,
                                       const char **perr);

/** Reads one answer into @p ctx (a catalog being built); what it keeps
 * it copies, the body is gone once it returns. */
typedef apr_status_t (*cs_pos_read_fn)(void *ctx, const char *body, apr_size_t len,
                                       const char **perr);

/**
 * Send @p req with @p call (NULL: cs_pos_send) and hand a 2xx answer to
 * @p read, the answer held in a scratch pool below @p p that is gone when
 * this returns: how the adapters read catalogs page by page without
 * keeping every page. A failure's *perr is copied into @p p.
 */
apr_status_t cs_pos_send_scratch(cs_pos_session_t *s, const cs_http_req_t *req,
                                 cs_pos_call_fn call, cs_pos_read_fn read, void *ctx,
                                 apr_pool_t *p, const char **perr);

/** Reads an order answer (cs_pos_square_parse_order and its kin). */
typedef apr_status_t (*cs_pos_order_fn)(cs_pos_order_result_t **pout, const char *body,
                                        apr_size_t len, apr_pool_t *p, const char **perr);

/** Send @p req with @p call (NULL: cs_pos_send) and read the order it
 * answers with @p parse. */
apr_status_t cs_pos_order_call(cs_pos_order_result_t **pout, cs_pos_session_t *s,
                               const cs_http_req_t *req, cs_pos_call_fn call,
                               cs_pos_order_fn parse, apr_pool_t *p, const char **perr);

/* ---- building a menu ------------------------------------------------------------ */

/** A group's bounds made consistent with the @p n choices it offers: at
 * most @p n required, max 0 ("any") only when none is required, max not
 * below min. */
void cs_pos_group_bounds(int *pmin, int *pmax, int n);

/** Append @p id to @p ids (of const char *) unless it is there. */
void cs_pos_push_unique(apr_array_header_t *ids, const char *id);

/** Append a cs_menu_stock_t; @p until counts only when sold out. */
void cs_pos_push_stock(apr_array_header_t *stock, const char *id, int sold_out,
                       apr_time_t until);

/** Add the category CS_POS_NO_CATEGORY ("Other") at @p sort. */
void cs_pos_add_other_category(cs_menu_t *m, int sort);

/** Validate @p m and hand it out: APR_EINVAL "the NAME menu is not
 * usable: ..." when cs_menu_validate refuses it. */
apr_status_t cs_pos_menu_done(cs_menu_t **pout, cs_menu_t *m, const char *name,
                              apr_pool_t *p, const char **perr);

/* ---- order bodies (json-c objects the root of a cs_json_t owns) ---------------- */

/** Member @p key = @p v (NULL: ""). */
void cs_pos_jput_str(json_object *o, const char *key, const char *v);
/** Member @p key = @p v, only when @p v is a non-empty string. */
void cs_pos_jput_opt(json_object *o, const char *key, const char *v);
/** A new object {"KEY": id}: a reference to a POS entity. */
json_object *cs_pos_jref(const char *key, const char *id);

/* ---- webhooks, signatures and time ---------------------------------------------- */

/** Request header @p name of a delivery, or NULL. */
const char *cs_pos_webhook_header(const cs_pos_webhook_t *w, const char *name);
/** The delivery's body length (0 without a body). */
apr_size_t cs_pos_webhook_len(const cs_pos_webhook_t *w);

/** Base64 HMAC-SHA256 under @p key of @p a followed by @p b (either may
 * be empty), or NULL without a key or when the HMAC failed. */
const char *cs_pos_hmac_b64(apr_pool_t *p, const char *key, const char *a, apr_size_t alen,
                            const char *b, apr_size_t blen);

/* Timestamps: text/cs_time.h (cs_time_parse_iso8601). */
#include "text/cs_time.h"

#endif
