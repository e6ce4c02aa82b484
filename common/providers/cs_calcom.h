/**
 * @file cs_calcom.h
 * @brief Cal.com, in the provider shape: booking webhooks (the signature
 * check and the payload reader) and, for the daily reconciliation, the API
 * v2 bookings list (the request built here, each page read here into the
 * same event type), all without the network; the module owns the handler,
 * the journal and the calls.
 *
 * A delivery is `{"triggerEvent", "createdAt", "payload"}` as JSON, signed
 * in X-Cal-Signature-256 with the lowercase hex HMAC-SHA256 of the exact
 * body under the webhook's secret (Cal.com's sendPayload.ts). Verify the
 * raw bytes before parsing; never re-serialise.
 */
#ifndef CS_CALCOM_H
#define CS_CALCOM_H

#include <apr_pools.h>
#include <apr_time.h>
#include <apr_errno.h>
#include <apr_tables.h>

#include "http/cs_http.h"

/** The header Cal.com signs with. */
#define CS_CALCOM_SIGNATURE_HEADER "X-Cal-Signature-256"

/** The triggers we act on; every other one (PING, BOOKING_PAID,
 * MEETING_STARTED, FORM_SUBMITTED, ...) is CS_CALCOM_OTHER. */
typedef enum {
    CS_CALCOM_OTHER = 0,
    CS_CALCOM_BOOKING_CREATED,
    CS_CALCOM_BOOKING_RESCHEDULED,
    CS_CALCOM_BOOKING_CANCELLED,
    CS_CALCOM_BOOKING_REQUESTED,     /**< needs the organizer's confirmation */
    CS_CALCOM_MEETING_ENDED
} cs_calcom_trigger_t;

/** One delivery, read. Strings live in the parse pool; absent ones are
 * NULL, absent times 0. */
typedef struct {
    cs_calcom_trigger_t trigger;
    const char *trigger_name;        /**< triggerEvent as sent ("PING", ...) */
    apr_time_t created_at;           /**< the envelope's createdAt */
    const char *uid;                 /**< the booking's uid: for a reschedule,
                                          the new booking's */
    const char *reschedule_uid;      /**< a reschedule: the booking it replaced
                                          (payload.rescheduleUid) */
    apr_int64_t booking_id;          /**< payload.bookingId, 0 when absent */
    const char *title;
    const char *event_type;          /**< payload.type, the event-type slug */
    apr_time_t start, end;           /**< UTC (apr_time_t: microseconds since
                                          the epoch) */
    apr_time_t previous_start;       /**< a reschedule: rescheduleStartTime */
    const char *attendee_name;       /**< the first attendee: the booker */
    const char *attendee_email;
    const char *attendee_phone;      /**< attendees[0].phoneNumber, else the
                                          attendeePhoneNumber or phone booking
                                          field, else smsReminderNumber; as
                                          typed (normalize before use) */
    const char *attendee_time_zone;  /**< IANA name, e.g. "America/Chicago" */
    const char *organizer_name;
    const char *organizer_email;
    const char *organizer_time_zone;
    const char *location;            /**< payload.location: an address, a
                                          phone, a link or an app's name */
    const char *video_url;           /**< metadata.videoCallUrl */
    const char *status;              /**< a delivery's "ACCEPTED", "PENDING",
                                          "CANCELLED"; a listed booking's
                                          "accepted", "pending", "cancelled" */
    const char *notes;               /**< what the booker wrote
                                          (additionalNotes / description) */
    const char *cancellation_reason;
    /** Stable per delivery, for the journal's idempotency:
     * "<uid>:<triggerEvent>" and, for a reschedule that names the booking it
     * replaced, ":<rescheduleUid>". NULL only for an OTHER trigger without a
     * uid (a PING). */
    const char *journal_id;
    /** A booking read from the API list: the booking's JSON object as
     * listed (re-serialised), for the journal; NULL for a delivery (the
     * journal keeps its raw body). */
    const char *listed_json;
} cs_calcom_event_t;

/**
 * Verify a delivery: @p header (the X-Cal-Signature-256 value, hex, either
 * case) must be HMAC-SHA256 of the @p len raw bytes of @p body under
 * @p secret, compared in constant time.
 *
 * @return APR_SUCCESS, or APR_EACCES with *pwhy (when not NULL): no secret
 *         configured, no or malformed header, Cal.com's "no-secret-provided"
 *         (the webhook has no secret on Cal.com's side), or no match.
 */
apr_status_t cs_calcom_verify(const char *header, const char *body, apr_size_t len,
                              const char *secret, const char **pwhy);

/**
 * Read a (verified) delivery of @p len bytes into *pout.
 *
 * @return APR_SUCCESS; APR_EINVAL with *pwhy when it is not a JSON object
 *         with a triggerEvent and a payload object, when a booking trigger
 *         has no usable uid (1 to 128 of [A-Za-z0-9_-]) or no start and end,
 *         or when a time present is not an ISO 8601 timestamp.
 */
apr_status_t cs_calcom_parse_event(cs_calcom_event_t **pout, apr_pool_t *p,
                                   const char *body, apr_size_t len, const char **pwhy);

/** "BOOKING_CREATED", ... or "OTHER". */
const char *cs_calcom_trigger_name(cs_calcom_trigger_t t);

/* ---- API v2: the bookings list (reconciliation) ------------------------ */

/** The hosted API; ConsultCalAPIBase points elsewhere (self-hosted, tests). */
#define CS_CALCOM_API_BASE      "https://api.cal.com"
/** cal-api-version of the bookings endpoints whose shape we read. */
#define CS_CALCOM_API_VERSION   "2024-08-13"
/** Bookings per page we ask for (Cal.com allows 1 to 250). */
#define CS_CALCOM_PAGE_SIZE     100

/** A client's Cal.com account, from its vhost's directives. */
typedef struct {
    const char *api_base;            /**< NULL: CS_CALCOM_API_BASE */
    const char *api_key;             /**< sent as a Bearer token, never logged */
    apr_interval_time_t timeout;     /**< 0: cs_http's default */
} cs_calcom_account_t;

/**
 * Fill @p req with GET {api_base}/v2/bookings?afterUpdatedAt=...&
 * sortCreated=asc&take=@p take&skip=@p skip: every booking (any status)
 * changed after @p updated_after, oldest first so that paging by offset
 * does not skip what was booked meanwhile. Bearer key and cal-api-version.
 */
void cs_calcom_build_list_bookings(cs_http_req_t *req, apr_pool_t *p,
                                   const cs_calcom_account_t *a, apr_time_t updated_after,
                                   int take, int skip);

/** One page of the list, read. */
typedef struct {
    /** cs_calcom_event_t *: what each booking's state says its webhooks
     * were, in the order listed. A booking gives 0, 1 or 2 events:
     *   accepted                       BOOKING_CREATED
     *   accepted, rescheduledFromUid   BOOKING_RESCHEDULED (reschedule_uid)
     *   pending                        BOOKING_REQUESTED
     *   cancelled                      BOOKING_CANCELLED, after a
     *                                  BOOKING_RESCHEDULED when it had
     *                                  replaced another
     *   cancelled, rescheduledToUid    none: it was moved, and the new
     *                                  booking's reschedule tells it
     *   rejected                       none (no webhook we act on)
     * with journal ids as their webhooks' (cs_calcom_parse_event). */
    apr_array_header_t *events;
    int listed;                      /**< bookings on the page */
    int unreadable;                  /**< of them, skipped: no usable uid,
                                          times or status */
    int more;                        /**< another page follows */
} cs_calcom_page_t;

/**
 * Read the list's answer (@p status and @p body of @p len bytes, as
 * cs_http_perform gave them; @p take the page size asked for).
 *
 * @return APR_SUCCESS with *pout; APR_EACCES when the key was refused
 *         (401, 403); APR_EAGAIN when a retry can help (429, 5xx);
 *         APR_EINVAL for another refusal (4xx); APR_EGENERAL for a 2xx
 *         that is not {"status": "success", "data": [...]}. *pwhy (when
 *         not NULL) says why, never the key.
 */
apr_status_t cs_calcom_parse_bookings(cs_calcom_page_t **pout, apr_pool_t *p, long status,
                                      const char *body, apr_size_t len, int take,
                                      const char **pwhy);

#endif
