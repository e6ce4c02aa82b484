/* Cal.com bookings and Jobber over HTTP, against hauler.localhost and the
 * fake Jobber (tests/fakes/fake_jobber.py): forged, unsigned and replayed
 * webhooks refused or ignored with nothing stored; a booking on the
 * contact's timeline once, in the client's time zone; a reschedule moving
 * the same booking; the OAuth connection bound to the session; a lead
 * arriving in Jobber once although an attempt failed half-way; Jobber's
 * userErrors shown to staff; a revoked grant shown on the settings page
 * and in /consult/health; two workers racing to refresh one token; every
 * account's webhooks reaching one URL and going to the client that
 * connected that account; a lead with a photo arriving once although its
 * worker was killed after Jobber made the request, its note linking the
 * photo through a signed URL that opens nothing else. */
#include "integ.h"
#include "base/cs_crypto.h"

#include <apr_strings.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#define ADMIN "admin.localhost"
#define SITE "hauler.localhost"
#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"
#define OWNER "owner%40hauler.example", "hauler+password+1"
#define CREW "crew%40hauler.example", "crew+password+1"

static const char *CLIENT = "(SELECT id FROM clients WHERE slug = 'hauler-client')";

typedef it_session_t sess_t;

static it_resp_t *dash(const char *method, const char *path, const sess_t *s, const char *body)
{
    return it_dash(ADMIN, method, path, s, body);
}

static sess_t *login(const char *email, const char *password)
{
    return it_dash_login(ADMIN, email, password);
}

/* ---- the fake Jobber ---------------------------------------------------- */

static it_resp_t *jobber(const char *method, const char *path, const char *body)
{
    it_req_t q = { 0 };
    q.base = getenv("CS_TEST_JOBBER_URL");
    q.method = method;
    q.path = path;
    q.body = body;
    q.content_type = body ? JSON : NULL;
    return it_http(&q);
}

static void jobber_state(const char *json)
{
    ck_assert_int_eq(jobber("POST", "/_control/state", json)->status, 200);
}

/* Logged requests to @p path whose body contains @p part (NULL: any). */
static int jobber_count(const char *path, const char *part)
{
    json_object *arr = json_tokener_parse(jobber("GET", "/_control/requests", NULL)->body);
    int i, n = 0;
    for (i = 0; arr && i < (int)json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i), *v;
        const char *p = json_object_object_get_ex(e, "path", &v) ? json_object_get_string(v) : "";
        const char *b = json_object_object_get_ex(e, "body", &v) ? json_object_get_string(v) : "";
        n += !strcmp(p, path) && (!part || strstr(b, part));
    }
    json_object_put(arr);
    return n;
}

/* How many clients, requests or notes the fake holds. */
static int jobber_held(const char *what)
{
    json_object *doc = json_tokener_parse(jobber("GET", "/_control/data", NULL)->body), *v;
    int n = doc && json_object_object_get_ex(doc, what, &v) ? (int)json_object_array_length(v) : -1;
    json_object_put(doc);
    return n;
}

static void fresh(void)
{
    char sql[256];
    ck_assert_int_eq(jobber("POST", "/_control/reset", NULL)->status, 200);
    snprintf(sql, sizeof(sql), "DELETE FROM integration_accounts WHERE client_id = %s", CLIENT);
    it_sql(sql, 0, NULL);
    it_sql("DELETE FROM jobs WHERE kind = 'jobber.test' AND state IN ('done', 'dead')", 0, NULL);
}

static const char *account_state(void)
{
    return it_sql("SELECT state FROM integration_accounts a JOIN clients c ON c.id = a.client_id"
                  " WHERE c.slug = 'hauler-client' AND a.provider = 'jobber'", 0, NULL);
}

/* The owner approves in "Jobber": connect, the fake's authorize page, the
 * callback with its code and our state. */
static const char *oauth_callback(const sess_t *s)
{
    it_resp_t *r = dash("GET", "/settings/integrations/jobber/connect", s, NULL);
    const char *loc = apr_table_get(r->headers, "Location"), *base = getenv("CS_TEST_JOBBER_URL");
    it_req_t q = { 0 };
    ck_assert_msg(r->status == 302 && loc, "connect: %ld", r->status);
    ck_assert_msg(!strncmp(loc, base, strlen(base)), "authorize URL %s is not the fake's", loc);
    ck_assert_ptr_nonnull(strstr(loc, "state="));
    q.base = base;
    q.path = loc + strlen(base);
    r = it_http(&q);
    loc = apr_table_get(r->headers, "Location");
    ck_assert_msg(r->status == 302 && loc, "authorize: %ld", r->status);
    loc = strstr(loc, "/settings/integrations/jobber/callback?");
    ck_assert_ptr_nonnull(loc);
    return loc;
}

static void connect_jobber(const sess_t *s)
{
    it_resp_t *r = dash("GET", oauth_callback(s), s, NULL);
    ck_assert_msg(r->status == 303, "callback: %ld %s", r->status, r->body);
    ck_assert_str_eq(account_state(), "connected");
}

/* ---- signing as the providers do ----------------------------------------- */

static it_resp_t *post_signed(const char *path, const char *header, const char *sig,
                              const char *body)
{
    it_req_t q = { 0 };
    const char *hdrs[2] = { sig ? apr_pstrcat(it_pool, header, ": ", sig, NULL) : NULL, NULL };
    q.host = SITE;
    q.path = path;
    q.body = body;
    q.content_type = JSON;
    q.headers = hdrs;
    return it_http(&q);
}

static const char *cal_sig(const char *secret, const char *body)
{
    unsigned char mac[CS_SHA256_LEN];
    char *hex = apr_palloc(it_pool, 2 * CS_SHA256_LEN + 1);
    ck_assert_int_eq(cs_hmac_sha256(mac, secret, strlen(secret), body, strlen(body)), APR_SUCCESS);
    cs_hex_encode(hex, mac, CS_SHA256_LEN);
    return hex;
}

static it_resp_t *cal_post(const char *body)
{
    return post_signed("/webhooks/calcom", "X-Cal-Signature-256",
                       cal_sig(getenv("CS_TEST_CAL_SECRET"), body), body);
}

static const char *booking(const char *trigger, const char *uid, const char *old_uid,
                           const char *start, const char *end, const char *email)
{
    return apr_psprintf(it_pool,
        "{\"triggerEvent\":\"%s\",\"createdAt\":\"2026-12-01T10:00:00.000Z\",\"payload\":{"
        "\"type\":\"estimate\",\"title\":\"Free estimate\",\"startTime\":\"%s\",\"endTime\":\"%s\","
        "\"uid\":\"%s\"%s%s%s,\"organizer\":{\"name\":\"Haul Away\",\"email\":\"book@hauler.example\","
        "\"timeZone\":\"America/Denver\"},\"attendees\":[{\"name\":\"Dana Booker\",\"email\":\"%s\","
        "\"timeZone\":\"America/Chicago\"}],\"location\":\"12 Elm St\",\"status\":\"ACCEPTED\","
        "\"additionalNotes\":\"Old sofa and a fridge\"}}",
        trigger, start, end, uid, old_uid ? ",\"rescheduleUid\":\"" : "", old_uid ? old_uid : "",
        old_uid ? "\"" : "", email);
}

static long count(const char *sql, const char *arg)
{
    const char *p[1] = { arg };
    return it_sql_long(sql, arg ? 1 : 0, p);
}

#define BOOKING_MSGS "SELECT count(*) FROM messages m JOIN conversations cv ON cv.id = m.conversation_id" \
    " JOIN contacts ct ON ct.id = cv.contact_id WHERE m.channel = 'booking' AND ct.email = $1"

/* ---- Cal.com ------------------------------------------------------------ */

/* What a pop-up booking button on a static page asks for. */
START_TEST(calcom_book_json_gives_the_vhosts_link)
{
    it_req_t q = { 0 };
    it_resp_t *r;

    q.host = SITE;
    q.path = "/book.json";
    r = it_http(&q);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_ptr_nonnull(strstr(r->body, "\"cal_link\":\"haul-away/estimate\""));
    ck_assert_ptr_nonnull(strstr(r->body, "\"booking_url\":\"https://app.cal.com/haul-away/estimate\""));
    q.method = "POST";
    q.body = "x=1";
    q.content_type = FORM;
    ck_assert_int_eq(it_http(&q)->status, 405);
    /* A vhost without ConsultCalLink has none. */
    q.method = NULL;
    q.body = NULL;
    q.host = "hauler-auto.localhost";
    ck_assert_int_eq(it_http(&q)->status, 404);
}
END_TEST

START_TEST(calcom_forged_unsigned_and_replayed_store_nothing)
{
    const char *body = booking("BOOKING_CREATED", "forgedUid1", NULL, "2026-12-08T16:00:00Z",
                               "2026-12-08T17:00:00Z", "forged@example.com");
    long events = count("SELECT count(*) FROM provider_events WHERE provider = 'calcom'", NULL);
    it_resp_t *r;

    r = post_signed("/webhooks/calcom", "X-Cal-Signature-256", cal_sig("not-the-secret", body), body);
    ck_assert_int_eq(r->status, 401);
    ck_assert_int_eq(post_signed("/webhooks/calcom", "X-Cal-Signature-256", NULL, body)->status, 401);
    ck_assert_int_eq(post_signed("/webhooks/calcom", "X-Cal-Signature-256", "no-secret-provided",
                                 body)->status, 401);
    /* Signed, then one byte changed. */
    r = post_signed("/webhooks/calcom", "X-Cal-Signature-256",
                    cal_sig(getenv("CS_TEST_CAL_SECRET"), body),
                    apr_pstrcat(it_pool, body, " ", NULL));
    ck_assert_int_eq(r->status, 401);
    ck_assert_int_eq(count("SELECT count(*) FROM provider_events WHERE provider = 'calcom'", NULL),
                     events);
    ck_assert_int_eq(count("SELECT count(*) FROM bookings WHERE uid = $1", "forgedUid1"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM contacts WHERE email = $1", "forged@example.com"), 0);
    /* Only POST. */
    {
        it_req_t q = { 0 };
        q.host = SITE;
        q.path = "/webhooks/calcom";
        ck_assert_int_eq(it_http(&q)->status, 405);
    }
}
END_TEST

START_TEST(calcom_booking_lands_once_in_the_clients_time_zone)
{
    const char *email = "dana.once@example.com";
    const char *body = booking("BOOKING_CREATED", "bookOnce1", NULL, "2026-12-08T16:00:00Z",
                               "2026-12-08T17:00:00Z", email);
    it_resp_t *r = cal_post(body);
    const char *msg;

    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM messages m JOIN"
                  " conversations cv ON cv.id = m.conversation_id JOIN contacts ct ON ct.id ="
                  " cv.contact_id WHERE m.channel = 'booking' AND ct.email = '%s'", email), "1", 10),
                  "the booking never reached the timeline");
    /* Cal.com delivers again (at least once): acknowledged, nothing new. */
    r = cal_post(body);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(strstr(r->body, "duplicate"));
    sleep(1);
    ck_assert_int_eq(count(BOOKING_MSGS, email), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM bookings WHERE uid = $1", "bookOnce1"), 1);
    /* 16:00Z on Dec 8 is 9:00 AM in Denver (the client's zone), not the
     * attendee's Chicago or UTC. */
    msg = it_sql("SELECT m.body FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
                 " JOIN contacts ct ON ct.id = cv.contact_id WHERE ct.email = 'dana.once@example.com'"
                 " AND m.channel = 'booking'", 0, NULL);
    ck_assert_msg(strstr(msg, "Tue Dec 8, 9:00 AM to 10:00 AM (America/Denver)"), "body: %s", msg);
    ck_assert_ptr_nonnull(strstr(msg, "Old sofa"));
    /* The contact is the attendee; staff are notified as of any message. */
    ck_assert_str_eq(it_sql("SELECT name FROM contacts WHERE email = 'dana.once@example.com'", 0,
                            NULL), "Dana Booker");
    ck_assert_int_eq(count("SELECT count(*) FROM notifications n JOIN messages m ON m.id ="
                           " n.message_id WHERE m.provider_id LIKE '%' || $1 || '%'", "bookOnce1"), 1);
}
END_TEST

START_TEST(calcom_reschedule_moves_the_same_booking)
{
    const char *email = "dana.moves@example.com";
    ck_assert_int_eq(cal_post(booking("BOOKING_CREATED", "moveOld1", NULL, "2026-12-09T16:00:00Z",
                                      "2026-12-09T17:00:00Z", email))->status, 200);
    ck_assert(it_wait_sql("SELECT count(*) FROM bookings WHERE uid = 'moveOld1'", "1", 10));
    ck_assert_int_eq(cal_post(booking("BOOKING_RESCHEDULED", "moveNew1", "moveOld1",
                                      "2026-12-10T18:30:00Z", "2026-12-10T19:30:00Z",
                                      email))->status, 200);
    ck_assert_msg(it_wait_sql("SELECT count(*) FROM bookings WHERE uid = 'moveNew1'"
                              " AND 'moveOld1' = ANY (previous_uids)", "1", 10),
                  "the reschedule did not move the booking");
    ck_assert_int_eq(count("SELECT count(*) FROM bookings b JOIN contacts ct ON ct.id = b.contact_id"
                           " WHERE ct.email = $1", email), 1);
    ck_assert_str_eq(it_sql("SELECT to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
                            " FROM bookings WHERE uid = 'moveNew1'", 0, NULL), "2026-12-10 18:30");
    ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM messages m JOIN conversations"
                          " cv ON cv.id = m.conversation_id JOIN contacts ct ON ct.id = cv.contact_id"
                          " WHERE m.channel = 'booking' AND ct.email = '%s'", email), "2", 10));
    ck_assert_ptr_nonnull(strstr(it_sql("SELECT body FROM messages WHERE provider_id LIKE"
                                        " '%:moveNew1:BOOKING_RESCHEDULED'", 0, NULL),
                                 "Thu Dec 10, 11:30 AM to 12:30 PM (America/Denver) (was Wed Dec 9,"
                                 " 9:00 AM)"));
    /* Then cancelled: still one booking, now cancelled. */
    ck_assert_int_eq(cal_post(booking("BOOKING_CANCELLED", "moveNew1", NULL, "2026-12-10T18:30:00Z",
                                      "2026-12-10T19:30:00Z", email))->status, 200);
    ck_assert(it_wait_sql("SELECT status FROM bookings WHERE uid = 'moveNew1'", "cancelled", 10));
}
END_TEST

/* ---- Jobber webhooks ---------------------------------------------------- */

static const char *jobber_sig(const char *secret, const char *body)
{
    unsigned char mac[CS_SHA256_LEN];
    ck_assert_int_eq(cs_hmac_sha256(mac, secret, strlen(secret), body, strlen(body)), APR_SUCCESS);
    return cs_base64_encode(it_pool, mac, CS_SHA256_LEN);
}

#define ACCOUNT_42 "Z2lkOi8vSm9iYmVyL0FjY291bnQvNDI="     /* the fake's default */
#define ACCOUNT_43 "Z2lkOi8vSm9iYmVyL0FjY291bnQvNDM="
#define ACCOUNT_44 "Z2lkOi8vSm9iYmVyL0FjY291bnQvNDQ="

static const char *jobber_event_of(const char *account, const char *topic, const char *item,
                                   const char *at)
{
    return apr_psprintf(it_pool, "{\"data\":{\"webHookEvent\":{\"topic\":\"%s\",\"appId\":\"app1\","
                        "\"accountId\":\"%s\",\"itemId\":\"%s\","
                        "\"occurredAt\":\"%s\"}}}", topic, account, item, at);
}

static const char *jobber_event(const char *topic, const char *item, const char *at)
{
    return jobber_event_of(ACCOUNT_42, topic, item, at);
}

static it_resp_t *jobber_post(const char *body)
{
    return post_signed("/webhooks/jobber", "X-Jobber-Hmac-SHA256",
                       jobber_sig(getenv("CS_TEST_JOBBER_SECRET"), body), body);
}

START_TEST(jobber_webhooks_forged_refused_and_replays_deduplicated)
{
    const char *body = jobber_event("CLIENT_UPDATE", "Y2xpZW50OjE=", "2026-12-01T10:00:00Z");
    const char *secret = getenv("CS_TEST_JOBBER_SECRET");
    long before = count("SELECT count(*) FROM provider_events WHERE provider = 'jobber'", NULL);
    it_resp_t *r;

    ck_assert_int_eq(post_signed("/webhooks/jobber", "X-Jobber-Hmac-SHA256",
                                 jobber_sig("wrong-secret-000000", body), body)->status, 401);
    ck_assert_int_eq(post_signed("/webhooks/jobber", "X-Jobber-Hmac-SHA256", NULL, body)->status, 401);
    ck_assert_int_eq(count("SELECT count(*) FROM provider_events WHERE provider = 'jobber'", NULL),
                     before);
    r = post_signed("/webhooks/jobber", "X-Jobber-Hmac-SHA256", jobber_sig(secret, body), body);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    r = post_signed("/webhooks/jobber", "X-Jobber-Hmac-SHA256", jobber_sig(secret, body), body);
    ck_assert_int_eq(r->status, 200);
    ck_assert_ptr_nonnull(strstr(r->body, "duplicate"));
    ck_assert_int_eq(count("SELECT count(*) FROM provider_events WHERE provider = 'jobber'", NULL),
                     before + 1);
    /* The same topic and item at another time is another event. */
    body = jobber_event("CLIENT_UPDATE", "Y2xpZW50OjE=", "2026-12-01T10:05:00Z");
    ck_assert_int_eq(post_signed("/webhooks/jobber", "X-Jobber-Hmac-SHA256",
                                 jobber_sig(secret, body), body)->status, 200);
    ck_assert_int_eq(count("SELECT count(*) FROM provider_events WHERE provider = 'jobber'", NULL),
                     before + 2);
}
END_TEST

/* ---- Jobber's connection ------------------------------------------------ */

START_TEST(jobber_connect_is_bound_to_the_session_and_sealed)
{
    sess_t *owner, *other;
    const char *cb, *stored;

    fresh();
    owner = login(OWNER);
    other = login(OWNER);           /* the same owner in another browser */
    /* Staff cannot reach the settings. */
    ck_assert_int_eq(dash("GET", "/settings/integrations", login(CREW), NULL)->status, 403);
    /* A callback that started in another session is refused, and its code
     * never exchanged. */
    cb = oauth_callback(owner);
    ck_assert_int_eq(dash("GET", cb, other, NULL)->status, 400);
    ck_assert_int_eq(jobber_count("/api/oauth/token", NULL), 0);
    ck_assert_str_eq(account_state(), "");
    /* A forged state too. */
    ck_assert_int_eq(dash("GET", "/settings/integrations/jobber/callback?code=x&state=v1.1.2.3",
                          owner, NULL)->status, 400);
    /* The real one connects. */
    ck_assert_int_eq(dash("GET", cb, owner, NULL)->status, 303);
    ck_assert_str_eq(account_state(), "connected");
    /* Stored sealed under the current key (k2), never in the clear. */
    stored = it_sql("SELECT refresh_sealed FROM integration_accounts a JOIN clients c ON"
                    " c.id = a.client_id WHERE c.slug = 'hauler-client'", 0, NULL);
    ck_assert_msg(!strncmp(stored, "v1.k2.", 6), "sealed as %s", stored);
    ck_assert_ptr_null(strstr(stored, "rt_"));
    ck_assert_ptr_nonnull(strstr(dash("GET", "/settings/integrations", owner, NULL)->body,
                                 "data-state=\"connected\""));
    /* Disconnect forgets the tokens. */
    ck_assert_int_eq(dash("POST", "/settings/integrations/jobber/disconnect", owner, "x=1")->status,
                     303);
    ck_assert_str_eq(account_state(), "disconnected");
    ck_assert_str_eq(it_sql("SELECT coalesce(refresh_sealed, 'none') FROM integration_accounts a"
                            " JOIN clients c ON c.id = a.client_id WHERE c.slug = 'hauler-client'",
                            0, NULL), "none");
}
END_TEST

/* A customer's form post on the hauler's site; its message id. */
static const char *lead(const char *email, const char *text)
{
    it_resp_t *r = it_post(SITE, FORM, apr_psprintf(it_pool, "name=Pat+Lee&email=%s&message=%s",
                                                    email, text));
    ck_assert_msg(r->status == 303 || r->status == 201, "intake: %ld", r->status);
    return it_sql(apr_psprintf(it_pool, "SELECT m.id FROM messages m JOIN conversations cv ON"
                               " cv.id = m.conversation_id JOIN contacts ct ON ct.id = cv.contact_id"
                               " WHERE ct.email = '%s' ORDER BY m.id DESC LIMIT 1",
                               apr_pstrdup(it_pool, email)), 0, NULL);
}

/* Two leads of one new customer sent at once, each taken by another
 * node's worker while Jobber is slow to answer the customer search: one
 * Jobber client for both, not one each. */
START_TEST(jobber_two_leads_of_one_customer_at_once_make_one_client)
{
    sess_t *owner, *crew;
    const char *a, *b, *out = NULL;

    fresh();
    owner = login(OWNER);
    connect_jobber(owner);
    a = lead("sam.twice@example.com", "Shed+teardown");
    b = lead("sam.twice@example.com", "And+an+old+piano");
    ck_assert(*a && *b && strcmp(a, b));
    jobber_state("{\"answer_delay\": {\"match\": \"ConsultFindClient\", \"seconds\": 2, \"times\": 2}}");
    ck_assert_msg(it_ctl("httpd2-start", &out) == 0, "second Apache: %s", out);
    crew = login(CREW);
    ck_assert_int_eq(dash("POST", apr_pstrcat(it_pool, "/settings/integrations/jobber/leads/", a, NULL),
                          crew, "x=1")->status, 303);
    ck_assert_int_eq(dash("POST", apr_pstrcat(it_pool, "/settings/integrations/jobber/leads/", b, NULL),
                          crew, "x=1")->status, 303);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM jobber_requests WHERE"
                                           " message_id IN (%s, %s) AND state = 'sent'", a, b), "2", 30),
                  "the leads never both reached Jobber");
    ck_assert_msg(it_ctl("httpd2-stop", &out) == 0, "%s", out);
    ck_assert_int_eq(jobber_held("clients"), 1);
    ck_assert_int_eq(jobber_held("requests"), 2);
    fresh();                            /* no answer delay left for the next test */
}
END_TEST

START_TEST(jobber_lead_arrives_once_after_a_retry)
{
    sess_t *owner, *crew;
    const char *id;
    it_resp_t *r;

    fresh();
    owner = login(OWNER);
    connect_jobber(owner);
    id = lead("pat.once@example.com", "Garage+cleanout,+two+trailers+of+junk");
    ck_assert(*id);
    /* The note (the 4th GraphQL call: find, create client, create request,
     * note) fails once: the retry must not make a second client or request. */
    jobber_state("{\"fail\": {\"status\": 503, \"times\": 1, \"path\": \"/api/graphql\","
                 " \"skip\": 3}}");
    crew = login(CREW);
    r = dash("POST", apr_pstrcat(it_pool, "/settings/integrations/jobber/leads/", id, NULL), crew,
             "x=1");
    ck_assert_msg(r->status == 303, "send: %ld", r->status);
    /* Pressed twice: still one. */
    dash("POST", apr_pstrcat(it_pool, "/settings/integrations/jobber/leads/", id, NULL), crew, "x=1");
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT state FROM jobber_requests WHERE"
                                           " message_id = %s", id), "sent", 20),
                  "the lead never reached Jobber");
    ck_assert_int_eq(jobber_held("clients"), 1);
    ck_assert_int_eq(jobber_held("requests"), 1);
    ck_assert_int_eq(jobber_held("notes"), 1);
    ck_assert_int_eq(jobber_count("/api/graphql", "requestCreate("), 1);
    ck_assert_int_eq(count("SELECT attempts FROM jobs WHERE unique_key = 'jobber.lead:' || $1", id), 2);
    /* A second lead of the same customer finds the Jobber client. */
    id = lead("pat.once@example.com", "Also+a+hot+tub");
    dash("POST", apr_pstrcat(it_pool, "/settings/integrations/jobber/leads/", id, NULL), crew, "x=1");
    ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT state FROM jobber_requests WHERE"
                                       " message_id = %s", id), "sent", 20));
    ck_assert_int_eq(jobber_held("clients"), 1);
    ck_assert_int_eq(jobber_held("requests"), 2);
    /* A REQUEST_UPDATE webhook brings Jobber's status back. */
    jobber_state("{\"request_status\": \"assessment_scheduled\"}");
    {
        const char *rid = it_sql(apr_psprintf(it_pool, "SELECT jobber_request_id FROM jobber_requests"
                                              " WHERE message_id = %s", id), 0, NULL);
        const char *body = jobber_event("REQUEST_UPDATE", rid, "2026-12-02T09:00:00Z");
        ck_assert_int_eq(post_signed("/webhooks/jobber", "X-Jobber-Hmac-SHA256",
                                     jobber_sig(getenv("CS_TEST_JOBBER_SECRET"), body), body)->status,
                         200);
        ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT jobber_status FROM jobber_requests"
                                               " WHERE message_id = %s", id),
                                  "assessment_scheduled", 10), "the webhook's item was not fetched");
    }
    /* The conversation shows where to open the request, and after the
     * client's own webhook, the customer, in Jobber. */
    {
        const char *cv = it_sql(apr_psprintf(it_pool, "SELECT conversation_id FROM messages"
                                             " WHERE id = %s", id), 0, NULL);
        const char *jc = it_sql(apr_psprintf(it_pool, "SELECT jobber_client_id FROM jobber_links"
                                             " WHERE client_id = %s", CLIENT), 0, NULL);
        const char *panel = dash("GET", apr_pstrcat(it_pool, "/c/", cv, NULL), crew, NULL)->body;
        ck_assert_msg(strstr(panel, "href=\"https://secure.getjobber.com/requests/"),
                      "no link to the request: %s", panel);
        ck_assert_ptr_null(strstr(panel, "Open the client in Jobber"));
        ck_assert_int_eq(jobber_post(jobber_event("CLIENT_UPDATE", jc, "2026-12-02T09:05:00Z"))
                         ->status, 200);
        ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT jobber_url IS NOT NULL FROM"
                                           " jobber_links WHERE client_id = %s", CLIENT), "t", 10));
        panel = dash("GET", apr_pstrcat(it_pool, "/c/", cv, NULL), crew, NULL)->body;
        ck_assert_msg(strstr(panel, "In Jobber: client active"), "no Jobber status: %s", panel);
        ck_assert_msg(strstr(panel, "href=\"https://secure.getjobber.com/clients/"),
                      "no link to the client: %s", panel);
    }
    /* A change whose webhook was lost: the daily reconciliation finds it
     * and counts it. */
    jobber_state("{\"request_status\": \"converted\"}");
    it_sql(apr_psprintf(it_pool, "INSERT INTO jobs (kind, payload) VALUES ('jobber.reconcile',"
                        " jsonb_build_object('client_id', %s))", CLIENT), 0, NULL);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT reconcile_recovered FROM"
                                           " integration_accounts WHERE client_id = %s", CLIENT),
                              "2", 20), "the reconciliation did not recover both requests");
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT jobber_status FROM jobber_requests"
                                         " WHERE message_id = %s", id), 0, NULL), "converted");
    ck_assert_ptr_nonnull(strstr(dash("GET", "/settings/integrations", owner, NULL)->body,
                                 "2 change(s) recovered"));
    /* Tomorrow's run is waiting. */
    ck_assert_int_eq(count(apr_psprintf(it_pool, "SELECT count(*) FROM jobs WHERE kind ="
                                        " 'jobber.reconcile' AND state = 'queued' AND run_at > now()"
                                        " AND payload->>'client_id' = %s::text", CLIENT), NULL), 1);
}
END_TEST

START_TEST(jobber_user_errors_are_shown_to_staff)
{
    sess_t *owner;
    const char *id;

    fresh();
    owner = login(OWNER);
    connect_jobber(owner);
    id = lead("pat.refused@example.com", "Shed+demolition");
    /* The contact is linked to a Jobber client that no longer exists:
     * requestCreate answers userErrors. */
    it_sql(apr_psprintf(it_pool, "INSERT INTO jobber_links (client_id, contact_id, jobber_client_id)"
                        " SELECT %s, cv.contact_id, 'Z2lkOi8vSm9iYmVyL0NsaWVudC85OTk=' FROM messages m"
                        " JOIN conversations cv ON cv.id = m.conversation_id WHERE m.id = %s"
                        " ON CONFLICT DO NOTHING", CLIENT, id), 0, NULL);
    dash("POST", apr_pstrcat(it_pool, "/settings/integrations/jobber/leads/", id, NULL), owner, "x=1");
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT state FROM jobber_requests WHERE"
                                           " message_id = %s", id), "failed", 20),
                  "the refusal was not recorded");
    ck_assert_ptr_nonnull(strstr(dash("GET", "/settings/integrations", owner, NULL)->body,
                                 "Client could not be found"));
    ck_assert_ptr_nonnull(strstr(dash("GET", it_sql(apr_psprintf(it_pool, "SELECT '/c/' ||"
                                      " conversation_id FROM messages WHERE id = %s", id), 0, NULL),
                                      owner, NULL)->body, "Client could not be found"));
    ck_assert_int_eq(jobber_held("requests"), 0);
}
END_TEST

START_TEST(jobber_revoked_grant_shows_on_settings_and_health)
{
    sess_t *owner;
    it_resp_t *r;
    it_req_t q = { 0 };

    fresh();
    owner = login(OWNER);
    connect_jobber(owner);
    /* The owner removed the app in Jobber. */
    jobber_state("{\"revoke\": true}");
    ck_assert_int_eq(dash("POST", "/settings/integrations/jobber/test", owner, "x=1")->status, 303);
    ck_assert_msg(it_wait_sql("SELECT state FROM integration_accounts a JOIN clients c ON"
                              " c.id = a.client_id WHERE c.slug = 'hauler-client'", "revoked", 20),
                  "the revoked grant was not noticed");
    r = dash("GET", "/settings/integrations", owner, NULL);
    ck_assert_ptr_nonnull(strstr(r->body, "data-state=\"revoked\""));
    ck_assert_ptr_nonnull(strstr(r->body, "Connect Jobber again"));
    q.host = SITE;
    q.path = "/consult/health";
    r = it_http(&q);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "\"client\":\"hauler-client\"") && strstr(r->body, "\"revoked\""),
                  "health: %s", r->body);
    /* The dead tokens are gone. */
    ck_assert_str_eq(it_sql("SELECT coalesce(refresh_sealed, 'none') FROM integration_accounts a"
                            " JOIN clients c ON c.id = a.client_id WHERE c.slug = 'hauler-client'",
                            0, NULL), "none");
}
END_TEST

START_TEST(jobber_two_workers_refresh_a_rotating_token_once)
{
    sess_t *owner;
    const char *out = NULL;
    char sql[512];

    fresh();
    owner = login(OWNER);
    connect_jobber(owner);
    ck_assert_msg(it_ctl("httpd2-start", &out) == 0, "second Apache: %s", out);
    /* Both workers find the token expired; Jobber takes its time. */
    jobber_state("{\"expire_tokens\": true, \"token_delay\": 1.5}");
    snprintf(sql, sizeof(sql), "UPDATE integration_accounts SET expires_at = now() - interval '1 hour'"
             " WHERE client_id = %s", CLIENT);
    it_sql(sql, 0, NULL);
    snprintf(sql, sizeof(sql), "INSERT INTO jobs (kind, payload) SELECT 'jobber.test',"
             " jsonb_build_object('client_id', %s) FROM generate_series(1, 4)", CLIENT);
    it_sql(sql, 0, NULL);
    ck_assert_msg(it_wait_sql("SELECT count(*) FROM jobs WHERE kind = 'jobber.test' AND state = 'done'"
                              " AND created_at > now() - interval '1 minute'", "4", 30),
                  "the test jobs did not finish: %s",
                  it_sql("SELECT string_agg(state || ' ' || attempts || ' ' || coalesce(last_error,"
                         " ''), '; ') FROM jobs WHERE kind = 'jobber.test'", 0, NULL));
    ck_assert_msg(it_ctl("httpd2-stop", &out) == 0, "%s", out);
    /* One refresh, with the one refresh token; the rotated one stored. */
    ck_assert_int_eq(jobber_count("/api/oauth/token", "grant_type=refresh_token"), 1);
    ck_assert_str_eq(account_state(), "connected");
    ck_assert_str_eq(it_sql("SELECT refresh_count::text || ':' || test_ok::text FROM"
                            " integration_accounts a JOIN clients c ON c.id = a.client_id"
                            " WHERE c.slug = 'hauler-client'", 0, NULL), "1:true");
    jobber_state("{\"token_delay\": 0}");
}
END_TEST

START_TEST(jobber_quote_requests_go_by_themselves_when_configured)
{
    sess_t *owner;
    it_resp_t *r;
    const char *id, *intent;

    fresh();
    it_sql("DELETE FROM integration_accounts WHERE client_id ="
           " (SELECT id FROM clients WHERE slug = 'hauler-auto')", 0, NULL);
    owner = login("owner%40hauler-auto.example", "auto+password+1");
    r = dash("GET", oauth_callback(owner), owner, NULL);
    ck_assert_msg(r->status == 303, "callback: %ld", r->status);
    ck_assert_str_eq(it_sql("SELECT array_to_string(auto_send, ' ') FROM integration_accounts a"
                            " JOIN clients c ON c.id = a.client_id WHERE c.slug = 'hauler-auto'",
                            0, NULL), "quote_request job_inquiry");
    r = it_post("hauler-auto.localhost", FORM, "name=Quinn+Quote&email=quinn%40example.com&message="
                "How+much+would+it+cost+to+haul+away+an+old+couch+and+a+fridge%3F+"
                "Please+send+me+a+quote+and+your+price.");
    ck_assert_msg(r->status == 303 || r->status == 201, "intake: %ld", r->status);
    id = it_sql("SELECT m.id FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
                " JOIN contacts ct ON ct.id = cv.contact_id WHERE ct.email = 'quinn@example.com'",
                0, NULL);
    ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT classified_at IS NOT NULL FROM messages"
                                       " WHERE id = %s", id), "t", 20));
    intent = it_sql(apr_psprintf(it_pool, "SELECT intent FROM messages WHERE id = %s", id), 0, NULL);
    ck_assert_msg(!strcmp(intent, "quote_request"), "classified as %s", intent);
    /* Nobody pressed anything: it is in Jobber. */
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT state FROM jobber_requests WHERE"
                                           " message_id = %s", id), "sent", 20),
                  "the quote request did not go to Jobber by itself");
    ck_assert_int_eq(jobber_held("requests"), 1);
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT coalesce(requested_by::text, 'auto')"
                                         " FROM jobber_requests WHERE message_id = %s", id), 0, NULL),
                     "auto");
    /* A booking's event on the timeline carries an intent too, but it was
     * never classified: even with booking_request among the intents sent,
     * it is not a lead. */
    it_sql("UPDATE integration_accounts SET auto_send = auto_send || '{booking_request}'::text[]"
           " WHERE client_id = (SELECT id FROM clients WHERE slug = 'hauler-auto')", 0, NULL);
    id = it_sql("SELECT o_message_id FROM consult_calcom_booking((SELECT id FROM clients"
                " WHERE slug = 'hauler-auto'), 'BOOKING_CREATED', 'autoBook1', NULL, 'Pickup',"
                " 'pickup', now(), now() + interval '1 hour', 'Bo Booker', 'bo@example.com',"
                " NULL, 'UTC', NULL, NULL, NULL, 'UTC')", 0, NULL);
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT intent FROM messages WHERE id = %s", id),
                            0, NULL), "booking_request");
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT count(*) FROM jobber_requests"
                                         " WHERE message_id = %s", id), 0, NULL), "0");
}
END_TEST

/* A key from the harness's environment (hex or base64), as the module reads it. */
static cs_seal_key_t *env_key(const char *id, const char *var)
{
    cs_seal_key_t *k = apr_pcalloc(it_pool, sizeof(*k));
    const char *v = getenv(var);
    unsigned char *raw = NULL;
    apr_size_t n = 0;
    k->key_id = id;
    if (strlen(v) == 64) {
        ck_assert_int_eq(cs_hex_decode(k->key, 32, v, 64), APR_SUCCESS);
    }
    else {
        ck_assert_int_eq(cs_base64_decode(&raw, &n, it_pool, v, strlen(v)), APR_SUCCESS);
        ck_assert_int_eq(n, 32);
        memcpy(k->key, raw, 32);
    }
    return k;
}

START_TEST(jobber_tokens_under_an_older_key_open_and_move_to_the_current_one)
{
    sess_t *owner;
    apr_array_header_t *ring = apr_array_make(it_pool, 2, sizeof(cs_seal_key_t));
    cs_seal_key_t *k1 = env_key("k1", "CS_TEST_SEAL_KEY_1");
    unsigned char *plain = NULL;
    apr_size_t len = 0;
    const char *p[3], *sql;

    fresh();
    owner = login(OWNER);
    connect_jobber(owner);
    /* As if the tokens were stored before k2 was listed first: re-sealed
     * under k1, now the second key of ConsultSecretKey. */
    APR_ARRAY_PUSH(ring, cs_seal_key_t) = *env_key("k2", "CS_TEST_SEAL_KEY_2");
    sql = apr_psprintf(it_pool, "SELECT refresh_sealed FROM integration_accounts WHERE client_id = %s",
                       CLIENT);
    ck_assert_int_eq(cs_open(it_pool, ring, it_sql(sql, 0, NULL), &plain, &len, NULL), APR_SUCCESS);
    p[0] = cs_seal(it_pool, k1->key, "k1", plain, len);
    sql = apr_psprintf(it_pool, "SELECT access_sealed FROM integration_accounts WHERE client_id = %s",
                       CLIENT);
    ck_assert_int_eq(cs_open(it_pool, ring, it_sql(sql, 0, NULL), &plain, &len, NULL), APR_SUCCESS);
    p[1] = cs_seal(it_pool, k1->key, "k1", plain, len);
    it_sql(apr_psprintf(it_pool, "UPDATE integration_accounts SET refresh_sealed = $1,"
                        " access_sealed = $2, key_id = 'k1', expires_at = now() - interval '1 hour'"
                        " WHERE client_id = %s", CLIENT), 2, p);
    /* The next call opens them with k1, refreshes, and seals under k2. */
    ck_assert_int_eq(dash("POST", "/settings/integrations/jobber/test", owner, "x=1")->status, 303);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT key_id || ':' || coalesce(test_ok::text, '')"
                                           " FROM integration_accounts WHERE client_id = %s", CLIENT),
                              "k2:true", 20), "the tokens did not move to the current key");
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT left(refresh_sealed, 6) || left(access_sealed, 6)"
                                         " FROM integration_accounts WHERE client_id = %s", CLIENT),
                            0, NULL), "v1.k2.v1.k2.");
    ck_assert_int_eq(jobber_count("/api/oauth/token", "grant_type=refresh_token"), 1);
}
END_TEST

/* Jobber posts every account's webhooks to the app's one URL, so the vhost
 * a delivery reaches says nothing about whose it is: its accountId does. */
START_TEST(jobber_webhooks_go_to_the_client_that_connected_the_account)
{
    sess_t *hauler, *other;
    const char *body;

    fresh();
    it_sql("DELETE FROM integration_accounts WHERE client_id ="
           " (SELECT id FROM clients WHERE slug = 'hauler-auto')", 0, NULL);
    hauler = login(OWNER);
    connect_jobber(hauler);
    ck_assert_str_eq(it_sql(apr_psprintf(it_pool, "SELECT account_id FROM integration_accounts"
                                         " WHERE client_id = %s", CLIENT), 0, NULL), ACCOUNT_42);
    jobber_state("{\"account\": {\"id\": \"" ACCOUNT_43 "\", \"name\": \"Auto Haulers\"}}");
    other = login("owner%40hauler-auto.example", "auto+password+1");
    ck_assert_int_eq(dash("GET", oauth_callback(other), other, NULL)->status, 303);
    ck_assert_str_eq(it_sql("SELECT account_id FROM integration_accounts a JOIN clients c"
                            " ON c.id = a.client_id WHERE c.slug = 'hauler-auto'", 0, NULL),
                     ACCOUNT_43);
    /* The other account removes the app; the delivery reaches the
     * hauler's URL. Only the other client's connection ends. */
    body = jobber_event_of(ACCOUNT_43, "APP_DISCONNECT", "", "2026-12-02T10:00:00Z");
    ck_assert_int_eq(jobber_post(body)->status, 200);
    ck_assert_msg(it_wait_sql("SELECT state FROM integration_accounts a JOIN clients c"
                              " ON c.id = a.client_id WHERE c.slug = 'hauler-auto'", "revoked", 20),
                  "the account's own client was not disconnected");
    ck_assert_str_eq(account_state(), "connected");
    /* An account no client connected: recorded, done, nobody touched. */
    body = jobber_event_of(ACCOUNT_44, "APP_DISCONNECT", "", "2026-12-02T10:01:00Z");
    ck_assert_int_eq(jobber_post(body)->status, 200);
    ck_assert_msg(it_wait_sql("SELECT processed_at IS NOT NULL FROM provider_events WHERE"
                              " provider = 'jobber' AND event_id = 'APP_DISCONNECT::"
                              "2026-12-02T10:01:00Z'", "t", 20), "the delivery was not done");
    ck_assert_str_eq(account_state(), "connected");
    /* The settings page's test learns (and shows) the account. */
    ck_assert_int_eq(dash("POST", "/settings/integrations/jobber/test", hauler, "x=1")->status, 303);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT test_ok FROM integration_accounts"
                                           " WHERE client_id = %s", CLIENT), "t", 20),
                  "the test event did not pass");
    ck_assert_ptr_nonnull(strstr(dash("GET", "/settings/integrations", hauler, NULL)->body,
                                 "Haul Away Co"));
}
END_TEST

static const char PNG[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0"
                          "\x1f\x15\xc4\x89\0\0\0\rIDATx\x9c" "c\xf8\x0f\0\0\x01\x01\0\x05";

/* A photo quote on the hauler's site (multipart, one PNG); its message id. */
static const char *photo_lead(const char *email)
{
    const char *head = apr_psprintf(it_pool,
        "--Qz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nRio Photo\r\n"
        "--Qz\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n%s\r\n"
        "--Qz\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nShed full of junk,"
        " photo attached\r\n"
        "--Qz\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"shed.png\"\r\n"
        "Content-Type: image/png\r\n\r\n", email);
    const char *tail = "\r\n--Qz--\r\n";
    apr_size_t hl = strlen(head), pl = sizeof(PNG) - 1, tl = strlen(tail);
    char *buf = apr_palloc(it_pool, hl + pl + tl);
    it_req_t q = { 0 };
    it_resp_t *r;

    memcpy(buf, head, hl);
    memcpy(buf + hl, PNG, pl);
    memcpy(buf + hl + pl, tail, tl);
    q.host = SITE;
    q.path = "/api/intake";
    q.content_type = "multipart/form-data; boundary=Qz";
    q.body = buf;
    q.body_len = hl + pl + tl;
    r = it_http(&q);
    ck_assert_msg(r->status == 303 || r->status == 201, "intake: %ld %s", r->status, r->body);
    /* Journal-first: the worker files it. */
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM messages m JOIN"
                                           " conversations cv ON cv.id = m.conversation_id JOIN"
                                           " contacts ct ON ct.id = cv.contact_id WHERE"
                                           " ct.email = '%s'", email), "1", 20),
                  "the photo quote was never filed");
    return it_sql(apr_psprintf(it_pool, "SELECT m.id FROM messages m JOIN conversations cv ON"
                               " cv.id = m.conversation_id JOIN contacts ct ON ct.id = cv.contact_id"
                               " WHERE ct.email = '%s' ORDER BY m.id DESC LIMIT 1", email), 0, NULL);
}

/* The worker dies after Jobber made the request and before we heard so:
 * the next attempt finds that request by our reference instead of making
 * a second one. */
START_TEST(jobber_lead_with_a_photo_arrives_once_after_its_worker_is_killed)
{
    sess_t *owner;
    const char *id, *locked = "", *note;
    json_object *doc, *notes, *v;
    int i;

    fresh();
    owner = login(OWNER);
    connect_jobber(owner);
    id = photo_lead("rio.photo@example.com");
    ck_assert(*id);
    ck_assert_int_eq(count("SELECT count(*) FROM attachments a JOIN submissions s ON"
                           " s.id = a.submission_id WHERE s.message_id = $1::bigint", id), 1);
    jobber_state("{\"answer_delay\": {\"match\": \"requestCreate(\", \"seconds\": 2.5}}");
    ck_assert_int_eq(dash("POST", apr_pstrcat(it_pool, "/settings/integrations/jobber/leads/", id,
                                              NULL), login(CREW), "x=1")->status, 303);
    for (i = 0; i < 250 && !(*locked && jobber_held("requests") == 1); i++) {
        locked = it_sql(apr_psprintf(it_pool, "SELECT locked_by FROM jobs WHERE state = 'running'"
                                     " AND unique_key = 'jobber.lead:%s'", id), 0, NULL);
        usleep(20 * 1000);
    }
    ck_assert_msg(*locked && jobber_held("requests") == 1, "the request was never made");
    ck_assert_int_eq(kill((pid_t)atoi(strrchr(locked, ':') + 1), SIGKILL), 0);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT state FROM jobber_requests WHERE"
                                           " message_id = %s", id), "sent", 30),
                  "the lead never reached Jobber after the kill");
    ck_assert_int_eq(jobber_count("/api/graphql", "requestCreate("), 1);
    ck_assert_int_eq(jobber_held("requests"), 1);
    ck_assert_int_eq(jobber_held("notes"), 1);
    ck_assert_int_eq(jobber_held("clients"), 1);
    /* The note carries the words and a link to the photo that opens it. */
    doc = json_tokener_parse(jobber("GET", "/_control/data", NULL)->body);
    ck_assert(doc && json_object_object_get_ex(doc, "notes", &notes));
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(notes, 0), "message", &v));
    note = apr_pstrdup(it_pool, json_object_get_string(v));
    json_object_put(doc);
    ck_assert_msg(strstr(note, "Shed full of junk"), "note: %s", note);
    {
        const char *url = strstr(note, "https://hauler.example.com/_consult/photos/"), *end;
        it_req_t q = { 0 };
        it_resp_t *r;
        ck_assert_msg(url, "no photo link in the note: %s", note);
        url += strlen("https://hauler.example.com");
        end = url + strcspn(url, " \n)");
        q.host = SITE;
        q.path = apr_pstrmemdup(it_pool, url, end - url);
        r = it_http(&q);
        ck_assert_msg(r->status == 200, "photo link: %ld", r->status);
        ck_assert_str_eq(apr_table_get(r->headers, "Content-Type"), "image/png");
        ck_assert_int_eq((int)r->len, (int)sizeof(PNG) - 1);
        ck_assert(!memcmp(r->body, PNG, sizeof(PNG) - 1));
        /* A link altered by one character opens nothing. */
        q.path = apr_pstrcat(it_pool, apr_pstrmemdup(it_pool, url, end - url - 1),
                             end[-1] == '0' ? "1" : "0", NULL);
        ck_assert_int_eq(it_http(&q)->status, 404);
        /* Nor on another client's site. */
        q.host = "hauler-auto.localhost";
        q.path = apr_pstrmemdup(it_pool, url, end - url);
        ck_assert_int_eq(it_http(&q)->status, 404);
    }
}
END_TEST

Suite *suite_integrations(void)
{
    Suite *s = suite_create("integrations");
    TCase *tc = tcase_create("calcom");
    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, calcom_book_json_gives_the_vhosts_link);
    tcase_add_test(tc, calcom_forged_unsigned_and_replayed_store_nothing);
    tcase_add_test(tc, calcom_booking_lands_once_in_the_clients_time_zone);
    tcase_add_test(tc, calcom_reschedule_moves_the_same_booking);
    suite_add_tcase(s, tc);
    tc = tcase_create("jobber");
    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, jobber_webhooks_forged_refused_and_replays_deduplicated);
    tcase_add_test(tc, jobber_connect_is_bound_to_the_session_and_sealed);
    tcase_add_test(tc, jobber_lead_arrives_once_after_a_retry);
    tcase_add_test(tc, jobber_two_leads_of_one_customer_at_once_make_one_client);
    tcase_add_test(tc, jobber_user_errors_are_shown_to_staff);
    tcase_add_test(tc, jobber_quote_requests_go_by_themselves_when_configured);
    tcase_add_test(tc, jobber_revoked_grant_shows_on_settings_and_health);
    tcase_add_test(tc, jobber_tokens_under_an_older_key_open_and_move_to_the_current_one);
    tcase_add_test(tc, jobber_two_workers_refresh_a_rotating_token_once);
    tcase_add_test(tc, jobber_webhooks_go_to_the_client_that_connected_the_account);
    tcase_add_test(tc, jobber_lead_with_a_photo_arrives_once_after_its_worker_is_killed);
    suite_add_tcase(s, tc);
    return s;
}
