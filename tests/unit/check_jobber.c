/* Jobber: the OAuth and GraphQL requests as built, their answers as read
 * (canned, then against tests/fakes/fake_jobber.py over real HTTP: the code
 * exchange, refresh token rotation, find-or-create a client, a request with
 * its note, an expired token), and the webhook signature (vector computed
 * apart with python's hmac module over the exact bytes below). */
#include "unit.h"
#include "providers/cs_jobber.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <string.h>

static cs_jobber_app_t app_at(const char *base)
{
    cs_jobber_app_t app;

    memset(&app, 0, sizeof(app));
    app.api_base = base;
    app.client_id = "consult-jobber-client";
    app.client_secret = "consult-jobber-secret-0123456789";
    return app;
}

static cs_http_resp_t *answer(long status, const char *body)
{
    cs_http_resp_t *r = apr_pcalloc(unit_pool, sizeof(*r));

    r->status = status;
    r->body = body;
    r->len = body ? strlen(body) : 0;
    r->headers = apr_table_make(unit_pool, 2);
    return r;
}

static json_object *json_of(const char *s)
{
    cs_json_t *doc;
    const char *err;

    ck_assert_msg(cs_json_parse(&doc, unit_pool, s, strlen(s), &err) == APR_SUCCESS,
                  "not JSON (%s): %s", err, s);
    return cs_json_raw(doc);
}

static int has_header(const cs_http_req_t *req, const char *line)
{
    int i;

    for (i = 0; req->headers && i < req->headers->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(req->headers, i, const char *), line)) {
            return 1;
        }
    }
    return 0;
}

/* ---- requests as built -------------------------------------------------- */

START_TEST(test_authorize_url_encodes_every_parameter)
{
    cs_jobber_app_t app = app_at(NULL);

    ck_assert_str_eq(cs_jobber_build_authorize_url(unit_pool, &app,
                                                   "https://consult.example/jobber/callback",
                                                   "st 1/2+3"),
                     "https://api.getjobber.com/api/oauth/authorize?response_type=code"
                     "&client_id=consult-jobber-client"
                     "&redirect_uri=https%3A%2F%2Fconsult.example%2Fjobber%2Fcallback"
                     "&state=st%201%2F2%2B3");
}
END_TEST

START_TEST(test_token_requests_are_forms_with_the_client_credentials)
{
    cs_jobber_app_t app = app_at("http://127.0.0.1:9/api");
    cs_http_req_t req;

    cs_jobber_build_token_request(&req, unit_pool, &app, CS_JOBBER_GRANT_CODE, "c0de&x",
                                  "https://consult.example/cb");
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.url, "http://127.0.0.1:9/api/oauth/token");
    ck_assert_str_eq(req.content_type, "application/x-www-form-urlencoded");
    ck_assert_str_eq(req.body, "grant_type=authorization_code&code=c0de%26x"
                               "&redirect_uri=https%3A%2F%2Fconsult.example%2Fcb"
                               "&client_id=consult-jobber-client"
                               "&client_secret=consult-jobber-secret-0123456789");
    ck_assert_ptr_null(req.bearer);
    ck_assert(has_header(&req, "Accept: application/json"));
    cs_jobber_build_token_request(&req, unit_pool, &app, CS_JOBBER_GRANT_REFRESH, "rt_a+b",
                                  NULL);
    ck_assert_str_eq(req.body, "grant_type=refresh_token&refresh_token=rt_a%2Bb"
                               "&client_id=consult-jobber-client"
                               "&client_secret=consult-jobber-secret-0123456789");
}
END_TEST

START_TEST(test_graphql_requests_carry_token_version_and_json)
{
    cs_jobber_app_t app = app_at(NULL);
    cs_http_req_t req;
    json_object *body;

    ck_assert_int_eq(cs_jobber_build_graphql(&req, unit_pool, &app, "tok", "{ account { id } }",
                                             "{\"a\":1}"), APR_SUCCESS);
    ck_assert_str_eq(req.url, "https://api.getjobber.com/api/graphql");
    ck_assert_str_eq(req.method, "POST");
    ck_assert_str_eq(req.content_type, "application/json");
    ck_assert_str_eq(req.bearer, "tok");
    ck_assert(has_header(&req, "X-JOBBER-GRAPHQL-VERSION: " CS_JOBBER_API_VERSION));
    ck_assert_str_eq(req.body, "{\"query\":\"{ account { id } }\",\"variables\":{\"a\":1}}");
    app.api_version = "2024-04-17";
    ck_assert_int_eq(cs_jobber_build_graphql(&req, unit_pool, &app, "tok", "{ x }", NULL),
                     APR_SUCCESS);
    ck_assert(has_header(&req, "X-JOBBER-GRAPHQL-VERSION: 2024-04-17"));
    ck_assert_str_eq(req.body, "{\"query\":\"{ x }\",\"variables\":{}}");
    ck_assert_int_eq(cs_jobber_build_graphql(&req, unit_pool, &app, "tok", "{ x }", "[1]"),
                     APR_EINVAL);
    ck_assert_int_eq(cs_jobber_build_graphql(&req, unit_pool, &app, "tok", "{ x }", "{"),
                     APR_EINVAL);
    ck_assert_int_eq(cs_jobber_build_graphql(&req, unit_pool, &app, "tok", "", NULL),
                     APR_EINVAL);

    ck_assert_int_eq(cs_jobber_build_find_client(&req, unit_pool, &app, "tok", NULL,
                                                 "+15035550142"), APR_SUCCESS);
    body = json_of(req.body);
    ck_assert_ptr_nonnull(strstr(cs_jstr(body, "query"), "clients(searchTerm: $term"));
    ck_assert_str_eq(cs_jstr(cs_jobj(body, "variables"), "term"), "+15035550142");
    ck_assert_int_eq(cs_jobber_build_find_client(&req, unit_pool, &app, "tok", NULL, ""),
                     APR_EINVAL);
}
END_TEST

START_TEST(test_create_client_splits_the_name_and_marks_primary_contacts)
{
    cs_jobber_app_t app = app_at(NULL);
    cs_jobber_new_client_t c = { "  Ana Maria Ruiz ", NULL, "ana@example.com",
                                 "+15035550142" };
    cs_http_req_t req;
    json_object *in;

    ck_assert_int_eq(cs_jobber_build_create_client(&req, unit_pool, &app, "tok", &c),
                     APR_SUCCESS);
    in = cs_jobj(cs_jobj(json_of(req.body), "variables"), "input");
    ck_assert_str_eq(cs_jstr(in, "firstName"), "Ana Maria");
    ck_assert_str_eq(cs_jstr(in, "lastName"), "Ruiz");
    ck_assert_str_eq(json_object_to_json_string_ext(cs_jarr(in, "emails"),
                                                    JSON_C_TO_STRING_PLAIN),
                     "[{\"description\":\"MAIN\",\"address\":\"ana@example.com\","
                     "\"primary\":true}]");
    ck_assert_str_eq(json_object_to_json_string_ext(cs_jarr(in, "phones"),
                                                    JSON_C_TO_STRING_PLAIN),
                     "[{\"description\":\"MAIN\",\"number\":\"+15035550142\","
                     "\"primary\":true}]");
    /* a company alone is a company client; nothing at all is refused */
    c.name = NULL;
    c.company = "Ruiz Bakery";
    c.email = c.phone = NULL;
    ck_assert_int_eq(cs_jobber_build_create_client(&req, unit_pool, &app, "tok", &c),
                     APR_SUCCESS);
    in = cs_jobj(cs_jobj(json_of(req.body), "variables"), "input");
    ck_assert_str_eq(cs_jstr(in, "companyName"), "Ruiz Bakery");
    ck_assert(cs_jbool(in, "isCompany", 0));
    ck_assert_ptr_null(cs_jstr(in, "firstName"));
    ck_assert_ptr_null(cs_jarr(in, "emails"));
    c.company = "";
    c.name = "   ";
    ck_assert_int_eq(cs_jobber_build_create_client(&req, unit_pool, &app, "tok", &c),
                     APR_EINVAL);
}
END_TEST

/* ---- answers as read ------------------------------------------------------- */

START_TEST(test_token_answer_gives_the_rotated_pair_and_expiry)
{
    cs_jobber_tokens_t *t;
    cs_jobber_result_t res;
    apr_time_t now = apr_time_from_sec(1714564800);

    ck_assert_int_eq(cs_jobber_parse_token(&t, unit_pool, answer(200,
                         "{\"access_token\":\"at1\",\"refresh_token\":\"rt2\","
                         "\"expires_in\":3600,\"token_type\":\"bearer\"}"), now, &res),
                     APR_SUCCESS);
    ck_assert_str_eq(t->access, "at1");
    ck_assert_str_eq(t->refresh, "rt2");
    ck_assert_int_eq(t->expires_at, now + apr_time_from_sec(3600));
    ck_assert_ptr_null(res.why);
    /* no expires_in: the JWT's exp (base64url, - and _ in it) */
    ck_assert_int_eq(cs_jobber_parse_token(&t, unit_pool, answer(200,
                         "{\"access_token\":\"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                         "eyJzdWIiOiJhY2N0IiwibiI6In5-fj8_PiIsImV4cCI6MTcxNDU2ODQwMH0."
                         "c2lnbmF0dXJl\",\"refresh_token\":\"rt3\"}"), now, &res),
                     APR_SUCCESS);
    ck_assert_int_eq(t->expires_at, apr_time_from_sec(1714568400));
    /* neither: unknown */
    ck_assert_int_eq(cs_jobber_parse_token(&t, unit_pool, answer(200,
                         "{\"access_token\":\"opaque\"}"), now, &res), APR_SUCCESS);
    ck_assert_int_eq(t->expires_at, 0);
    ck_assert_ptr_null(t->refresh);
    ck_assert_int_eq(cs_jobber_parse_token(&t, unit_pool, answer(200, "{\"refresh_token\":"
                                                                 "\"rt\"}"), now, &res),
                     APR_EGENERAL);
    ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_token_refusals_say_reconnect_retry_or_give_up)
{
    cs_jobber_tokens_t *t;
    cs_jobber_result_t res;
    cs_http_resp_t *r;

    ck_assert_int_eq(cs_jobber_parse_token(&t, unit_pool, answer(400,
                         "{\"error\":\"invalid_grant\",\"error_description\":\"used\"}"), 0, &res),
                     APR_EACCES);
    ck_assert_str_eq(res.why, "Jobber token 400 invalid_grant: used");
    ck_assert_int_eq(cs_jobber_parse_token(&t, unit_pool, answer(401,
                         "{\"error\":\"invalid_client\"}"), 0, &res), APR_EACCES);
    ck_assert_int_eq(cs_jobber_parse_token(&t, unit_pool, answer(400,
                         "{\"error\":\"unsupported_grant_type\"}"), 0, &res), APR_EINVAL);
    r = answer(503, "<html>down</html>");
    apr_table_set(r->headers, "Retry-After", "30");
    ck_assert_int_eq(cs_jobber_parse_token(&t, unit_pool, r, 0, &res), APR_EAGAIN);
    ck_assert_int_eq(res.retry_after, apr_time_from_sec(30));
    ck_assert_int_eq(res.status, 503);
    ck_assert_int_eq(cs_jobber_parse_token(&t, unit_pool, NULL, 0, &res), APR_EAGAIN);
    ck_assert_int_eq(res.status, 0);
    ck_assert(res.retry_after > 0);
}
END_TEST

static const char SEARCH[] =
    "{\"data\":{\"clients\":{\"nodes\":["
    "{\"id\":\"Q2xpZW50LzE=\",\"name\":\"Joanna Smith\",\"isArchived\":false,"
    "\"emails\":[{\"address\":\"joanna@example.com\"}],\"phones\":[]},"
    "{\"id\":\"Q2xpZW50LzI=\",\"name\":\"Ana Ruiz (old)\",\"isArchived\":true,"
    "\"emails\":[{\"address\":\"ANA@example.com\"}],\"phones\":[]},"
    "{\"id\":\"Q2xpZW50LzM=\",\"name\":\"Ana Ruiz\",\"isArchived\":false,"
    "\"emails\":[{\"address\":\"other@example.com\"},{\"address\":\"ana@example.com\"}],"
    "\"phones\":[{\"number\":\"(503) 555-0142\"}]}]}},"
    "\"extensions\":{\"cost\":{\"requestedQueryCost\":22,\"actualQueryCost\":7,"
    "\"throttleStatus\":{\"maximumAvailable\":10000.0,\"currentlyAvailable\":9993,"
    "\"restoreRate\":500.0}},\"versioning\":{\"version\":\"2025-04-16\"}}}";

START_TEST(test_find_client_picks_the_exact_active_match)
{
    cs_jobber_client_t *c;
    cs_jobber_result_t res;

    /* Jobber's search is fuzzy: joanna@ is not ana@; the archived exact
     * match loses to the active one */
    ck_assert_int_eq(cs_jobber_parse_find_client(&c, unit_pool, answer(200, SEARCH),
                                                 "ana@example.com", NULL, &res), APR_SUCCESS);
    ck_assert_str_eq(c->id, "Q2xpZW50LzM=");
    ck_assert_str_eq(c->name, "Ana Ruiz");
    ck_assert_int_eq(c->archived, 0);
    ck_assert(res.cost.known);
    ck_assert(res.cost.requested == 22 && res.cost.actual == 7);
    ck_assert(res.cost.maximum == 10000 && res.cost.available == 9993);
    ck_assert(res.cost.restore_rate == 500);
    ck_assert_str_eq(res.version, "2025-04-16");
    /* by phone, written another way and with its country code */
    ck_assert_int_eq(cs_jobber_parse_find_client(&c, unit_pool, answer(200, SEARCH), NULL,
                                                 "+1 503 555 0142", &res), APR_SUCCESS);
    ck_assert_str_eq(c->id, "Q2xpZW50LzM=");
    /* too short a tail is no match, and neither is a near miss */
    ck_assert_int_eq(cs_jobber_parse_find_client(&c, unit_pool, answer(200, SEARCH), NULL,
                                                 "555-0142", &res), APR_ENOENT);
    ck_assert_int_eq(cs_jobber_parse_find_client(&c, unit_pool, answer(200, SEARCH),
                                                 "na@example.com", NULL, &res), APR_ENOENT);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(cs_jobber_parse_find_client(&c, unit_pool, answer(200,
                         "{\"data\":{\"clients\":{\"nodes\":[]}}}"), "a@b.example", NULL, &res),
                     APR_ENOENT);
    ck_assert_int_eq(cs_jobber_parse_find_client(&c, unit_pool, answer(200,
                         "{\"data\":{\"clients\":null}}"), "a@b.example", NULL, &res),
                     APR_EGENERAL);
}
END_TEST

START_TEST(test_graphql_errors_throttling_and_401_sort_out)
{
    cs_jobber_client_t *c;
    cs_jobber_result_t res;
    json_object *data;
    cs_http_resp_t *r;

    /* a query Jobber does not know: permanent */
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, answer(200,
                         "{\"errors\":[{\"message\":\"Field 'nope' doesn't exist on type "
                         "'Query'\",\"extensions\":{\"code\":\"undefinedField\"}}]}"), &res),
                     APR_EINVAL);
    ck_assert_str_eq(res.why, "Jobber GraphQL: Field 'nope' doesn't exist on type 'Query'");
    ck_assert_ptr_null(data);
    /* throttled: wait until the bucket holds the cost asked for,
     * (1200 - 200) / 500 = 2 s */
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, answer(200,
                         "{\"errors\":[{\"message\":\"Throttled\",\"extensions\":"
                         "{\"code\":\"THROTTLED\"}}],\"extensions\":{\"cost\":"
                         "{\"requestedQueryCost\":1200,\"actualQueryCost\":null,"
                         "\"throttleStatus\":{\"maximumAvailable\":10000,"
                         "\"currentlyAvailable\":200,\"restoreRate\":500}}}}"), &res),
                     APR_EAGAIN);
    ck_assert_int_eq(res.retry_after, apr_time_from_sec(2));
    /* the DDoS limiter's 429, with and without a Retry-After */
    r = answer(429, "Too Many Requests");
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, r, &res), APR_EAGAIN);
    ck_assert(res.retry_after >= apr_time_from_sec(1));
    apr_table_set(r->headers, "Retry-After", "120");
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, r, &res), APR_EAGAIN);
    ck_assert_int_eq(res.retry_after, apr_time_from_sec(120));
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, answer(502, ""), &res),
                     APR_EAGAIN);
    /* an expired access token: refresh, then send again */
    ck_assert_int_eq(cs_jobber_parse_find_client(&c, unit_pool, answer(401,
                         "{\"message\":\"Unauthorized\"}"), "a@b.example", NULL, &res),
                     APR_EACCES);
    ck_assert_int_eq(res.status, 401);
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, answer(400,
                         "{\"errors\":[{\"message\":\"bad version\"}]}"), &res), APR_EINVAL);
    ck_assert_str_eq(res.why, "Jobber GraphQL 400: bad version");
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, answer(200, "{\"data\":"),
                                             &res), APR_EGENERAL);
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, NULL, &res), APR_EAGAIN);
    /* a version on its way out is reported */
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, answer(200,
                         "{\"data\":{},\"extensions\":{\"versioning\":{\"version\":"
                         "\"2023-11-15\",\"warning\":\"deprecated\"}}}"), &res), APR_SUCCESS);
    ck_assert_str_eq(res.version_warning, "deprecated");
}
END_TEST

START_TEST(test_user_errors_refuse_the_mutation)
{
    cs_jobber_client_t *c;
    cs_jobber_result_t res;
    const char *id;

    ck_assert_int_eq(cs_jobber_parse_create_client(&c, unit_pool, answer(200,
                         "{\"data\":{\"clientCreate\":{\"client\":null,\"userErrors\":["
                         "{\"message\":\"Email address is invalid\",\"path\":[\"emails\"]},"
                         "{\"message\":\"Phone number is invalid\",\"path\":[\"phones\"]}]}}}"),
                         &res), APR_EINVAL);
    ck_assert_str_eq(res.why, "Jobber refused clientCreate: Email address is invalid; "
                              "Phone number is invalid");
    ck_assert_int_eq(cs_jobber_parse_create_client(&c, unit_pool, answer(200,
                         "{\"data\":{\"clientCreate\":{\"client\":{\"id\":\"Q2w=\","
                         "\"name\":\"Ana Ruiz\"},\"userErrors\":[]}}}"), &res), APR_SUCCESS);
    ck_assert_str_eq(c->id, "Q2w=");
    ck_assert_int_eq(cs_jobber_parse_create_request(&id, unit_pool, answer(200,
                         "{\"data\":{\"requestCreate\":{\"request\":{\"id\":\"UmVx\"},"
                         "\"userErrors\":[]}}}"), &res), APR_SUCCESS);
    ck_assert_str_eq(id, "UmVx");
    ck_assert_int_eq(cs_jobber_parse_create_request(&id, unit_pool, answer(200,
                         "{\"data\":{\"requestCreate\":{\"request\":null,\"userErrors\":["
                         "{\"message\":\"Client could not be found\",\"path\":[]}]}}}"), &res),
                     APR_EINVAL);
    ck_assert_ptr_null(id);
    ck_assert_int_eq(cs_jobber_parse_request_note(&id, unit_pool, answer(200,
                         "{\"data\":{\"requestCreateNote\":{\"requestNote\":{},"
                         "\"userErrors\":[]}}}"), &res), APR_EGENERAL);
}
END_TEST

/* ---- webhooks ------------------------------------------------------------ */

/* A CLIENT_CREATE delivery (compact JSON). */
static const char HOOK[] =
    "{\"data\":{\"webHookEvent\":{\"topic\":\"CLIENT_CREATE\","
    "\"appId\":\"8f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b\","
    "\"accountId\":\"Z2lkOi8vSm9iYmVyL0FjY291bnQvNDI=\","
    "\"itemId\":\"Z2lkOi8vSm9iYmVyL0NsaWVudC83\",\"occurredAt\":\"2024-05-01T12:34:56-06:"
    "00\"}}}";
/* base64(HMAC-SHA256(key "consult-jobber-secret-0123456789", HOOK)) */
static const char HOOK_SIG[] = "HtiRg/HVmrZ3gHm4eWd0LBx+jaK1Zc/SMZtr3YNi3G0=";

static apr_status_t verify(const char *sig, const char *body, const char *secret,
                           const char **pwhy)
{
    return cs_jobber_verify_webhook(unit_pool, sig, body, strlen(body), secret, pwhy);
}

START_TEST(test_webhook_signature_verifies_over_the_raw_body)
{
    const char *secret = "consult-jobber-secret-0123456789", *why = "unset";
    char *body = apr_pstrdup(unit_pool, HOOK);

    ck_assert_int_eq(verify(HOOK_SIG, HOOK, secret, &why), APR_SUCCESS);
    ck_assert_ptr_null(why);
    /* the same JSON re-serialised (a space) is other bytes: refused */
    body[1] = ' ';
    ck_assert_int_eq(verify(HOOK_SIG, body, secret, &why), APR_EACCES);
    ck_assert_str_eq(why, "the signature does not match");
    ck_assert_int_eq(verify(HOOK_SIG, HOOK, "other", NULL), APR_EACCES);
    ck_assert_int_eq(verify("HtiRg/HVmrZ3", HOOK, secret, NULL), APR_EACCES);
    ck_assert_int_eq(verify("not base64!", HOOK, secret, NULL), APR_EACCES);
    ck_assert_int_eq(verify(NULL, HOOK, secret, NULL), APR_EACCES);
    ck_assert_int_eq(verify(HOOK_SIG, HOOK, "", &why), APR_EACCES);
    ck_assert_str_eq(why, "no Jobber client secret is configured");
}
END_TEST

START_TEST(test_webhook_payload_reads_topic_item_account_and_time)
{
    cs_jobber_webhook_t *w;
    const char *why, *body;

    ck_assert_int_eq(cs_jobber_parse_webhook(&w, unit_pool, HOOK, strlen(HOOK), &why),
                     APR_SUCCESS);
    ck_assert_str_eq(w->topic, "CLIENT_CREATE");
    ck_assert_str_eq(w->account_id, "Z2lkOi8vSm9iYmVyL0FjY291bnQvNDI=");
    ck_assert_str_eq(w->item_id, "Z2lkOi8vSm9iYmVyL0NsaWVudC83");
    ck_assert_str_eq(w->app_id, "8f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b");
    /* 12:34:56-06:00 is 18:34:56Z */
    ck_assert_int_eq(w->occurred_at, apr_time_from_sec(1714588496));
    ck_assert_str_eq(w->event_id, "CLIENT_CREATE:Z2lkOi8vSm9iYmVyL0NsaWVudC83:"
                                  "2024-05-01T12:34:56-06:00");
    body = "{\"data\":{\"webHookEvent\":{\"topic\":\"APP_DISCONNECT\",\"accountId\":\"QQ==\"}}}";
    ck_assert_int_eq(cs_jobber_parse_webhook(&w, unit_pool, body, strlen(body), &why),
                     APR_SUCCESS);
    ck_assert_ptr_null(w->item_id);
    ck_assert_int_eq(w->occurred_at, 0);
    ck_assert_str_eq(w->event_id, "APP_DISCONNECT::");
    body = "{\"data\":{}}";
    ck_assert_int_eq(cs_jobber_parse_webhook(&w, unit_pool, body, strlen(body), &why),
                     APR_EINVAL);
    ck_assert_ptr_null(w);
    body = "{\"data\":{\"webHookEvent\":{\"topic\":\"X\",\"accountId\":\"A\","
           "\"occurredAt\":\"yesterday\"}}}";
    ck_assert_int_eq(cs_jobber_parse_webhook(&w, unit_pool, body, strlen(body), &why),
                     APR_EINVAL);
    ck_assert_int_eq(cs_jobber_parse_webhook(&w, unit_pool, "{", 1, &why), APR_EINVAL);
}
END_TEST

/* ---- against the fake ------------------------------------------------------ */

static unit_fake_t fake;
static cs_jobber_app_t app;
#define REDIRECT "https://consult.example/jobber/callback"

static void fake_start(void)
{
    unit_fake_start(&fake, "tests/fakes/fake_jobber.py");
}

static void fake_stop(void)
{
    unit_fake_stop(&fake);
}

static cs_http_resp_t *perform(const cs_http_req_t *req)
{
    cs_http_resp_t *resp = NULL;
    const char *err = NULL;

    ck_assert_msg(cs_http_perform(&resp, unit_pool, req, &err) == APR_SUCCESS, "%s: %s",
                  req->url, err ? err : "?");
    return resp;
}

static cs_http_resp_t *control(const char *method, const char *path, const char *body)
{
    cs_http_req_t req;
    cs_http_resp_t *resp;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.url = apr_pstrcat(unit_pool, fake.base, path, NULL);
    req.body = body;
    req.content_type = body ? "application/json" : NULL;
    resp = perform(&req);
    ck_assert_msg(resp->status == 200, "%s %s: %ld %s", method, path, resp->status, resp->body);
    return resp;
}

static void setup(void)
{
    unit_pool_setup();
    cs_http_global_init();
    control("POST", "/_control/reset", NULL);
    app = app_at(apr_pstrcat(unit_pool, fake.base, "/api", NULL));
}

/* The owner says yes: follow the authorize URL to the code it redirects with. */
static const char *authorize(void)
{
    cs_http_req_t req;
    cs_http_resp_t *resp;
    const char *loc, *code;

    memset(&req, 0, sizeof(req));
    req.url = cs_jobber_build_authorize_url(unit_pool, &app, REDIRECT, "state-123");
    resp = perform(&req);
    ck_assert_int_eq(resp->status, 302);
    loc = apr_table_get(resp->headers, "Location");
    ck_assert_ptr_nonnull(loc);
    ck_assert(!strncmp(loc, REDIRECT "?code=", strlen(REDIRECT) + 6));
    ck_assert_ptr_nonnull(strstr(loc, "&state=state-123"));
    code = loc + strlen(REDIRECT) + 6;
    return apr_pstrndup(unit_pool, code, strcspn(code, "&"));
}

static apr_status_t token(cs_jobber_tokens_t **pt, cs_jobber_grant_t grant, const char *value,
                          cs_jobber_result_t *res)
{
    cs_http_req_t req;
    apr_time_t now = apr_time_now();

    cs_jobber_build_token_request(&req, unit_pool, &app, grant, value, REDIRECT);
    return cs_jobber_parse_token(pt, unit_pool, perform(&req), now, res);
}

static cs_jobber_tokens_t *connect_account(void)
{
    cs_jobber_tokens_t *t;
    cs_jobber_result_t res;

    ck_assert_int_eq(token(&t, CS_JOBBER_GRANT_CODE, authorize(), &res), APR_SUCCESS);
    return t;
}

START_TEST(test_fake_code_exchange_gives_tokens_once)
{
    cs_jobber_tokens_t *t;
    cs_jobber_result_t res;
    const char *code = authorize();
    apr_time_t now = apr_time_now();

    ck_assert_int_eq(token(&t, CS_JOBBER_GRANT_CODE, code, &res), APR_SUCCESS);
    ck_assert_ptr_nonnull(t->access);
    ck_assert_ptr_nonnull(t->refresh);
    /* the fake's tokens are JWTs valid for an hour: exp is read from them */
    ck_assert(t->expires_at > now + apr_time_from_sec(3500));
    ck_assert(t->expires_at < now + apr_time_from_sec(3700));
    /* a code works once */
    ck_assert_int_eq(token(&t, CS_JOBBER_GRANT_CODE, code, &res), APR_EACCES);
    ck_assert_ptr_nonnull(strstr(res.why, "invalid_grant"));
    /* and a wrong secret is refused without being repeated */
    app.client_secret = "not-the-secret";
    ck_assert_int_eq(token(&t, CS_JOBBER_GRANT_CODE, authorize(), &res), APR_EACCES);
    ck_assert_ptr_null(strstr(res.why, "not-the-secret"));
}
END_TEST

START_TEST(test_fake_refresh_rotates_and_refuses_the_old_token)
{
    cs_jobber_tokens_t *first = connect_account(), *second, *again;
    cs_jobber_result_t res;
    json_object *reqs;

    ck_assert_int_eq(token(&second, CS_JOBBER_GRANT_REFRESH, first->refresh, &res),
                     APR_SUCCESS);
    ck_assert_str_ne(second->refresh, first->refresh);
    ck_assert_str_ne(second->access, first->access);
    /* the used refresh token is spent: reconnect-level refusal */
    ck_assert_int_eq(token(&again, CS_JOBBER_GRANT_REFRESH, first->refresh, &res), APR_EACCES);
    ck_assert_ptr_null(again);
    ck_assert_ptr_nonnull(strstr(res.why, "invalid_grant"));
    /* the new one works, once */
    ck_assert_int_eq(token(&again, CS_JOBBER_GRANT_REFRESH, second->refresh, &res),
                     APR_SUCCESS);
    /* the refresh went as a form with the grant type */
    reqs = json_of(control("GET", "/_control/requests", NULL)->body);
    ck_assert_ptr_nonnull(strstr(cs_jstr(cs_jat(reqs, 2), "body"),
                                 "grant_type=refresh_token&refresh_token="));
}
END_TEST

static apr_status_t find(cs_jobber_client_t **pc, const char *access, const char *email,
                         const char *phone, cs_jobber_result_t *res)
{
    cs_http_req_t req;

    ck_assert_int_eq(cs_jobber_build_find_client(&req, unit_pool, &app, access, email, phone),
                     APR_SUCCESS);
    return cs_jobber_parse_find_client(pc, unit_pool, perform(&req), email, phone, res);
}

/* Find the lead's client, creating it when Jobber has none. */
static cs_jobber_client_t *find_or_create(const char *access, const cs_jobber_new_client_t *nc)
{
    cs_jobber_client_t *c;
    cs_jobber_result_t res;
    cs_http_req_t req;
    apr_status_t rv = find(&c, access, nc->email, nc->phone, &res);

    if (rv == APR_ENOENT) {
        ck_assert_int_eq(cs_jobber_build_create_client(&req, unit_pool, &app, access, nc),
                         APR_SUCCESS);
        rv = cs_jobber_parse_create_client(&c, unit_pool, perform(&req), &res);
    }
    ck_assert_msg(rv == APR_SUCCESS, "find or create: %s", res.why);
    return c;
}

START_TEST(test_fake_find_or_create_client_then_request_with_note)
{
    cs_jobber_tokens_t *t = connect_account();
    cs_jobber_new_client_t ana = { "Ana Ruiz", NULL, "ana@example.com", "+15035550142" };
    cs_jobber_new_client_t joana = { "Joana Smith", NULL, "joana@example.com", NULL };
    cs_jobber_lead_t lead;
    cs_jobber_client_t *c1, *c2, *c3, *j;
    cs_jobber_result_t res;
    cs_http_req_t req;
    const char *request_id, *note_id;
    json_object *data;

    /* someone whose address contains Ana's, so the fuzzy search finds her */
    j = find_or_create(t->access, &joana);
    c1 = find_or_create(t->access, &ana);
    ck_assert_str_ne(c1->id, j->id);
    ck_assert_str_eq(c1->name, "Ana Ruiz");
    /* again, by email and by phone alone: the same client, none created */
    c2 = find_or_create(t->access, &ana);
    ck_assert_str_eq(c2->id, c1->id);
    ck_assert_int_eq(find(&c3, t->access, NULL, "(503) 555-0142", &res), APR_SUCCESS);
    ck_assert_str_eq(c3->id, c1->id);
    ck_assert(res.cost.known && res.cost.available > 0);
    ck_assert_str_eq(res.version, CS_JOBBER_API_VERSION);
    data = json_of(control("GET", "/_control/data", NULL)->body);
    ck_assert_uint_eq(cs_jlen(cs_jarr(data, "clients")), 2);

    lead.client_id = c1->id;
    lead.title = "Leaking water heater";
    lead.details = "Tank leaking at the base since Monday.\nAvailable after 3pm.";
    ck_assert_int_eq(cs_jobber_build_create_request(&req, unit_pool, &app, t->access, &lead),
                     APR_SUCCESS);
    ck_assert_int_eq(cs_jobber_parse_create_request(&request_id, unit_pool, perform(&req), &res),
                     APR_SUCCESS);
    ck_assert_int_eq(cs_jobber_build_request_note(&req, unit_pool, &app, t->access, request_id,
                                                  lead.details), APR_SUCCESS);
    ck_assert_int_eq(cs_jobber_parse_request_note(&note_id, unit_pool, perform(&req), &res),
                     APR_SUCCESS);
    data = json_of(control("GET", "/_control/data", NULL)->body);
    ck_assert_str_eq(cs_jstr(cs_jat(cs_jarr(data, "requests"), 0), "title"),
                     "Leaking water heater");
    ck_assert_str_eq(cs_jstr(cs_jobj(cs_jat(cs_jarr(data, "requests"), 0), "client"), "id"),
                     c1->id);
    ck_assert_str_eq(cs_jstr(cs_jat(cs_jarr(data, "notes"), 0), "message"), lead.details);
    ck_assert_str_eq(cs_jstr(cs_jat(cs_jarr(data, "notes"), 0), "requestId"), request_id);

    /* a client id Jobber does not know: userErrors, permanent */
    lead.client_id = "Z2lkOi8vSm9iYmVyL0NsaWVudC85OTk=";
    ck_assert_int_eq(cs_jobber_build_create_request(&req, unit_pool, &app, t->access, &lead),
                     APR_SUCCESS);
    ck_assert_int_eq(cs_jobber_parse_create_request(&request_id, unit_pool, perform(&req), &res),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(res.why, "Client could not be found"));
}
END_TEST

START_TEST(test_fake_expired_access_token_is_eacces_and_a_refresh_recovers)
{
    cs_jobber_tokens_t *t = connect_account(), *fresh;
    cs_jobber_client_t *c;
    cs_jobber_result_t res;

    ck_assert_int_eq(find(&c, t->access, "ana@example.com", NULL, &res), APR_ENOENT);
    control("POST", "/_control/state", "{\"expire_tokens\": true}");
    ck_assert_int_eq(find(&c, t->access, "ana@example.com", NULL, &res), APR_EACCES);
    ck_assert_int_eq(res.status, 401);
    /* what the caller does about it: refresh (storing the new refresh
     * token), send again */
    ck_assert_int_eq(token(&fresh, CS_JOBBER_GRANT_REFRESH, t->refresh, &res), APR_SUCCESS);
    ck_assert_int_eq(find(&c, fresh->access, "ana@example.com", NULL, &res), APR_ENOENT);
}
END_TEST

START_TEST(test_fake_throttling_and_outages_are_eagain)
{
    cs_jobber_tokens_t *t = connect_account();
    cs_jobber_client_t *c;
    cs_jobber_result_t res;
    cs_http_req_t req;
    json_object *data;

    control("POST", "/_control/state", "{\"throttle\": 1}");
    ck_assert_int_eq(find(&c, t->access, "ana@example.com", NULL, &res), APR_EAGAIN);
    ck_assert_int_eq(res.retry_after, apr_time_from_sec(2));
    ck_assert_ptr_nonnull(strstr(res.why, "Throttled"));
    ck_assert_int_eq(find(&c, t->access, "ana@example.com", NULL, &res), APR_ENOENT);
    control("POST", "/_control/state",
            "{\"fail\": {\"status\": 429, \"retry_after\": 7, \"path\": \"/api/graphql\"}}");
    ck_assert_int_eq(find(&c, t->access, "ana@example.com", NULL, &res), APR_EAGAIN);
    ck_assert_int_eq(res.retry_after, apr_time_from_sec(7));
    control("POST", "/_control/state", "{\"fail\": {\"status\": 503, \"path\": \"*/token\"}}");
    ck_assert_int_eq(token(&t, CS_JOBBER_GRANT_REFRESH, t->refresh, &res), APR_EAGAIN);
    ck_assert_ptr_null(t);
    /* a query the API does not have is refused for good */
    ck_assert_int_eq(cs_jobber_build_graphql(&req, unit_pool, &app, connect_account()->access,
                                             "{ nope { id } }", NULL), APR_SUCCESS);
    ck_assert_int_eq(cs_jobber_parse_graphql(&data, unit_pool, perform(&req), &res), APR_EINVAL);
    ck_assert_ptr_null(data);
}
END_TEST

START_TEST(test_webhook_items_are_fetched_by_topic_and_read)
{
    cs_jobber_app_t japp = app_at(NULL);
    cs_http_req_t req;
    cs_jobber_item_t *it = NULL;
    cs_jobber_result_t res;

    /* A topic names the item's type; others (APP_*, INVOICE_*) have none. */
    ck_assert_int_eq(cs_jobber_build_fetch_item(&req, unit_pool, &japp, "tok", "REQUEST_UPDATE",
                                                "UmVxOjE="), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(req.body, "request(id: $id)"));
    ck_assert_ptr_nonnull(strstr(req.body, "\"id\":\"UmVxOjE=\""));
    ck_assert_int_eq(cs_jobber_build_fetch_item(&req, unit_pool, &japp, "tok", "APP_CONNECT", "x"),
                     APR_ENOENT);
    ck_assert_int_eq(cs_jobber_build_fetch_item(&req, unit_pool, &japp, "tok", "QUOTE_CREATE", NULL),
                     APR_ENOENT);

    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(cs_jobber_parse_fetch_item(&it, unit_pool, answer(200,
        "{\"data\":{\"quote\":{\"id\":\"UTox\",\"title\":\"Garage\",\"quoteStatus\":\"approved\","
        "\"client\":{\"id\":\"Q2w6OQ==\"}}}}"), "QUOTE_UPDATE", &res), APR_SUCCESS);
    ck_assert_str_eq(it->kind, "quote");
    ck_assert_str_eq(it->status, "approved");
    ck_assert_str_eq(it->client_id, "Q2w6OQ==");
    ck_assert_ptr_null(it->web_url);
    /* Its Jobber link is kept only as https (the dashboard shows it as a link). */
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(cs_jobber_parse_fetch_item(&it, unit_pool, answer(200,
        "{\"data\":{\"request\":{\"id\":\"UjEx\",\"requestStatus\":\"new\","
        "\"jobberWebUri\":\"https://secure.getjobber.com/requests/11\"}}}"), "REQUEST_UPDATE", &res),
        APR_SUCCESS);
    ck_assert_str_eq(it->web_url, "https://secure.getjobber.com/requests/11");
    ck_assert_int_eq(cs_jobber_parse_fetch_item(&it, unit_pool, answer(200,
        "{\"data\":{\"request\":{\"id\":\"UjEx\",\"requestStatus\":\"new\","
        "\"jobberWebUri\":\"javascript:alert(1)\"}}}"), "REQUEST_UPDATE", &res), APR_SUCCESS);
    ck_assert_ptr_null(it->web_url);
    ck_assert_int_eq(cs_jobber_parse_fetch_item(&it, unit_pool, answer(200,
        "{\"data\":{\"request\":{\"id\":\"UjEx\",\"requestStatus\":\"new\","
        "\"jobberWebUri\":\"https://x.example/\\\"onmouseover=1\"}}}"), "REQUEST_UPDATE", &res),
        APR_SUCCESS);
    ck_assert_ptr_null(it->web_url);
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(cs_jobber_parse_fetch_item(&it, unit_pool, answer(200,
        "{\"data\":{\"client\":{\"id\":\"Q2w6OQ==\",\"name\":\"Pat\",\"isArchived\":true}}}"),
        "CLIENT_UPDATE", &res), APR_SUCCESS);
    ck_assert_str_eq(it->status, "archived");
    ck_assert_str_eq(it->client_id, "Q2w6OQ==");
    /* Deleted since the webhook: nothing to show, not an error to retry. */
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(cs_jobber_parse_fetch_item(&it, unit_pool, answer(200,
        "{\"data\":{\"job\":null}}"), "JOB_DESTROY", &res), APR_ENOENT);
    ck_assert_ptr_null(it);
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(cs_jobber_parse_fetch_item(&it, unit_pool, answer(503, "{}"),
                                                "JOB_UPDATE", &res), APR_EAGAIN);
}
END_TEST

START_TEST(test_account_and_an_interrupted_attempts_request_are_read)
{
    cs_jobber_app_t japp = app_at(NULL);
    cs_http_req_t req;
    cs_jobber_account_t *a = NULL;
    cs_jobber_result_t res;
    const char *rid = NULL, *nid = NULL;

    ck_assert_int_eq(cs_jobber_build_account(&req, unit_pool, &japp, "tok"), APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(req.body, "account { id name }"));
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(cs_jobber_parse_account(&a, unit_pool, answer(200,
        "{\"data\":{\"account\":{\"id\":\"QWNjOjQy\",\"name\":\"Haul Away\"}}}"), &res),
        APR_SUCCESS);
    ck_assert_str_eq(a->id, "QWNjOjQy");
    ck_assert_str_eq(a->name, "Haul Away");
    /* No id: not an account we can route webhooks by. */
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(cs_jobber_parse_account(&a, unit_pool, answer(200,
        "{\"data\":{\"account\":{\"name\":\"x\"}}}"), &res), APR_EGENERAL);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(cs_jobber_parse_account(&a, unit_pool, answer(401, "{}"), &res), APR_EACCES);

    ck_assert_int_eq(cs_jobber_build_client_requests(&req, unit_pool, &japp, "tok", NULL),
                     APR_EINVAL);
    ck_assert_int_eq(cs_jobber_build_client_requests(&req, unit_pool, &japp, "tok", "Q2w6OQ=="),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(req.body, "\"id\":\"Q2w6OQ==\""));
    /* Our reference picks the request and its note; a lookalike
     * ("ref 12" inside "ref 123") must not match another lead's. */
    memset(&res, 0, sizeof(res));
    ck_assert_int_eq(cs_jobber_parse_client_requests(&rid, &nid, unit_pool, answer(200,
        "{\"data\":{\"client\":{\"id\":\"Q2w6OQ==\",\"requests\":{\"nodes\":["
        "{\"id\":\"UjoxMjM=\",\"title\":\"Text from Pat (Consult ref 123)\",\"notes\":{\"nodes\":[]}},"
        "{\"id\":\"UjoxMg==\",\"title\":\"Website request from Pat (Consult ref 12)\","
        "\"notes\":{\"nodes\":[{},{\"id\":\"TjoxMg==\",\"message\":\"Old couch, no reference\"}]}}"
        "]}}}}"), "(Consult ref 12)", &res), APR_SUCCESS);
    ck_assert_str_eq(rid, "UjoxMg==");
    ck_assert_ptr_null(nid);
    ck_assert_int_eq(cs_jobber_parse_client_requests(&rid, &nid, unit_pool, answer(200,
        "{\"data\":{\"client\":{\"id\":\"Q2w6OQ==\",\"requests\":{\"nodes\":["
        "{\"id\":\"UjoxMg==\",\"title\":\"Website request from Pat (Consult ref 12)\","
        "\"notes\":{\"nodes\":[{\"id\":\"TjoxMg==\",\"message\":\"Old couch\\n\\n(Consult ref 12)\"}]}}"
        "]}}}}"), "(Consult ref 12)", &res), APR_SUCCESS);
    ck_assert_str_eq(rid, "UjoxMg==");
    ck_assert_str_eq(nid, "TjoxMg==");
    /* Nothing of ours there: make it. */
    ck_assert_int_eq(cs_jobber_parse_client_requests(&rid, &nid, unit_pool, answer(200,
        "{\"data\":{\"client\":{\"id\":\"Q2w6OQ==\",\"requests\":{\"nodes\":[]}}}}"),
        "(Consult ref 9)", &res), APR_SUCCESS);
    ck_assert_ptr_null(rid);
    ck_assert_int_eq(cs_jobber_parse_client_requests(&rid, &nid, unit_pool, answer(200,
        "{\"data\":{\"client\":null}}"), "(Consult ref 9)", &res), APR_ENOENT);
}
END_TEST

Suite *jobber_suite(void)
{
    Suite *s = suite_create("cs_jobber");
    TCase *tc;

    tc = tcase_create("build_and_read");
    tcase_add_checked_fixture(tc, unit_pool_setup, unit_pool_teardown);
    tcase_add_test(tc, test_authorize_url_encodes_every_parameter);
    tcase_add_test(tc, test_token_requests_are_forms_with_the_client_credentials);
    tcase_add_test(tc, test_graphql_requests_carry_token_version_and_json);
    tcase_add_test(tc, test_create_client_splits_the_name_and_marks_primary_contacts);
    tcase_add_test(tc, test_token_answer_gives_the_rotated_pair_and_expiry);
    tcase_add_test(tc, test_token_refusals_say_reconnect_retry_or_give_up);
    tcase_add_test(tc, test_find_client_picks_the_exact_active_match);
    tcase_add_test(tc, test_graphql_errors_throttling_and_401_sort_out);
    tcase_add_test(tc, test_user_errors_refuse_the_mutation);
    tcase_add_test(tc, test_webhook_signature_verifies_over_the_raw_body);
    tcase_add_test(tc, test_webhook_payload_reads_topic_item_account_and_time);
    tcase_add_test(tc, test_webhook_items_are_fetched_by_topic_and_read);
    tcase_add_test(tc, test_account_and_an_interrupted_attempts_request_are_read);
    suite_add_tcase(s, tc);

    tc = tcase_create("fake");
    tcase_add_unchecked_fixture(tc, fake_start, fake_stop);
    tcase_add_checked_fixture(tc, setup, unit_pool_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fake_code_exchange_gives_tokens_once);
    tcase_add_test(tc, test_fake_refresh_rotates_and_refuses_the_old_token);
    tcase_add_test(tc, test_fake_find_or_create_client_then_request_with_note);
    tcase_add_test(tc, test_fake_expired_access_token_is_eacces_and_a_refresh_recovers);
    tcase_add_test(tc, test_fake_throttling_and_outages_are_eagain);
    suite_add_tcase(s, tc);
    return s;
}
