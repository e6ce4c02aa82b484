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
        ev->journal_id = apr_pstrcat(p, ev->uid, ":", ev->trigger_name,
                                     ev->trigger == CS_CALCOM_BOOKING_RESCHEDULED
                                         && ev->reschedule_uid ? ":" : "",
                                     ev->trigger == CS_CALCOM_BOOKING_RESCHEDULED
                                         && ev->reschedule_uid ? ev->reschedule_uid : "",
                                     NULL);
    }
    *pout = ev;
leave:
    if (pwhy) {
        *pwhy = why;
    }
    return why ? APR_EINVAL : APR_SUCCESS;
}
