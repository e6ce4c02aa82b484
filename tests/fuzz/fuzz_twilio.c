/* cs_twilio: webhook signature checks over parameters decoded from the
 * input, opt-out keywords, segment counting and the Messages.json answer.
 *
 * Input: line 1 the URL Twilio requested, line 2 the presented
 * X-Twilio-Signature, the rest either a urlencoded form body (decoded into
 * parameters) or, when it starts with '{', a JSON body. The whole input is
 * also an SMS body, a Messages.json answer and a Messages.json list page
 * (searched for the first line as a message body); the rest is also decoded
 * as a journaled webhook body (cs_twilio_parse_form) and turned into event
 * ids (line 2 as our message id). */
#include "fuzz_common.h"
#include "providers/cs_twilio.h"

FUZZ_APR_INIT

#define TOKEN "12345"

static apr_array_header_t *params_from_form(apr_pool_t *p, const char *s,
                                            size_t n)
{
    apr_array_header_t *a = apr_array_make(p, 8, sizeof(cs_pair_t));
    size_t i = 0;

    while (i < n && a->nelts < 64) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - s) : n;
        const char *eq = memchr(s + i, '=', end - i);
        cs_pair_t *prm = apr_array_push(a);

        if (eq) {
            prm->key = fuzz_urldecode(p, s + i, (size_t)(eq - (s + i)), NULL);
            prm->value = fuzz_urldecode(p, eq + 1, end - (size_t)(eq + 1 - s),
                                        NULL);
        }
        else {
            prm->key = fuzz_urldecode(p, s + i, end - i, NULL);
            prm->value = (i % 2) ? NULL : "";
        }
        i = end + 1;
    }
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *whole = fuzz_cstr(p, data, size);
    char *raw = fuzz_exact(data, size);
    const uint8_t *rest = data;
    size_t rest_len = size;
    const char *url = fuzz_take_line(p, &rest, &rest_len);
    const char *sig = fuzz_take_line(p, &rest, &rest_len);
    const char *enc = NULL, *sid = NULL, *status = NULL, *msg = NULL;
    int chars = -1, code = -1, segs;

    if (rest_len && rest[0] == '{') {
        char *body = fuzz_exact(rest, rest_len);
        (void)cs_twilio_verify(p, TOKEN, url, NULL, body, rest_len, sig);
        free(body);
    }
    else {
        apr_array_header_t *params =
            params_from_form(p, (const char *)rest, rest_len);
        const char *good;

        (void)cs_twilio_verify(p, TOKEN, url, params, NULL, 0, sig);
        fuzz_touch_str(cs_twilio_signing_string(p, url, params));
        /* our own signature over the same request must verify */
        good = cs_twilio_signature(p, TOKEN, url, params);
        if (*url && good && !cs_twilio_verify(p, TOKEN, url, params, NULL, 0, good)) {
            abort();
        }
        /* params and body together is a caller error */
        if (cs_twilio_verify(p, TOKEN, url, params, "{}", 2, sig)) {
            abort();
        }
    }

    (void)cs_sms_keyword(whole);
    (void)cs_sms_keyword(sig);
    segs = cs_sms_segments(whole, &enc, &chars);
    if (segs < 0 || !enc || chars < 0 || (segs == 0 && *whole)) {
        abort();
    }
    fuzz_touch_str(cs_twiml_message(p, whole));

    if (cs_twilio_parse_message_response(p, raw, size, &sid, &status, &code,
                                         &msg) == APR_SUCCESS) {
        if (!sid || !*sid) {
            abort();
        }
    }
    fuzz_touch_str(sid);
    fuzz_touch_str(status);
    fuzz_touch_str(msg);
    /* The whole input as a GET Messages.json page, looking for our text;
     * a SID found is never one said to be taken, and with a rival nothing
     * is ever adopted. */
    {
        const char *found = NULL;
        apr_array_header_t *matches = NULL;
        cs_twilio_list_t m = cs_twilio_list_matches(p, raw, size, url, 0, &matches);
        cs_twilio_list_t r = cs_twilio_find_in_list(p, raw, size, url, 0, NULL, 0, &found);
        if ((r == CS_TWILIO_LIST_FOUND) != (found != NULL)
            || (r == CS_TWILIO_LIST_FOUND && !*found)
            || (m == CS_TWILIO_LIST_UNREADABLE) != (r == CS_TWILIO_LIST_UNREADABLE)
            || (m == CS_TWILIO_LIST_NONE && r != CS_TWILIO_LIST_NONE)) {
            abort();
        }
        if (r == CS_TWILIO_LIST_FOUND) {
            if (cs_twilio_find_in_list(p, raw, size, url, 0, NULL, 1, &found)
                    != CS_TWILIO_LIST_UNSURE || found) {
                abort();
            }
            if (matches->nelts == 1) {
                if (cs_twilio_find_in_list(p, raw, size, url, 0, matches, 0, &found)
                        != CS_TWILIO_LIST_NONE) {
                    abort();
                }
            }
        }
    }
    /* The rest as a journaled webhook body: decoded by the one parser the
     * handler and the job share; every event id made from it reads back
     * as its kind. */
    {
        apr_array_header_t *fields = NULL;
        if (cs_twilio_parse_form(p, (const char *)rest, rest_len, 200, &fields) == APR_SUCCESS) {
            cs_twilio_event_t k;
            (void)cs_twilio_verify(p, TOKEN, url, fields, NULL, 0, sig);
            for (k = CS_TWILIO_EV_SMS; k <= CS_TWILIO_EV_STATUS; k++) {
                const char *id = cs_twilio_event_id(p, k, fields, sig), *ref = NULL;
                if (id && (cs_twilio_event_parse(p, id, &ref) != k || !ref || !*ref
                           || strlen(id) > 300)) {
                    abort();
                }
            }
            fuzz_touch_str(cs_twilio_delivery_status(cs_twilio_param(fields, "MessageStatus")));
        }
        else if (fields) {
            abort();
        }
    }
    free(raw);
    apr_pool_destroy(p);
    return 0;
}
