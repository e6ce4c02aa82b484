/* cs_http and cs_llm against tests/fakes/fake_provider.py on a loopback
 * port: status, headers and body round trips, authentication headers,
 * timeouts, refused connections, size limits, the chat-completions request
 * and strict validation of the model's answer. */
#include "unit.h"
#include "http/cs_http.h"
#include "providers/cs_llm.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <apr_base64.h>
#include <apr_time.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define API_KEY "sk-test-0123456789-secret"
#define CHAT_PATH "/v1/chat/completions"

/* What mod_consult_intake's job does: build, send through cs_http, read. */
static apr_status_t llm_classify(cs_classification_t **pout, apr_pool_t *p,
                                 const cs_llm_conf_t *conf, const char *text,
                                 const char **perr)
{
    cs_http_req_t req;
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cs_llm_build_request(&req, p, conf, text, perr)) != APR_SUCCESS) {
        return rv;
    }
    rv = cs_http_perform(&resp, p, &req, &err);
    return cs_llm_read_response(pout, p, rv, resp, err, perr);
}

/* ---- suite fixture: the fake provider process ---------------------------- */

/* Started once per TCase in the runner's own process (an unchecked fixture:
 * not timed, and forked tests inherit its address); plain C buffers, since
 * no test pool exists yet. */
static unit_fake_t fake;

static void fake_start(void)
{
    unit_fake_start(&fake, "tests/fakes/fake_provider.py");
}

static void fake_stop(void)
{
    unit_fake_stop(&fake);
}

/* ---- helpers -------------------------------------------------------------- */

static const char *fake_url(const char *path)
{
    return apr_pstrcat(unit_pool, fake.base, path, NULL);
}

/* A control request to the fake, which must answer 200. */
static cs_http_resp_t *control(const char *method, const char *path, const char *body)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    apr_status_t rv;

    req.method = method;
    req.url = fake_url(path);
    req.body = body;
    req.content_type = body ? "application/json" : NULL;
    rv = cs_http_perform(&resp, unit_pool, &req, &err);
    ck_assert_msg(rv == APR_SUCCESS, "%s %s: %s", method, path, err ? err : "?");
    ck_assert_msg(resp->status == 200, "%s %s: HTTP %ld %s", method, path,
                  resp->status, resp->body);
    return resp;
}

/* Add rules (a JSON list) to the fake. */
static void fake_rules(const char *json)
{
    control("POST", "/_control/rules", json);
}

/* The requests the fake received, oldest first (json-c array). */
static json_object *fake_requests(void)
{
    cs_http_resp_t *resp = control("GET", "/_control/requests", NULL);
    cs_json_t *doc = NULL;
    const char *err = NULL;

    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, resp->body, resp->len, &err),
                     APR_SUCCESS);
    ck_assert(json_object_is_type(cs_json_raw(doc), json_type_array));
    return cs_json_raw(doc);
}

/* The only request the fake received. */
static json_object *only_request(void)
{
    json_object *all = fake_requests();

    ck_assert_int_eq((int)json_object_array_length(all), 1);
    return json_object_array_get_idx(all, 0);
}

/* Member @p key of object @p o (must exist). */
static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;

    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no '%s' in %s", key,
                  json_object_to_json_string(o));
    return v;
}

static const char *member_str(json_object *o, const char *key)
{
    json_object *v = member(o, key);

    ck_assert_msg(json_object_is_type(v, json_type_string), "'%s' is not a string", key);
    return json_object_get_string(v);
}

/* A header of a logged request (the fake lowercases names), or NULL. */
static const char *req_header(json_object *req, const char *name)
{
    json_object *v;

    if (!json_object_object_get_ex(member(req, "headers"), name, &v)) {
        return NULL;
    }
    return json_object_get_string(v);
}

static void fake_reset(void)
{
    control("DELETE", "/_control/rules", NULL);
    control("DELETE", "/_control/requests", NULL);
}

static void setup(void)
{
    unit_pool_setup();
    cs_http_global_init();
    fake_reset();
}

/* A loopback port bound but not listening: connecting is refused, and no
 * other process can take the port while the socket is open. */
static int refusing_port(int *pfd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *pfd = fd;
    return ntohs(sa.sin_port);
}

#define ASSERT_CONTAINS(hay, needle) \
    ck_assert_msg((hay) && strstr((hay), (needle)) != NULL, \
                  "'%s' does not contain '%s'", (hay) ? (hay) : "(null)", (needle))

/* ---- cs_http -------------------------------------------------------------- */

START_TEST(test_http_get_round_trips_status_headers_and_body)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = "unset";
    json_object *logged;

    fake_rules("[{\"method\":\"GET\",\"path\":\"/hello\",\"status\":201,"
               "\"headers\":{\"X-Fake\":\"yes\",\"Content-Type\":\"text/plain\"},"
               "\"body\":\"hello\\nworld\"}]");
    req.url = fake_url("/hello?a=1&b=two");
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(resp->status, 201);
    ck_assert_str_eq(resp->body, "hello\nworld");
    ck_assert_uint_eq(resp->len, 11);
    ck_assert_str_eq(apr_table_get(resp->headers, "x-fake"), "yes");
    ck_assert_str_eq(apr_table_get(resp->headers, "Content-Type"), "text/plain");
    ck_assert_str_eq(apr_table_get(resp->headers, "Content-Length"), "11");

    logged = only_request();
    ck_assert_str_eq(member_str(logged, "method"), "GET");
    ck_assert_str_eq(member_str(logged, "path"), "/hello");
    ck_assert_str_eq(member_str(logged, "query"), "a=1&b=two");
    ck_assert_str_eq(member_str(logged, "body"), "");
}
END_TEST

START_TEST(test_http_post_sends_body_content_type_and_extra_headers)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    apr_array_header_t *hdrs = apr_array_make(unit_pool, 2, sizeof(const char *));
    json_object *logged;

    APR_ARRAY_PUSH(hdrs, const char *) = "X-Trace: abc 123";
    APR_ARRAY_PUSH(hdrs, const char *) = "Accept: application/json";
    req.url = fake_url("/submit");
    req.body = "To=%2B15551234567&Body=hi+there&ignored";
    req.body_len = 31;      /* stops before "&ignored" */
    req.content_type = "application/x-www-form-urlencoded";
    req.headers = hdrs;
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 404);    /* no rule: any status is a response */

    logged = only_request();
    ck_assert_str_eq(member_str(logged, "method"), "POST");   /* body => POST */
    ck_assert_str_eq(member_str(logged, "body"), "To=%2B15551234567&Body=hi+there");
    ck_assert_str_eq(req_header(logged, "content-type"),
                     "application/x-www-form-urlencoded");
    ck_assert_str_eq(req_header(logged, "x-trace"), "abc 123");
    ck_assert_str_eq(req_header(logged, "accept"), "application/json");
    ck_assert_ptr_null(req_header(logged, "expect"));
    ck_assert_ptr_null(req_header(logged, "authorization"));
}
END_TEST

START_TEST(test_http_other_methods_are_sent_as_given)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    json_object *all;

    fake_rules("[{\"method\":\"DELETE\",\"path\":\"/things/*\",\"status\":204}]");
    req.method = "DELETE";
    req.url = fake_url("/things/7");
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 204);
    ck_assert_uint_eq(resp->len, 0);
    ck_assert_str_eq(resp->body, "");

    req.method = "PATCH";
    req.body = "{\"a\":1}";
    req.content_type = "application/json";
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);

    req.method = "POST";
    req.body = NULL;
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);

    all = fake_requests();
    ck_assert_int_eq((int)json_object_array_length(all), 3);
    ck_assert_str_eq(member_str(json_object_array_get_idx(all, 0), "method"), "DELETE");
    ck_assert_str_eq(member_str(json_object_array_get_idx(all, 1), "method"), "PATCH");
    ck_assert_str_eq(member_str(json_object_array_get_idx(all, 1), "body"), "{\"a\":1}");
    ck_assert_str_eq(member_str(json_object_array_get_idx(all, 2), "method"), "POST");
    ck_assert_str_eq(member_str(json_object_array_get_idx(all, 2), "body"), "");
}
END_TEST

START_TEST(test_http_basic_auth_header_arrives)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL, *creds = "AC0123:p@ss:word";
    char *b64 = apr_palloc(unit_pool, (apr_size_t)apr_base64_encode_len((int)strlen(creds)));

    apr_base64_encode(b64, creds, (int)strlen(creds));
    req.url = fake_url("/auth");
    req.basic_user = "AC0123";
    req.basic_pass = "p@ss:word";
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    ck_assert_str_eq(req_header(only_request(), "authorization"),
                     apr_pstrcat(unit_pool, "Basic ", b64, NULL));
}
END_TEST

START_TEST(test_http_bearer_header_arrives)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;

    req.url = fake_url("/auth");
    req.bearer = API_KEY;
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    ck_assert_str_eq(req_header(only_request(), "authorization"), "Bearer " API_KEY);
}
END_TEST

START_TEST(test_http_redirects_are_returned_not_followed)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;

    fake_rules("[{\"path\":\"/moved\",\"status\":302,"
               "\"headers\":{\"Location\":\"/elsewhere\"},\"body\":\"\"}]");
    req.url = fake_url("/moved");
    req.bearer = API_KEY;
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    ck_assert_int_eq(resp->status, 302);
    ck_assert_str_eq(apr_table_get(resp->headers, "Location"), "/elsewhere");
    ck_assert_str_eq(member_str(only_request(), "path"), "/moved");
}
END_TEST

START_TEST(test_http_timeout_maps_to_timeup_within_the_timeout)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = (cs_http_resp_t *)unit_pool;
    const char *err = NULL;
    apr_time_t start, took;

    fake_rules("[{\"path\":\"/slow\",\"delay\":10,\"body\":\"late\"}]");
    req.url = fake_url("/slow");
    req.timeout = apr_time_from_msec(400);
    start = apr_time_now();
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_TIMEUP);
    took = apr_time_now() - start;
    ck_assert_ptr_null(resp);
    ck_assert_str_eq(err, "timed out after 0.4s");
    ck_assert_msg(took >= apr_time_from_msec(350) && took < apr_time_from_msec(1500),
                  "took %" APR_TIME_T_FMT " ms", took / 1000);
    only_request();     /* it did arrive */
}
END_TEST

START_TEST(test_http_connection_refused_maps_to_econnrefused)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = (cs_http_resp_t *)unit_pool;
    const char *err = NULL;
    int fd, port = refusing_port(&fd);

    req.url = apr_psprintf(unit_pool, "http://127.0.0.1:%d/x?token=secret", port);
    req.basic_user = "user";
    req.basic_pass = "hunter2";
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_ECONNREFUSED);
    close(fd);
    ck_assert_ptr_null(resp);
    ck_assert_str_eq(err, apr_psprintf(unit_pool, "could not connect to "
                                       "http://127.0.0.1:%d", port));
}
END_TEST

START_TEST(test_http_response_over_the_limit_is_enospc)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    char *big = unit_repeat(unit_pool, "0123456789", 250);    /* 2500 bytes */

    fake_rules(apr_psprintf(unit_pool,
        "[{\"path\":\"/big\",\"body\":\"%s\"},"
        " {\"path\":\"/chunked\",\"body\":\"%s\",\"chunked\":true}]", big, big));
    req.url = fake_url("/big");

    /* Exactly the limit is fine. */
    req.max_response = 2500;
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    ck_assert_uint_eq(resp->len, 2500);
    ck_assert_str_eq(resp->body, big);

    /* One byte less: refused on the Content-Length... */
    req.max_response = 2499;
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_ENOSPC);
    ck_assert_ptr_null(resp);
    ck_assert_str_eq(err, "response larger than 2499 bytes");

    /* ...and without one, while it streams in. */
    req.url = fake_url("/chunked");
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_ENOSPC);
    ck_assert_ptr_null(resp);
    ck_assert_str_eq(err, "response larger than 2499 bytes");
    req.max_response = 2500;
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    ck_assert_str_eq(resp->body, big);
}
END_TEST

START_TEST(test_http_default_limit_is_one_mib)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    char *mib = unit_repeat(unit_pool, "x", 1024 * 1024);

    fake_rules(apr_psprintf(unit_pool,
        "[{\"path\":\"/mib\",\"body\":\"%s\",\"chunked\":true},"
        " {\"path\":\"/more\",\"body\":\"%sy\",\"chunked\":true}]", mib, mib));
    req.url = fake_url("/mib");
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_SUCCESS);
    ck_assert_uint_eq(resp->len, 1024 * 1024);
    req.url = fake_url("/more");
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_ENOSPC);
}
END_TEST

START_TEST(test_http_invalid_requests_are_einval_and_not_sent)
{
    cs_http_req_t req = { 0 };
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;
    apr_array_header_t *hdrs = apr_array_make(unit_pool, 1, sizeof(const char *));

    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_EINVAL);
    ck_assert_str_eq(err, "no URL");
    req.url = "file:///etc/passwd";
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_EINVAL);
    req.url = "ftp://127.0.0.1/x";
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_EINVAL);
    req.url = "/relative";
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_EINVAL);

    req.url = fake_url("/x");
    APR_ARRAY_PUSH(hdrs, const char *) = "X-A: 1\r\nX-Injected: 2";
    req.headers = hdrs;
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_EINVAL);
    req.headers = NULL;
    req.bearer = "abc\ndef";
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_EINVAL);
    req.bearer = NULL;
    req.method = "GET /x HTTP/1.1\r\n";
    ck_assert_int_eq(cs_http_perform(&resp, unit_pool, &req, &err), APR_EINVAL);
    ck_assert_ptr_null(resp);

    ck_assert_int_eq((int)json_object_array_length(fake_requests()), 0);
}
END_TEST

/* ---- cs_llm against the fake ---------------------------------------------- */

#define ANSWER_OK "{\"intent\":\"booking_request\",\"urgency\":\"high\"," \
    "\"confidence\":0.75,\"service\":\" deep cleaning \"," \
    "\"when\":[\"Saturday 3pm\",\" \",\"May 4\"],\"budget\":\"$500\"}"

static cs_llm_conf_t llm_conf(void)
{
    cs_llm_conf_t conf = { 0 };

    conf.endpoint = fake_url("/v1");
    conf.api_key = API_KEY;
    conf.model = "test-model";
    conf.timeout = apr_time_from_sec(5);
    return conf;
}

/* The next chat completion answers HTTP @p status with @p body. */
static void llm_responds(int status, const char *body)
{
    cs_json_t *rules = cs_json_array(unit_pool), *rule = cs_json_object(unit_pool);

    cs_json_set_str(rule, "method", "POST");
    cs_json_set_str(rule, "path", CHAT_PATH);
    cs_json_set_int(rule, "status", status);
    cs_json_set_str(rule, "body", body);
    cs_json_set_int(rule, "times", 1);
    cs_json_append(rules, rule);
    fake_rules(cs_json_dump(rules, unit_pool));
}

/* The next chat completion is a valid envelope with message content
 * @p content (the model's answer). */
static void llm_answers(const char *content)
{
    cs_json_t *env = cs_json_object(unit_pool), *choices = cs_json_array(unit_pool);
    cs_json_t *choice = cs_json_object(unit_pool), *msg = cs_json_object(unit_pool);

    cs_json_set_str(msg, "role", "assistant");
    cs_json_set_str(msg, "content", content);
    cs_json_set_int(choice, "index", 0);
    cs_json_set_obj(choice, "message", msg);
    cs_json_set_str(choice, "finish_reason", "stop");
    cs_json_append(choices, choice);
    cs_json_set_str(env, "id", "chatcmpl-test");
    cs_json_set_str(env, "object", "chat.completion");
    cs_json_set_obj(env, "choices", choices);
    llm_responds(200, cs_json_dump(env, unit_pool));
}

/* Classify expecting failure with status @p want; returns the message. */
static const char *llm_fails(apr_status_t want)
{
    cs_llm_conf_t conf = llm_conf();
    cs_classification_t *c = (cs_classification_t *)unit_pool;
    const char *err = NULL;
    apr_status_t rv = llm_classify(&c, unit_pool, &conf, "Hello", &err);

    ck_assert_msg(rv == want, "status %d, want %d (%s)", rv, want, err ? err : "-");
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, API_KEY) == NULL, "key in error: %s", err);
    return err;
}

#define ASSERT_INVALID_ANSWER(content) do {                                   \
        const char *e_;                                                       \
        llm_answers(content);                                                 \
        e_ = llm_fails(APR_EINVAL);                                           \
        ck_assert_msg(!strncmp(e_, "invalid answer: ", 16),                   \
                      "'%s' for %s", e_, (content));                          \
    } while (0)

START_TEST(test_llm_default_answer_is_parsed)
{
    cs_llm_conf_t conf = llm_conf();
    cs_classification_t *c = NULL;
    const char *err = "unset";

    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf,
                                     "What are your opening hours?", &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(err);
    ck_assert_str_eq(c->intent, "question");
    ck_assert_str_eq(c->urgency, "normal");
    ck_assert_double_eq_tol(c->confidence, 0.9, 1e-9);
    ck_assert_double_eq_tol(c->urgency_confidence, 0.9, 1e-9);
    ck_assert_ptr_null(c->service);
    ck_assert_ptr_nonnull(c->when);
    ck_assert_int_eq(c->when->nelts, 0);
    ck_assert_ptr_null(c->budget);
    ck_assert_ptr_null(c->lang);
    ck_assert_str_eq(c->backend, "llm");
    ck_assert_ptr_null(c->fallback);
}
END_TEST

START_TEST(test_llm_fields_are_extracted_trimmed_and_blank_dropped)
{
    cs_llm_conf_t conf = llm_conf();
    cs_classification_t *c = NULL;
    const char *err = NULL;

    llm_answers(ANSWER_OK);
    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, "x", &err), APR_SUCCESS);
    ck_assert_str_eq(c->intent, "booking_request");
    ck_assert_str_eq(c->urgency, "high");
    ck_assert_double_eq_tol(c->confidence, 0.75, 1e-9);
    ck_assert_str_eq(c->service, "deep cleaning");
    ck_assert_int_eq(c->when->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(c->when, 0, const char *), "Saturday 3pm");
    ck_assert_str_eq(APR_ARRAY_IDX(c->when, 1, const char *), "May 4");
    ck_assert_str_eq(c->budget, "$500");
}
END_TEST

START_TEST(test_llm_request_has_model_messages_and_strict_json_schema)
{
    cs_llm_conf_t conf = llm_conf();
    cs_classification_t *c = NULL;
    const char *err = NULL, *text = "Can you come Saturday? \"quotes\" \xc3\xa9";
    json_object *logged, *body, *msgs, *fmt, *js, *schema, *props, *intents;
    cs_json_t *doc = NULL;
    const char *names[] = CS_INTENTS;
    int i;

    conf.endpoint = fake_url("/v1/");    /* a trailing slash is ignored */
    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, text, &err), APR_SUCCESS);

    logged = only_request();
    ck_assert_str_eq(member_str(logged, "method"), "POST");
    ck_assert_str_eq(member_str(logged, "path"), CHAT_PATH);
    ck_assert_str_eq(req_header(logged, "authorization"), "Bearer " API_KEY);
    ck_assert_str_eq(req_header(logged, "content-type"), "application/json");

    ck_assert_int_eq(cs_json_parse(&doc, unit_pool, member_str(logged, "body"),
                                   strlen(member_str(logged, "body")), &err),
                     APR_SUCCESS);
    body = cs_json_raw(doc);
    ck_assert_str_eq(member_str(body, "model"), "test-model");
    ck_assert_int_eq(json_object_get_int(member(body, "temperature")), 0);

    msgs = member(body, "messages");
    ck_assert_int_eq((int)json_object_array_length(msgs), 2);
    ck_assert_str_eq(member_str(json_object_array_get_idx(msgs, 0), "role"), "system");
    for (i = 0; i < CS_N_INTENTS; i++) {
        ASSERT_CONTAINS(member_str(json_object_array_get_idx(msgs, 0), "content"),
                        names[i]);
    }
    ck_assert_str_eq(member_str(json_object_array_get_idx(msgs, 1), "role"), "user");
    ck_assert_str_eq(member_str(json_object_array_get_idx(msgs, 1), "content"), text);

    fmt = member(body, "response_format");
    ck_assert_str_eq(member_str(fmt, "type"), "json_schema");
    js = member(fmt, "json_schema");
    ck_assert_str_eq(member_str(js, "name"), "message_classification");
    ck_assert(json_object_get_boolean(member(js, "strict")));
    schema = member(js, "schema");
    ck_assert_str_eq(member_str(schema, "type"), "object");
    ck_assert(json_object_is_type(member(schema, "additionalProperties"),
                                  json_type_boolean));
    ck_assert(!json_object_get_boolean(member(schema, "additionalProperties")));
    ck_assert_int_eq((int)json_object_array_length(member(schema, "required")), 6);
    props = member(schema, "properties");
    ck_assert_int_eq(json_object_object_length(props), 6);
    intents = member(member(props, "intent"), "enum");
    ck_assert_int_eq((int)json_object_array_length(intents), CS_N_INTENTS);
    for (i = 0; i < CS_N_INTENTS; i++) {
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(intents, i)),
                         names[i]);
    }
    ck_assert_int_eq((int)json_object_array_length(
                         member(member(props, "urgency"), "enum")), CS_N_URGENCIES);
    ck_assert_str_eq(member_str(member(props, "confidence"), "type"), "number");
    ck_assert_str_eq(member_str(member(props, "when"), "type"), "array");
}
END_TEST

START_TEST(test_llm_without_api_key_sends_no_authorization)
{
    cs_llm_conf_t conf = llm_conf();
    cs_classification_t *c = NULL;
    const char *err = NULL;

    conf.api_key = NULL;
    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, "x", &err), APR_SUCCESS);
    ck_assert_ptr_null(req_header(only_request(), "authorization"));
}
END_TEST

START_TEST(test_llm_http_500_is_an_error_without_the_key)
{
    llm_responds(500, "{\"error\":{\"message\":\"Incorrect API key provided: "
                      API_KEY "\"}}");
    ck_assert_str_eq(llm_fails(APR_EGENERAL), "HTTP 500 from LLM");
    llm_responds(429, "{\"error\":{\"message\":\"Rate limit\"}}");
    ck_assert_str_eq(llm_fails(APR_EGENERAL), "HTTP 429 from LLM");
}
END_TEST

START_TEST(test_llm_hang_beyond_the_timeout_fails_quickly)
{
    cs_llm_conf_t conf = llm_conf();
    cs_classification_t *c = (cs_classification_t *)unit_pool;
    const char *err = NULL;
    apr_time_t start, took;

    fake_rules("[{\"method\":\"POST\",\"path\":\"" CHAT_PATH "\",\"delay\":10,"
               "\"body\":\"{{classification}}\"}]");
    conf.timeout = apr_time_from_msec(500);
    start = apr_time_now();
    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, "x", &err), APR_TIMEUP);
    took = apr_time_now() - start;
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err, "timed out after 0.5s");
    ck_assert_msg(took < apr_time_from_msec(1500), "took %" APR_TIME_T_FMT " ms",
                  took / 1000);
}
END_TEST

START_TEST(test_llm_connection_refused_is_an_error)
{
    cs_llm_conf_t conf = llm_conf();
    cs_classification_t *c = (cs_classification_t *)unit_pool;
    const char *err = NULL;
    int fd, port = refusing_port(&fd);

    conf.endpoint = apr_psprintf(unit_pool, "http://127.0.0.1:%d/v1", port);
    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, "x", &err),
                     APR_ECONNREFUSED);
    close(fd);
    ck_assert_ptr_null(c);
    ASSERT_CONTAINS(err, "could not connect");
    ck_assert_msg(strstr(err, API_KEY) == NULL, "key in error: %s", err);
}
END_TEST

START_TEST(test_llm_unknown_labels_are_invalid_answers)
{
    const char *err;

    llm_answers("{\"intent\":\"refund\",\"urgency\":\"normal\",\"confidence\":0.9,"
                "\"service\":null,\"when\":[],\"budget\":null}");
    err = llm_fails(APR_EINVAL);
    ck_assert_str_eq(err, "invalid answer: intent 'refund' is not a known label");
    llm_answers("{\"intent\":\"question\",\"urgency\":\"urgent\",\"confidence\":0.9,"
                "\"service\":null,\"when\":[],\"budget\":null}");
    err = llm_fails(APR_EINVAL);
    ck_assert_str_eq(err, "invalid answer: urgency 'urgent' is not a known label");
    /* Labels are case-sensitive, as in the schema's enum. */
    ASSERT_INVALID_ANSWER("{\"intent\":\"Question\",\"urgency\":\"normal\","
                          "\"confidence\":0.9,\"service\":null,\"when\":[],"
                          "\"budget\":null}");
}
END_TEST

START_TEST(test_llm_extra_key_is_an_invalid_answer)
{
    llm_answers("{\"intent\":\"question\",\"urgency\":\"normal\",\"confidence\":0.9,"
                "\"service\":null,\"when\":[],\"budget\":null,\"reason\":\"x\"}");
    ck_assert_str_eq(llm_fails(APR_EINVAL), "invalid answer: unexpected key 'reason'");
}
END_TEST

START_TEST(test_llm_missing_key_is_an_invalid_answer)
{
    const char *keys[] = { "intent", "urgency", "confidence", "service", "when", "budget" };
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        cs_json_t *doc = NULL;
        const char *err = NULL;

        ck_assert_int_eq(cs_json_parse(&doc, unit_pool, ANSWER_OK, strlen(ANSWER_OK),
                                       &err), APR_SUCCESS);
        json_object_object_del(cs_json_raw(doc), keys[i]);
        llm_answers(cs_json_dump(doc, unit_pool));
        ck_assert_str_eq(llm_fails(APR_EINVAL),
                         apr_psprintf(unit_pool, "invalid answer: missing '%s'", keys[i]));
    }
}
END_TEST

START_TEST(test_llm_non_json_content_is_an_invalid_answer)
{
    ASSERT_INVALID_ANSWER("The intent is question.");
    ASSERT_INVALID_ANSWER("```json\n" ANSWER_OK "\n```");
    ASSERT_INVALID_ANSWER(ANSWER_OK " and more");
    ASSERT_INVALID_ANSWER("[" ANSWER_OK "]");
    ASSERT_INVALID_ANSWER("");
}
END_TEST

START_TEST(test_llm_malformed_completions_are_invalid_answers)
{
    llm_responds(200, "<html>gateway</html>");
    ck_assert_str_eq(llm_fails(APR_EINVAL), "invalid answer: response is not JSON");
    llm_responds(200, "{}");
    ck_assert_str_eq(llm_fails(APR_EINVAL), "invalid answer: no choices in the response");
    llm_responds(200, "{\"choices\":[]}");
    ck_assert_str_eq(llm_fails(APR_EINVAL), "invalid answer: no choices in the response");
    llm_responds(200, "{\"choices\":[{\"message\":{\"role\":\"assistant\","
                      "\"content\":null}}]}");
    ck_assert_str_eq(llm_fails(APR_EINVAL), "invalid answer: no message content");
    llm_responds(200, "{\"choices\":[{\"message\":{\"role\":\"assistant\","
                      "\"content\":null,\"refusal\":\"I can't help\"}}]}");
    ck_assert_str_eq(llm_fails(APR_EINVAL), "invalid answer: the model refused");
    /* The fake's token: the default classification as a JSON string. */
    llm_responds(200, "{\"choices\":[{\"message\":{\"role\":\"assistant\","
                      "\"content\":\"{{classification}}\"}}]}");
    {
        cs_llm_conf_t conf = llm_conf();
        cs_classification_t *c = NULL;
        const char *err = NULL;
        ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, "x", &err), APR_SUCCESS);
        ck_assert_str_eq(c->intent, "question");
    }
}
END_TEST

START_TEST(test_llm_configuration_errors)
{
    cs_llm_conf_t conf = llm_conf();
    cs_classification_t *c = NULL;
    const char *err = NULL;

    conf.model = NULL;
    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, "x", &err), APR_EINVAL);
    ck_assert_str_eq(err, "no LLM model configured");
    conf = llm_conf();
    conf.endpoint = "";
    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, "x", &err), APR_EINVAL);
    ck_assert_str_eq(err, "no LLM endpoint configured");
    conf.endpoint = "file:///etc";
    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, "x", &err), APR_EINVAL);
    ck_assert_str_eq(err, "invalid LLM endpoint: not an absolute http or https URL");
    conf = llm_conf();
    ck_assert_int_eq(llm_classify(&c, unit_pool, &conf, NULL, &err), APR_EINVAL);
    ck_assert_int_eq((int)json_object_array_length(fake_requests()), 0);
}
END_TEST

/* ---- cs_llm_parse_answer, no network -------------------------------------- */

/* @p json must be refused with the message "invalid answer: @p want". */
static void answer_refused(const char *json, const char *want)
{
    cs_classification_t *c = (cs_classification_t *)unit_pool;
    const char *err = NULL;

    ck_assert_msg(cs_llm_parse_answer(&c, unit_pool, json, strlen(json), &err)
                  == APR_EINVAL, "accepted: %s", json);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err, apr_pstrcat(unit_pool, "invalid answer: ", want, NULL));
}

#define ANSWER(intent, urgency, conf, service, when, budget)                  \
    "{\"intent\":" intent ",\"urgency\":" urgency ",\"confidence\":" conf     \
    ",\"service\":" service ",\"when\":" when ",\"budget\":" budget "}"

START_TEST(test_answer_wrong_types_are_refused)
{
    answer_refused(ANSWER("null", "\"low\"", "0.5", "null", "[]", "null"),
                   "intent is not a string");
    answer_refused(ANSWER("\"spam\"", "2", "0.5", "null", "[]", "null"),
                   "urgency is not a string");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "\"0.5\"", "null", "[]", "null"),
                   "confidence is not a number");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "true", "null", "[]", "null"),
                   "confidence is not a number");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "0.5", "3", "[]", "null"),
                   "service is neither a string nor null");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "0.5", "null", "\"Saturday\"", "null"),
                   "when is not an array");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "0.5", "null", "null", "null"),
                   "when is not an array");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "0.5", "null", "[1]", "null"),
                   "a when item is not a string");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "0.5", "null", "[]", "500"),
                   "budget is neither a string nor null");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "0.5", "null", "[]", "{}"),
                   "budget is neither a string nor null");
}
END_TEST

START_TEST(test_answer_confidence_must_be_within_0_and_1)
{
    cs_classification_t *c = NULL;
    const char *err = NULL, *ok0 = ANSWER("\"spam\"", "\"low\"", "0", "null", "[]", "null");
    const char *ok1 = ANSWER("\"spam\"", "\"low\"", "1.0", "null", "[]", "null");

    answer_refused(ANSWER("\"spam\"", "\"low\"", "1.01", "null", "[]", "null"),
                   "confidence is outside [0, 1]");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "-0.1", "null", "[]", "null"),
                   "confidence is outside [0, 1]");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "90", "null", "[]", "null"),
                   "confidence is outside [0, 1]");
    ck_assert_int_eq(cs_llm_parse_answer(&c, unit_pool, ok0, strlen(ok0), &err),
                     APR_SUCCESS);
    ck_assert_double_eq(c->confidence, 0.0);
    ck_assert_int_eq(cs_llm_parse_answer(&c, unit_pool, ok1, strlen(ok1), &err),
                     APR_SUCCESS);
    ck_assert_double_eq(c->confidence, 1.0);
}
END_TEST

START_TEST(test_answer_strings_must_be_clean_text)
{
    answer_refused(ANSWER("\"spam\"", "\"low\"", "0.5", "\"a\\u0000b\"", "[]", "null"),
                   "service is not clean text");
    answer_refused(ANSWER("\"spam\"", "\"low\"", "0.5", "null", "[\"\\u001b[31m\"]", "null"),
                   "a when item is not clean text");
}
END_TEST

START_TEST(test_answer_unquotable_keys_and_labels_are_not_echoed)
{
    answer_refused("{\"intent\":\"question\",\"urgency\":\"normal\",\"confidence\":0.9,"
                   "\"service\":null,\"when\":[],\"budget\":null,\"\\n<script>\":1}",
                   "unexpected key");
    answer_refused(ANSWER("\"question\\r\\nX: y\"", "\"low\"", "0.5", "null", "[]", "null"),
                   "intent is not a known label");
}
END_TEST

START_TEST(test_answer_blank_service_and_budget_become_null)
{
    cs_classification_t *c = NULL;
    const char *err = NULL;
    const char *json = ANSWER("\"other\"", "\"low\"", "0.2", "\"  \"", "[]", "\"\"");

    ck_assert_int_eq(cs_llm_parse_answer(&c, unit_pool, json, strlen(json), &err),
                     APR_SUCCESS);
    ck_assert_ptr_null(c->service);
    ck_assert_ptr_null(c->budget);
    ck_assert_str_eq(c->intent, "other");
    ck_assert_str_eq(c->urgency, "low");
}
END_TEST

Suite *llm_suite(void)
{
    Suite *s = suite_create("llm");
    TCase *tc;

    tc = tcase_create("http");
    tcase_add_unchecked_fixture(tc, fake_start, fake_stop);
    tcase_add_checked_fixture(tc, setup, unit_pool_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_http_get_round_trips_status_headers_and_body);
    tcase_add_test(tc, test_http_post_sends_body_content_type_and_extra_headers);
    tcase_add_test(tc, test_http_other_methods_are_sent_as_given);
    tcase_add_test(tc, test_http_basic_auth_header_arrives);
    tcase_add_test(tc, test_http_bearer_header_arrives);
    tcase_add_test(tc, test_http_redirects_are_returned_not_followed);
    tcase_add_test(tc, test_http_timeout_maps_to_timeup_within_the_timeout);
    tcase_add_test(tc, test_http_connection_refused_maps_to_econnrefused);
    tcase_add_test(tc, test_http_response_over_the_limit_is_enospc);
    tcase_add_test(tc, test_http_default_limit_is_one_mib);
    tcase_add_test(tc, test_http_invalid_requests_are_einval_and_not_sent);
    suite_add_tcase(s, tc);

    tc = tcase_create("llm");
    tcase_add_unchecked_fixture(tc, fake_start, fake_stop);
    tcase_add_checked_fixture(tc, setup, unit_pool_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_llm_default_answer_is_parsed);
    tcase_add_test(tc, test_llm_fields_are_extracted_trimmed_and_blank_dropped);
    tcase_add_test(tc, test_llm_request_has_model_messages_and_strict_json_schema);
    tcase_add_test(tc, test_llm_without_api_key_sends_no_authorization);
    tcase_add_test(tc, test_llm_http_500_is_an_error_without_the_key);
    tcase_add_test(tc, test_llm_hang_beyond_the_timeout_fails_quickly);
    tcase_add_test(tc, test_llm_connection_refused_is_an_error);
    tcase_add_test(tc, test_llm_unknown_labels_are_invalid_answers);
    tcase_add_test(tc, test_llm_extra_key_is_an_invalid_answer);
    tcase_add_test(tc, test_llm_missing_key_is_an_invalid_answer);
    tcase_add_test(tc, test_llm_non_json_content_is_an_invalid_answer);
    tcase_add_test(tc, test_llm_malformed_completions_are_invalid_answers);
    tcase_add_test(tc, test_llm_configuration_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("llm_answer");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_answer_wrong_types_are_refused);
    tcase_add_test(tc, test_answer_confidence_must_be_within_0_and_1);
    tcase_add_test(tc, test_answer_strings_must_be_clean_text);
    tcase_add_test(tc, test_answer_unquotable_keys_and_labels_are_not_echoed);
    tcase_add_test(tc, test_answer_blank_service_and_budget_become_null);
    suite_add_tcase(s, tc);

    return s;
}
