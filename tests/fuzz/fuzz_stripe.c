/* cs_stripe: the Stripe-Signature check, event parsing and the readers of
 * PaymentIntent, Refund and error answers.
 *
 * Input: line 1 a presented Stripe-Signature header, the rest a raw body.
 * The header is checked against the body under two secrets (a rotation)
 * at a fixed time, and a header of our own over the same body must verify;
 * the body is also parsed as an event, and read as a PaymentIntent, a
 * Refund and an error answer, with an HTTP status picked by the input's
 * length. */
#include "fuzz_common.h"
#include "base/cs_crypto.h"
#include "providers/cs_stripe.h"

#include <stdio.h>

FUZZ_APR_INIT

#define NOW_S 1700000100

static void check_error(const cs_stripe_error_t *e, long status)
{
    if (!e->why || e->status != status) {
        abort();
    }
    /* A retry is never ruled out for Stripe's side or the rate (there is
     * no Stripe-Should-Retry here), and never offered for a card, a key or
     * a reused Idempotency-Key. */
    if ((status >= 500 || status == 429 || status == 409) && !e->retry) {
        abort();
    }
    if ((e->kind == CS_STRIPE_ERR_CARD || e->kind == CS_STRIPE_ERR_AUTH
         || e->kind == CS_STRIPE_ERR_IDEMPOTENCY || e->kind == CS_STRIPE_ERR_INVALID)
        && e->retry) {
        abort();
    }
    fuzz_touch_str(e->why);
    fuzz_touch_str(e->type);
    fuzz_touch_str(e->code);
    fuzz_touch_str(e->decline_code);
    fuzz_touch_str(e->message);
    fuzz_touch_str(e->param);
    fuzz_touch_str(e->payment_intent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = { 200, 201, 400, 402, 404, 409, 429, 500 };
    static const char *const secrets[] = { "whsec_fuzz_old", "whsec_fuzz" };
    apr_pool_t *p = fuzz_pool();
    const uint8_t *rest = data;
    size_t rest_len = size;
    const char *header = fuzz_take_line(p, &rest, &rest_len);
    char *body = fuzz_exact(rest, rest_len);
    long status = statuses[size % 8];
    cs_stripe_sig_t v;
    cs_stripe_event_t ev;
    cs_stripe_intent_t pi;
    cs_stripe_refund_t r;
    cs_stripe_error_t e;
    const char *why = NULL;
    apr_status_t rv;

    /* 1. the presented header */
    v = cs_stripe_verify_signature(p, header, body, rest_len, secrets, 2, 0,
                                   apr_time_from_sec(NOW_S));
    if (v < CS_STRIPE_SIG_OK || v > CS_STRIPE_SIG_NO_SECRET
        || (v == CS_STRIPE_SIG_OK && !strstr(header, "v1="))) {
        abort();
    }
    fuzz_touch_str(cs_stripe_sig_reason(v));

    /* 2. a header of our own over the same body verifies, and is stale
     *    301 s later */
    {
        unsigned char md[CS_SHA256_LEN];
        char hex[2 * CS_SHA256_LEN + 1], msg_head[32];
        char *msg;
        int n = snprintf(msg_head, sizeof(msg_head), "%d.", NOW_S);

        msg = malloc((size_t)n + rest_len + 1);
        if (!msg) {
            abort();
        }
        memcpy(msg, msg_head, (size_t)n);
        if (rest_len) {
            memcpy(msg + n, rest, rest_len);
        }
        if (cs_hmac_sha256(md, "whsec_fuzz", 10, msg, (size_t)n + rest_len) == APR_SUCCESS) {
            const char *good;

            cs_hex_encode(hex, md, sizeof(md));
            good = apr_psprintf(p, "t=%d,v1=%s,v0=%s", NOW_S, hex, hex);
            if (cs_stripe_verify_signature(p, good, body, rest_len, secrets, 2, 0,
                                           apr_time_from_sec(NOW_S)) != CS_STRIPE_SIG_OK
                || cs_stripe_verify_signature(p, good, body, rest_len, secrets, 2, 0,
                                              apr_time_from_sec(NOW_S + 301))
                   != CS_STRIPE_SIG_STALE
                || cs_stripe_verify_signature(p, good, body, rest_len, secrets, 1, 0,
                                              apr_time_from_sec(NOW_S))
                   != CS_STRIPE_SIG_NO_MATCH) {
                abort();
            }
        }
        free(msg);
    }

    /* 3. the body as an event */
    rv = cs_stripe_parse_event(p, body, rest_len, &ev, &why);
    if (rv == APR_SUCCESS) {
        if (!ev.id || !*ev.id || !ev.type || !*ev.type || why) {
            abort();
        }
        if (ev.kind != CS_STRIPE_EV_OTHER && (!ev.object_id || !*ev.object_id
                                              || !ev.payment_intent || !*ev.payment_intent
                                              || !ev.object_type)) {
            abort();
        }
    }
    else if (!why) {
        abort();
    }
    fuzz_touch_str(ev.id);
    fuzz_touch_str(ev.type);
    fuzz_touch_str(ev.object_id);
    fuzz_touch_str(ev.payment_intent);
    fuzz_touch_str(ev.charge);
    fuzz_touch_str(ev.order_id);
    fuzz_touch_str(ev.failure_code);
    fuzz_touch_str(ev.failure_message);
    fuzz_touch_str(why);

    /* 4. the body as answers */
    rv = cs_stripe_parse_intent(p, status, NULL, body, rest_len, &pi, &e);
    if ((rv == APR_SUCCESS) != (pi.id != NULL) || (rv == APR_SUCCESS && status / 100 != 2)) {
        abort();
    }
    if (rv == APR_SUCCESS) {
        if (!*pi.id || !pi.status || e.kind != CS_STRIPE_ERR_NONE) {
            abort();
        }
        fuzz_touch_str(pi.status);
        fuzz_touch_str(pi.currency);
        fuzz_touch_str(pi.client_secret);
        fuzz_touch_str(pi.order_id);
        fuzz_touch_str(pi.latest_charge);
        fuzz_touch_str(pi.error_message);
    }
    else {
        check_error(&e, status);
    }
    rv = cs_stripe_parse_refund(p, status, NULL, body, rest_len, &r, &e);
    if ((rv == APR_SUCCESS) != (r.id != NULL)) {
        abort();
    }
    if (rv != APR_SUCCESS) {
        check_error(&e, status);
    }
    fuzz_touch_str(r.payment_intent);
    fuzz_touch_str(r.order_id);
    cs_stripe_parse_error(p, status, NULL, body, rest_len, &e);
    check_error(&e, status);

    free(body);
    apr_pool_destroy(p);
    return 0;
}
