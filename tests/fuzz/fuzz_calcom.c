/* cs_calcom: the X-Cal-Signature-256 check, the booking payload reader and
 * the API's bookings list reader.
 *
 * Input: line 1 the presented signature, the rest the delivery body. The
 * rest is verified under a fixed secret (with line 1, and with its own
 * correct signature, which must pass) and parsed; the whole input is
 * parsed too, as a delivery and as a page of GET /v2/bookings. */
#include "fuzz_common.h"
#include "providers/cs_calcom.h"
#include "base/cs_crypto.h"

FUZZ_APR_INIT

#define SECRET "calcom-webhook-secret-7f3a"

/* Every string an event holds is readable to its end. */
static void touch(const cs_calcom_event_t *ev)
{
    fuzz_touch_str(ev->trigger_name);
    fuzz_touch_str(ev->uid);
    fuzz_touch_str(ev->reschedule_uid);
    fuzz_touch_str(ev->title);
    fuzz_touch_str(ev->event_type);
    fuzz_touch_str(ev->attendee_name);
    fuzz_touch_str(ev->attendee_email);
    fuzz_touch_str(ev->attendee_phone);
    fuzz_touch_str(ev->attendee_time_zone);
    fuzz_touch_str(ev->organizer_name);
    fuzz_touch_str(ev->organizer_email);
    fuzz_touch_str(ev->organizer_time_zone);
    fuzz_touch_str(ev->location);
    fuzz_touch_str(ev->video_url);
    fuzz_touch_str(ev->status);
    fuzz_touch_str(ev->notes);
    fuzz_touch_str(ev->cancellation_reason);
    fuzz_touch_str(ev->journal_id);
    fuzz_touch_str(ev->listed_json);
    fuzz_touch_str(cs_calcom_trigger_name(ev->trigger));
}

static void check_event(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *body = fuzz_exact(data, size);
    cs_calcom_event_t *ev = NULL;
    const char *why = NULL;
    apr_status_t rv = cs_calcom_parse_event(&ev, p, body, size, &why);

    /* an event exactly on success, a reason exactly on failure; a known
     * trigger always has its uid and journal id */
    if ((rv == APR_SUCCESS) != (ev != NULL) || (rv == APR_SUCCESS) == (why != NULL)
        || (rv != APR_SUCCESS && rv != APR_EINVAL)) {
        abort();
    }
    if (ev) {
        if (!ev->trigger_name || (ev->trigger != CS_CALCOM_OTHER && (!ev->uid || !ev->journal_id))
            || (ev->uid && !ev->journal_id)
            || (ev->journal_id && strncmp(ev->journal_id, ev->uid, strlen(ev->uid)))) {
            abort();
        }
        touch(ev);
    }
    fuzz_touch_str(why);
    free(body);
}

/* A page: events only on success, each a booking trigger with the uid its
 * journal id starts with; never more than two per booking. */
static void check_page(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *body = fuzz_exact(data, size);
    cs_calcom_page_t *pg = NULL;
    const char *why = NULL;
    apr_status_t rv = cs_calcom_parse_bookings(&pg, p, 200, body, size, 2, &why);
    int i;

    if ((rv == APR_SUCCESS) != (pg != NULL) || (rv == APR_SUCCESS) == (why != NULL)
        || (rv != APR_SUCCESS && rv != APR_EGENERAL)) {
        abort();
    }
    if (pg) {
        if (pg->unreadable > pg->listed || pg->events->nelts > 2 * pg->listed) {
            abort();
        }
        for (i = 0; i < pg->events->nelts; i++) {
            const cs_calcom_event_t *ev = APR_ARRAY_IDX(pg->events, i, const cs_calcom_event_t *);
            if (ev->trigger == CS_CALCOM_OTHER || ev->trigger == CS_CALCOM_MEETING_ENDED
                || !ev->uid || !ev->journal_id || !ev->listed_json || !ev->start || !ev->end
                || strncmp(ev->journal_id, ev->uid, strlen(ev->uid))) {
                abort();
            }
            touch(ev);
        }
    }
    fuzz_touch_str(why);
    /* any other status is a refusal with a reason */
    pg = NULL;
    rv = cs_calcom_parse_bookings(&pg, p, 503, body, size, 2, &why);
    if (rv != APR_EAGAIN || pg || !why) {
        abort();
    }
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const uint8_t *rest = data;
    size_t rest_len = size;
    const char *sig = fuzz_take_line(p, &rest, &rest_len);
    char *body = fuzz_exact(rest, rest_len);
    unsigned char md[CS_SHA256_LEN];
    char hex[2 * CS_SHA256_LEN + 1];
    const char *why = NULL;
    apr_status_t rv;

    rv = cs_calcom_verify(sig, body, rest_len, SECRET, &why);
    if ((rv == APR_SUCCESS) == (why != NULL) || (rv != APR_SUCCESS && rv != APR_EACCES)) {
        abort();
    }
    /* the body's own signature always verifies, and never without a secret */
    if (cs_hmac_sha256(md, SECRET, sizeof(SECRET) - 1, body, rest_len) != APR_SUCCESS) {
        abort();
    }
    cs_hex_encode(hex, md, sizeof(md));
    if (cs_calcom_verify(hex, body, rest_len, SECRET, NULL) != APR_SUCCESS
        || cs_calcom_verify(hex, body, rest_len, "", NULL) != APR_EACCES) {
        abort();
    }
    free(body);
    check_event(p, rest, rest_len);
    check_event(p, data, size);
    check_page(p, data, size);
    apr_pool_destroy(p);
    return 0;
}
