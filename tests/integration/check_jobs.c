/* The job queue and classification: by the builtin model as a post is
 * filed, by an LLM (the fake provider) in submission.process, fallbacks,
 * retries, dead jobs, a worker killed mid-job, and two Apache nodes on one
 * database. */
#include "integ.h"
#include "db/cs_db.h"
#include "db/cs_jobs.h"

#include <apr_strings.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSON "application/json"

/* Post a JSON message to @p host; returns the new message id. */
static const char *post_message(const char *host, const char *text)
{
    it_resp_t *r = it_post(host, JSON, apr_psprintf(
        it_pool, "{\"email\":\"j@j.example\",\"message\":\"%s\"}", text));
    const char *p[1];
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    p[0] = it_submission_of(r);
    return it_sql("SELECT message_id FROM submissions WHERE id = $1", 1, p);
}

/* A query about one row, its id spliced in (ids come from our own database). */
#define q(fmt, id) apr_psprintf(it_pool, fmt, id)

START_TEST(test_builtin_classification_lands_on_the_message_with_a_notification)
{
    const char *m = post_message("other.localhost",
                                 "Hi, can I book a table for 6 this Friday at 7pm?");
    ck_assert_msg(it_wait_sql(q("SELECT classified_at IS NOT NULL FROM messages WHERE id = %s", m),
                              "t", 15), "not classified");
    ck_assert_str_eq(it_sql(q("SELECT classification->>'backend' FROM messages WHERE id = %s", m),
                            0, NULL), "builtin");
    ck_assert_str_eq(it_sql(q("SELECT intent FROM messages WHERE id = %s", m), 0, NULL),
                     "booking_request");
    ck_assert_str_eq(it_sql(q("SELECT count(*) FROM notifications WHERE message_id = %s", m),
                            0, NULL), "1");
    /* Classified as it was filed from the journal, in the same transaction:
     * staff never see it unclassified, and no job was queued for it. */
    ck_assert_str_eq(it_sql(q("SELECT classified_at = created_at FROM messages WHERE id = %s", m),
                            0, NULL), "t");
    ck_assert_str_eq(it_sql(q("SELECT count(*) FROM jobs WHERE unique_key ="
                              " 'submission.process:' || (SELECT id FROM submissions"
                              " WHERE message_id = %s)", m), 0, NULL), "0");
    /* This client has no email: the notification is the dashboard's row,
     * with no job to send it. */
    ck_assert_str_eq(it_sql(q("SELECT count(*) FROM jobs WHERE kind = 'notification.send'"
                              " AND payload->>'notification_id' = (SELECT id::text"
                              " FROM notifications WHERE message_id = %s)", m), 0, NULL), "0");
}
END_TEST

START_TEST(test_the_clients_vertical_keeps_its_own_trade_out_of_spam)
{
    /* An SEO enquiry is a lead for a marketing agency and spam for a barber. */
    const char *text = "Looking for help with SEO and Google Ads for our bakery. Can you"
                       " send your monthly rates?";
    const char *a = post_message("vertical-agency.localhost", text);
    const char *b = post_message("vertical-barber.localhost", text);

    ck_assert_msg(it_wait_sql(q("SELECT classified_at IS NOT NULL FROM messages WHERE id = %s", a),
                              "t", 15), "not classified");
    ck_assert_msg(it_wait_sql(q("SELECT classified_at IS NOT NULL FROM messages WHERE id = %s", b),
                              "t", 15), "not classified");
    ck_assert_str_eq(it_sql(q("SELECT intent || ' ' || is_spam FROM messages WHERE id = %s", a),
                            0, NULL), "quote_request false");
    ck_assert_str_eq(it_sql(q("SELECT intent || ' ' || is_spam FROM messages WHERE id = %s", b),
                            0, NULL), "spam true");
}
END_TEST

START_TEST(test_llm_backend_is_asked_with_key_model_and_schema)
{
    const char *m;
    it_fake_rules(NULL);
    m = post_message("llm.localhost", "llm-ok do you have oat milk");
    ck_assert_msg(it_wait_sql(q("SELECT classification->>'backend' FROM messages WHERE id = %s", m),
                              "llm", 15), "not classified by the LLM");
    ck_assert_str_eq(it_sql(q("SELECT intent || '/' || urgency FROM messages WHERE id = %s", m),
                            0, NULL), "question/normal");
    ck_assert_int_eq(it_fake_count("/v1/chat/completions", "llm-ok do you have oat milk"), 1);
    ck_assert_int_eq(it_fake_count("/v1/chat/completions", "\"model\":\"test-model\""), 1);
    ck_assert_int_eq(it_fake_count("/v1/chat/completions", "json_schema"), 1);
}
END_TEST

START_TEST(test_llm_errors_timeouts_and_bad_answers_fall_back_to_builtin)
{
    const char *m;
    it_fake_rules("[{\"path\":\"/v1/chat/completions\",\"body_contains\":\"llm-500\",\"status\":500,"
                  "\"body\":{\"error\":\"boom\"}},"
                  "{\"path\":\"/v1/chat/completions\",\"body_contains\":\"llm-hang\",\"delay\":5},"
                  "{\"path\":\"/v1/chat/completions\",\"body_contains\":\"llm-bad\",\"body\":"
                  "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
                  "\"{\\\"intent\\\":\\\"world_domination\\\"}\"}}]}}]");
    m = post_message("llm.localhost", "llm-500 my order was missing the fries");
    ck_assert_msg(it_wait_sql(q("SELECT classification->>'backend' FROM messages WHERE id = %s", m),
                              "builtin", 15), "no fallback after 500");
    ck_assert_msg(strstr(it_sql(q("SELECT classification->>'fallback' FROM messages WHERE id = %s", m),
                                0, NULL), "500") != NULL, "fallback reason");
    m = post_message("llm.localhost", "llm-hang is the patio open");
    ck_assert_msg(it_wait_sql(q("SELECT classification->>'backend' FROM messages WHERE id = %s", m),
                              "builtin", 15), "no fallback after a hang");
    ck_assert_msg(strstr(it_sql(q("SELECT classification->>'fallback' FROM messages WHERE id = %s", m),
                                0, NULL), "timed out") != NULL, "timeout reason");
    m = post_message("llm.localhost", "llm-bad can you cater a wedding");
    ck_assert_msg(it_wait_sql(q("SELECT classification->>'backend' FROM messages WHERE id = %s", m),
                              "builtin", 15), "no fallback after an invalid answer");
    ck_assert_msg(strstr(it_sql(q("SELECT classification->>'fallback' FROM messages WHERE id = %s", m),
                                0, NULL), "invalid") != NULL, "invalid reason");
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_unhandled_job_retries_with_backoff_then_is_dead_and_visible)
{
    it_req_t req = { 0 };
    it_resp_t *r;
    const char *id = it_sql("INSERT INTO jobs (kind, max_attempts) VALUES ('nobody.handles', 3)"
                            " RETURNING id", 0, NULL);
    ck_assert_msg(it_wait_sql(q("SELECT state FROM jobs WHERE id = %s", id), "dead", 20),
                  "job not dead");
    ck_assert_str_eq(it_sql(q("SELECT attempts FROM jobs WHERE id = %s", id), 0, NULL), "3");
    ck_assert_msg(strstr(it_sql(q("SELECT last_error FROM jobs WHERE id = %s", id), 0, NULL),
                         "no loaded module handles job kind 'nobody.handles'") != NULL, "error");
    /* Retries were spaced out, not immediate. */
    ck_assert_str_eq(it_sql(q("SELECT updated_at - created_at > interval '300 ms'"
                              " FROM jobs WHERE id = %s", id), 0, NULL), "t");
    req.host = "localhost";
    req.path = "/consult/health";
    r = it_http(&req);
    ck_assert_msg(strstr(r->body, "\"jobs\":{") != NULL, "%s", r->body);
    ck_assert_msg(strstr(r->body, "\"dead\":0") == NULL, "dead jobs not shown: %s", r->body);
}
END_TEST

START_TEST(test_a_worker_killed_mid_job_is_replaced_and_the_effect_happens_once)
{
    const char *m, *locked = "", *colon;
    int i;
    pid_t pid;

    it_fake_rules("[{\"path\":\"/v1/chat/completions\",\"body_contains\":\"kill-me\","
                  "\"delay\":1.8,\"times\":1}]");
    m = post_message("llm.localhost", "kill-me please call me back");
    for (i = 0; i < 100 && !*locked; i++) {
        locked = it_sql(q("SELECT locked_by FROM jobs WHERE state = 'running' AND"
                          " payload->>'message_id' = '%s'", m), 0, NULL);
        if (!*locked) usleep(20 * 1000);
    }
    ck_assert_msg(*locked, "the job never ran");
    /* Kill only once the call is at the provider, so the one slow answer is
       spent on the attempt that dies (not on its replacement). */
    for (i = 0; i < 100 && it_fake_count("/v1/chat/completions", "kill-me") < 1; i++) {
        usleep(20 * 1000);
    }
    ck_assert_int_eq(it_fake_count("/v1/chat/completions", "kill-me"), 1);
    colon = strrchr(locked, ':');
    pid = (pid_t)atoi(colon + 1);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);

    /* The lease (3s in the tests) runs out and another child runs it. */
    ck_assert_msg(it_wait_sql(q("SELECT state FROM jobs WHERE payload->>'message_id' = '%s'", m),
                              "done", 20), "job not finished after the kill");
    ck_assert_str_eq(it_sql(q("SELECT attempts FROM jobs WHERE payload->>'message_id' = '%s'", m),
                            0, NULL), "2");
    ck_assert_msg(strcmp(it_sql(q("SELECT classification->>'backend' FROM messages WHERE id = %s",
                                  m), 0, NULL), "llm") == 0, "fell back: %s",
                  it_sql(q("SELECT classification->>'fallback' FROM messages WHERE id = %s", m),
                         0, NULL));
    ck_assert_str_eq(it_sql(q("SELECT count(*) FROM notifications WHERE message_id = %s", m),
                            0, NULL), "1");
    ck_assert_int_eq(it_fake_count("/v1/chat/completions", "kill-me"), 2);
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_a_job_whose_worker_dies_every_time_ends_dead)
{
    /* Its worker died during the last allowed attempt (the lease ran out). */
    const char *id = it_sql("INSERT INTO jobs (kind, state, attempts, max_attempts, locked_by,"
                            " locked_until) VALUES ('nobody.handles', 'running', 3, 3, 'gone:1',"
                            " now() - interval '1 second') RETURNING id", 0, NULL);
    ck_assert_msg(it_wait_sql(q("SELECT state FROM jobs WHERE id = %s", id), "dead", 15),
                  "a job that kills its worker is retried for ever");
    ck_assert_str_eq(it_sql(q("SELECT attempts FROM jobs WHERE id = %s", id), 0, NULL), "3");
    ck_assert_msg(strstr(it_sql(q("SELECT last_error FROM jobs WHERE id = %s", id), 0, NULL),
                         "stopped during every attempt") != NULL, "no reason given");
    {
        /* A send that died that way leaves its message failed, with why. */
        const char *m = it_sql("INSERT INTO messages (client_id, conversation_id, channel, direction,"
                               " body, delivery_status, to_address, provider)"
                               " SELECT client_id, id, 'sms', 'outbound', 'never confirmed', 'sending',"
                               " '+15035550190', 'twilio' FROM conversations ORDER BY id LIMIT 1"
                               " RETURNING id", 0, NULL);
        it_sql(q("INSERT INTO jobs (kind, payload, state, attempts, max_attempts, locked_by,"
                 " locked_until) VALUES ('twilio.sms.send', jsonb_build_object('message_id', %s),"
                 " 'running', 3, 3, 'gone:2', now() - interval '1 second')", m), 0, NULL);
        ck_assert_msg(it_wait_sql(q("SELECT delivery_status FROM messages WHERE id = %s", m),
                                  "failed", 15), "the message still says sending");
        ck_assert_msg(strstr(it_sql(q("SELECT delivery_error FROM messages WHERE id = %s", m), 0, NULL),
                             "Not sent: the worker stopped") != NULL, "no reason on the message");
    }
}
END_TEST

START_TEST(test_housekeeping_removes_old_sessions_attempts_and_jobs)
{
    const char *out = NULL, *user = it_sql("SELECT id FROM staff_users LIMIT 1", 0, NULL);
    const char *p[1] = { user };
    const char *left = "SELECT (SELECT count(*) FROM sessions WHERE ip = '192.0.2.77')"
                       " || '|' || (SELECT count(*) FROM login_attempts WHERE email = 'old@hk.example')"
                       " || '|' || (SELECT count(*) FROM jobs WHERE kind = 'housekeeping.test')";
    it_sql("INSERT INTO sessions (token_hash, user_id, expires_at, ip) VALUES"
           " (repeat('a', 64), $1, now() - interval '2 days', '192.0.2.77'),"
           " (repeat('b', 64), $1, now() + interval '2 days', '192.0.2.77')", 1, p);
    it_sql("INSERT INTO login_attempts (email, succeeded, created_at) VALUES"
           " ('old@hk.example', false, now() - interval '40 days'),"
           " ('old@hk.example', false, now())", 0, NULL);
    it_sql("INSERT INTO jobs (kind, state, done_at) VALUES"
           " ('housekeeping.test', 'done', now() - interval '40 days'),"
           " ('housekeeping.test', 'done', now())", 0, NULL);
    ck_assert_str_eq(it_sql(left, 0, NULL), "2|2|2");
    /* The worker tidies up as it starts (then hourly). */
    ck_assert_msg(it_ctl("httpd-restart", &out) == 0, "restart: %s", out);
    ck_assert_msg(it_wait_sql(left, "1|1|1", 20), "old rows are still there: %s",
                  it_sql(left, 0, NULL));
}
END_TEST

START_TEST(test_two_nodes_on_one_database_run_each_job_once)
{
    const char *out = NULL;
    int i, n = 30;

    ck_assert_msg(it_ctl("httpd2-start", &out) == 0, "second Apache: %s", out);
    /* Slow answers keep both workers busy at once. */
    it_fake_rules("[{\"path\":\"/v1/chat/completions\",\"body_contains\":\"twonodes\","
                  "\"delay\":0.3}]");
    for (i = 0; i < n; i++) {
        post_message("llm.localhost", apr_psprintf(it_pool, "twonodes message %d", i));
    }
    ck_assert_msg(it_wait_sql("SELECT count(*) FROM jobs j JOIN messages m ON"
                              " m.id = (j.payload->>'message_id')::bigint"
                              " WHERE m.body LIKE 'twonodes%' AND j.state = 'done'",
                              apr_itoa(it_pool, n), 60), "jobs not all done");
    ck_assert_int_eq(it_fake_count("/v1/chat/completions", "twonodes"), n);
    ck_assert_str_eq(it_sql("SELECT count(*) FROM jobs j JOIN messages m ON"
                            " m.id = (j.payload->>'message_id')::bigint"
                            " WHERE m.body LIKE 'twonodes%' AND j.attempts <> 1", 0, NULL), "0");
    ck_assert_msg(it_sql_long("SELECT count(DISTINCT split_part(j.locked_by, ':', 2))"
                              " FROM jobs j JOIN messages m ON m.id = (j.payload->>'message_id')::bigint"
                              " WHERE m.body LIKE 'twonodes%'", 0, NULL) >= 2,
                  "only one worker ran the jobs");
    ck_assert_msg(it_ctl("httpd2-stop", &out) == 0, "%s", out);
    it_fake_rules(NULL);
}
END_TEST

START_TEST(test_a_job_slower_than_its_lease_runs_once_across_two_nodes)
{
    const char *out = NULL, *m;

    /* The LLM answers after 5 s; the lease is 3 s. While the first worker
     * waits, the second node's worker polls every 200 ms: the job's row
     * is held by the running worker, so it must not be claimed again. */
    ck_assert_msg(it_ctl("httpd2-start", &out) == 0, "second Apache: %s", out);
    it_fake_rules("[{\"path\":\"/v1/chat/completions\",\"body_contains\":\"slowpoke\","
                  "\"delay\":5,\"body\":\"{\\\"choices\\\":[{\\\"message\\\":{\\\"role\\\":"
                  "\\\"assistant\\\",\\\"content\\\":\\\"{{classification}}\\\"}}]}\"}]");
    m = post_message("slowllm.localhost", "slowpoke please call me back");
    ck_assert_msg(it_wait_sql(q("SELECT state FROM jobs WHERE payload->>'message_id' = '%s'", m),
                              "done", 30), "job not finished");
    ck_assert_int_eq(it_fake_count("/v1/chat/completions", "slowpoke"), 1);
    ck_assert_str_eq(it_sql(q("SELECT attempts FROM jobs WHERE payload->>'message_id' = '%s'", m),
                            0, NULL), "1");
    ck_assert_str_eq(it_sql(q("SELECT classification->>'backend' FROM messages WHERE id = %s",
                              m), 0, NULL), "llm");
    ck_assert_msg(it_ctl("httpd2-stop", &out) == 0, "%s", out);
    it_fake_rules(NULL);
}
END_TEST

/* A checkpoint's commit leaves the job's row unlocked for a moment: past
 * an expired lease another worker may claim it then. Holding it again
 * renews our lease while the job is still ours, and refuses once another
 * worker took it, so the first worker stops instead of running it twice. */
START_TEST(test_a_checkpoint_after_another_worker_took_the_job_stops_the_first)
{
    cs_db_params_t params;
    cs_job_t job;
    const char *err = NULL, *id;
    PGconn *conn;

    /* Running, leased to worker-a for an hour: no live worker claims it. */
    id = it_sql("INSERT INTO jobs (kind, payload, state, attempts, locked_by, locked_until)"
                " VALUES ('test.lease', '{}', 'running', 1, 'worker-a', now() + interval '1 hour')"
                " RETURNING id", 0, NULL);
    memset(&job, 0, sizeof(job));
    job.id_str = id;
    job.id = apr_atoi64(id);
    job.worker = "worker-a";
    job.lease = "2 hours";
    cs_db_params_defaults(&params);
    params.conninfo = getenv("CS_TEST_DATABASE");
    conn = cs_db_connect(&params, &err, it_pool);
    ck_assert_msg(conn != NULL, "%s", err);
    ck_assert_int_eq(cs_db_command(conn, it_pool, &err, "BEGIN"), APR_SUCCESS);
    ck_assert_msg(cs_jobs_hold(conn, it_pool, &err, &job) == APR_SUCCESS, "%s", err);
    ck_assert_msg(cs_jobs_checkpoint(conn, it_pool, &err, &job) == APR_SUCCESS, "%s", err);
    ck_assert_int_eq(cs_db_command(conn, it_pool, &err, "COMMIT"), APR_SUCCESS);
    ck_assert_str_eq(it_sql(q("SELECT locked_until > now() + interval '90 minutes' FROM jobs"
                              " WHERE id = %s", id), 0, NULL), "t");
    /* worker-b claims it in the gap; worker-a's next checkpoint refuses. */
    it_sql(q("UPDATE jobs SET locked_by = 'worker-b', attempts = 2 WHERE id = %s", id), 0, NULL);
    ck_assert_int_eq(cs_db_command(conn, it_pool, &err, "BEGIN"), APR_SUCCESS);
    err = NULL;
    ck_assert_int_ne(cs_jobs_checkpoint(conn, it_pool, &err, &job), APR_SUCCESS);
    ck_assert_msg(err && strstr(err, "another worker"), "%s", err ? err : "(no reason)");
    cs_db_command(conn, it_pool, NULL, "ROLLBACK");
    PQfinish(conn);
    ck_assert_str_eq(it_sql(q("SELECT locked_by FROM jobs WHERE id = %s", id), 0, NULL), "worker-b");
    it_sql(q("DELETE FROM jobs WHERE id = %s", id), 0, NULL);
}
END_TEST

START_TEST(test_worker_ids_are_unique_beyond_name_and_pid)
{
    const char *m = post_message("llm.localhost", "which worker ran me");
    const char *who;

    ck_assert_msg(it_wait_sql(q("SELECT state FROM jobs WHERE payload->>'message_id' = '%s'", m),
                              "done", 20), "job not finished");
    who = it_sql(q("SELECT locked_by FROM jobs WHERE payload->>'message_id' = '%s'", m), 0, NULL);
    /* name~RANDOM:pid, so two containers with one ServerName and pid differ */
    ck_assert_msg(strchr(who, '~') && strlen(strchr(who, '~')) > 9, "worker id %s", who);
}
END_TEST

START_TEST(test_staff_corrections_are_stored_and_exported_for_training)
{
    const char *m = post_message("other.localhost", "the latte was cold and the barista rude");
    const char *file = apr_psprintf(it_pool, "%s/corrections.jsonl", getenv("CS_TEST_TMP"));
    const char *cmd;
    char line[512] = "";
    FILE *f;

    ck_assert_msg(it_wait_sql(q("SELECT classified_at IS NOT NULL FROM messages WHERE id = %s", m),
                              "t", 15), "not classified");
    cmd = apr_psprintf(it_pool, "%s/consult-admin --db '%s' correct %s complaint high >/dev/null"
                       " && %s/consult-admin --db '%s' corrections-export %s >/dev/null",
                       getenv("CS_TEST_BUILD"), getenv("CS_TEST_DATABASE"), m,
                       getenv("CS_TEST_BUILD"), getenv("CS_TEST_DATABASE"), file);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_str_eq(it_sql(q("SELECT intent || '/' || urgency FROM messages WHERE id = %s", m),
                            0, NULL), "complaint/high");
    ck_assert_str_eq(it_sql(q("SELECT new_intent || '<-' || coalesce(old_intent, '?') <> ''"
                              " FROM classification_corrections WHERE message_id = %s", m),
                            0, NULL), "t");
    f = fopen(file, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) && !strstr(line, "barista rude")) {}
    fclose(f);
    ck_assert_msg(strstr(line, "\"intent\" : \"complaint\"") || strstr(line, "\"intent\":\"complaint\""),
                  "exported: %s", line);
}
END_TEST

/* Two Apache nodes on one Postgres, as a deployment grows: a form's rate
 * limit is counted once across both (mod_socache's memcache provider), and
 * a dashboard session made on one node works on the other. */
START_TEST(test_two_nodes_share_rate_limits_and_sessions)
{
    const char *out = NULL, *base2 = apr_psprintf(it_pool, "http://127.0.0.1:%s",
                                                  getenv("CS_TEST_PORT2"));
    it_session_t *s;
    int i;
    ck_assert_msg(it_ctl("httpd2-start", &out) == 0, "second Apache: %s", out);
    it_clear_of_window_edge(600, 20);
    for (i = 0; i < 6; i++) {
        it_req_t req = { 0 };
        it_resp_t *r;
        req.base = i % 2 ? base2 : NULL;
        req.host = "shared-limit.localhost";
        req.path = "/api/intake";
        req.content_type = "application/x-www-form-urlencoded";
        req.body = apr_psprintf(it_pool, "email=limit%d%%40nodes.example&message=Two+nodes+%d", i, i);
        r = it_http(&req);
        /* 4 per 10 minutes from this address, whichever node answers. */
        ck_assert_msg(r->status == (i < 4 ? 303 : 429), "post %d on node %d: %ld", i + 1,
                      i % 2 + 1, r->status);
    }
    s = it_dash_login("admin.localhost", "owner%40coffee.example", "owner+password+1");
    {
        it_req_t req = { 0 };
        const char *hdr[2] = { apr_pstrcat(it_pool, "Cookie: ", s->cookie, NULL), NULL };
        req.base = base2;
        req.host = "admin.localhost";
        req.path = "/";
        req.accept = "text/html";
        req.headers = hdr;
        ck_assert_int_eq(it_http(&req)->status, 200);
    }
    ck_assert_msg(it_ctl("httpd2-stop", &out) == 0, "%s", out);
    it_intake_settled(10);
}
END_TEST

Suite *suite_jobs(void)
{
    Suite *s = suite_create("jobs");
    TCase *tc = tcase_create("worker");

    tcase_add_checked_fixture(tc, it_setup, it_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_builtin_classification_lands_on_the_message_with_a_notification);
    tcase_add_test(tc, test_the_clients_vertical_keeps_its_own_trade_out_of_spam);
    tcase_add_test(tc, test_llm_backend_is_asked_with_key_model_and_schema);
    tcase_add_test(tc, test_llm_errors_timeouts_and_bad_answers_fall_back_to_builtin);
    tcase_add_test(tc, test_unhandled_job_retries_with_backoff_then_is_dead_and_visible);
    tcase_add_test(tc, test_staff_corrections_are_stored_and_exported_for_training);
    tcase_add_test(tc, test_a_worker_killed_mid_job_is_replaced_and_the_effect_happens_once);
    tcase_add_test(tc, test_a_job_whose_worker_dies_every_time_ends_dead);
    tcase_add_test(tc, test_housekeeping_removes_old_sessions_attempts_and_jobs);
    tcase_add_test(tc, test_two_nodes_on_one_database_run_each_job_once);
    tcase_add_test(tc, test_a_job_slower_than_its_lease_runs_once_across_two_nodes);
    tcase_add_test(tc, test_two_nodes_share_rate_limits_and_sessions);
    tcase_add_test(tc, test_worker_ids_are_unique_beyond_name_and_pid);
    tcase_add_test(tc, test_a_checkpoint_after_another_worker_took_the_job_stops_the_first);
    suite_add_tcase(s, tc);
    return s;
}
