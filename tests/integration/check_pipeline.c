/* The intake pipeline over HTTP: contacts and conversations, spam marks,
 * form tokens, idempotency, rate limits, CORS, HTMX and attachments. */
#include "integ.h"

#include <apr_network_io.h>
#include <apr_strings.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"
#define SITE "coffee-shop.localhost"

static const char *last(const char *expr)
{
    return it_sql(apr_psprintf(it_pool, "SELECT %s FROM submissions s"
                               " ORDER BY s.id DESC LIMIT 1", expr), 0, NULL);
}

START_TEST(test_same_email_or_phone_finds_the_same_contact_and_thread)
{
    const char *cid, *p[1];
    ck_assert_int_eq(it_post(SITE, FORM, "name=Rosa&email=rosa%40Example.com&"
                             "phone=503-555-0199&message=first")->status, 303);
    cid = last("contact_id");
    ck_assert_int_eq(it_post(SITE, FORM, "email=ROSA%40example.com&message=second")->status, 303);
    ck_assert_str_eq(last("contact_id"), cid);
    ck_assert_int_eq(it_post(SITE, JSON, "{\"phone\":\"(503) 555 0199\",\"message\":\"third\"}")->status, 201);
    ck_assert_str_eq(last("contact_id"), cid);
    p[0] = cid;
    ck_assert_str_eq(it_sql("SELECT concat_ws('|', name, email, phone) FROM contacts WHERE id = $1",
                            1, p), "Rosa|rosa@example.com|+15035550199");
    /* One conversation, three form messages in it, in order. */
    ck_assert_str_eq(it_sql("SELECT string_agg(m.channel || ':' || m.body, ',' ORDER BY m.id)"
                            " FROM conversations c JOIN messages m ON m.conversation_id = c.id"
                            " WHERE c.contact_id = $1", 1, p),
                     "form:first,form:second,form:third");
}
END_TEST

/* A journal row as the edge writes it (cs_intake_journal_json's keys). */
static const char *journal_row(const char *event, const char *email, const char *phone,
                               const char *key, const char *message)
{
    return apr_psprintf(it_pool,
        "('intake', (SELECT id FROM clients WHERE slug = 'batch-client'), '%s',"
        " jsonb_build_object('name', 'Bea', 'email', %s, 'phone', %s, 'key', %s,"
        " 'message', '%s', 'fields', '{}'::jsonb, 'ip', '127.0.0.1', 'spam', false,"
        " 'reasons', '[]'::jsonb)::text)", event,
        email ? apr_psprintf(it_pool, "'%s'", email) : "NULL",
        phone ? apr_psprintf(it_pool, "'%s'", phone) : "NULL",
        key ? apr_psprintf(it_pool, "'%s'", key) : "NULL", message);
}

/* Posts that arrive together are filed in one batch (a statement per
 * table for all of them): the same person's posts still find one contact
 * and one thread, as one by one, and a retried key still stores once. The
 * rows are written and filed in one transaction, so no worker takes them
 * first. */
START_TEST(test_posts_filed_in_one_batch_find_their_contacts_as_one_by_one)
{
    it_sql("INSERT INTO clients (slug, name) VALUES ('batch-client', 'Batch Co')"
           " ON CONFLICT (slug) DO NOTHING", 0, NULL);
    it_sql(apr_pstrcat(it_pool,
        "DO $$ DECLARE rows jsonb; BEGIN"
        " WITH e AS (INSERT INTO provider_events (provider, client_id, event_id, payload) VALUES ",
        journal_row("post:b1", "bea@example.com", "+15035550101", NULL, "one"), ",",
        journal_row("post:b2", "BEA@example.com", NULL, NULL, "two"), ",",
        journal_row("post:b3", "bee@example.com", "+15035550101", NULL, "three"), ",",
        journal_row("post:b4", "cy@example.com", NULL, "key:batch-1", "four"), ",",
        journal_row("post:b5", "cy@example.com", NULL, "key:batch-1", "four again"), ",",
        journal_row("post:b6", NULL, "+15035550102", NULL, "six"), ",",
        journal_row("post:b7", "dee@example.com", NULL, NULL, "d1"), ",",
        journal_row("post:b8", "dee@example.com", NULL, NULL, "d2"), ",",
        journal_row("post:b9", "Dee@example.com", NULL, NULL, "d3"), ",",
        journal_row("post:c1", "dee@example.com", NULL, NULL, "d4"), ",",
        journal_row("post:c2", "dee@example.com", NULL, NULL, "d5"),
        " RETURNING id, event_id)"
        /* the first post classified here (urgent, a client without email) */
        " SELECT jsonb_agg(CASE WHEN event_id = 'post:b1' THEN jsonb_build_object('id', id,"
        "   'mail', false, 'class', '{\"intent\":\"question\",\"urgency\":\"high\","
        "   \"confidence\":0.9}'::jsonb) ELSE jsonb_build_object('id', id) END ORDER BY id)"
        "   INTO rows FROM e;"
        " PERFORM consult_intake_drain(rows, false); END $$", NULL), 0, NULL);
    /* Row by row (the way a batch that failed is filed again): Cy's phone,
     * unknown until now, is filled in on Cy. */
    it_sql(apr_pstrcat(it_pool,
        "DO $$ DECLARE rows jsonb; BEGIN"
        " WITH e AS (INSERT INTO provider_events (provider, client_id, event_id, payload) VALUES ",
        journal_row("post:c3", "cy@example.com", "+15035550103", NULL, "cy again"), ",",
        journal_row("post:c4", "eve@example.com", NULL, NULL, "eve"),
        " RETURNING id)"
        " SELECT jsonb_agg(jsonb_build_object('id', id) ORDER BY id) INTO rows FROM e;"
        " PERFORM consult_intake_drain(rows, true); END $$", NULL), 0, NULL);
    /* Every row filed, with its submission. */
    ck_assert_str_eq(it_sql("SELECT count(*) FILTER (WHERE processed_at IS NOT NULL"
                            " AND submission_id IS NOT NULL) || '/' || count(*)"
                            " FROM provider_events WHERE event_id ~ '^post:[bc][0-9]$'", 0, NULL),
                     "13/13");
    /* Bea by her email (any case), and by her phone under another address:
     * one contact, one thread, three messages in order. */
    ck_assert_str_eq(it_sql("SELECT count(DISTINCT ct.id) || ' ' || string_agg(m.body, ','"
                            " ORDER BY m.id) FROM contacts ct JOIN conversations cv"
                            " ON cv.contact_id = ct.id JOIN messages m ON m.conversation_id = cv.id"
                            " WHERE ct.client_id = (SELECT id FROM clients WHERE slug = 'batch-client')"
                            " AND lower(ct.email) = 'bea@example.com'", 0, NULL), "1 one,two,three");
    /* The retried key is the first post's submission: stored once. */
    ck_assert_str_eq(it_sql("SELECT count(DISTINCT submission_id) FROM provider_events"
                            " WHERE event_id IN ('post:b4', 'post:b5')", 0, NULL), "1");
    ck_assert_str_eq(it_sql("SELECT count(*) FROM submissions WHERE idempotency_key = 'key:batch-1'",
                            0, NULL), "1");
    /* Dee's five posts (more than the batch's first rounds take): one
     * thread, in the order sent. */
    ck_assert_str_eq(it_sql("SELECT count(DISTINCT ct.id) || ' ' || string_agg(m.body, ','"
                            " ORDER BY m.id) FROM contacts ct JOIN conversations cv"
                            " ON cv.contact_id = ct.id JOIN messages m ON m.conversation_id = cv.id"
                            " WHERE lower(ct.email) = 'dee@example.com' AND ct.client_id ="
                            " (SELECT id FROM clients WHERE slug = 'batch-client')", 0, NULL),
                     "1 d1,d2,d3,d4,d5");
    /* Classified as filed: urgent, so the notification says so; no email
     * set up, so no job to send it. */
    ck_assert_str_eq(it_sql("SELECT m.intent || ' ' || m.urgency || ' ' || n.kind || ' '"
                            " || (SELECT count(*) FROM jobs j WHERE j.kind = 'notification.send'"
                            "     AND j.payload->>'notification_id' = n.id::text)"
                            " FROM messages m JOIN notifications n ON n.message_id = m.id"
                            " WHERE m.body = 'one' AND m.client_id = (SELECT id FROM clients"
                            " WHERE slug = 'batch-client')", 0, NULL),
                     "question high urgent_message 0");
    /* Unclassified ones wait for their classification job. */
    ck_assert_str_eq(it_sql("SELECT count(*) FROM jobs WHERE kind = 'submission.process'"
                            " AND (payload->>'message_id')::bigint = (SELECT id FROM messages"
                            " WHERE body = 'two' AND client_id = (SELECT id FROM clients"
                            " WHERE slug = 'batch-client'))", 0, NULL), "1");
    ck_assert_str_eq(it_sql("SELECT phone FROM contacts WHERE email = 'cy@example.com'"
                            " AND client_id = (SELECT id FROM clients WHERE slug = 'batch-client')",
                            0, NULL), "+15035550103");
    /* Five people in all: Bea, Cy, the phone-only sender, Dee and Eve. */
    ck_assert_str_eq(it_sql("SELECT count(*) || ' ' || (SELECT count(*) FROM conversations cv"
                            " WHERE cv.client_id = ct.client_id) FROM contacts ct WHERE client_id ="
                            " (SELECT id FROM clients WHERE slug = 'batch-client') GROUP BY client_id",
                            0, NULL), "5 5");
}
END_TEST

/* One statement's answer on @p conn as text ("" for none), failing the
 * test on an error. */
static const char *on(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    const char *out;

    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK,
                  "%s: %s", sql, PQresultErrorMessage(res));
    out = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) ? apr_pstrdup(it_pool, PQgetvalue(res, 0, 0)) : "";
    PQclear(res);
    return out;
}

/* Two drains at one backlog, one of them (a node whose claim is older, or
 * a row-by-row retry) handed rows the other has claimed: it waits for
 * them, then finds them filed and leaves them: every post is filed once.
 * Claimed and filed while PostgreSQL's statistics still say no row waits
 * (the planner's worst case: consult_intake_claim.sql). */
START_TEST(test_two_drains_at_one_backlog_file_each_post_once)
{
    PGconn *a = PQconnectdb(getenv("CS_TEST_DATABASE")), *b = PQconnectdb(getenv("CS_TEST_DATABASE"));
    const char *all = NULL, *mine = "", *slug = NULL, *like = NULL, *p[1];
    PGresult *res;
    int round;

    ck_assert_int_eq(PQstatus(a), CONNECTION_OK);
    ck_assert_int_eq(PQstatus(b), CONNECTION_OK);
    /* A claims what the job worker has not taken (it polls every 200 ms).
     * Slowed down (the sanitizers), the worker can take the whole batch
     * first; that files each post once too but tests nothing here, so a
     * fresh batch at a fresh client is tried, up to five. */
    for (round = 1; round <= 5 && !*mine; round++) {
        if (round > 1) {
            on(a, "ROLLBACK");
        }
        slug = apr_psprintf(it_pool, "race-client-%d", round);
        like = apr_psprintf(it_pool, "race%d:%%", round);
        p[0] = slug;
        it_sql("INSERT INTO clients (slug, name) VALUES ($1, 'Race Co')"
               " ON CONFLICT (slug) DO NOTHING", 1, p);
        on(a, "ANALYZE provider_events");
        all = on(a, apr_psprintf(it_pool,
            "WITH e AS (INSERT INTO provider_events (provider, client_id, event_id, payload,"
            " received_at) SELECT 'intake', (SELECT id FROM clients WHERE slug = '%s'),"
            " 'race%d:' || g, jsonb_build_object('name', 'Racer', 'email', 'racer' || g || '@example.com',"
            " 'message', 'post ' || g, 'fields', '{}'::jsonb, 'ip', '127.0.0.1', 'spam', false,"
            " 'reasons', '[]'::jsonb)::text, now() - interval '1 day' + g * interval '1 ms'"
            " FROM generate_series(1, 500) g RETURNING id)"
            " SELECT jsonb_agg(jsonb_build_object('id', id) ORDER BY id) FROM e", slug, round));
        on(a, "BEGIN");
        mine = on(a, apr_psprintf(it_pool, "SELECT jsonb_agg(jsonb_build_object('id', id) ORDER BY id)"
                                  " FROM consult_intake_claim(1000) WHERE slug = '%s'", slug));
    }
    ck_assert_msg(*mine, "in five batches the claim handed out none of the 500 waiting rows");
    /* B, handed every row, waits on A's. */
    ck_assert_int_eq(PQsendQuery(b, apr_psprintf(it_pool,
        "SELECT processed FROM consult_intake_drain('%s'::jsonb, false)", all)), 1);
    usleep(300 * 1000);
    on(a, apr_psprintf(it_pool, "SELECT processed FROM consult_intake_drain('%s'::jsonb, false)", mine));
    on(a, "COMMIT");
    res = PQgetResult(b);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQresultErrorMessage(res));
    PQclear(res);
    while ((res = PQgetResult(b)) != NULL) {
        PQclear(res);
    }
    p[0] = like;
    ck_assert(it_wait_sql(apr_psprintf(it_pool, "SELECT count(*) FROM provider_events"
                                       " WHERE event_id LIKE '%s' AND processed_at IS NULL", like),
                          "0", 10));
    /* each post once: one submission and one message each */
    ck_assert_str_eq(it_sql("SELECT count(*) || ' ' || count(DISTINCT submission_id)"
                            " FROM provider_events WHERE event_id LIKE $1", 1, p), "500 500");
    p[0] = slug;
    ck_assert_str_eq(it_sql("SELECT (SELECT count(*) FROM submissions s JOIN clients c ON c.id = s.client_id"
                            " WHERE c.slug = $1) || ' ' || (SELECT count(*) FROM messages m"
                            " JOIN clients c ON c.id = m.client_id WHERE c.slug = $1)",
                            1, p), "500 500");
    PQfinish(a);
    PQfinish(b);
}
END_TEST

START_TEST(test_honeypot_posts_are_kept_and_marked_spam)
{
    ck_assert_int_eq(it_post("other.localhost", FORM, "email=bot%40spam.example&message=cheap+seo&"
                             "website=http%3A%2F%2Fspam.example")->status, 303);
    ck_assert_str_eq(last("s.is_spam::text || array_to_string(s.spam_reasons, ',')"),
                     "truehoneypot");
    ck_assert_str_eq(last("(SELECT m.is_spam::text || cv.status FROM messages m"
                          " JOIN conversations cv ON cv.id = m.conversation_id"
                          " WHERE m.id = s.message_id)"), "truespam");
}
END_TEST

START_TEST(test_served_page_carries_a_signed_token_and_no_cache)
{
    it_req_t req = { 0 };
    it_resp_t *r;
    req.host = SITE;
    req.path = "/";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 200);
    ck_assert_msg(strstr(r->body, "__CONSULT_FORM_TOKEN__") == NULL, "placeholder left");
    ck_assert_msg(strstr(r->body, "name=\"_token\" value=\"v1.") != NULL, "no token");
    ck_assert_str_eq(apr_table_get(r->headers, "Cache-Control"), "no-store");
    ck_assert_str_ne(it_form_token(SITE), it_form_token(SITE));   /* fresh each time */
}
END_TEST

START_TEST(test_token_rules_too_fast_replay_missing_tampered_and_foreign)
{
    const char *tok = it_form_token("tokens.localhost"), *id, *body;
    long before;

    /* Posted at once: faster than a person; kept, marked too_fast. */
    body = apr_psprintf(it_pool, "email=a%%40b.co&message=fast&_token=%s", tok);
    ck_assert_int_eq(it_post("tokens.localhost", FORM, body)->status, 303);
    ck_assert_str_eq(last("array_to_string(spam_reasons, ',')"), "too_fast");

    /* A person's pace: clean, and the token is not stored with the fields. */
    tok = it_form_token("tokens.localhost");
    usleep(1100 * 1000);
    body = apr_psprintf(it_pool, "email=a%%40b.co&message=human+pace&_token=%s", tok);
    ck_assert_int_eq(it_post("tokens.localhost", FORM, body)->status, 303);
    ck_assert_str_eq(last("is_spam::text || coalesce(fields->>'_token', '-')"), "false-");
    id = last("id");

    /* The same form posted again (double click): the same submission. */
    before = it_submission_count();
    ck_assert_int_eq(it_post("tokens.localhost", FORM, body)->status, 303);
    ck_assert_int_eq(it_submission_count(), before);
    ck_assert_str_eq(last("id"), id);
    /* Nor does a replay with other content and a fresh Idempotency-Key. */
    {
        const char *hdr[] = { "Idempotency-Key: replay-attempt-1", NULL };
        it_req_t rq = { 0 };
        rq.host = "tokens.localhost";
        rq.method = "POST";
        rq.path = "/api/intake";
        rq.content_type = FORM;
        rq.body = apr_psprintf(it_pool, "email=b%%40b.co&message=replayed&_token=%s", tok);
        rq.headers = hdr;
        ck_assert_int_eq(it_http(&rq)->status, 303);
        ck_assert_int_eq(it_submission_count(), before);
    }

    /* Required but missing, tampered, or made for another client. */
    ck_assert_int_eq(it_post("tokens.localhost", FORM, "email=a%40b.co&message=none")->status, 303);
    ck_assert_str_eq(last("array_to_string(spam_reasons, ',')"), "no_form_token");
    tok = apr_pstrdup(it_pool, it_form_token("tokens.localhost"));
    ((char *)tok)[strlen(tok) - 1] = tok[strlen(tok) - 1] == 'a' ? 'b' : 'a';
    usleep(1100 * 1000);
    ck_assert_int_eq(it_post("tokens.localhost", FORM, apr_psprintf(
        it_pool, "email=a%%40b.co&message=tampered&_token=%s", tok))->status, 303);
    ck_assert_str_eq(last("array_to_string(spam_reasons, ',')"), "bad_form_token");
    tok = it_form_token("other.localhost");
    usleep(1100 * 1000);
    ck_assert_int_eq(it_post("tokens.localhost", FORM, apr_psprintf(
        it_pool, "email=a%%40b.co&message=foreign&_token=%s", tok))->status, 303);
    ck_assert_str_eq(last("array_to_string(spam_reasons, ',')"), "bad_form_token");
}
END_TEST

START_TEST(test_idempotency_key_makes_one_submission)
{
    const char *hdr[] = { "Idempotency-Key: order-form-7f3a", NULL };
    it_req_t req = { 0 };
    it_resp_t *r1, *r2;
    long before = it_submission_count();

    req.host = SITE;
    req.path = "/api/intake";
    req.content_type = JSON;
    req.body = "{\"email\":\"k@k.example\",\"message\":\"retry me\"}";
    req.headers = hdr;
    r1 = it_http(&req);
    r2 = it_http(&req);
    ck_assert_int_eq(r1->status, 201);
    ck_assert_int_eq(r2->status, 200);
    ck_assert_msg(strstr(r2->body, "\"duplicate\":true") != NULL, "%s", r2->body);
    ck_assert_int_eq(strncmp(r1->body, r2->body, strcspn(r1->body, "}")), 0);
    ck_assert_int_eq(it_submission_count(), before + 1);
}
END_TEST

START_TEST(test_rate_limit_answers_429_with_retry_after)
{
    int i;
    it_resp_t *r = NULL;
    it_clear_of_window_edge(60, 15);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(it_post("limited.localhost", FORM, "email=r%40r.example&message=hi")->status, 303);
    }
    r = it_post("limited.localhost", FORM, "email=r%40r.example&message=hi");
    ck_assert_int_eq(r->status, 429);
    ck_assert_msg(atoi(apr_table_get(r->headers, "Retry-After")) >= 1, "Retry-After");
    ck_assert_msg(strstr(r->body, "rate_limited") != NULL, "%s", r->body);
}
END_TEST

START_TEST(test_client_budget_keeps_posts_but_marks_them_spam)
{
    int i;
    it_clear_of_window_edge(3600, 15);
    for (i = 0; i < 3; i++) {
        ck_assert_int_eq(it_post("budget.localhost", FORM, apr_psprintf(
            it_pool, "email=b%%40b.example&message=budget+%d", i))->status, 303);
    }
    ck_assert_str_eq(it_sql("SELECT string_agg(s.message || ':' || array_to_string(s.spam_reasons, ','),"
                            " ' ' ORDER BY s.id) FROM submissions s JOIN clients c ON c.id = s.client_id"
                            " WHERE c.slug = 'budget-client'", 0, NULL),
                     "budget 0: budget 1: budget 2:client_rate_limit");
}
END_TEST

/* A bot flood at one client: the first ConsultIntakeSpamKeep honeypot
 * posts are stored and marked (staff can rescue one), the rest answered
 * and counted, never a contact or a message; a real visitor's post in the
 * middle of it is stored; the spam folder says how many were counted. */
START_TEST(test_a_bot_flood_past_the_keep_budget_is_counted_not_stored)
{
#define BOT "{\"email\":\"bot@flood.example\",\"message\":\"cheap seo %d\"," \
            "\"website\":\"http://spam.example\"}"
    const char *in_client = " JOIN clients c ON c.id = m.client_id WHERE c.slug = 'flood-client'";
    it_resp_t *r;
    int i;

    for (i = 0; i < 3; i++) {
        r = it_post("flood.localhost", JSON, apr_psprintf(it_pool, BOT, i));
        ck_assert_int_eq(r->status, 201);
        ck_assert_msg(!strncmp(r->body, "{\"id\":", 6), "%s", r->body);
    }
    for (i = 3; i < 8; i++) {
        r = it_post("flood.localhost", JSON, apr_psprintf(it_pool, BOT, i));
        ck_assert_int_eq(r->status, 202);
        ck_assert_str_eq(r->body, "{\"counted\":true}");
    }
    /* A form post past the budget lands on the thank-you page like any. */
    ck_assert_int_eq(it_post("flood.localhost", FORM, "email=bot%40flood.example&"
                             "message=cheap+seo+form&website=http%3A%2F%2Fspam.example")->status, 303);
    ck_assert_int_eq(it_post("flood.localhost", JSON, "{\"email\":\"ana@real.example\","
                             "\"message\":\"Do you cater weddings?\"}")->status, 201);
    ck_assert_msg(it_wait_sql(apr_psprintf(it_pool, "SELECT string_agg(m.is_spam::text, ','"
                                           " ORDER BY m.id) FROM messages m%s", in_client),
                              "true,true,true,false", 10),
                  "not the 3 kept bot posts and the real one: %s",
                  it_sql(apr_psprintf(it_pool, "SELECT string_agg(m.body, '|' ORDER BY m.id)"
                                      " FROM messages m%s", in_client), 0, NULL));
    ck_assert_int_eq(it_sql_long("SELECT count(*) FROM contacts ct JOIN clients c"
                                 " ON c.id = ct.client_id WHERE c.slug = 'flood-client'",
                                 0, NULL), 2);
    /* Each process writes what it counted once a second. */
    ck_assert_msg(it_wait_sql("SELECT coalesce(sum(posts), 0) FROM intake_edge_counts e"
                              " JOIN clients c ON c.id = e.client_id"
                              " WHERE c.slug = 'flood-client' AND e.reason = 'honeypot'", "6", 10),
                  "the 6 bot posts past the budget are not counted: %s",
                  it_sql("SELECT coalesce(sum(posts), 0) FROM intake_edge_counts", 0, NULL));
    ck_assert_int_eq(it_sql_long(apr_psprintf(it_pool, "SELECT count(*) FROM messages m%s"
                                              " AND m.body LIKE 'cheap seo%%'", in_client),
                                 0, NULL), 3);
#undef BOT
}
END_TEST

/* A child told to stop still answers the posts in flight; one counted then
 * is written as the child ends, not lost with it. The post's body is held
 * back over a graceful restart, so the old child counts it after it was
 * told to stop (when its watchdog stops). */
START_TEST(test_a_post_counted_while_its_child_stops_is_still_written)
{
#define BOT "{\"email\":\"bot@flood.example\",\"message\":\"cheap seo late\"," \
            "\"website\":\"http://spam.example\"}"
    const char *sum = "SELECT coalesce(sum(posts), 0) FROM intake_edge_counts e"
                      " JOIN clients c ON c.id = e.client_id WHERE c.slug = 'flood-client'";
    const char *url = getenv("CS_TEST_URL"), *head, *out = NULL;
    apr_sockaddr_t *sa;
    apr_socket_t *sock;
    char answer[2048];
    apr_size_t n, got = 0;
    apr_status_t rv;
    long before = -1, now;
    int i, split = (int)strlen(BOT) / 2;

    /* Past the keep budget (3 here): the posts that follow are counted. */
    for (i = 0; i < 5 && it_post("flood.localhost", JSON, BOT)->status != 202; i++) {
    }
    ck_assert_int_lt(i, 5);
    /* Every process writes once a second: the same sum twice, over a
     * second apart, is all of it. */
    for (i = 0; i < 10; i++) {
        now = it_sql_long(sum, 0, NULL);
        if (now == before) {
            break;
        }
        before = now;
        usleep(1200 * 1000);
    }

    ck_assert_ptr_nonnull(url);
    ck_assert_int_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET,
                                           (apr_port_t)atoi(strrchr(url, ':') + 1), 0, it_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_create(&sock, APR_INET, SOCK_STREAM, APR_PROTO_TCP, it_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_connect(sock, sa), APR_SUCCESS);
    apr_socket_timeout_set(sock, apr_time_from_sec(20));
    head = apr_psprintf(it_pool, "POST /api/intake HTTP/1.1\r\nHost: flood.localhost\r\n"
                        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%.*s",
                        (int)strlen(BOT), split, BOT);
    n = strlen(head);
    ck_assert_int_eq(apr_socket_send(sock, head, &n), APR_SUCCESS);
    usleep(300 * 1000);         /* the request is in its handler, reading */
    ck_assert_msg(it_ctl("httpd-graceful", &out) == 0, "graceful restart: %s", out);
    usleep(1000 * 1000);        /* the old child's watchdog has stopped */
    n = strlen(BOT) - (apr_size_t)split;
    ck_assert_int_eq(apr_socket_send(sock, BOT + split, &n), APR_SUCCESS);
    do {
        n = sizeof(answer) - 1 - got;
        rv = apr_socket_recv(sock, answer + got, &n);
        got += n;
    } while (rv == APR_SUCCESS && got < sizeof(answer) - 1 && !strstr(answer, "counted"));
    answer[got] = '\0';
    apr_socket_close(sock);
    ck_assert_msg(strstr(answer, " 202 ") && strstr(answer, "{\"counted\":true}"),
                  "not answered as counted: %s", answer);
    ck_assert_msg(it_wait_sql(sum, apr_ltoa(it_pool, before + 1), 10),
                  "the post counted as its child stopped was not written: %ld then %s",
                  before, it_sql(sum, 0, NULL));
#undef BOT
}
END_TEST

START_TEST(test_cors_preflight_and_origin_rules)
{
    const char *ok_origin[] = { "Origin: https://www.coffee.example",
                                "Access-Control-Request-Method: POST", NULL };
    const char *bad_origin[] = { "Origin: https://evil.example", NULL };
    it_req_t req = { 0 };
    it_resp_t *r;
    long before = it_submission_count();

    req.host = "cors.localhost";
    req.path = "/api/intake";
    req.method = "OPTIONS";
    req.headers = ok_origin;
    r = it_http(&req);
    ck_assert_int_eq(r->status, 204);
    ck_assert_str_eq(apr_table_get(r->headers, "Access-Control-Allow-Origin"),
                     "https://www.coffee.example");
    ck_assert_msg(strstr(apr_table_get(r->headers, "Access-Control-Allow-Headers"),
                         "Idempotency-Key") != NULL, "allow headers");
    req.headers = bad_origin;
    ck_assert_int_eq(it_http(&req)->status, 403);

    req.method = NULL;
    req.content_type = JSON;
    req.body = "{\"email\":\"c@c.example\",\"message\":\"cross site\"}";
    ck_assert_int_eq(it_http(&req)->status, 403);
    ck_assert_int_eq(it_submission_count(), before);
    req.headers = ok_origin;
    r = it_http(&req);
    ck_assert_int_eq(r->status, 201);
    ck_assert_str_eq(apr_table_get(r->headers, "Access-Control-Allow-Origin"),
                     "https://www.coffee.example");
}
END_TEST

START_TEST(test_htmx_requests_get_html_fragments)
{
    const char *hx[] = { "HX-Request: true", NULL };
    it_req_t req = { 0 };
    it_resp_t *r;

    req.host = SITE;
    req.path = "/api/intake";
    req.content_type = FORM;
    req.headers = hx;
    req.body = "email=h%40h.example&message=via+htmx";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 201);
    ck_assert_msg(strstr(apr_table_get(r->headers, "Content-Type"), "text/html") != NULL, "ctype");
    ck_assert_msg(strstr(r->body, "consult-result") != NULL && strstr(r->body, "<html") == NULL,
                  "%s", r->body);
    req.body = "email=%3Cb%3Ebad&message=x";
    r = it_http(&req);
    ck_assert_int_eq(r->status, 400);
    ck_assert_msg(strstr(r->body, "role=\"alert\"") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "<b>") == NULL, "unescaped: %s", r->body);
}
END_TEST

/* A multipart body with the fields and one file. */
static const char *multipart(const char *fname, const char *ctype, const char *data,
                             apr_size_t len, apr_size_t *plen)
{
    const char *head = apr_psprintf(it_pool,
        "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nf@f.example\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nphoto of the couch\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"%s\"\r\n"
        "Content-Type: %s\r\n\r\n", fname, ctype);
    const char *tail = "\r\n--XyZ--\r\n";
    char *buf = apr_palloc(it_pool, strlen(head) + len + strlen(tail));
    memcpy(buf, head, strlen(head));
    memcpy(buf + strlen(head), data, len);
    memcpy(buf + strlen(head) + len, tail, strlen(tail));
    *plen = strlen(head) + len + strlen(tail);
    return buf;
}

static const char PNG[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0"
                          "\x1f\x15\xc4\x89\0\0\0\rIDATx\x9c" "c\xf8\x0f\0\0\x01\x01\0\x05";

START_TEST(test_attachments_are_stored_with_checksum_and_checked_by_content)
{
    it_req_t req = { 0 };
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65], *big;
    int i;

    EVP_Digest(PNG, sizeof(PNG) - 1, md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", md[i]);
    req.host = "cors.localhost";
    req.path = "/api/intake";
    req.content_type = "multipart/form-data; boundary=XyZ";
    req.body = multipart("C:\\Users\\me\\couch.png", "application/octet-stream",
                         PNG, sizeof(PNG) - 1, &req.body_len);
    ck_assert_int_eq(it_http(&req)->status, 303);
    ck_assert_str_eq(it_sql("SELECT concat_ws('|', a.filename, a.content_type, a.size, a.sha256)"
                            " FROM attachments a ORDER BY id DESC LIMIT 1", 0, NULL),
                     apr_psprintf(it_pool, "couch.png|image/png|%d|%s", (int)sizeof(PNG) - 1, hex));

    /* HTML dressed up as a PNG is refused, naming the field. */
    req.body = multipart("x.png", "image/png", "<html><script>alert(1)</script></html>", 38,
                         &req.body_len);
    {
        it_resp_t *r = it_http(&req);
        ck_assert_int_eq(r->status, 400);
        ck_assert_msg(strstr(r->body, "\"field\":\"photo\"") != NULL, "%s", r->body);
    }
    /* Over ConsultIntakeMaxFileSize (8k). */
    big = apr_palloc(it_pool, 9000);
    memcpy(big, PNG, sizeof(PNG) - 1);
    memset(big + sizeof(PNG) - 1, 0, 9000 - (sizeof(PNG) - 1));
    req.body = multipart("big.png", "image/png", big, 9000, &req.body_len);
    ck_assert_int_eq(it_http(&req)->status, 413);
}
END_TEST

Suite *suite_pipeline(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("intake");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_same_email_or_phone_finds_the_same_contact_and_thread);
    tcase_add_test(tc, test_posts_filed_in_one_batch_find_their_contacts_as_one_by_one);
    tcase_add_test(tc, test_two_drains_at_one_backlog_file_each_post_once);
    tcase_add_test(tc, test_honeypot_posts_are_kept_and_marked_spam);
    tcase_add_test(tc, test_a_bot_flood_past_the_keep_budget_is_counted_not_stored);
    tcase_add_test(tc, test_served_page_carries_a_signed_token_and_no_cache);
    tcase_add_test(tc, test_token_rules_too_fast_replay_missing_tampered_and_foreign);
    tcase_add_test(tc, test_idempotency_key_makes_one_submission);
    tcase_add_test(tc, test_rate_limit_answers_429_with_retry_after);
    tcase_add_test(tc, test_client_budget_keeps_posts_but_marks_them_spam);
    tcase_add_test(tc, test_cors_preflight_and_origin_rules);
    tcase_add_test(tc, test_htmx_requests_get_html_fragments);
    tcase_add_test(tc, test_attachments_are_stored_with_checksum_and_checked_by_content);
    tcase_add_test(tc, test_a_post_counted_while_its_child_stops_is_still_written);
    suite_add_tcase(s, tc);
    return s;
}
