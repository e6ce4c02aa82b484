/* Cal.com booking webhooks: the X-Cal-Signature-256 check (vectors
 * computed apart with python's hmac module over the exact bytes below) and
 * the payload reader, on deliveries shaped as Cal.com's sendPayload.ts
 * sends them. */
#include "unit.h"
#include "providers/cs_calcom.h"

#include <apr_strings.h>
#include <string.h>

/* A BOOKING_CREATED delivery as JSON.stringify writes it (1177 bytes). */
static const char CREATED[] =
    "{\"triggerEvent\":\"BOOKING_CREATED\",\"createdAt\":\"2024-05-01T12:00:00.123Z\","
    "\"payload\":{\"type\":\"water-heater-visit\",\"title\":\"Water heater visit between "
    "Ana Ruiz and Bob Plumber\",\"description\":\"Tank leaking at the base\","
    "\"additionalNotes\":\"Tank leaking at the base\",\"startTime\":\"2024-05-03T15:00:00"
    "Z\",\"endTime\":\"2024-05-03T16:00:00Z\",\"organizer\":{\"id\":7,"
    "\"name\":\"Bob Plumber\",\"email\":\"bob@plumbing.example\","
    "\"username\":\"bob\",\"timeZone\":\"America/Chicago\","
    "\"language\":{\"locale\":\"en\"},\"timeFormat\":\"h:mma\","
    "\"utcOffset\":-300},\"responses\":{\"name\":{\"label\":\"your_name\","
    "\"value\":\"Ana Ruiz\"},\"email\":{\"label\":\"email_address\","
    "\"value\":\"ana@example.com\"},\"attendeePhoneNumber\":{\"label\":\"phone_number\","
    "\"value\":\"+15035550142\"},\"location\":{\"label\":\"location\","
    "\"value\":{\"optionValue\":\"\",\"value\":\"attendeeInPerson\"}},"
    "\"notes\":{\"label\":\"additional_notes\",\"value\":\"Tank leaking at the base\"}},"
    "\"attendees\":[{\"email\":\"ana@example.com\",\"name\":\"Ana Ruiz\","
    "\"timeZone\":\"America/Los_Angeles\",\"language\":{\"locale\":\"en\"},"
    "\"utcOffset\":-420}],\"location\":\"1200 SE Main St,"
    " Portland\",\"uid\":\"8xYw2kPq5bLr1mNc3dE4fG\",\"bookingId\":1042,"
    "\"eventTypeId\":55,\"status\":\"ACCEPTED\",\"metadata\":{},"
    "\"price\":0,\"currency\":\"usd\",\"length\":60}}";
/* HMAC-SHA256(key "calcom-webhook-secret-7f3a", CREATED), lowercase hex. */
static const char CREATED_SIG[] =
    "00943de66696fd81e95a7987e621d6e51d80d612eb64e4068ab9c62e15397b4a";
static const char SECRET[] = "calcom-webhook-secret-7f3a";

static cs_calcom_event_t *parse_ok(const char *body)
{
    cs_calcom_event_t *ev = NULL;
    const char *why = "unset";

    ck_assert_msg(cs_calcom_parse_event(&ev, unit_pool, body, strlen(body), &why)
                  == APR_SUCCESS, "refused: %s", why ? why : "(no reason)");
    ck_assert_ptr_null(why);
    ck_assert_ptr_nonnull(ev);
    return ev;
}

static const char *parse_refused(const char *body)
{
    cs_calcom_event_t *ev = (cs_calcom_event_t *)1;
    const char *why = NULL;

    ck_assert_int_eq(cs_calcom_parse_event(&ev, unit_pool, body, body ? strlen(body) : 0, &why),
                     APR_EINVAL);
    ck_assert_ptr_null(ev);
    ck_assert_ptr_nonnull(why);
    return why;
}

START_TEST(test_calcom_signature_of_the_raw_body_verifies)
{
    const char *why = "unset";
    char upper[65];
    apr_size_t i;

    ck_assert_uint_eq(strlen(CREATED), 1177);
    ck_assert_int_eq(cs_calcom_verify(CREATED_SIG, CREATED, strlen(CREATED), SECRET, &why),
                     APR_SUCCESS);
    ck_assert_ptr_null(why);
    /* hex of either case */
    for (i = 0; i < 64; i++) {
        upper[i] = (char)(CREATED_SIG[i] >= 'a' ? CREATED_SIG[i] - 32 : CREATED_SIG[i]);
    }
    upper[64] = '\0';
    ck_assert_int_eq(cs_calcom_verify(upper, CREATED, strlen(CREATED), SECRET, NULL),
                     APR_SUCCESS);
}
END_TEST

START_TEST(test_calcom_signature_refuses_changes_and_missing_pieces)
{
    char *body = apr_pstrdup(unit_pool, CREATED), sig[65];
    const char *why;
    apr_size_t n = strlen(body);

    /* one byte of the body changed: "bookingId":1042 -> 1043 */
    strstr(body, "1042")[3] = '3';
    ck_assert_int_eq(cs_calcom_verify(CREATED_SIG, body, n, SECRET, &why), APR_EACCES);
    ck_assert_str_eq(why, "the signature does not match");
    /* the body cut short, another secret, a changed signature */
    ck_assert_int_eq(cs_calcom_verify(CREATED_SIG, CREATED, n - 1, SECRET, NULL), APR_EACCES);
    ck_assert_int_eq(cs_calcom_verify(CREATED_SIG, CREATED, n, "another-secret", NULL),
                     APR_EACCES);
    memcpy(sig, CREATED_SIG, sizeof(sig));
    sig[10] = sig[10] == '0' ? '1' : '0';
    ck_assert_int_eq(cs_calcom_verify(sig, CREATED, n, SECRET, NULL), APR_EACCES);
    /* not hex, too short, prefixed */
    ck_assert_int_eq(cs_calcom_verify("zz", CREATED, n, SECRET, &why), APR_EACCES);
    ck_assert_int_eq(cs_calcom_verify(apr_pstrcat(unit_pool, "sha256=", CREATED_SIG, NULL),
                                      CREATED, n, SECRET, NULL), APR_EACCES);
    /* Cal.com's literal for a webhook without a secret is never accepted */
    ck_assert_int_eq(cs_calcom_verify("no-secret-provided", CREATED, n, SECRET, &why),
                     APR_EACCES);
    ck_assert_ptr_nonnull(strstr(why, "no-secret-provided"));
    ck_assert_int_eq(cs_calcom_verify(NULL, CREATED, n, SECRET, NULL), APR_EACCES);
    ck_assert_int_eq(cs_calcom_verify("", CREATED, n, SECRET, NULL), APR_EACCES);
    /* and nothing verifies without a secret of ours */
    ck_assert_int_eq(cs_calcom_verify(CREATED_SIG, CREATED, n, NULL, &why), APR_EACCES);
    ck_assert_str_eq(why, "no Cal.com webhook secret is configured");
    ck_assert_int_eq(cs_calcom_verify(CREATED_SIG, CREATED, n, "", NULL), APR_EACCES);
}
END_TEST

START_TEST(test_calcom_booking_created_reads_every_field)
{
    cs_calcom_event_t *ev = parse_ok(CREATED);

    ck_assert_int_eq(ev->trigger, CS_CALCOM_BOOKING_CREATED);
    ck_assert_str_eq(ev->trigger_name, "BOOKING_CREATED");
    ck_assert_str_eq(cs_calcom_trigger_name(ev->trigger), "BOOKING_CREATED");
    ck_assert_str_eq(ev->uid, "8xYw2kPq5bLr1mNc3dE4fG");
    ck_assert_ptr_null(ev->reschedule_uid);
    ck_assert_int_eq(ev->booking_id, 1042);
    ck_assert_str_eq(ev->title, "Water heater visit between Ana Ruiz and Bob Plumber");
    ck_assert_str_eq(ev->event_type, "water-heater-visit");
    /* 2024-05-03T15:00:00Z and 16:00Z; createdAt keeps its milliseconds */
    ck_assert_int_eq(ev->start, apr_time_from_sec(1714748400));
    ck_assert_int_eq(ev->end, apr_time_from_sec(1714752000));
    ck_assert_int_eq(ev->created_at, apr_time_from_sec(1714564800) + 123000);
    ck_assert_int_eq(ev->previous_start, 0);
    ck_assert_str_eq(ev->attendee_name, "Ana Ruiz");
    ck_assert_str_eq(ev->attendee_email, "ana@example.com");
    ck_assert_str_eq(ev->attendee_time_zone, "America/Los_Angeles");
    /* not on the attendee: the attendeePhoneNumber booking field */
    ck_assert_str_eq(ev->attendee_phone, "+15035550142");
    ck_assert_str_eq(ev->organizer_name, "Bob Plumber");
    ck_assert_str_eq(ev->organizer_email, "bob@plumbing.example");
    ck_assert_str_eq(ev->organizer_time_zone, "America/Chicago");
    ck_assert_str_eq(ev->location, "1200 SE Main St, Portland");
    ck_assert_ptr_null(ev->video_url);
    ck_assert_str_eq(ev->status, "ACCEPTED");
    ck_assert_str_eq(ev->notes, "Tank leaking at the base");
    ck_assert_ptr_null(ev->cancellation_reason);
    ck_assert_str_eq(ev->journal_id, "8xYw2kPq5bLr1mNc3dE4fG:BOOKING_CREATED");
}
END_TEST

START_TEST(test_calcom_reschedule_names_the_booking_it_replaced)
{
    cs_calcom_event_t *ev = parse_ok(
        "{\"triggerEvent\":\"BOOKING_RESCHEDULED\",\"createdAt\":\"2024-05-02T09:00:00.000Z\","
        "\"payload\":{\"title\":\"Water heater visit\",\"startTime\":\"2024-05-04T17:30:00Z\","
        "\"endTime\":\"2024-05-04T18:30:00Z\",\"uid\":\"Nw3Rt6Yu8Io0Pa2Sd4Fg6H\","
        "\"bookingId\":1077,\"rescheduleId\":1042,\"rescheduleUid\":\"8xYw2kPq5bLr1mNc3dE4fG\","
        "\"rescheduleStartTime\":\"2024-05-03T15:00:00Z\","
        "\"rescheduleEndTime\":\"2024-05-03T16:00:00Z\",\"rescheduledBy\":\"ana@example.com\","
        "\"attendees\":[{\"email\":\"ana@example.com\",\"name\":\"Ana Ruiz\","
        "\"timeZone\":\"America/Los_Angeles\",\"phoneNumber\":\"+1 (503) 555-0142\"}],"
        "\"organizer\":{\"name\":\"Bob Plumber\",\"email\":\"bob@plumbing.example\","
        "\"timeZone\":\"America/Chicago\"},\"location\":\"https://meet.example/abc\","
        "\"metadata\":{\"videoCallUrl\":\"https://meet.example/abc\"},\"status\":\"ACCEPTED\","
        "\"smsReminderNumber\":\"+15035559999\"}}");

    ck_assert_int_eq(ev->trigger, CS_CALCOM_BOOKING_RESCHEDULED);
    ck_assert_str_eq(ev->uid, "Nw3Rt6Yu8Io0Pa2Sd4Fg6H");
    ck_assert_str_eq(ev->reschedule_uid, "8xYw2kPq5bLr1mNc3dE4fG");
    ck_assert_int_eq(ev->start, apr_time_from_sec(1714843800));
    ck_assert_int_eq(ev->end, apr_time_from_sec(1714847400));
    ck_assert_int_eq(ev->previous_start, apr_time_from_sec(1714748400));
    /* the attendee's own phone wins over the SMS reminder number */
    ck_assert_str_eq(ev->attendee_phone, "+1 (503) 555-0142");
    ck_assert_str_eq(ev->video_url, "https://meet.example/abc");
    ck_assert_str_eq(ev->journal_id,
                     "Nw3Rt6Yu8Io0Pa2Sd4Fg6H:BOOKING_RESCHEDULED:8xYw2kPq5bLr1mNc3dE4fG");
    /* without rescheduleUid the id is the plain form */
    ev = parse_ok("{\"triggerEvent\":\"BOOKING_RESCHEDULED\",\"payload\":{\"uid\":\"u2\","
                  "\"startTime\":\"2024-05-04T17:30:00Z\",\"endTime\":\"2024-05-04T18:30:00Z\"}}");
    ck_assert_str_eq(ev->journal_id, "u2:BOOKING_RESCHEDULED");
}
END_TEST

START_TEST(test_calcom_cancel_request_and_end_are_told_apart)
{
    cs_calcom_event_t *ev;

    ev = parse_ok("{\"triggerEvent\":\"BOOKING_CANCELLED\",\"createdAt\":\"2024-05-02T10:00:00Z\","
                  "\"payload\":{\"uid\":\"8xYw2kPq5bLr1mNc3dE4fG\",\"status\":\"CANCELLED\","
                  "\"cancellationReason\":\"Fixed it myself\","
                  "\"startTime\":\"2024-05-03T15:00:00Z\",\"endTime\":\"2024-05-03T16:00:00Z\","
                  "\"attendees\":[],\"responses\":{\"name\":\"Ana Ruiz\","
                  "\"email\":{\"label\":\"email\",\"value\":\"ana@example.com\"},"
                  "\"phone\":{\"label\":\"Phone\",\"value\":\"503-555-0142\"}}}}");
    ck_assert_int_eq(ev->trigger, CS_CALCOM_BOOKING_CANCELLED);
    ck_assert_str_eq(ev->status, "CANCELLED");
    ck_assert_str_eq(ev->cancellation_reason, "Fixed it myself");
    /* no attendees: the booking fields, bare or {label, value} */
    ck_assert_str_eq(ev->attendee_name, "Ana Ruiz");
    ck_assert_str_eq(ev->attendee_email, "ana@example.com");
    ck_assert_str_eq(ev->attendee_phone, "503-555-0142");
    ck_assert_str_eq(ev->journal_id, "8xYw2kPq5bLr1mNc3dE4fG:BOOKING_CANCELLED");

    ev = parse_ok("{\"triggerEvent\":\"BOOKING_REQUESTED\",\"payload\":{\"uid\":\"r1\","
                  "\"status\":\"PENDING\",\"startTime\":\"2024-05-03T15:00:00.000+02:00\","
                  "\"endTime\":\"2024-05-03T16:00:00+0200\","
                  "\"smsReminderNumber\":\"+34600111222\"}}");
    ck_assert_int_eq(ev->trigger, CS_CALCOM_BOOKING_REQUESTED);
    ck_assert_str_eq(ev->status, "PENDING");
    /* offsets are honoured: 15:00+02:00 is 13:00Z */
    ck_assert_int_eq(ev->start, apr_time_from_sec(1714748400 - 2 * 3600));
    ck_assert_int_eq(ev->end, apr_time_from_sec(1714752000 - 2 * 3600));
    ck_assert_str_eq(ev->attendee_phone, "+34600111222");

    /* a meeting that ended may carry no times */
    ev = parse_ok("{\"triggerEvent\":\"MEETING_ENDED\",\"payload\":{\"uid\":\"m1\"}}");
    ck_assert_int_eq(ev->trigger, CS_CALCOM_MEETING_ENDED);
    ck_assert_int_eq(ev->start, 0);
    ck_assert_ptr_null(ev->title);
    ck_assert_ptr_null(ev->attendee_name);
    ck_assert_str_eq(ev->journal_id, "m1:MEETING_ENDED");
}
END_TEST

START_TEST(test_calcom_other_triggers_keep_their_name)
{
    cs_calcom_event_t *ev;

    /* Cal.com's "Ping test" has no booking behind it */
    ev = parse_ok("{\"triggerEvent\":\"PING\",\"createdAt\":\"2024-05-01T12:00:00.000Z\","
                  "\"payload\":{\"type\":\"Test\",\"title\":\"Test trigger event\","
                  "\"startTime\":\"2024-05-01T12:00:00.000Z\","
                  "\"endTime\":\"2024-05-01T12:00:00.000Z\"}}");
    ck_assert_int_eq(ev->trigger, CS_CALCOM_OTHER);
    ck_assert_str_eq(ev->trigger_name, "PING");
    ck_assert_str_eq(cs_calcom_trigger_name(ev->trigger), "OTHER");
    ck_assert_ptr_null(ev->uid);
    ck_assert_ptr_null(ev->journal_id);
    ev = parse_ok("{\"triggerEvent\":\"BOOKING_PAID\",\"payload\":{\"uid\":\"p1\"}}");
    ck_assert_int_eq(ev->trigger, CS_CALCOM_OTHER);
    ck_assert_str_eq(ev->journal_id, "p1:BOOKING_PAID");
}
END_TEST

START_TEST(test_calcom_refuses_what_it_cannot_trust)
{
    parse_refused(NULL);
    parse_refused("");
    parse_refused("triggerEvent=BOOKING_CREATED&uid=x");       /* a form template */
    parse_refused("[]");
    parse_refused("{\"payload\":{\"uid\":\"u\"}}");
    parse_refused("{\"triggerEvent\":\"\",\"payload\":{\"uid\":\"u\"}}");
    parse_refused("{\"triggerEvent\":\"BOOKING_CREATED\"}");
    parse_refused("{\"triggerEvent\":\"BOOKING_CREATED\",\"payload\":[]}");
    /* a booking without a uid, or with one that could forge a journal id */
    ck_assert_str_eq(parse_refused("{\"triggerEvent\":\"BOOKING_CANCELLED\",\"payload\":{}}"),
                     "the booking has no uid");
    parse_refused("{\"triggerEvent\":\"BOOKING_CANCELLED\",\"payload\":{\"uid\":\"a:b\"}}");
    parse_refused("{\"triggerEvent\":\"BOOKING_CANCELLED\",\"payload\":{\"uid\":7}}");
    parse_refused("{\"triggerEvent\":\"BOOKING_RESCHEDULED\",\"payload\":{\"uid\":\"a\","
                  "\"rescheduleUid\":\"b c\",\"startTime\":\"2024-05-04T17:30:00Z\","
                  "\"endTime\":\"2024-05-04T18:30:00Z\"}}");
    /* a new booking needs its times, and times must be times */
    parse_refused("{\"triggerEvent\":\"BOOKING_CREATED\",\"payload\":{\"uid\":\"a\"}}");
    parse_refused("{\"triggerEvent\":\"BOOKING_CREATED\",\"payload\":{\"uid\":\"a\","
                  "\"startTime\":\"tomorrow\",\"endTime\":\"2024-05-04T18:30:00Z\"}}");
    parse_refused("{\"triggerEvent\":\"BOOKING_CREATED\",\"payload\":{\"uid\":\"a\","
                  "\"startTime\":1714843800,\"endTime\":\"2024-05-04T18:30:00Z\"}}");
    parse_refused("{\"triggerEvent\":\"BOOKING_CREATED\",\"payload\":{\"uid\":\"a\","
                  "\"startTime\":\"2024-13-04T17:30:00Z\",\"endTime\":\"2024-05-04T18:30:00Z\"}}");
    parse_refused("{\"triggerEvent\":\"BOOKING_CREATED\",\"payload\":{\"uid\":\"a\","
                  "\"startTime\":\"2024-05-04T17:30:00Zjunk\","
                  "\"endTime\":\"2024-05-04T18:30:00Z\"}}");
    parse_refused("{\"triggerEvent\":\"MEETING_ENDED\",\"createdAt\":\"now\","
                  "\"payload\":{\"uid\":\"a\"}}");
    parse_refused(unit_repeat(unit_pool, "{", 1));
    parse_refused(apr_pstrcat(unit_pool, "{\"triggerEvent\":\"BOOKING_CANCELLED\",\"payload\":"
                              "{\"uid\":\"", unit_repeat(unit_pool, "u", 129), "\"}}", NULL));
}
END_TEST

/* ---- API v2: the bookings list ------------------------------------------ */

/* A page of GET /v2/bookings (cal-api-version 2024-08-13) as Cal.com's
 * BookingOutput_2024_08_13 describes it: a new booking, one moved to
 * another time (the old one cancelled, pointing at the new one), a request
 * waiting for confirmation, a cancellation, a rejected one and one we
 * cannot read. */
static const char PAGE[] =
    "{\"status\":\"success\",\"data\":["
    "{\"id\":301,\"uid\":\"newBook1\",\"title\":\"Free estimate between Haul Away and Dana\","
    "\"description\":\"Old sofa\",\"hosts\":[{\"id\":7,\"name\":\"Haul Away\","
    "\"email\":\"book@hauler.example\",\"username\":\"haul\",\"timeZone\":\"America/Denver\"}],"
    "\"status\":\"accepted\",\"start\":\"2026-12-08T16:00:00.000Z\",\"end\":\"2026-12-08T17:00:00.000Z\","
    "\"duration\":60,\"eventTypeId\":55,\"eventType\":{\"id\":55,\"slug\":\"estimate\"},"
    "\"location\":\"12 Elm St\",\"absentHost\":false,\"createdAt\":\"2026-12-01T10:00:00.000Z\","
    "\"updatedAt\":\"2026-12-01T10:00:00.000Z\",\"metadata\":{},"
    "\"attendees\":[{\"name\":\"Dana Booker\",\"email\":\"dana@example.com\","
    "\"timeZone\":\"America/Chicago\",\"absent\":false}],"
    "\"bookingFieldsResponses\":{\"name\":\"Dana Booker\",\"attendeePhoneNumber\":\"+13035550100\"}},"
    "{\"id\":302,\"uid\":\"oldTime1\",\"title\":\"Estimate\",\"status\":\"cancelled\","
    "\"rescheduledToUid\":\"newTime1\",\"start\":\"2026-12-09T16:00:00Z\",\"end\":\"2026-12-09T17:00:00Z\","
    "\"createdAt\":\"2026-12-01T11:00:00Z\",\"attendees\":[{\"name\":\"Ed\",\"email\":\"ed@example.com\"}]},"
    "{\"id\":303,\"uid\":\"newTime1\",\"title\":\"Estimate\",\"status\":\"accepted\","
    "\"rescheduledFromUid\":\"oldTime1\",\"start\":\"2026-12-10T18:30:00Z\",\"end\":\"2026-12-10T19:30:00Z\","
    "\"createdAt\":\"2026-12-01T12:00:00Z\",\"attendees\":[{\"name\":\"Ed\",\"email\":\"ed@example.com\","
    "\"phoneNumber\":\"+13035550111\"}]},"
    "{\"id\":304,\"uid\":\"askFirst1\",\"title\":\"Estimate\",\"status\":\"pending\","
    "\"start\":\"2026-12-11T16:00:00Z\",\"end\":\"2026-12-11T17:00:00Z\","
    "\"createdAt\":\"2026-12-01T13:00:00Z\",\"attendees\":[{\"name\":\"Flo\",\"email\":\"flo@example.com\"}]},"
    "{\"id\":305,\"uid\":\"gone1\",\"title\":\"Estimate\",\"status\":\"cancelled\","
    "\"cancellationReason\":\"Sold the sofa\",\"start\":\"2026-12-12T16:00:00Z\","
    "\"end\":\"2026-12-12T17:00:00Z\",\"createdAt\":\"2026-12-01T14:00:00Z\","
    "\"attendees\":[{\"name\":\"Gus\",\"email\":\"gus@example.com\"}]},"
    "{\"id\":306,\"uid\":\"nope1\",\"status\":\"rejected\",\"start\":\"2026-12-13T16:00:00Z\","
    "\"end\":\"2026-12-13T17:00:00Z\",\"attendees\":[]},"
    "{\"id\":307,\"uid\":\"bad:uid\",\"status\":\"accepted\",\"start\":\"2026-12-13T16:00:00Z\","
    "\"end\":\"2026-12-13T17:00:00Z\"}],"
    "\"pagination\":{\"totalItems\":7,\"remainingItems\":0,\"returnedItems\":7,"
    "\"itemsPerPage\":100,\"currentPage\":1,\"totalPages\":1,\"hasNextPage\":false,"
    "\"hasPreviousPage\":false}}";

static cs_calcom_page_t *page_ok(const char *body, int take)
{
    cs_calcom_page_t *pg = NULL;
    const char *why = "unset";

    ck_assert_msg(cs_calcom_parse_bookings(&pg, unit_pool, 200, body, strlen(body), take, &why)
                  == APR_SUCCESS, "refused: %s", why ? why : "(no reason)");
    ck_assert_ptr_null(why);
    ck_assert_ptr_nonnull(pg);
    return pg;
}

static const cs_calcom_event_t *event_at(const cs_calcom_page_t *pg, int i)
{
    ck_assert_int_lt(i, pg->events->nelts);
    return APR_ARRAY_IDX(pg->events, i, const cs_calcom_event_t *);
}

START_TEST(test_calcom_list_request_asks_for_recent_changes_with_the_key)
{
    cs_calcom_account_t a = { "http://127.0.0.1:9/cal", "cal_live_key_1", apr_time_from_sec(4) };
    cs_http_req_t req;

    /* 2026-11-26T03:00:00Z */
    cs_calcom_build_list_bookings(&req, unit_pool, &a, apr_time_from_sec(1795662000), 100, 200);
    ck_assert_str_eq(req.method, "GET");
    ck_assert_str_eq(req.url, "http://127.0.0.1:9/cal/v2/bookings?afterUpdatedAt="
                     "2026-11-26T03:00:00Z&sortCreated=asc&take=100&skip=200");
    ck_assert_str_eq(req.bearer, "cal_live_key_1");
    ck_assert_ptr_null(req.body);
    ck_assert_int_eq(req.headers->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(req.headers, 0, const char *), "cal-api-version: 2024-08-13");
    ck_assert_int_eq(req.timeout, apr_time_from_sec(4));
    /* no base: the hosted API */
    a.api_base = NULL;
    cs_calcom_build_list_bookings(&req, unit_pool, &a, apr_time_from_sec(1795662000), 10, 0);
    ck_assert_ptr_nonnull(strstr(req.url, "https://api.cal.com/v2/bookings?"));
}
END_TEST

START_TEST(test_calcom_list_bookings_become_the_webhooks_they_imply)
{
    cs_calcom_page_t *pg = page_ok(PAGE, 100);
    const cs_calcom_event_t *ev;

    ck_assert_int_eq(pg->listed, 7);
    ck_assert_int_eq(pg->unreadable, 1);       /* bad:uid */
    ck_assert_int_eq(pg->more, 0);
    ck_assert_int_eq(pg->events->nelts, 4);
    /* accepted: created, every field where a delivery has it */
    ev = event_at(pg, 0);
    ck_assert_int_eq(ev->trigger, CS_CALCOM_BOOKING_CREATED);
    ck_assert_str_eq(ev->trigger_name, "BOOKING_CREATED");
    ck_assert_str_eq(ev->journal_id, "newBook1:BOOKING_CREATED");
    ck_assert_str_eq(ev->uid, "newBook1");
    ck_assert_ptr_null(ev->reschedule_uid);
    ck_assert_int_eq(ev->booking_id, 301);
    ck_assert_str_eq(ev->title, "Free estimate between Haul Away and Dana");
    ck_assert_str_eq(ev->event_type, "estimate");
    ck_assert_int_eq(ev->start, apr_time_from_sec(1796745600));  /* 2026-12-08T16:00Z */
    ck_assert_int_eq(ev->end - ev->start, apr_time_from_sec(3600));
    ck_assert_str_eq(ev->attendee_name, "Dana Booker");
    ck_assert_str_eq(ev->attendee_email, "dana@example.com");
    ck_assert_str_eq(ev->attendee_time_zone, "America/Chicago");
    ck_assert_str_eq(ev->attendee_phone, "+13035550100");     /* from the booking fields */
    ck_assert_str_eq(ev->organizer_name, "Haul Away");
    ck_assert_str_eq(ev->organizer_time_zone, "America/Denver");
    ck_assert_str_eq(ev->location, "12 Elm St");
    ck_assert_str_eq(ev->notes, "Old sofa");
    ck_assert_ptr_nonnull(strstr(ev->listed_json, "\"uid\":\"newBook1\""));
    ck_assert_ptr_null(strstr(ev->listed_json, "oldTime1"));
    /* the old time of a moved booking says nothing; the new one is the
     * reschedule, with the journal id its webhook has */
    ev = event_at(pg, 1);
    ck_assert_int_eq(ev->trigger, CS_CALCOM_BOOKING_RESCHEDULED);
    ck_assert_str_eq(ev->uid, "newTime1");
    ck_assert_str_eq(ev->reschedule_uid, "oldTime1");
    ck_assert_str_eq(ev->journal_id, "newTime1:BOOKING_RESCHEDULED:oldTime1");
    ck_assert_str_eq(ev->attendee_phone, "+13035550111");
    ev = event_at(pg, 2);
    ck_assert_int_eq(ev->trigger, CS_CALCOM_BOOKING_REQUESTED);
    ck_assert_str_eq(ev->journal_id, "askFirst1:BOOKING_REQUESTED");
    ev = event_at(pg, 3);
    ck_assert_int_eq(ev->trigger, CS_CALCOM_BOOKING_CANCELLED);
    ck_assert_str_eq(ev->journal_id, "gone1:BOOKING_CANCELLED");
    ck_assert_str_eq(ev->cancellation_reason, "Sold the sofa");
}
END_TEST

START_TEST(test_calcom_list_journal_ids_match_the_webhooks)
{
    /* The same booking as a delivery and as listed: one journal id, so
     * whichever arrives second is a duplicate. */
    cs_calcom_event_t *hook = parse_ok(
        "{\"triggerEvent\":\"BOOKING_RESCHEDULED\",\"createdAt\":\"2026-12-01T12:00:00Z\","
        "\"payload\":{\"uid\":\"newTime1\",\"rescheduleUid\":\"oldTime1\","
        "\"startTime\":\"2026-12-10T18:30:00Z\",\"endTime\":\"2026-12-10T19:30:00Z\"}}");
    cs_calcom_page_t *pg = page_ok(PAGE, 100);

    ck_assert_str_eq(event_at(pg, 1)->journal_id, hook->journal_id);
    ck_assert_ptr_null(hook->listed_json);
    /* a cancelled booking that had replaced another: both of its webhooks */
    pg = page_ok("{\"status\":\"success\",\"data\":[{\"uid\":\"b2\",\"status\":\"cancelled\","
                 "\"rescheduledFromUid\":\"b1\",\"start\":\"2026-12-10T18:30:00Z\","
                 "\"end\":\"2026-12-10T19:30:00Z\"}]}", 100);
    ck_assert_int_eq(pg->events->nelts, 2);
    ck_assert_str_eq(event_at(pg, 0)->journal_id, "b2:BOOKING_RESCHEDULED:b1");
    ck_assert_str_eq(event_at(pg, 1)->journal_id, "b2:BOOKING_CANCELLED");
    ck_assert_ptr_null(event_at(pg, 1)->reschedule_uid);
}
END_TEST

START_TEST(test_calcom_list_pages_until_cal_says_no_more)
{
    cs_calcom_page_t *pg;
    const char *full = "{\"status\":\"success\",\"data\":[{\"uid\":\"a\",\"status\":\"accepted\","
                       "\"start\":\"2026-12-10T18:30:00Z\",\"end\":\"2026-12-10T19:30:00Z\"},"
                       "{\"uid\":\"b\",\"status\":\"accepted\",\"start\":\"2026-12-10T18:30:00Z\","
                       "\"end\":\"2026-12-10T19:30:00Z\"}]";

    /* Cal.com's pagination says so */
    pg = page_ok(apr_pstrcat(unit_pool, full, ",\"pagination\":{\"hasNextPage\":true}}", NULL), 100);
    ck_assert_int_eq(pg->more, 1);
    pg = page_ok(apr_pstrcat(unit_pool, full, ",\"pagination\":{\"hasNextPage\":false}}", NULL), 2);
    ck_assert_int_eq(pg->more, 0);
    /* without it, a full page may have more behind it, a short one not */
    pg = page_ok(apr_pstrcat(unit_pool, full, "}", NULL), 2);
    ck_assert_int_eq(pg->more, 1);
    pg = page_ok(apr_pstrcat(unit_pool, full, "}", NULL), 3);
    ck_assert_int_eq(pg->more, 0);
    pg = page_ok("{\"status\":\"success\",\"data\":[]}", 100);
    ck_assert_int_eq(pg->listed, 0);
    ck_assert_int_eq(pg->events->nelts, 0);
}
END_TEST

static apr_status_t page_refused(long status, const char *body, const char **pwhy)
{
    cs_calcom_page_t *pg = (cs_calcom_page_t *)1;
    apr_status_t rv = cs_calcom_parse_bookings(&pg, unit_pool, status, body,
                                               body ? strlen(body) : 0, 100, pwhy);
    ck_assert_ptr_null(pg);
    ck_assert_ptr_nonnull(*pwhy);
    return rv;
}

START_TEST(test_calcom_list_failures_say_whether_to_retry)
{
    const char *why = NULL;

    ck_assert_int_eq(page_refused(401, "{\"status\":\"error\",\"error\":{\"code\":"
                                  "\"UnauthorizedException\",\"message\":\"Invalid API Key\"}}",
                                  &why), APR_EACCES);
    ck_assert_str_eq(why, "Cal.com bookings 401: Invalid API Key");
    ck_assert_int_eq(page_refused(403, "", &why), APR_EACCES);
    ck_assert_int_eq(page_refused(429, NULL, &why), APR_EAGAIN);
    ck_assert_int_eq(page_refused(503, "<html>down</html>", &why), APR_EAGAIN);
    ck_assert_str_eq(why, "Cal.com bookings 503: no details");
    ck_assert_int_eq(page_refused(400, "{\"status\":\"error\",\"error\":{\"message\":"
                                  "\"take must not be greater than 250\"}}", &why), APR_EINVAL);
    /* a 2xx that is not the list */
    ck_assert_int_eq(page_refused(200, "not json", &why), APR_EGENERAL);
    ck_assert_int_eq(page_refused(200, "{\"status\":\"error\",\"data\":[]}", &why), APR_EGENERAL);
    ck_assert_int_eq(page_refused(200, "{\"status\":\"success\",\"data\":{}}", &why), APR_EGENERAL);
    ck_assert_int_eq(page_refused(200, "[]", &why), APR_EGENERAL);
    /* bookings we cannot trust are skipped, never half-read */
    {
        cs_calcom_page_t *pg = page_ok(
            "{\"status\":\"success\",\"data\":[7,{\"uid\":\"x\"},{\"uid\":\"y\",\"status\":"
            "\"accepted\",\"start\":\"soon\",\"end\":\"2026-12-10T19:30:00Z\"},{\"uid\":\"z\","
            "\"status\":\"accepted\",\"start\":\"2026-12-10T18:30:00Z\"},{\"uid\":\"w\","
            "\"status\":\"maybe\",\"start\":\"2026-12-10T18:30:00Z\",\"end\":\"2026-12-10T19:30:00Z\"},"
            "{\"uid\":\"v\",\"rescheduledFromUid\":\"a b\",\"status\":\"accepted\","
            "\"start\":\"2026-12-10T18:30:00Z\",\"end\":\"2026-12-10T19:30:00Z\"}]}", 100);
        ck_assert_int_eq(pg->listed, 6);
        ck_assert_int_eq(pg->unreadable, 6);
        ck_assert_int_eq(pg->events->nelts, 0);
    }
}
END_TEST

Suite *calcom_suite(void)
{
    Suite *s = suite_create("cs_calcom");
    TCase *tc = tcase_create("webhooks");

    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_calcom_signature_of_the_raw_body_verifies);
    tcase_add_test(tc, test_calcom_signature_refuses_changes_and_missing_pieces);
    tcase_add_test(tc, test_calcom_booking_created_reads_every_field);
    tcase_add_test(tc, test_calcom_reschedule_names_the_booking_it_replaced);
    tcase_add_test(tc, test_calcom_cancel_request_and_end_are_told_apart);
    tcase_add_test(tc, test_calcom_other_triggers_keep_their_name);
    tcase_add_test(tc, test_calcom_refuses_what_it_cannot_trust);
    suite_add_tcase(s, tc);
    tc = tcase_create("bookings_list");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_calcom_list_request_asks_for_recent_changes_with_the_key);
    tcase_add_test(tc, test_calcom_list_bookings_become_the_webhooks_they_imply);
    tcase_add_test(tc, test_calcom_list_journal_ids_match_the_webhooks);
    tcase_add_test(tc, test_calcom_list_pages_until_cal_says_no_more);
    tcase_add_test(tc, test_calcom_list_failures_say_whether_to_retry);
    suite_add_tcase(s, tc);
    return s;
}
