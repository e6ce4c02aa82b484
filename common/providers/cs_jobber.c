/* Jobber (see cs_jobber.h): OAuth, GraphQL requests and answers, webhooks.
 * Shapes from the Jobber developer docs (developer.getjobber.com) and the
 * official app templates (GetJobber/Jobber-AppTemplate-RailsAPI). The
 * queries ask only for fields of the template's 2022-03-10 schema that no
 * breaking change in Jobber's changelog has touched since, so pinning a
 * newer version should not break them. */
#include "providers/cs_jobber.h"
#include "text/cs_time.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Without a better hint (a Retry-After, the bucket's numbers). */
#define DEFAULT_RETRY apr_time_from_sec(10)
#define MAX_RETRY     apr_time_from_sec(600)

static const char *api_base(const cs_jobber_app_t *app)
{
    return app->api_base && *app->api_base ? app->api_base : CS_JOBBER_API_BASE;
}

/* RFC 3986 unreserved characters pass, every other byte is %XX. */
static const char *urlenc(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out, *o;

    s = s ? s : "";
    o = out = apr_palloc(p, 3 * strlen(s) + 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ---- OAuth ------------------------------------------------------------- */

const char *cs_jobber_build_authorize_url(apr_pool_t *p, const cs_jobber_app_t *app,
                                          const char *redirect_uri, const char *state)
{
    return apr_pstrcat(p, api_base(app), "/oauth/authorize?response_type=code&client_id=",
                       urlenc(p, app->client_id), "&redirect_uri=", urlenc(p, redirect_uri),
                       "&state=", urlenc(p, state), NULL);
}

void cs_jobber_build_token_request(cs_http_req_t *req, apr_pool_t *p,
                                   const cs_jobber_app_t *app, cs_jobber_grant_t grant,
                                   const char *code_or_refresh, const char *redirect_uri)
{
    apr_array_header_t *hdrs = apr_array_make(p, 1, sizeof(const char *));
    const char *form;

    if (grant == CS_JOBBER_GRANT_CODE) {
        form = apr_pstrcat(p, "grant_type=authorization_code&code=", urlenc(p, code_or_refresh),
                           "&redirect_uri=", urlenc(p, redirect_uri), NULL);
    }
    else {
        form = apr_pstrcat(p, "grant_type=refresh_token&refresh_token=",
                           urlenc(p, code_or_refresh), NULL);
    }
    /* The credentials go in the body, as the official template's OAuth2
     * client (oauth2 1.4, auth_scheme request_body) sends them. */
    form = apr_pstrcat(p, form, "&client_id=", urlenc(p, app->client_id), "&client_secret=",
                       urlenc(p, app->client_secret), NULL);
    APR_ARRAY_PUSH(hdrs, const char *) = "Accept: application/json";
    memset(req, 0, sizeof(*req));
    req->method = "POST";
    req->url = apr_pstrcat(p, api_base(app), "/oauth/token", NULL);
    req->body = form;
    req->content_type = "application/x-www-form-urlencoded";
    req->headers = hdrs;
    req->timeout = app->timeout;
}

/* Start reading an answer: the status into @p res, and the transient
 * failures every endpoint shares (no answer, 429, 5xx). APR_SUCCESS means
 * "go on reading". */
static apr_status_t begin(cs_jobber_result_t *res, apr_pool_t *p, const cs_http_resp_t *resp,
                          const char *what)
{
    const char *ra;

    memset(res, 0, sizeof(*res));
    if (!resp) {
        res->why = apr_pstrcat(p, what, ": no answer", NULL);
        res->retry_after = DEFAULT_RETRY;
        return APR_EAGAIN;
    }
    res->status = resp->status;
    if (resp->status != 429 && resp->status < 500) {
        return APR_SUCCESS;
    }
    res->retry_after = DEFAULT_RETRY;
    ra = resp->headers ? apr_table_get(resp->headers, "Retry-After") : NULL;
    if (ra && *ra >= '0' && *ra <= '9' && strlen(ra) <= 6) {
        res->retry_after = apr_time_from_sec(atoi(ra));
    }
    /* "Retry-After: 0" would have a queue spin on a service that is down */
    if (res->retry_after < apr_time_from_sec(1)) {
        res->retry_after = apr_time_from_sec(1);
    }
    if (res->retry_after > MAX_RETRY) {
        res->retry_after = MAX_RETRY;
    }
    res->why = apr_psprintf(p, "%s: Jobber answered %ld%s", what, resp->status,
                            resp->status == 429 ? " (too many requests)" : "");
    return APR_EAGAIN;
}

static json_object *parse_body(apr_pool_t *p, const cs_http_resp_t *resp)
{
    cs_json_t *doc = NULL;
    const char *err;

    if (!resp->body || cs_json_parse(&doc, p, resp->body, resp->len, &err) != APR_SUCCESS) {
        return NULL;
    }
    return cs_json_raw(doc);
}

/* The exp claim of a JWT, or 0. The signature is not checked: the token is
 * Jobber's to judge, we only want to know when to refresh it. */
static apr_time_t jwt_exp(apr_pool_t *p, const char *jwt)
{
    const char *a = strchr(jwt, '.'), *b = a ? strchr(a + 1, '.') : NULL;
    unsigned char *raw;
    apr_size_t n, i;
    apr_int64_t exp;
    cs_json_t *doc;
    const char *err;
    char *b64;

    if (!b || b - a - 1 > 4096) {
        return 0;
    }
    b64 = apr_pstrmemdup(p, a + 1, (apr_size_t)(b - a - 1));
    for (i = 0; b64[i]; i++) {
        if (b64[i] == '-' || b64[i] == '_') {
            b64[i] = b64[i] == '-' ? '+' : '/';
        }
        else if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=') {
            return 0;       /* not base64url */
        }
    }
    if (cs_base64_decode(&raw, &n, p, b64, i) != APR_SUCCESS
        || cs_json_parse(&doc, p, (const char *)raw, n, &err) != APR_SUCCESS
        || !cs_jint(cs_json_raw(doc), "exp", &exp) || exp <= 0 || exp > 253402300799) {
        return 0;
    }
    return apr_time_from_sec(exp);
}

apr_status_t cs_jobber_parse_token(cs_jobber_tokens_t **pout, apr_pool_t *p,
                                   const cs_http_resp_t *resp, apr_time_t now,
                                   cs_jobber_result_t *res)
{
    json_object *ans;
    const char *access, *refresh, *error, *desc;
    cs_jobber_tokens_t *t;
    apr_int64_t expires_in;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = begin(res, p, resp, "Jobber token")) != APR_SUCCESS) {
        return rv;
    }
    ans = parse_body(p, resp);
    if (resp->status / 100 == 2) {
        access = cs_jstr(ans, "access_token");
        refresh = cs_jstr(ans, "refresh_token");
        if (!access || !*access || (refresh && !*refresh)) {
            res->why = "Jobber token: the answer has no access token";
            return APR_EGENERAL;
        }
        t = apr_pcalloc(p, sizeof(*t));
        t->access = apr_pstrdup(p, access);
        t->refresh = refresh ? apr_pstrdup(p, refresh) : NULL;
        if (cs_jint(ans, "expires_in", &expires_in) && expires_in > 0
            && expires_in < 10 * 365 * 86400) {
            t->expires_at = now + apr_time_from_sec(expires_in);
        }
        else {
            t->expires_at = jwt_exp(p, t->access);
        }
        *pout = t;
        return APR_SUCCESS;
    }
    /* RFC 6749 section 5.2: {"error", "error_description"}. */
    error = cs_jstr(ans, "error");
    desc = cs_jstr(ans, "error_description");
    res->why = apr_psprintf(p, "Jobber token %ld %s: %s", resp->status,
                            error ? error : "error", desc ? desc : "no details");
    if (resp->status == 401 || (error && (!strcmp(error, "invalid_grant")
                                          || !strcmp(error, "invalid_client")
                                          || !strcmp(error, "unauthorized_client")))) {
        return APR_EACCES;
    }
    return APR_EINVAL;
}

/* ---- GraphQL ----------------------------------------------------------- */

/* Fill @p req; @p vars (may be NULL) becomes the body's and is released. */
static void graphql_request(cs_http_req_t *req, apr_pool_t *p, const cs_jobber_app_t *app,
                            const char *access, const char *query, json_object *vars)
{
    cs_json_t *doc = cs_json_object(p);
    apr_array_header_t *hdrs = apr_array_make(p, 1, sizeof(const char *));

    cs_json_set_str(doc, "query", query);
    json_object_object_add(cs_json_raw(doc), "variables", vars ? vars : json_object_new_object());
    APR_ARRAY_PUSH(hdrs, const char *) = apr_pstrcat(
        p, "X-JOBBER-GRAPHQL-VERSION: ",
        app->api_version && *app->api_version ? app->api_version : CS_JOBBER_API_VERSION, NULL);
    memset(req, 0, sizeof(*req));
    req->method = "POST";
    req->url = apr_pstrcat(p, api_base(app), "/graphql", NULL);
    req->body = cs_json_dump(doc, p);
    req->content_type = "application/json";
    req->bearer = access;
    req->headers = hdrs;
    req->timeout = app->timeout;
}

apr_status_t cs_jobber_build_graphql(cs_http_req_t *req, apr_pool_t *p,
                                     const cs_jobber_app_t *app, const char *access,
                                     const char *query, const char *variables_json)
{
    cs_json_t *vars = NULL;
    const char *err;

    memset(req, 0, sizeof(*req));
    if (!query || !*query) {
        return APR_EINVAL;
    }
    if (variables_json && (cs_json_parse(&vars, p, variables_json, strlen(variables_json), &err)
                           != APR_SUCCESS
                           || !json_object_is_type(cs_json_raw(vars), json_type_object))) {
        return APR_EINVAL;
    }
    graphql_request(req, p, app, access, query,
                    vars ? json_object_get(cs_json_raw(vars)) : NULL);
    return APR_SUCCESS;
}

static double num(json_object *o, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, key, &v)
        || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
        return 0;
    }
    return json_object_get_double(v);
}

static void read_extensions(cs_jobber_result_t *res, apr_pool_t *p, json_object *ext)
{
    json_object *cost = cs_jobj(ext, "cost"), *ts = cs_jobj(cost, "throttleStatus");
    json_object *ver = cs_jobj(ext, "versioning");
    const char *s;

    if (ts) {
        res->cost.known = 1;
        res->cost.requested = num(cost, "requestedQueryCost");
        res->cost.actual = num(cost, "actualQueryCost");
        res->cost.maximum = num(ts, "maximumAvailable");
        res->cost.available = num(ts, "currentlyAvailable");
        res->cost.restore_rate = num(ts, "restoreRate");
    }
    if ((s = cs_jstr(ver, "version"))) {
        res->version = apr_pstrdup(p, s);
    }
    if ((s = cs_jstr(ver, "warning"))) {
        res->version_warning = apr_pstrdup(p, s);
    }
}

/* How long until the bucket holds what the query asked for. */
static apr_interval_time_t refill_time(const cs_jobber_cost_t *c)
{
    double secs;

    if (!c->known || !(c->restore_rate > 0) || !(c->requested > c->available)) {
        return DEFAULT_RETRY;
    }
    secs = ceil((c->requested - c->available) / c->restore_rate);
    if (!(secs >= 1)) {
        secs = 1;
    }
    return secs > 600 ? MAX_RETRY : apr_time_from_sec((apr_int64_t)secs);
}

/* "message; message" of a GraphQL errors or userErrors array, or NULL. */
static const char *messages(apr_pool_t *p, json_object *arr, int *pthrottled)
{
    const char *out = NULL;
    apr_size_t i, n = cs_jlen(arr);

    for (i = 0; i < n && i < 5; i++) {
        json_object *e = cs_jat(arr, i);
        const char *m = cs_jstr(e, "message"), *code = cs_jstr(cs_jobj(e, "extensions"), "code");
        if (pthrottled && ((code && !strcmp(code, "THROTTLED"))
                           || (m && !strcmp(m, "Throttled")))) {
            *pthrottled = 1;
        }
        m = m ? m : "(no message)";
        out = out ? apr_pstrcat(p, out, "; ", m, NULL) : apr_pstrdup(p, m);
    }
    return n ? out : NULL;
}

apr_status_t cs_jobber_parse_graphql(json_object **pdata, apr_pool_t *p,
                                     const cs_http_resp_t *resp, cs_jobber_result_t *res)
{
    json_object *ans, *errors, *data;
    const char *msg;
    int throttled = 0;
    apr_status_t rv;

    *pdata = NULL;
    rv = begin(res, p, resp, "Jobber GraphQL");
    if (resp && (ans = parse_body(p, resp))) {
        read_extensions(res, p, cs_jobj(ans, "extensions"));
    }
    else {
        ans = NULL;
    }
    if (rv != APR_SUCCESS) {
        if (resp && resp->status == 429 && res->cost.known) {
            res->retry_after = refill_time(&res->cost);
        }
        return rv;
    }
    if (resp->status == 401) {
        res->why = "Jobber GraphQL 401: the access token was refused (expired or revoked)";
        return APR_EACCES;
    }
    errors = cs_jarr(ans, "errors");
    msg = messages(p, errors, &throttled);
    if (throttled) {
        res->retry_after = refill_time(&res->cost);
        res->why = apr_pstrcat(p, "Jobber GraphQL: throttled: ", msg, NULL);
        return APR_EAGAIN;
    }
    if (resp->status / 100 != 2) {
        const char *m = msg ? msg : cs_jstr(ans, "message");
        res->why = apr_psprintf(p, "Jobber GraphQL %ld: %s", resp->status,
                                m ? m : "no details");
        return APR_EINVAL;
    }
    if (msg) {
        res->why = apr_pstrcat(p, "Jobber GraphQL: ", msg, NULL);
        return APR_EINVAL;
    }
    if (!(data = cs_jobj(ans, "data"))) {
        res->why = "Jobber GraphQL: the answer has no data";
        return APR_EGENERAL;
    }
    *pdata = data;
    return APR_SUCCESS;
}

/* data.<mutation>, its userErrors turned into APR_EINVAL. */
static apr_status_t mutation(json_object **ppayload, apr_pool_t *p, const cs_http_resp_t *resp,
                             const char *name, cs_jobber_result_t *res)
{
    json_object *data, *payload;
    const char *msg;
    apr_status_t rv;

    *ppayload = NULL;
    if ((rv = cs_jobber_parse_graphql(&data, p, resp, res)) != APR_SUCCESS) {
        return rv;
    }
    if (!(payload = cs_jobj(data, name))) {
        res->why = apr_pstrcat(p, "Jobber GraphQL: the answer has no ", name, NULL);
        return APR_EGENERAL;
    }
    if ((msg = messages(p, cs_jarr(payload, "userErrors"), NULL))) {
        res->why = apr_pstrcat(p, "Jobber refused ", name, ": ", msg, NULL);
        return APR_EINVAL;
    }
    *ppayload = payload;
    return APR_SUCCESS;
}

/* Member @p key of @p o when a non-empty string of at most 256 bytes
 * (Jobber's EncodedIds are base64 of "gid://Jobber/Type/N"), copied. */
static const char *id_of(apr_pool_t *p, json_object *o, const char *key)
{
    const char *s = cs_jstr(o, key);

    return s && *s && strlen(s) <= 256 ? apr_pstrdup(p, s) : NULL;
}

/* ---- clients ----------------------------------------------------------- */

static const char FIND_CLIENT[] =
    "query ConsultFindClient($term: String!) {"
    " clients(searchTerm: $term, first: 20) {"
    " nodes { id name isArchived emails { address } phones { number } } } }";

apr_status_t cs_jobber_build_find_client(cs_http_req_t *req, apr_pool_t *p,
                                         const cs_jobber_app_t *app, const char *access,
                                         const char *email, const char *phone)
{
    json_object *vars;
    const char *term = email && *email ? email : phone;

    memset(req, 0, sizeof(*req));
    if (!term || !*term) {
        return APR_EINVAL;
    }
    vars = json_object_new_object();
    json_object_object_add(vars, "term", json_object_new_string(term));
    graphql_request(req, p, app, access, FIND_CLIENT, vars);
    return APR_SUCCESS;
}

/* The digits of @p s into @p out (at most 31). */
static apr_size_t digits_of(char *out, const char *s)
{
    apr_size_t n = 0;

    for (; s && *s && n < 31; s++) {
        if (*s >= '0' && *s <= '9') {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return n;
}

/* The same number, one maybe written with its country code: equal digits,
 * or the longer ending in the shorter when that has at least 10. */
static int same_phone(const char *a, const char *b)
{
    char da[32], db[32];
    apr_size_t na = digits_of(da, a), nb = digits_of(db, b);

    if (na < 7 || nb < 7) {
        return 0;
    }
    if (na == nb) {
        return !strcmp(da, db);
    }
    if (na < nb) {
        return na >= 10 && !strcmp(db + nb - na, da);
    }
    return nb >= 10 && !strcmp(da + na - nb, db);
}

static int has_match(json_object *arr, const char *key, const char *want, int phone)
{
    apr_size_t i, n = cs_jlen(arr);

    for (i = 0; want && *want && i < n; i++) {
        const char *v = cs_jstr(cs_jat(arr, i), key);
        if (v && (phone ? same_phone(v, want) : !strcasecmp(v, want))) {
            return 1;
        }
    }
    return 0;
}

apr_status_t cs_jobber_parse_find_client(cs_jobber_client_t **pout, apr_pool_t *p,
                                         const cs_http_resp_t *resp, const char *email,
                                         const char *phone, cs_jobber_result_t *res)
{
    json_object *data, *nodes, *best = NULL;
    cs_jobber_client_t *c;
    apr_size_t i, n;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cs_jobber_parse_graphql(&data, p, resp, res)) != APR_SUCCESS) {
        return rv;
    }
    if (!(nodes = cs_jarr(cs_jobj(data, "clients"), "nodes"))) {
        res->why = "Jobber GraphQL: the answer has no clients";
        return APR_EGENERAL;
    }
    n = cs_jlen(nodes);
    for (i = 0; i < n; i++) {
        json_object *node = cs_jat(nodes, i);
        if (!id_of(p, node, "id") || !(has_match(cs_jarr(node, "emails"), "address", email, 0)
                                       || has_match(cs_jarr(node, "phones"), "number", phone,
                                                    1))) {
            continue;
        }
        if (!best || (cs_jbool(best, "isArchived", 0) && !cs_jbool(node, "isArchived", 0))) {
            best = node;
        }
    }
    if (!best) {
        res->why = "Jobber has no client with that email or phone";
        return APR_ENOENT;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->id = id_of(p, best, "id");
    c->name = id_of(p, best, "name");
    c->archived = cs_jbool(best, "isArchived", 0);
    *pout = c;
    return APR_SUCCESS;
}

static const char CREATE_CLIENT[] =
    "mutation ConsultCreateClient($input: ClientCreateInput!) {"
    " clientCreate(input: $input) { client { id name isArchived }"
    " userErrors { message path } } }";

static json_object *contact(const char *key, const char *value)
{
    json_object *o = json_object_new_object(), *arr = json_object_new_array();

    json_object_object_add(o, "description", json_object_new_string("MAIN"));
    json_object_object_add(o, key, json_object_new_string(value));
    json_object_object_add(o, "primary", json_object_new_boolean(1));
    json_object_array_add(arr, o);
    return arr;
}

apr_status_t cs_jobber_build_create_client(cs_http_req_t *req, apr_pool_t *p,
                                           const cs_jobber_app_t *app, const char *access,
                                           const cs_jobber_new_client_t *c)
{
    json_object *vars, *in;
    char *name = c->name ? apr_pstrdup(p, c->name) : NULL, *sp;

    memset(req, 0, sizeof(*req));
    while (name && (*name == ' ' || *name == '\t')) {
        name++;
    }
    if (name) {
        for (sp = name + strlen(name); sp > name && (sp[-1] == ' ' || sp[-1] == '\t'); sp--) {
            sp[-1] = '\0';
        }
    }
    if ((!name || !*name) && (!c->company || !*c->company)) {
        return APR_EINVAL;
    }
    in = json_object_new_object();
    if (name && *name) {
        if ((sp = strrchr(name, ' '))) {
            json_object_object_add(in, "lastName", json_object_new_string(sp + 1));
            for (*sp = '\0'; sp > name && sp[-1] == ' '; sp--) {
                sp[-1] = '\0';     /* "Ana  Ruiz" */
            }
        }
        json_object_object_add(in, "firstName", json_object_new_string(name));
    }
    if (c->company && *c->company) {
        json_object_object_add(in, "companyName", json_object_new_string(c->company));
        if (!name || !*name) {
            json_object_object_add(in, "isCompany", json_object_new_boolean(1));
        }
    }
    if (c->email && *c->email) {
        json_object_object_add(in, "emails", contact("address", c->email));
    }
    if (c->phone && *c->phone) {
        json_object_object_add(in, "phones", contact("number", c->phone));
    }
    vars = json_object_new_object();
    json_object_object_add(vars, "input", in);
    graphql_request(req, p, app, access, CREATE_CLIENT, vars);
    return APR_SUCCESS;
}

apr_status_t cs_jobber_parse_create_client(cs_jobber_client_t **pout, apr_pool_t *p,
                                           const cs_http_resp_t *resp,
                                           cs_jobber_result_t *res)
{
    json_object *payload, *client;
    cs_jobber_client_t *c;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = mutation(&payload, p, resp, "clientCreate", res)) != APR_SUCCESS) {
        return rv;
    }
    client = cs_jobj(payload, "client");
    c = apr_pcalloc(p, sizeof(*c));
    if (!(c->id = id_of(p, client, "id"))) {
        res->why = "Jobber GraphQL: clientCreate answered no client id";
        return APR_EGENERAL;
    }
    c->name = id_of(p, client, "name");
    c->archived = cs_jbool(client, "isArchived", 0);
    *pout = c;
    return APR_SUCCESS;
}

/* ---- requests ---------------------------------------------------------- */

static const char CREATE_REQUEST[] =
    "mutation ConsultCreateRequest($input: RequestCreateInput!) {"
    " requestCreate(input: $input) { request { id title }"
    " userErrors { message path } } }";

static const char REQUEST_NOTE[] =
    "mutation ConsultRequestNote($requestId: EncodedId!, $input: RequestCreateNoteInput!) {"
    " requestCreateNote(requestId: $requestId, input: $input) { requestNote { id }"
    " userErrors { message path } } }";

apr_status_t cs_jobber_build_create_request(cs_http_req_t *req, apr_pool_t *p,
                                            const cs_jobber_app_t *app, const char *access,
                                            const cs_jobber_lead_t *lead)
{
    json_object *vars, *in;

    memset(req, 0, sizeof(*req));
    if (!lead->client_id || !*lead->client_id) {
        return APR_EINVAL;
    }
    in = json_object_new_object();
    json_object_object_add(in, "clientId", json_object_new_string(lead->client_id));
    if (lead->title && *lead->title) {
        json_object_object_add(in, "title", json_object_new_string(lead->title));
    }
    vars = json_object_new_object();
    json_object_object_add(vars, "input", in);
    graphql_request(req, p, app, access, CREATE_REQUEST, vars);
    return APR_SUCCESS;
}

static apr_status_t created_id(const char **pid, apr_pool_t *p, const cs_http_resp_t *resp,
                               const char *name, const char *obj, cs_jobber_result_t *res)
{
    json_object *payload;
    apr_status_t rv;

    *pid = NULL;
    if ((rv = mutation(&payload, p, resp, name, res)) != APR_SUCCESS) {
        return rv;
    }
    if (!(*pid = id_of(p, cs_jobj(payload, obj), "id"))) {
        res->why = apr_pstrcat(p, "Jobber GraphQL: ", name, " answered no ", obj, " id", NULL);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t cs_jobber_parse_create_request(const char **pid, apr_pool_t *p,
                                            const cs_http_resp_t *resp,
                                            cs_jobber_result_t *res)
{
    return created_id(pid, p, resp, "requestCreate", "request", res);
}

apr_status_t cs_jobber_build_request_note(cs_http_req_t *req, apr_pool_t *p,
                                          const cs_jobber_app_t *app, const char *access,
                                          const char *request_id, const char *message)
{
    json_object *vars, *in;

    memset(req, 0, sizeof(*req));
    if (!request_id || !*request_id || !message || !*message) {
        return APR_EINVAL;
    }
    in = json_object_new_object();
    json_object_object_add(in, "message", json_object_new_string(message));
    vars = json_object_new_object();
    json_object_object_add(vars, "requestId", json_object_new_string(request_id));
    json_object_object_add(vars, "input", in);
    graphql_request(req, p, app, access, REQUEST_NOTE, vars);
    return APR_SUCCESS;
}

apr_status_t cs_jobber_parse_request_note(const char **pid, apr_pool_t *p,
                                          const cs_http_resp_t *resp,
                                          cs_jobber_result_t *res)
{
    return created_id(pid, p, resp, "requestCreateNote", "requestNote", res);
}

/* ---- the account and an interrupted attempt ---------------------------- */

static const char ACCOUNT[] = "query ConsultAccount { account { id name } }";

apr_status_t cs_jobber_build_account(cs_http_req_t *req, apr_pool_t *p,
                                     const cs_jobber_app_t *app, const char *access)
{
    return cs_jobber_build_graphql(req, p, app, access, ACCOUNT, NULL);
}

apr_status_t cs_jobber_parse_account(cs_jobber_account_t **pout, apr_pool_t *p,
                                     const cs_http_resp_t *resp, cs_jobber_result_t *res)
{
    json_object *data, *o;
    cs_jobber_account_t *a;
    const char *name;
    apr_status_t rv;

    *pout = NULL;
    if ((rv = cs_jobber_parse_graphql(&data, p, resp, res)) != APR_SUCCESS) {
        return rv;
    }
    a = apr_pcalloc(p, sizeof(*a));
    if (!(o = cs_jobj(data, "account")) || !(a->id = id_of(p, o, "id"))) {
        res->why = "Jobber GraphQL: the answer names no account";
        return APR_EGENERAL;
    }
    name = cs_jstr(o, "name");
    a->name = name && *name && strlen(name) <= 300 ? apr_pstrdup(p, name) : NULL;
    *pout = a;
    return APR_SUCCESS;
}

static const char CLIENT_REQUESTS[] =
    "query ConsultClientRequests($id: EncodedId!) { client(id: $id) {"
    " requests(first: 20) { nodes { id title"
    " notes(first: 20) { nodes { ... on RequestNote { id message } } } } } } }";

apr_status_t cs_jobber_build_client_requests(cs_http_req_t *req, apr_pool_t *p,
                                             const cs_jobber_app_t *app, const char *access,
                                             const char *client_id)
{
    json_object *vars;

    memset(req, 0, sizeof(*req));
    if (!client_id || !*client_id) {
        return APR_EINVAL;
    }
    vars = json_object_new_object();
    json_object_object_add(vars, "id", json_object_new_string(client_id));
    graphql_request(req, p, app, access, CLIENT_REQUESTS, vars);
    return APR_SUCCESS;
}

/* The id of the first node of @p conn whose @p field contains @p ref. */
static const char *node_with(apr_pool_t *p, json_object *conn, const char *field,
                             const char *ref, json_object **pnode)
{
    json_object *nodes = cs_jarr(conn, "nodes");
    size_t i, n = nodes ? json_object_array_length(nodes) : 0;

    for (i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(nodes, i);
        const char *text = cs_jstr(o, field), *id;
        if (text && strstr(text, ref) && (id = id_of(p, o, "id"))) {
            if (pnode) *pnode = o;
            return id;
        }
    }
    return NULL;
}

apr_status_t cs_jobber_parse_client_requests(const char **prequest, const char **pnote,
                                             apr_pool_t *p, const cs_http_resp_t *resp,
                                             const char *ref, cs_jobber_result_t *res)
{
    json_object *data, *client, *req = NULL;
    apr_status_t rv;

    *prequest = *pnote = NULL;
    if ((rv = cs_jobber_parse_graphql(&data, p, resp, res)) != APR_SUCCESS) {
        return rv;
    }
    if (!(client = cs_jobj(data, "client"))) {
        res->why = "Jobber: no such client (deleted?)";
        return APR_ENOENT;
    }
    if (!ref || !*ref) {
        return APR_SUCCESS;
    }
    if ((*prequest = node_with(p, cs_jobj(client, "requests"), "title", ref, &req))) {
        *pnote = node_with(p, cs_jobj(req, "notes"), "message", ref, NULL);
    }
    return APR_SUCCESS;
}

/* ---- webhook items ----------------------------------------------------- */

/* The root field, its query and the status field of each kind a webhook
 * topic names ("CLIENT_UPDATE" -> client). */
static const struct {
    const char *prefix, *field, *query, *status;
} ITEMS[] = {
    { "CLIENT_", "client", "query ConsultClient($id: EncodedId!) {"
      " client(id: $id) { id name isArchived jobberWebUri } }", NULL },
    { "REQUEST_", "request", "query ConsultRequest($id: EncodedId!) {"
      " request(id: $id) { id title requestStatus jobberWebUri client { id } } }", "requestStatus" },
    { "QUOTE_", "quote", "query ConsultQuote($id: EncodedId!) {"
      " quote(id: $id) { id title quoteStatus jobberWebUri client { id } } }", "quoteStatus" },
    { "JOB_", "job", "query ConsultJob($id: EncodedId!) {"
      " job(id: $id) { id title jobStatus jobberWebUri client { id } } }", "jobStatus" },
};

static int item_kind(const char *topic)
{
    size_t i;
    for (i = 0; topic && i < sizeof(ITEMS) / sizeof(ITEMS[0]); i++) {
        if (!strncmp(topic, ITEMS[i].prefix, strlen(ITEMS[i].prefix))) {
            return (int)i;
        }
    }
    return -1;
}

apr_status_t cs_jobber_build_fetch_item(cs_http_req_t *req, apr_pool_t *p,
                                        const cs_jobber_app_t *app, const char *access,
                                        const char *topic, const char *item_id)
{
    int k = item_kind(topic);
    json_object *vars;

    memset(req, 0, sizeof(*req));
    if (k < 0 || !item_id || !*item_id) {
        return APR_ENOENT;
    }
    vars = json_object_new_object();
    json_object_object_add(vars, "id", json_object_new_string(item_id));
    graphql_request(req, p, app, access, ITEMS[k].query, vars);
    return APR_SUCCESS;
}

apr_status_t cs_jobber_parse_fetch_item(cs_jobber_item_t **pout, apr_pool_t *p,
                                        const cs_http_resp_t *resp, const char *topic,
                                        cs_jobber_result_t *res)
{
    int k = item_kind(topic);
    json_object *data, *o;
    cs_jobber_item_t *it;
    apr_status_t rv;

    *pout = NULL;
    if (k < 0) {
        res->why = "Jobber: not a topic with an item";
        return APR_EINVAL;
    }
    if ((rv = cs_jobber_parse_graphql(&data, p, resp, res)) != APR_SUCCESS) {
        return rv;
    }
    if (!(o = cs_jobj(data, ITEMS[k].field))) {
        res->why = apr_pstrcat(p, "Jobber: no such ", ITEMS[k].field, " (deleted?)", NULL);
        return APR_ENOENT;
    }
    it = apr_pcalloc(p, sizeof(*it));
    it->kind = ITEMS[k].field;
    if (!(it->id = id_of(p, o, "id"))) {
        res->why = apr_pstrcat(p, "Jobber: the ", ITEMS[k].field, " has no id", NULL);
        return APR_EGENERAL;
    }
    if (k == 0) {
        it->client_id = it->id;
        it->status = cs_jbool(o, "isArchived", 0) ? "archived" : "active";
    }
    else {
        const char *st = cs_jstr(o, ITEMS[k].status);
        it->client_id = id_of(p, cs_jobj(o, "client"), "id");
        it->status = st && strlen(st) <= 100 ? apr_pstrdup(p, st) : NULL;
    }
    {
        const char *t = cs_jstr(o, k == 0 ? "name" : "title");
        it->title = t && strlen(t) <= 500 ? apr_pstrdup(p, t) : NULL;
    }
    {
        /* Shown as a link: https only, so no javascript: or data: URL. */
        const char *u = cs_jstr(o, "jobberWebUri");
        it->web_url = u && !strncmp(u, "https://", 8) && strlen(u) <= 500
                      && !strpbrk(u, " \"'<>\\") ? apr_pstrdup(p, u) : NULL;
    }
    *pout = it;
    return APR_SUCCESS;
}

/* ---- webhooks ---------------------------------------------------------- */

apr_status_t cs_jobber_verify_webhook(apr_pool_t *p, const char *header, const char *body,
                                      apr_size_t len, const char *client_secret,
                                      const char **pwhy)
{
    unsigned char want[CS_SHA256_LEN], *got = NULL;
    apr_size_t got_len = 0;
    const char *why = NULL;

    if (!client_secret || !*client_secret) {
        why = "no Jobber client secret is configured";
    }
    else if (!header || !*header || strlen(header) > 128) {
        why = "the delivery carries no usable " CS_JOBBER_SIGNATURE_HEADER;
    }
    else if (cs_base64_decode(&got, &got_len, p, header, strlen(header)) != APR_SUCCESS
             || got_len != CS_SHA256_LEN) {
        why = "the " CS_JOBBER_SIGNATURE_HEADER " value is not a base64 SHA-256";
    }
    else if (cs_hmac_sha256(want, client_secret, strlen(client_secret), body,
                            body ? len : 0) != APR_SUCCESS) {
        why = "the signature could not be computed";
    }
    else if (!cs_ct_equal(want, got, CS_SHA256_LEN)) {
        why = "the signature does not match";
    }
    if (pwhy) {
        *pwhy = why;
    }
    return why ? APR_EACCES : APR_SUCCESS;
}


apr_status_t cs_jobber_parse_webhook(cs_jobber_webhook_t **pout, apr_pool_t *p,
                                     const char *body, apr_size_t len, const char **pwhy)
{
    cs_json_t *doc = NULL;
    json_object *ev;
    cs_jobber_webhook_t *w;
    const char *err, *why = NULL;

    *pout = NULL;
    if (!body || cs_json_parse(&doc, p, body, len, &err) != APR_SUCCESS) {
        why = "the delivery is not JSON";
        goto leave;
    }
    ev = cs_jobj(cs_jobj(cs_json_raw(doc), "data"), "webHookEvent");
    w = apr_pcalloc(p, sizeof(*w));
    w->topic = id_of(p, ev, "topic");
    w->account_id = id_of(p, ev, "accountId");
    w->app_id = id_of(p, ev, "appId");
    w->item_id = id_of(p, ev, "itemId");
    w->occurred_at_raw = id_of(p, ev, "occurredAt");
    if (!w->topic || !w->account_id) {
        why = "the delivery has no data.webHookEvent with a topic and an accountId";
        goto leave;
    }
    if (w->occurred_at_raw && cs_time_parse_iso8601(&w->occurred_at, w->occurred_at_raw) != APR_SUCCESS) {
        why = "the delivery's occurredAt is not an ISO 8601 timestamp";
        goto leave;
    }
    w->event_id = apr_pstrcat(p, w->topic, ":", w->item_id ? w->item_id : "", ":",
                              w->occurred_at_raw ? w->occurred_at_raw : "", NULL);
    *pout = w;
leave:
    if (pwhy) {
        *pwhy = why;
    }
    return why ? APR_EINVAL : APR_SUCCESS;
}
