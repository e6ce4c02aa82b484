/* The daily reconciliations against recon.localhost, the fake Cal.com
 * (tests/fakes/fake_calcom.py, whose webhooks can be lost) and the fake
 * Jobber: a booking whose webhook never came reaches the contact's
 * timeline through calcom.reconcile, once, counted on the settings page,
 * and its webhook delivered late is a duplicate; a lost reschedule moves
 * the booking; a failing Cal.com is shown and retried; a Jobber request
 * whose REQUEST_UPDATE was lost gets its new status from jobber.reconcile. */
#include "integ.h"

#include <apr_strings.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN "admin.localhost"
#define SITE "recon.localhost"
#define OWNER "owner%40recon.example", "recon+password+1"
#define JSON "application/json"

static const char *CLIENT = "(SELECT id FROM clients WHERE slug = 'recon-client')";

static it_resp_t *fake(const char *env, const char *method, const char *path, const char *body)
{
    it_req_t q = { 0 };
    q.base = getenv(env);
    q.method = method;
    q.path = path;
    q.body = body;
    q.content_type = body ? JSON : NULL;
    return it_http(&q);
}

static it_resp_t *cal(const char *method, const char *path, const char *body)
{
    return fake("CS_TEST_CAL_URL", method, path, body);
}

/* The first column of a query built like printf. */
#define Q(...) it_sql(apr_psprintf(it_pool, __VA_ARGS__), 0, NULL)

/* Booking messages on the timeline of the contact with @p email. */
static long timeline(const char *email)
{
    const char *p[1] = { email };
    return it_sql_long("SELECT count(*) FROM messages m JOIN conversations cv ON"
                       " cv.id = m.conversation_id JOIN contacts ct ON ct.id = cv.contact_id"
                       " WHERE m.channel = 'booking' AND ct.email = $1 AND m.client_id = "
                       "(SELECT id FROM clients WHERE slug = 'recon-client')", 1, p);
}

/* Run @p kind for the client now and wait until it is done; its state. */
static const char *run_job(const char *kind)
{
    const char *id = it_sql(apr_psprintf(it_pool, "INSERT INTO jobs (kind, payload) VALUES ('%s',"
                                         " jsonb_build_object('client_id', %s)) RETURNING id",
                                         kind, CLIENT), 0, NULL);
    const char *sql = apr_psprintf(it_pool, "SELECT state IN ('done', 'dead') FROM jobs WHERE id = %s",
                                   id);
    ck_assert_msg(it_wait_sql(sql, "t", 30), "%s never finished: %s", kind,
                  Q("SELECT state || ' ' || attempts || ' ' || coalesce(last_error, '') FROM jobs"
                    " WHERE id = %s", id));
    return Q("SELECT state FROM jobs WHERE id = %s", id);
}

/* Today's runs, which the worker scheduled at its start, are over: they
 * would race with a test's own run (both right, but the count split). */
static void settled(void)
{
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM jobs WHERE state = 'done'"
                                           " AND unique_key IN (SELECT k || ':' || %s || ':' ||"
                                           " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM"
                                           " unnest(ARRAY['calcom.reconcile', 'jobber.reconcile']) k)",
                                           CLIENT), "2", 30),
                  "today's reconciliations did not run at the worker's start");
}

static const char *account(const char *what, const char *provider)
{
    return it_sql(apr_psprintf(it_pool, "SELECT %s FROM integration_accounts WHERE client_id = %s"
                               " AND provider = '%s'", what, CLIENT, provider), 0, NULL);
}

/* The fake's last webhook for booking @p uid: "STATUS ANSWER". */
static const char *last_webhook(const char *uid)
{
    json_object *arr = json_tokener_parse(cal("GET", "/_control/requests", NULL)->body), *v;
    const char *out = "none";
    int i;
    for (i = 0; arr && i < (int)json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *body = json_object_object_get_ex(e, "body", &v) ? json_object_get_string(v) : "";
        if (strstr(body, apr_psprintf(it_pool, "\"uid\":\"%s\"", uid))) {
            long status = json_object_object_get_ex(e, "status", &v) ? json_object_get_int(v) : -1;
            const char *ans = json_object_object_get_ex(e, "answer", &v)
                              ? json_object_get_string(v) : "";
            out = apr_psprintf(it_pool, "%ld %s", status, ans);
        }
    }
    json_object_put(arr);
    return out;
}

static const char *settings_page(void)
{
    it_session_t *s = it_dash_login(ADMIN, OWNER);
    it_resp_t *r = it_dash(ADMIN, "GET", "/settings/integrations", s, NULL);
    ck_assert_int_eq(r->status, 200);
    return r->body;
}

/* ---- Cal.com ------------------------------------------------------------ */

START_TEST(calcom_booking_whose_webhook_was_lost_is_recovered_once)
{
    const char *email = "lost.booker@example.com";
    it_resp_t *r;

    settled();
    ck_assert_int_eq(cal("POST", "/_control/reset", NULL)->status, 200);
    /* Booked in Cal.com; the webhook never reaches us. */
    r = cal("POST", "/_control/send", "{\"uid\": \"lostBook1\", \"start\": \"2026-12-15T16:00:00.000Z\","
            " \"end\": \"2026-12-15T17:00:00.000Z\", \"name\": \"Lou Lost\", \"email\":"
            " \"lost.booker@example.com\", \"notes\": \"Piano, upstairs\", \"drop\": true}");
    ck_assert_msg(r->status == 200 && strstr(r->body, "\"dropped\": true"), "%s", r->body);
    ck_assert_int_eq(timeline(email), 0);

    /* The daily run finds it: on the timeline, in the client's zone, once. */
    ck_assert_str_eq(run_job("calcom.reconcile"), "done");
    ck_assert_int_eq(timeline(email), 1);
    ck_assert_str_eq(account("reconcile_recovered::text || ' ' || state", "calcom"), "1 connected");
    ck_assert_ptr_nonnull(strstr(Q("SELECT m.body FROM messages m WHERE m.provider_id = %s"
                                   " || ':lostBook1:BOOKING_CREATED'", CLIENT),
                                 "Tue Dec 15, 9:00 AM to 10:00 AM (America/Denver)"));
    ck_assert_str_eq(Q("SELECT name FROM contacts WHERE client_id = %s AND email ="
                       " 'lost.booker@example.com'", CLIENT), "Lou Lost");
    /* journaled under the webhook's event id, processed */
    ck_assert_str_eq(Q("SELECT count(*) || ' ' || bool_and(processed_at IS NOT NULL) FROM"
                       " provider_events WHERE provider = 'calcom' AND client_id = %s"
                       " AND event_id = 'lostBook1:BOOKING_CREATED'", CLIENT), "1 true");
    /* Cal.com was asked as its API wants: the key, the version, recent changes. */
    r = cal("GET", "/_control/api", NULL);
    ck_assert_msg(strstr(r->body, "\"status\": 200") && strstr(r->body, "\"version\": \"2024-08-13\"")
                  && strstr(r->body, "\"afterUpdatedAt\"") && strstr(r->body, "\"Bearer\""),
                  "%s", r->body);
    ck_assert_ptr_nonnull(strstr(settings_page(), "1 booking event(s) recovered"));

    /* The next run finds nothing new. */
    ck_assert_str_eq(run_job("calcom.reconcile"), "done");
    ck_assert_int_eq(timeline(email), 1);
    ck_assert_str_eq(account("reconcile_recovered::text", "calcom"), "0");

    /* The webhook turns up late: acknowledged as a duplicate, nothing new. */
    r = cal("POST", "/_control/redeliver", NULL);
    ck_assert_msg(r->status == 200 && strstr(r->body, "[200]"), "%s", r->body);
    ck_assert_msg(strstr(last_webhook("lostBook1"), "\"duplicate\":true"), "%s",
                  last_webhook("lostBook1"));
    ck_assert_int_eq(timeline(email), 1);
    ck_assert_str_eq(Q("SELECT count(*) FROM provider_events WHERE provider = 'calcom'"
                       " AND client_id = %s AND event_id LIKE 'lostBook1:%%'", CLIENT), "1");
    ck_assert_str_eq(Q("SELECT count(*) FROM bookings WHERE client_id = %s AND uid = 'lostBook1'",
                       CLIENT), "1");
}
END_TEST

START_TEST(calcom_lost_reschedule_moves_the_booking)
{
    const char *email = "moved.booker@example.com";
    it_resp_t *r;

    settled();
    ck_assert_int_eq(cal("POST", "/_control/reset", NULL)->status, 200);
    /* Booked with its webhook... */
    r = cal("POST", "/_control/send", "{\"uid\": \"keepOld1\", \"start\": \"2026-12-16T16:00:00.000Z\","
            " \"end\": \"2026-12-16T17:00:00.000Z\", \"name\": \"Mo Moved\", \"email\":"
            " \"moved.booker@example.com\"}");
    ck_assert_msg(r->status == 200 && strstr(r->body, "\"status\": 200"), "%s", r->body);
    ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM bookings WHERE client_id = %s"
                                       " AND uid = 'keepOld1'", CLIENT), "1", 10));
    /* ...then moved in Cal.com, that webhook lost. */
    r = cal("POST", "/_control/send", "{\"triggerEvent\": \"BOOKING_RESCHEDULED\", \"uid\": \"keepNew1\","
            " \"rescheduleUid\": \"keepOld1\", \"start\": \"2026-12-17T18:30:00.000Z\","
            " \"end\": \"2026-12-17T19:30:00.000Z\", \"name\": \"Mo Moved\", \"email\":"
            " \"moved.booker@example.com\", \"drop\": true}");
    ck_assert_msg(strstr(r->body, "\"dropped\": true"), "%s", r->body);
    ck_assert_str_eq(run_job("calcom.reconcile"), "done");
    /* One booking, now at the new time under the new uid; the old time's
     * cancellation (Cal.com cancels the replaced booking) is not news. */
    ck_assert_str_eq(Q("SELECT uid || ' ' || status || ' ' || to_char(starts_at AT TIME ZONE 'UTC',"
                       " 'MM-DD HH24:MI') || ' ' || array_to_string(previous_uids, ',') FROM bookings"
                       " WHERE client_id = %s AND (uid = 'keepNew1' OR 'keepOld1' = ANY (previous_uids)"
                       " OR uid = 'keepOld1')", CLIENT), "keepNew1 booked 12-17 18:30 keepOld1");
    ck_assert_int_eq(timeline(email), 2);
    ck_assert_str_eq(account("reconcile_recovered::text", "calcom"), "1");
    /* the late webhook is a duplicate */
    ck_assert_int_eq(cal("POST", "/_control/redeliver", NULL)->status, 200);
    ck_assert_msg(strstr(last_webhook("keepNew1"), "\"duplicate\":true"), "%s",
                  last_webhook("keepNew1"));
    ck_assert_int_eq(timeline(email), 2);
}
END_TEST

START_TEST(calcom_failing_listing_is_shown_and_retried)
{
    const char *email = "retry.booker@example.com";

    settled();
    ck_assert_int_eq(cal("POST", "/_control/reset", NULL)->status, 200);
    ck_assert_int_eq(cal("POST", "/_control/send", "{\"uid\": \"retryBook1\", \"start\":"
                         " \"2026-12-18T16:00:00.000Z\", \"end\": \"2026-12-18T17:00:00.000Z\","
                         " \"name\": \"Rae Retry\", \"email\": \"retry.booker@example.com\","
                         " \"drop\": true}")->status, 200);
    /* Cal.com fails twice: the account says so, then the retry recovers. */
    ck_assert_int_eq(cal("POST", "/_control/fail", "{\"status\": 503, \"times\": 2}")->status, 200);
    ck_assert_str_eq(run_job("calcom.reconcile"), "done");
    ck_assert_int_eq(timeline(email), 1);
    ck_assert_str_eq(account("state || ' ' || reconcile_recovered || ' ' || (last_error IS NULL)",
                             "calcom"), "connected 1 true");
    ck_assert_str_eq(Q("SELECT attempts FROM jobs WHERE kind = 'calcom.reconcile' AND payload->>"
                       "'client_id' = %s::text AND unique_key IS NULL ORDER BY id DESC LIMIT 1",
                       CLIENT), "3");
    /* A refused key is not retried: shown on the page and in /consult/health. */
    ck_assert_int_eq(cal("POST", "/_control/fail", "{\"status\": 401, \"times\": 1}")->status, 200);
    ck_assert_str_eq(run_job("calcom.reconcile"), "dead");
    ck_assert_str_eq(account("state", "calcom"), "failing");
    ck_assert_ptr_nonnull(strstr(settings_page(), "Cal.com bookings 401: injected failure"));
    {
        it_req_t hq = { 0 };
        it_resp_t *r;
        hq.host = SITE;
        hq.path = "/consult/health";
        r = it_http(&hq);
        ck_assert_msg(strstr(r->body, "\"provider\":\"calcom\""), "health: %s", r->body);
    }
    /* Tomorrow's run is waiting all the same. */
    ck_assert_str_eq(Q("SELECT count(*) FROM jobs WHERE kind = 'calcom.reconcile' AND state = 'queued'"
                       " AND run_at > now() AND payload->>'client_id' = %s::text", CLIENT), "1");
    ck_assert_str_eq(run_job("calcom.reconcile"), "done");
    ck_assert_str_eq(account("state", "calcom"), "connected");
}
END_TEST

/* ---- Jobber ------------------------------------------------------------- */

static it_resp_t *jobber(const char *method, const char *path, const char *body)
{
    return fake("CS_TEST_JOBBER_URL", method, path, body);
}

/* The owner connects Jobber: connect, the fake's authorize page, the
 * callback with its code and our state. */
static void connect_jobber(const it_session_t *s)
{
    const char *base = getenv("CS_TEST_JOBBER_URL"), *loc;
    it_resp_t *r = it_dash(ADMIN, "GET", "/settings/integrations/jobber/connect", s, NULL);
    it_req_t aq = { 0 };

    loc = apr_table_get(r->headers, "Location");
    ck_assert_msg(r->status == 302 && loc && !strncmp(loc, base, strlen(base)), "connect: %ld",
                  r->status);
    aq.base = base;
    aq.path = loc + strlen(base);
    r = it_http(&aq);
    loc = apr_table_get(r->headers, "Location");
    ck_assert_msg(r->status == 302 && loc && strstr(loc, "/settings/integrations/jobber/callback?"),
                  "authorize: %ld", r->status);
    r = it_dash(ADMIN, "GET", strstr(loc, "/settings/integrations/jobber/callback?"), s, NULL);
    ck_assert_msg(r->status == 303, "callback: %ld %s", r->status, r->body);
    ck_assert_str_eq(account("state", "jobber"), "connected");
}

START_TEST(jobber_request_whose_update_was_lost_gets_its_status)
{
    it_session_t *owner;
    const char *id;
    it_resp_t *r;

    settled();
    ck_assert_int_eq(jobber("POST", "/_control/reset", NULL)->status, 200);
    it_sql(apr_psprintf(it_pool, "DELETE FROM integration_accounts WHERE client_id = %s"
                        " AND provider = 'jobber'", CLIENT), 0, NULL);
    owner = it_dash_login(ADMIN, OWNER);
    connect_jobber(owner);
    /* A lead, sent to Jobber by staff. */
    r = it_post(SITE, "application/x-www-form-urlencoded",
                "name=Jo+Jobber&email=jo.recon%40example.com&message=Basement+cleanout+please");
    ck_assert_msg(r->status == 303 || r->status == 201, "intake: %ld", r->status);
    id = Q("SELECT m.id FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
           " JOIN contacts ct ON ct.id = cv.contact_id WHERE ct.email = '%s'", "jo.recon@example.com");
    ck_assert(*id);
    r = it_dash(ADMIN, "POST", apr_pstrcat(it_pool, "/settings/integrations/jobber/leads/", id, NULL),
                owner, "x=1");
    ck_assert_int_eq(r->status, 303);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT state FROM jobber_requests WHERE"
                                           " message_id = %s", id), "sent", 20),
                  "the lead never reached Jobber");
    ck_assert_str_ne(Q("SELECT coalesce(jobber_status, 'none') FROM jobber_requests WHERE"
                       " message_id = %s", id), "assessment_scheduled");
    /* Jobber moves the request on; its REQUEST_UPDATE webhook is lost. */
    ck_assert_int_eq(jobber("POST", "/_control/state", "{\"request_status\": \"assessment_scheduled\"}")
                     ->status, 200);
    ck_assert_str_eq(run_job("jobber.reconcile"), "done");
    ck_assert_str_eq(Q("SELECT jobber_status FROM jobber_requests WHERE message_id = %s", id),
                     "assessment_scheduled");
    ck_assert_str_eq(account("reconcile_recovered::text", "jobber"), "1");
    ck_assert_ptr_nonnull(strstr(settings_page(), "1 change(s) recovered"));
    /* Nothing changed since: nothing recovered. */
    ck_assert_str_eq(run_job("jobber.reconcile"), "done");
    ck_assert_str_eq(account("reconcile_recovered::text", "jobber"), "0");
    /* Jobber down: once the run has failed, and before it ever succeeds,
     * tomorrow's is queued (committed first), so an outage cannot end the
     * daily runs. */
    it_sql(apr_psprintf(it_pool, "DELETE FROM jobs WHERE kind = 'jobber.reconcile' AND state = 'queued'"
                        " AND payload->>'client_id' = %s::text", CLIENT), 0, NULL);
    ck_assert_int_eq(jobber("POST", "/_control/state", "{\"fail\": {\"status\": 503, \"times\": 1000,"
                            " \"path\": \"/api/graphql\"}}")->status, 200);
    id = it_sql(apr_psprintf(it_pool, "INSERT INTO jobs (kind, payload) VALUES ('jobber.reconcile',"
                             " jsonb_build_object('client_id', %s)) RETURNING id", CLIENT), 0, NULL);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT attempts >= 1 AND last_error IS NOT NULL FROM jobs"
                                           " WHERE id = %s", id), "t", 20),
                  "the run did not fail: %s", Q("SELECT state || ' ' || attempts FROM jobs WHERE id = %s", id));
    ck_assert_str_eq(Q("SELECT count(*) FROM jobs WHERE kind = 'jobber.reconcile' AND state = 'queued'"
                       " AND run_at > now() + interval '1 hour' AND payload->>'client_id' = %s::text",
                       CLIENT), "1");
    /* Jobber back: the run's next attempt goes through. */
    ck_assert_int_eq(jobber("POST", "/_control/state", "{\"clear_fails\": true}")->status, 200);
    it_sql(apr_psprintf(it_pool, "UPDATE jobs SET run_at = now() WHERE id = %s AND state = 'queued'", id),
           0, NULL);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT state FROM jobs WHERE id = %s", id), "done", 30),
                  "the retry did not finish: %s", Q("SELECT state || ' ' || attempts FROM jobs WHERE id = %s", id));
    ck_assert_int_eq(jobber("POST", "/_control/state", "{\"request_status\": \"new\"}")->status, 200);
}
END_TEST

Suite *suite_reconcile(void)
{
    Suite *s = suite_create("reconcile");
    TCase *tc = tcase_create("calcom");
    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, calcom_booking_whose_webhook_was_lost_is_recovered_once);
    tcase_add_test(tc, calcom_lost_reschedule_moves_the_booking);
    tcase_add_test(tc, calcom_failing_listing_is_shown_and_retried);
    suite_add_tcase(s, tc);
    tc = tcase_create("jobber");
    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, jobber_request_whose_update_was_lost_gets_its_status);
    suite_add_tcase(s, tc);
    return s;
}
