/* Cal.com booking webhooks (see cs_calcom.h): the signature check and the
 * payload reader. Field names and where the phone can hide follow Cal.com's
 * own code (packages/features/webhooks/lib/sendPayload.ts, handleNewBooking)
 * and its webhook docs. */
#include "providers/cs_calcom.h"
#include "text/cs_time.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <string.h>

#define MAX_UID 128

static const struct {
    const char *name;
    cs_calcom_trigger_t t;
} triggers[] = {
    { "BOOKING_CREATED", CS_CALCOM_BOOKING_CREATED },
    { "BOOKING_RESCHEDULED", CS_CALCOM_BOOKING_RESCHEDULED },
    { "BOOKING_CANCELLED", CS_CALCOM_BOOKING_CANCELLED },
    { "BOOKING_REQUESTED", CS_CALCOM_BOOKING_REQUESTED },
    { "MEETING_ENDED", CS_CALCOM_MEETING_ENDED },
};

const char *cs_calcom_trigger_name(cs_calcom_trigger_t t)
{
    apr_size_t i;

    for (i = 0; i < sizeof(triggers) / sizeof(triggers[0]); i++) {
        if (triggers[i].t == t) {
            return triggers[i].name;
        }
    }
    return "OTHER";
}

apr_status_t cs_calcom_verify(const char *header, const char *body, apr_size_t len,
                              const char *secret, const char **pwhy)
{
    unsigned char want[CS_SHA256_LEN], got[CS_SHA256_LEN];
    const char *why = NULL;

    if (!secret || !*secret) {
        why = "no Cal.com webhook secret is configured";
    }
    else if (!header || !*header) {
        why = "the delivery carries no " CS_CALCOM_SIGNATURE_HEADER;
    }
    else if (!strcmp(header, "no-secret-provided")) {
        /* Cal.com's literal when the webhook has no secret on its side. */
        why = "the webhook has no secret on Cal.com's side (no-secret-provided)";
    }
    else if (cs_hex_decode(got, sizeof(got), header, strlen(header)) != APR_SUCCESS) {
        why = "the " CS_CALCOM_SIGNATURE_HEADER " value is not a hex SHA-256";
    }
    else if (cs_hmac_sha256(want, secret, strlen(secret), body, body ? len : 0)
             != APR_SUCCESS) {
        why = "the signature could not be computed";
    }
    else if (!cs_ct_equal(want, got, sizeof(want))) {
        why = "the signature does not match";
    }
    if (pwhy) {
        *pwhy = why;
    }
    return why ? APR_EACCES : APR_SUCCESS;
}

/* ---- ISO 8601 ------------------------------------------------------------ */


/* ---- the payload ------------------------------------------------------- */

/* A non-empty string member, copied into @p p; else NULL. */
static const char *str(apr_pool_t *p, json_object *o, const char *key)
{
    const char *s = cs_jstr(o, key);

    return s && *s ? apr_pstrdup(p, s) : NULL;
}

/* A booking field answer: Cal.com sends responses as {label, value} (and
 * older payloads, or a template, the bare value); a value may itself be an
 * object ({value, optionValue} for a location). The string, or NULL. */
static const char *response(apr_pool_t *p, json_object *responses, const char *key)
{
    json_object *r = NULL, *v;

    if (!json_object_object_get_ex(responses, key, &r) || !r) {
        return NULL;
    }
    if (json_object_is_type(r, json_type_string)) {
        const char *s = json_object_get_string(r);
        return *s ? apr_pstrdup(p, s) : NULL;
    }
    if (!json_object_is_type(r, json_type_object)
        || !json_object_object_get_ex(r, "value", &v) || !v) {
        return NULL;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        return *s ? apr_pstrdup(p, s) : NULL;
    }
    return str(p, v, "optionValue");     /* a phone-call location */
}

static int uid_ok(const char *s)
{
    apr_size_t n = s ? strlen(s) : 0;

    return n >= 1 && n <= MAX_UID
           && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* Member @p key as a time into *pt: absent is fine (0), junk is not. */
static int time_of(json_object *o, const char *key, apr_time_t *pt)
{
    const char *s = cs_jstr(o, key);
    json_object *v = NULL;

    *pt = 0;
    if (!s) {
        /* absent or null is fine; another type is not */
        return !json_object_object_get_ex(o, key, &v) || !v;
    }
    return cs_time_parse_iso8601(pt, s) == APR_SUCCESS;
}

/* "<uid>:<triggerEvent>[:<rescheduleUid>]": the webhook's and the list's
 * events share it, so whichever comes second is a duplicate. */
static const char *journal_id(apr_pool_t *p, const cs_calcom_event_t *ev)
{
    int moved = ev->trigger == CS_CALCOM_BOOKING_RESCHEDULED && ev->reschedule_uid;

    return apr_pstrcat(p, ev->uid, ":", ev->trigger_name, moved ? ":" : "",
                       moved ? ev->reschedule_uid : "", NULL);
}

static int is_booking(cs_calcom_trigger_t t)
{
    return t == CS_CALCOM_BOOKING_CREATED || t == CS_CALCOM_BOOKING_RESCHEDULED
           || t == CS_CALCOM_BOOKING_REQUESTED;
}

apr_status_t cs_calcom_parse_event(cs_calcom_event_t **pout, apr_pool_t *p,
                                   const char *body, apr_size_t len, const char **pwhy)
{
    cs_json_t *doc = NULL;
    json_object *root, *pl, *att, *org, *resp;
    cs_calcom_event_t *ev;
    const char *trig, *err = NULL, *why = NULL;
    apr_size_t i;

    *pout = NULL;
    if (!body || cs_json_parse(&doc, p, body, len, &err) != APR_SUCCESS) {
        why = "the delivery is not JSON (a custom payload template?)";
        goto leave;
    }
    root = cs_json_raw(doc);
    trig = cs_jstr(root, "triggerEvent");
    pl = cs_jobj(root, "payload");
    if (!trig || !*trig || !pl) {
        why = "the delivery has no triggerEvent or no payload object";
        goto leave;
    }
    ev = apr_pcalloc(p, sizeof(*ev));
    ev->trigger_name = apr_pstrdup(p, trig);
    for (i = 0; i < sizeof(triggers) / sizeof(triggers[0]); i++) {
        if (!strcmp(trig, triggers[i].name)) {
            ev->trigger = triggers[i].t;
        }
    }
    if (!time_of(root, "createdAt", &ev->created_at) || !time_of(pl, "startTime", &ev->start)
        || !time_of(pl, "endTime", &ev->end)
        || !time_of(pl, "rescheduleStartTime", &ev->previous_start)) {
        why = "a time in the delivery is not an ISO 8601 timestamp";
        goto leave;
    }
    ev->uid = str(p, pl, "uid");
    ev->reschedule_uid = str(p, pl, "rescheduleUid");
    if ((ev->uid && !uid_ok(ev->uid)) || (ev->reschedule_uid && !uid_ok(ev->reschedule_uid))) {
        why = "the booking uid is not one we can store";
        goto leave;
    }
    if (ev->trigger != CS_CALCOM_OTHER && !ev->uid) {
        why = "the booking has no uid";
        goto leave;
    }
    if (is_booking(ev->trigger) && (!ev->start || !ev->end)) {
        why = "the booking has no startTime or endTime";
        goto leave;
    }
    if (!cs_jint(pl, "bookingId", &ev->booking_id)) {
        ev->booking_id = 0;     /* absent, or out of range */
    }
    ev->title = str(p, pl, "title");
    ev->event_type = str(p, pl, "type");
    ev->location = str(p, pl, "location");
    ev->video_url = str(p, cs_jobj(pl, "metadata"), "videoCallUrl");
    ev->status = str(p, pl, "status");
    ev->notes = str(p, pl, "additionalNotes");
    if (!ev->notes) {
        ev->notes = str(p, pl, "description");
    }
    ev->cancellation_reason = str(p, pl, "cancellationReason");

    /* The booker is the first attendee; guests follow. */
    att = cs_jat(cs_jarr(pl, "attendees"), 0);
    resp = cs_jobj(pl, "responses");
    ev->attendee_name = str(p, att, "name");
    ev->attendee_email = str(p, att, "email");
    ev->attendee_time_zone = str(p, att, "timeZone");
    ev->attendee_phone = str(p, att, "phoneNumber");
    if (!ev->attendee_name) {
        ev->attendee_name = response(p, resp, "name");
    }
    if (!ev->attendee_email) {
        ev->attendee_email = response(p, resp, "email");
    }
    if (!ev->attendee_phone) {
        ev->attendee_phone = response(p, resp, "attendeePhoneNumber");
    }
    if (!ev->attendee_phone) {
        ev->attendee_phone = response(p, resp, "phone");
    }
    if (!ev->attendee_phone) {
        ev->attendee_phone = str(p, pl, "smsReminderNumber");
    }
    org = cs_jobj(pl, "organizer");
    ev->organizer_name = str(p, org, "name");
    ev->organizer_email = str(p, org, "email");
    ev->organizer_time_zone = str(p, org, "timeZone");

    if (ev->uid) {
        ev->journal_id = journal_id(p, ev);
    }
    *pout = ev;
leave:
    if (pwhy) {
        *pwhy = why;
    }
    return why ? APR_EINVAL : APR_SUCCESS;
}

/* ---- API v2: the bookings list ------------------------------------------ */

void cs_calcom_build_list_bookings(cs_http_req_t *req, apr_pool_t *p,
                                   const cs_calcom_account_t *a, apr_time_t updated_after,
                                   int take, int skip)
{
    apr_array_header_t *hdrs = apr_array_make(p, 1, sizeof(const char *));
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, updated_after);
    APR_ARRAY_PUSH(hdrs, const char *) = "cal-api-version: " CS_CALCOM_API_VERSION;
    memset(req, 0, sizeof(*req));
    req->method = "GET";
    req->url = apr_psprintf(p, "%s/v2/bookings?afterUpdatedAt=%04d-%02d-%02dT%02d:%02d:%02dZ"
                            "&sortCreated=asc&take=%d&skip=%d",
                            a->api_base && *a->api_base ? a->api_base : CS_CALCOM_API_BASE,
                            x.tm_year + 1900, x.tm_mon + 1, x.tm_mday, x.tm_hour, x.tm_min,
                            x.tm_sec, take, skip);
    req->bearer = a->api_key;
    req->headers = hdrs;
    req->timeout = a->timeout;
}

/* One listed booking as the event of @p trigger (its fields as a
 * delivery's would be), appended to @p out. */
static void add_event(apr_array_header_t *out, apr_pool_t *p, const cs_calcom_event_t *base,
                      cs_calcom_trigger_t trigger)
{
    cs_calcom_event_t *ev = apr_pmemdup(p, base, sizeof(*base));

    ev->trigger = trigger;
    ev->trigger_name = cs_calcom_trigger_name(trigger);
    if (trigger != CS_CALCOM_BOOKING_RESCHEDULED) {
        ev->reschedule_uid = NULL;
    }
    ev->journal_id = journal_id(p, ev);
    APR_ARRAY_PUSH(out, cs_calcom_event_t *) = ev;
}

/* Booking @p b of the list into 0 to 2 events (see cs_calcom_page_t);
 * 0 when it cannot be read. */
static int read_booking(apr_array_header_t *out, apr_pool_t *p, json_object *b)
{
    cs_calcom_event_t ev;
    json_object *att = cs_jat(cs_jarr(b, "attendees"), 0), *host = cs_jat(cs_jarr(b, "hosts"), 0);
    json_object *resp = cs_jobj(b, "bookingFieldsResponses");
    const char *status = cs_jstr(b, "status"), *moved_to = cs_jstr(b, "rescheduledToUid");

    memset(&ev, 0, sizeof(ev));
    ev.uid = str(p, b, "uid");
    ev.reschedule_uid = str(p, b, "rescheduledFromUid");
    if (!ev.uid || !uid_ok(ev.uid) || (ev.reschedule_uid && !uid_ok(ev.reschedule_uid))
        || !status || !time_of(b, "start", &ev.start) || !time_of(b, "end", &ev.end)
        || !ev.start || !ev.end || !time_of(b, "createdAt", &ev.created_at)) {
        return 0;
    }
    if (!cs_jint(b, "id", &ev.booking_id)) {
        ev.booking_id = 0;
    }
    ev.status = apr_pstrdup(p, status);
    ev.title = str(p, b, "title");
    ev.event_type = str(p, cs_jobj(b, "eventType"), "slug");
    ev.location = str(p, b, "location");
    ev.video_url = str(p, b, "meetingUrl");
    ev.notes = str(p, b, "description");
    ev.cancellation_reason = str(p, b, "cancellationReason");
    ev.attendee_name = str(p, att, "name");
    ev.attendee_email = str(p, att, "email");
    ev.attendee_time_zone = str(p, att, "timeZone");
    ev.attendee_phone = str(p, att, "phoneNumber");
    if (!ev.attendee_phone) {
        ev.attendee_phone = response(p, resp, "attendeePhoneNumber");
    }
    if (!ev.attendee_phone) {
        ev.attendee_phone = response(p, resp, "phone");
    }
    ev.organizer_name = str(p, host, "name");
    ev.organizer_email = str(p, host, "email");
    ev.organizer_time_zone = str(p, host, "timeZone");
    ev.listed_json = apr_pstrdup(p, json_object_to_json_string_ext(
        b, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

    if (!strcmp(status, "accepted")) {
        add_event(out, p, &ev, ev.reschedule_uid ? CS_CALCOM_BOOKING_RESCHEDULED
                                                 : CS_CALCOM_BOOKING_CREATED);
    }
    else if (!strcmp(status, "pending")) {
        add_event(out, p, &ev, CS_CALCOM_BOOKING_REQUESTED);
    }
    else if (!strcmp(status, "cancelled")) {
        if (moved_to && *moved_to) {
            return 1;           /* moved: the new booking tells it */
        }
        if (ev.reschedule_uid) {
            add_event(out, p, &ev, CS_CALCOM_BOOKING_RESCHEDULED);
        }
        add_event(out, p, &ev, CS_CALCOM_BOOKING_CANCELLED);
    }
    else if (strcmp(status, "rejected")) {
        return 0;               /* a status we do not know */
    }
    return 1;
}

apr_status_t cs_calcom_parse_bookings(cs_calcom_page_t **pout, apr_pool_t *p, long status,
                                      const char *body, apr_size_t len, int take,
                                      const char **pwhy)
{
    cs_json_t *doc = NULL;
    json_object *root = NULL, *data, *pag;
    cs_calcom_page_t *page;
    const char *err = NULL, *why = NULL, *msg;
    apr_status_t rv = APR_SUCCESS;
    apr_size_t i, n;

    *pout = NULL;
    if (body && cs_json_parse(&doc, p, body, len, &err) == APR_SUCCESS) {
        root = cs_json_raw(doc);
    }
    if (status / 100 != 2) {
        /* {"status": "error", "error": {"code", "message"}} */
        msg = cs_jstr(cs_jobj(root, "error"), "message");
        why = apr_psprintf(p, "Cal.com bookings %ld: %s", status, msg ? msg : "no details");
        rv = status == 401 || status == 403 ? APR_EACCES
             : status == 429 || status / 100 == 5 || status == 408 ? APR_EAGAIN : APR_EINVAL;
        goto leave;
    }
    data = cs_jarr(root, "data");
    msg = cs_jstr(root, "status");
    if (!data || !msg || strcmp(msg, "success")) {
        why = "Cal.com bookings: the answer is not {\"status\": \"success\", \"data\": [...]}";
        rv = APR_EGENERAL;
        goto leave;
    }
    page = apr_pcalloc(p, sizeof(*page));
    page->events = apr_array_make(p, 16, sizeof(cs_calcom_event_t *));
    n = cs_jlen(data);
    page->listed = (int)n;
    for (i = 0; i < n; i++) {
        page->unreadable += !read_booking(page->events, p, cs_jat(data, i));
    }
    /* pagination.hasNextPage when Cal.com says; else a full page may have
     * more behind it */
    pag = cs_jobj(root, "pagination");
    page->more = cs_jbool(pag, "hasNextPage", take > 0 && (int)n >= take);
    *pout = page;
leave:
    if (pwhy) {
        *pwhy = why;
    }
    return rv;
}
