/* The inbox list, the conversation panel and its actions, attachments. */
#include "inbox_private.h"
#include "text/cs_text.h"
#include "http/cs_sniff.h"

#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_inbox);

#define INTENT_LIST "quote_request booking_request question complaint order_issue job_inquiry spam other"
#define TS_FMT "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"

static const char *arg(request_rec *r, apr_table_t *q, const char *name)
{
    const char *v = q ? apr_table_get(q, name) : NULL;
    return v && *v ? v : NULL;
}

/* Query-string arguments, decoded as browsers encode a form's GET: '+' is
 * a space (ap_args_to_table would keep it a '+', so a search typed as
 * "cake or pie" was searched as "cake+or+pie"); %2B is a '+'. Unknown or
 * malformed values are ignored by the callers. */
static apr_table_t *query_args(request_rec *r)
{
    apr_table_t *t = apr_table_make(r->pool, 8);
    char *args = apr_pstrdup(r->pool, r->args ? r->args : ""), *pair, *value, *state = NULL, *c;

    for (c = args; *c; c++) {
        if (*c == '+') *c = ' ';
    }
    for (pair = apr_strtok(args, "&", &state); pair; pair = apr_strtok(NULL, "&", &state)) {
        if ((value = strchr(pair, '='))) {
            *value++ = '\0';
        }
        else {
            value = apr_pstrdup(r->pool, "1");
        }
        ap_unescape_url(pair);
        ap_unescape_url(value);
        apr_table_set(t, pair, value);
    }
    return t;
}

/* Is @p v exactly one of the space-separated words of @p list? */
static int one_of(const char *v, const char *list)
{
    const char *p;
    size_t n;
    if (!v || !*v || strchr(v, ' ')) return 0;
    n = strlen(v);
    for (p = strstr(list, v); p; p = strstr(p + 1, v)) {
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) return 1;
    }
    return 0;
}

/* The list's filters, validated: what the list shows and the links keep. */
typedef struct {
    const char *status, *intent, *channel, *q, *before, *before_id;
    int mine;
    int rows;           /* a refresh keeps this many rows (those loaded) */
} filters;

#define Q_MAX 200       /* bytes of a search kept */

/* The filters of the query string; 0 for a search that is not text
 * (invalid UTF-8 or control characters: Postgres would refuse it), which
 * the caller answers 400. Other malformed values are ignored. */
static int read_filters(request_rec *r, filters *f)
{
    apr_table_t *q = query_args(r);
    const char *before = arg(r, q, "before"), *us;
    memset(f, 0, sizeof(*f));
    f->status = arg(r, q, "status");
    if (!one_of(f->status, "open archived spam")) f->status = "open";
    f->intent = arg(r, q, "intent");
    if (!one_of(f->intent, INTENT_LIST)) f->intent = NULL;
    f->channel = arg(r, q, "channel");
    if (!one_of(f->channel, "form sms voicemail email booking order")) f->channel = NULL;
    f->mine = arg(r, q, "mine") != NULL;
    {
        const char *rows = inbox_id(r->pool, arg(r, q, "rows"));
        f->rows = rows && strlen(rows) < 5 ? atoi(rows) : 0;
        if (f->rows > 500) f->rows = 500;
    }
    f->q = arg(r, q, "q");
    if (f->q && !cs_text_is_clean(f->q, strlen(f->q))) {
        return 0;
    }
    if (f->q && strlen(f->q) > Q_MAX) {
        /* Cut on a character boundary: never inside a UTF-8 sequence. */
        apr_size_t n = Q_MAX;
        while (n > 0 && ((unsigned char)f->q[n] & 0xC0) == 0x80) n--;
        f->q = apr_pstrndup(r->pool, f->q, n);
    }
    /* Keyset cursor "<timestamp>_<id>" from the previous page. */
    if (before && (us = strrchr(before, '_')) && us[1] && strlen(before) < 64) {
        if ((f->before_id = inbox_id(r->pool, us + 1))) {
            f->before = apr_pstrmemdup(r->pool, before, us - before);
        }
    }
    return 1;
}

/* A search we cannot read: the dashboard's error (a page, or for htmx a
 * fragment its notice shows), rather than a guess at what was meant. */
static int bad_search(request_rec *r)
{
    return inbox_core.send_error(r, HTTP_BAD_REQUEST, "invalid_search",
                                 "The search is not valid text: type it again.");
}

static json_object *filters_json(request_rec *r, const filters *f)
{
    json_object *o = json_object_new_object();
    const char *qs = apr_pstrcat(r->pool, "status=", f->status,
                                 f->intent ? "&intent=" : "", f->intent ? f->intent : "",
                                 f->channel ? "&channel=" : "", f->channel ? f->channel : "",
                                 f->mine ? "&mine=1" : "",
                                 f->q ? "&q=" : "", f->q ? ap_escape_urlencoded(r->pool, f->q) : "",
                                 NULL);
    json_object_object_add(o, "status", json_object_new_string(f->status));
    json_object_object_add(o, "status_open", json_object_new_boolean(!strcmp(f->status, "open")));
    json_object_object_add(o, "status_archived", json_object_new_boolean(!strcmp(f->status, "archived")));
    json_object_object_add(o, "status_spam", json_object_new_boolean(!strcmp(f->status, "spam")));
    if (f->intent) json_object_object_add(o, "intent", json_object_new_string(f->intent));
    if (f->channel) json_object_object_add(o, "channel", json_object_new_string(f->channel));
    if (f->q) json_object_object_add(o, "q", json_object_new_string(f->q));
    json_object_object_add(o, "mine", json_object_new_boolean(f->mine));
    json_object_object_add(o, "query", json_object_new_string(qs));
    return o;
}

static json_object *choices(const char *list, const char *selected)
{
    json_object *a = json_object_new_array();
    char *copy = strdup(list), *save = NULL, *w;
    for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        json_object *o = json_object_new_object();
        char *label = strdup(w), *c;
        for (c = label; *c; c++) if (*c == '_') *c = ' ';
        json_object_object_add(o, "value", json_object_new_string(w));
        json_object_object_add(o, "label", json_object_new_string(label));
        json_object_object_add(o, "selected", json_object_new_boolean(selected && !strcmp(selected, w)));
        json_object_array_add(a, o);
        free(label);
    }
    free(copy);
    return a;
}

#define LIST_COLUMNS                                                               \
    "SELECT cv.id, cv.unread, cv.status,"                                           \
    "  to_char(cv.last_message_at AT TIME ZONE 'UTC', " TS_FMT ") AS at,"           \
    "  to_char(cv.last_message_at AT TIME ZONE 'UTC', 'Mon DD, HH24:MI') AS when,"  \
    "  ct.id AS contact_id, coalesce(ct.name, ct.email, ct.phone) AS contact,"      \
    "  left(lm.body, 160) AS preview, lm.direction = 'outbound' AS from_us,"        \
    "  coalesce(li.channel, lm.channel) AS channel, li.intent, li.urgency,"         \
    "  li.urgency = 'high' AS urgent, replace(li.intent, '_', ' ') AS intent_label," \
    "  cv.assigned_to IS NOT DISTINCT FROM $5::bigint AND cv.assigned_to IS NOT NULL AS mine"
/* Chips and filters follow what the customer last sent (li), not our reply. */
#define LIST_JOINS                                                                  \
    " JOIN contacts ct ON ct.id = cv.contact_id AND ct.client_id = cv.client_id"    \
    " JOIN LATERAL (SELECT m.body, m.direction, m.channel FROM messages m"          \
    "   WHERE m.conversation_id = cv.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1) lm ON true" \
    " LEFT JOIN LATERAL (SELECT m.channel, m.intent, m.urgency FROM messages m"     \
    "   WHERE m.conversation_id = cv.id AND m.direction = 'inbound'"                \
    "   ORDER BY m.created_at DESC, m.id DESC LIMIT 1) li ON true"

/* With a filter on what the last messages say (intent, channel, search). */
static const char LIST_SQL[] =
    LIST_COLUMNS
    " FROM conversations cv"
    LIST_JOINS
    " WHERE cv.client_id = $1 AND cv.status = $2"
    "   AND ($3::text IS NULL OR li.intent = $3)"
    "   AND ($4::text IS NULL OR coalesce(li.channel, lm.channel) = $4)"
    "   AND ($6::boolean IS NOT TRUE OR cv.assigned_to = $5::bigint)"
    "   AND ($7::text IS NULL OR ct.search @@ websearch_to_tsquery('simple', $7)"
    "        OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = cv.id"
    "          AND m.client_id = $1 AND m.search @@ (websearch_to_tsquery('english', $7)"
    "            || websearch_to_tsquery('spanish', $7) || websearch_to_tsquery('simple', $7))))"
    "   AND ($8::timestamptz IS NULL OR (cv.last_message_at, cv.id) < ($8::timestamptz, $9::bigint))"
    " ORDER BY cv.last_message_at DESC, cv.id DESC LIMIT $10";

/* Without one (the folder as it opens): the page of conversations first,
 * then the contact and last messages of those rows only. In the one-query
 * form the planner, estimating the contacts join per client low once other
 * clients' rows dominate the tables, read every contact and every
 * conversation of the folder before sorting: 20 ms for a 10k-message
 * client next to a big one, against 1 ms this way. Every conversation has
 * its contact (NOT NULL, cascading); one without messages is skipped here
 * as the join above skips it. */
static const char LIST_PAGE_SQL[] =
    LIST_COLUMNS
    " FROM (SELECT c0.* FROM conversations c0"
    "   WHERE c0.client_id = $1 AND c0.status = $2"
    "     AND $3::text IS NULL AND $4::text IS NULL AND $7::text IS NULL"
    "     AND ($6::boolean IS NOT TRUE OR c0.assigned_to = $5::bigint)"
    "     AND ($8::timestamptz IS NULL OR (c0.last_message_at, c0.id) < ($8::timestamptz, $9::bigint))"
    "     AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c0.id)"
    "   ORDER BY c0.last_message_at DESC, c0.id DESC LIMIT $10) cv"
    LIST_JOINS
    " ORDER BY cv.last_message_at DESC, cv.id DESC";

/* The list data: rows, the cursor for "load more", and the filters. */
/* Posts acknowledged but not filed yet (journal-first intake): the list
 * says they are on their way, and by how much the filing is behind,
 * rather than showing nothing. Counted up to ARRIVING_MAX (the client's
 * own unfiled rows, oldest first, from provider_events_unfiled_by_client),
 * so a render costs the same behind any backlog. */
#define ARRIVING_MAX 1000
static void arriving(request_rec *r, inbox_ctx *ctx, json_object *d)
{
    const char *params[2] = { ctx->client_id, APR_STRINGIFY(ARRIVING_MAX) };
    PGresult *res = inbox_query(r, ctx,
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(received_at)), 0)::int"
        " FROM (SELECT received_at FROM provider_events"
        "  WHERE client_id = $1 AND provider = 'intake' AND processed_at IS NULL"
        "   AND attempts < 5 ORDER BY received_at LIMIT $2::int) u", 2, params);
    long count, oldest;
    json_object *a;

    if (!res) {
        return;
    }
    count = atol(PQgetvalue(res, 0, 0));
    oldest = atol(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!count) {
        return;
    }
    a = json_object_new_object();
    json_object_object_add(a, "count", json_object_new_int64(count));
    json_object_object_add(a, "more", json_object_new_boolean(count >= ARRIVING_MAX));
    json_object_object_add(a, "one", json_object_new_boolean(count == 1));
    json_object_object_add(a, "oldest_s", json_object_new_int64(oldest));
    /* Filing normally takes well under a second. */
    json_object_object_add(a, "behind", json_object_new_boolean(oldest >= 5));
    json_object_object_add(d, "arriving", a);
}

/* The spam folder says how many bot posts the edge counted without
 * storing them (ConsultIntakeSpamKeep), so a flood is visible, not silent. */
static void counted(request_rec *r, inbox_ctx *ctx, json_object *d)
{
    const char *params[1] = { ctx->client_id };
    PGresult *res = inbox_query(r, ctx,
        "SELECT coalesce(sum(posts), 0) FROM intake_edge_counts"
        " WHERE client_id = $1 AND hour > now() - interval '24 hours'", 1, params);
    long n;

    if (!res) {
        return;
    }
    n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (n > 0) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "posts", json_object_new_int64(n));
        json_object_object_add(c, "one", json_object_new_boolean(n == 1));
        json_object_object_add(d, "counted", c);
    }
}

static json_object *list_data(request_rec *r, inbox_ctx *ctx, const filters *f,
                              json_object *d)
{
    inbox_conf *conf = inbox_sconf(r->server);
    const char *params[10];
    PGresult *res;
    json_object *rows;
    int n, size;

    params[0] = ctx->client_id;
    params[1] = f->status;
    params[2] = f->intent;
    params[3] = f->channel;
    params[4] = ctx->user_id;
    params[5] = f->mine ? "true" : "false";
    params[6] = f->q;
    params[7] = f->before;
    params[8] = f->before_id;
    /* A refresh of a list that "load more" grew keeps its length. */
    size = f->before || f->rows <= conf->page_size ? conf->page_size : f->rows;
    params[9] = apr_itoa(r->pool, size + 1);
    res = inbox_query(r, ctx, f->intent || f->channel || f->q ? LIST_SQL : LIST_PAGE_SQL,
                      10, params);
    if (!res) {
        return NULL;
    }
    n = PQntuples(res);
    rows = inbox_rows(res);
    if (n > size) {
        json_object *last;
        json_object_array_del_idx(rows, (size_t)size, 1);
        last = json_object_array_get_idx(rows, (size_t)size - 1);
        {
            json_object *at, *id;
            json_object_object_get_ex(last, "at", &at);
            json_object_object_get_ex(last, "id", &id);
            json_object_object_add(d, "next", json_object_new_string(apr_psprintf(
                r->pool, "%s_%s", json_object_get_string(at), json_object_get_string(id))));
        }
    }
    json_object_object_add(d, "empty", json_object_new_boolean(n == 0));
    json_object_object_add(d, "first_page", json_object_new_boolean(f->before == NULL));
    if (!f->before) {
        arriving(r, ctx, d);
        if (f->status && !strcmp(f->status, "spam")) {
            counted(r, ctx, d);
        }
    }
    json_object_object_add(d, "conversations", rows);
    json_object_object_add(d, "filters", filters_json(r, f));
    json_object_object_add(d, "intents", choices(INTENT_LIST, f->intent));
    json_object_object_add(d, "channels", choices("form sms voicemail email", f->channel));
    PQclear(res);
    return d;
}

int inbox_home(request_rec *r, inbox_ctx *ctx)
{
    filters f;
    json_object *d;
    if (!read_filters(r, &f)) {
        return bad_search(r);
    }
    d = inbox_page_data(r, ctx, "Inbox");
    if (!list_data(r, ctx, &f, d)) {
        json_object_put(d);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return inbox_render(r, HTTP_OK, "inbox", d);
}

int inbox_list(request_rec *r, inbox_ctx *ctx)
{
    filters f;
    json_object *d;
    if (!read_filters(r, &f)) {
        return bad_search(r);
    }
    if (!inbox_is_htmx(r)) {
        return inbox_home(r, ctx);     /* a real page without JavaScript */
    }
    d = inbox_page_data(r, ctx, "Inbox");
    if (!list_data(r, ctx, &f, d)) {
        json_object_put(d);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Later pages append rows; the first page replaces the list. */
    return inbox_render(r, HTTP_OK, f.before ? "partials/rows" : "partials/list", d);
}

/* The page data with the conversation's own row; NULL when it is not this
 * client's (the caller answers 404, never another client's data). */
static json_object *conversation_data(request_rec *r, inbox_ctx *ctx, const char *id)
{
    const char *params[2] = { id, ctx->client_id };
    json_object *d = inbox_page_data(r, ctx, "Conversation");
    PGresult *res = inbox_query(r, ctx,
        "SELECT cv.id, cv.status, cv.unread, cv.status = 'archived' AS archived,"
        "  cv.status = 'spam' AS spam, cv.assigned_to,"
        "  ct.id AS contact_id, coalesce(ct.name, ct.email, ct.phone) AS contact,"
        "  ct.email, ct.phone, ct.sms_opted_out,"
        "  jl.jobber_url, replace(jl.jobber_status, '_', ' ') AS jobber_client_status"
        " FROM conversations cv JOIN contacts ct ON ct.id = cv.contact_id"
        " LEFT JOIN jobber_links jl ON jl.client_id = cv.client_id AND jl.contact_id = ct.id"
        " WHERE cv.id = $1 AND cv.client_id = $2", 2, params);
    if (!res || PQntuples(res) != 1) {
        if (res) PQclear(res);
        json_object_put(d);
        return NULL;
    }
    json_object_object_add(d, "conversation", inbox_row(res, 0));
    PQclear(res);
    return d;
}

/* The conversation's messages into @p d, with "pending" (one of ours is on
 * its way) and the newest message's intent in *pintent. 0 when the query
 * failed. */
static int add_messages(request_rec *r, inbox_ctx *ctx, const char *id, json_object *d,
                        const char **pintent)
{
    const char *params[2] = { id, ctx->client_id };
    PGresult *res = inbox_query(r, ctx,
        "SELECT m.id, m.channel, m.direction, m.body, m.is_spam,"
        "  array_to_string(m.spam_reasons, ', ') AS spam_reasons,"
        "  m.intent, replace(m.intent, '_', ' ') AS intent_label, m.urgency,"
        "  round((m.confidence * 100)::numeric)::int AS confidence_pct,"
        "  m.classification->>'service' AS service,"
        "  m.classification->>'budget' AS budget,"
        "  (SELECT string_agg(w, ', ') FROM jsonb_array_elements_text("
        "     CASE WHEN jsonb_typeof(m.classification->'when') = 'array'"
        "          THEN m.classification->'when' ELSE '[]'::jsonb END) w) AS when_mentioned,"
        "  m.classification->>'backend' AS backend, m.classification->>'fallback' AS fallback,"
        "  m.direction = 'outbound' AS outbound, m.delivery_status, m.delivery_error,"
        /* Refresh while a reply is on its way, and after "sent" until the
         * carrier reports delivery; for half an hour at most. */
        "  m.direction = 'outbound' AND (m.delivery_status IN ('queued', 'sending')"
        "    OR (m.delivery_status = 'sent' AND m.channel = 'sms'))"
        "    AND m.created_at > now() - interval '30 minutes' AS pending,"
        "  (SELECT json_agg(json_build_object('url', e->>'url', 'type', e->>'content_type'))"
        "     FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.media) = 'array'"
        "       THEN m.media ELSE '[]'::jsonb END) e"
        "    WHERE e->>'url' LIKE 'https://%') AS media,"
        "  m.recording_url, m.recording_seconds,"
        "  m.channel = 'voicemail' AND m.body = '' AS no_transcript,"
        "  to_char(m.created_at AT TIME ZONE 'UTC', 'Mon DD, YYYY HH24:MI') AS at,"
        "  (SELECT coalesce(json_agg(json_build_object('id', a.id, 'filename', a.filename,"
        "      'size_kb', greatest(1, a.size / 1024), 'type', a.content_type) ORDER BY a.id), '[]')"
        "     FROM submissions s JOIN attachments a ON a.submission_id = s.id"
        "    WHERE s.message_id = m.id AND a.client_id = m.client_id) AS attachments,"
        INBOX_JOBBER_COLUMNS
        " FROM messages m WHERE m.conversation_id = $1 AND m.client_id = $2"
        " ORDER BY m.created_at, m.id", 2, params);
    int i, pending = 0;

    if (!res) {
        return 0;
    }
    if (pintent && PQntuples(res) > 0 && !PQgetisnull(res, PQntuples(res) - 1, 6)) {
        *pintent = apr_pstrdup(r->pool, PQgetvalue(res, PQntuples(res) - 1, 6));
    }
    for (i = 0; i < PQntuples(res); i++) {
        pending |= PQgetvalue(res, i, PQfnumber(res, "pending"))[0] == 't';
    }
    /* While a reply is on its way, the messages refresh themselves. */
    json_object_object_add(d, "pending", json_object_new_boolean(pending));
    json_object_object_add(d, "messages", inbox_rows(res));
    PQclear(res);
    inbox_settings_message_data(r, ctx, d);
    return 1;
}

/* Everything the panel shows, @p refused (why a reply did not go, or
 * NULL) above the composer; NULL when the conversation is not this
 * client's. */
static json_object *panel_data(request_rec *r, inbox_ctx *ctx, const char *id,
                               const char *refused)
{
    const char *params[3] = { id, ctx->client_id, ctx->user_id };
    json_object *d = conversation_data(r, ctx, id);
    const char *intent = NULL;
    PGresult *res;

    if (!d) {
        return NULL;
    }
    if (!add_messages(r, ctx, id, d, &intent)) {
        json_object_put(d);
        return NULL;
    }
    json_object_object_add(d, "composer", inbox_composer(r, ctx, id, refused));
    /* Not "intents": the full page also carries the list's filter choices. */
    json_object_object_add(d, "intent_choices", choices(INTENT_LIST, intent));

    res = inbox_query(r, ctx,
        "SELECT n.body, coalesce(u.name, 'someone') AS author,"
        "  to_char(n.created_at AT TIME ZONE 'UTC', 'Mon DD, HH24:MI') AS at"
        " FROM notes n LEFT JOIN staff_users u ON u.id = n.author_id"
        " WHERE n.conversation_id = $1 AND n.client_id = $2 ORDER BY n.created_at", 2, params);
    if (res) {
        json_object_object_add(d, "notes", inbox_rows(res));
        PQclear(res);
    }
    res = inbox_query(r, ctx,
        "SELECT u.id, u.name, u.id = (SELECT assigned_to FROM conversations WHERE id = $1)"
        "   AS selected, u.id = $3::bigint AS me"
        " FROM staff_users u JOIN memberships m ON m.user_id = u.id AND m.client_id = $2"
        " WHERE u.disabled_at IS NULL ORDER BY u.name", 3, params);
    if (res) {
        json_object_object_add(d, "team", inbox_rows(res));
        PQclear(res);
    }
    return d;
}

int inbox_conversation(request_rec *r, inbox_ctx *ctx, const char *id)
{
    json_object *d;

    /* GET changes nothing: an unread thread's panel posts /c/ID/seen as it
     * loads (conversation_seen), with the CSRF token. */
    if (!(d = panel_data(r, ctx, id, NULL))) {
        return HTTP_NOT_FOUND;
    }
    /* Opening it (not an action's re-render, which may be "mark unread")
     * is what reads it. */
    json_object_object_add(d, "auto_seen", json_object_new_boolean(1));
    if (inbox_is_htmx(r)) {
        return inbox_render(r, HTTP_OK, "partials/panel", d);
    }
    {
        /* Without JavaScript: the panel as its own page, beside the list. */
        filters f;
        if (!read_filters(r, &f)) {
            json_object_put(d);
            return bad_search(r);
        }
        if (!list_data(r, ctx, &f, d)) {
            json_object_put(d);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        json_object_object_add(d, "open_panel", json_object_new_boolean(1));
        return inbox_render(r, HTTP_OK, "inbox", d);
    }
}

/* GET /c/ID/messages: the thread's messages alone, for the refresh while
 * a reply is on its way (the composer around them is left as typed). */
int inbox_conversation_messages(request_rec *r, inbox_ctx *ctx, const char *id)
{
    json_object *d = conversation_data(r, ctx, id);
    if (!d) {
        return HTTP_NOT_FOUND;
    }
    if (!add_messages(r, ctx, id, d, NULL)) {
        json_object_put(d);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return inbox_render(r, HTTP_OK, "partials/messages", d);
}

/* The panel of an unread thread was shown: it is read now. Audited and
 * announced only when it changed, so a second tab or a poll adds nothing. */
static int conversation_seen(request_rec *r, inbox_ctx *ctx, const char *id)
{
    const char *params[2] = { id, ctx->client_id };
    json_object *d;
    PGresult *res = inbox_query(r, ctx, "UPDATE conversations SET unread = false"
                                " WHERE id = $1 AND client_id = $2 AND unread RETURNING id",
                                2, params);
    if (!res) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (PQntuples(res) == 1) {
        if (!inbox_audit(r, ctx, "read", "conversation", id, NULL)) {
            PQclear(res);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_table_setn(r->headers_out, "HX-Trigger", "inbox-changed");
    }
    PQclear(res);
    /* Already read, or not this client's: only the first is an answer. */
    if (!(d = conversation_data(r, ctx, id))) {
        return HTTP_NOT_FOUND;
    }
    if (!inbox_is_htmx(r)) {
        json_object_put(d);
        return inbox_redirect(r, apr_pstrcat(r->pool, "/c/", id, NULL));
    }
    return inbox_render(r, HTTP_OK, "partials/actions", d);
}

/* One action on a conversation; every statement is scoped to the client. */
int inbox_conversation_action(request_rec *r, inbox_ctx *ctx, const char *id)
{
    apr_table_t *form = ap_get_module_config(r->request_config, &consult_inbox_module);
    /* "/c/ID/ACTION": after the path's own id, which may be spelled with
     * leading zeros (@p id is the canonical one). */
    const char *action = strchr(r->uri + strlen("/c/"), '/') + 1;
    const char *params[5] = { id, ctx->client_id, NULL, NULL, NULL };
    const char *sql = NULL, *detail = NULL;
    int n = 3;          /* parameters the chosen statement takes */
    PGresult *res;

    if (!form) {
        return HTTP_BAD_REQUEST;
    }
    /* One form with several buttons posts to /c/ID/act with action=... */
    if (!strcmp(action, "act")) {
        action = apr_table_get(form, "action");
        if (!action) {
            return HTTP_BAD_REQUEST;
        }
    }
    if (!strcmp(action, "seen")) {
        return conversation_seen(r, ctx, id);
    }
    if (!strcmp(action, "read") || !strcmp(action, "unread")) {
        sql = "UPDATE conversations SET unread = ($3 = 'unread')"
              " WHERE id = $1 AND client_id = $2 RETURNING id";
        params[2] = action;
    }
    else if (!strcmp(action, "archive") || !strcmp(action, "open")) {
        sql = "UPDATE conversations SET status = CASE WHEN $3 = 'archive' THEN 'archived'"
              " ELSE 'open' END WHERE id = $1 AND client_id = $2 RETURNING id";
        params[2] = action;
    }
    else if (!strcmp(action, "spam") || !strcmp(action, "notspam")) {
        /* Marking a thread (not) spam marks its inbound messages too, so the
         * rescue is complete and corrections can learn from it. */
        sql = "WITH cv AS (UPDATE conversations SET status = CASE WHEN $3 = 'spam'"
              "   THEN 'spam' ELSE 'open' END WHERE id = $1 AND client_id = $2 RETURNING id)"
              " UPDATE messages m SET is_spam = ($3 = 'spam') FROM cv"
              " WHERE m.conversation_id = cv.id AND m.direction = 'inbound'"
              " RETURNING cv.id";
        params[2] = action;
    }
    else if (!strcmp(action, "assign")) {
        const char *who = apr_table_get(form, "assignee");
        int nobody = !who || !*who || !strcmp(who, "none");
        sql = "UPDATE conversations SET assigned_to = u.id FROM (SELECT $3::bigint AS id) x"
              " LEFT JOIN staff_users u ON u.id = x.id AND EXISTS (SELECT 1 FROM memberships m"
              "   WHERE m.user_id = u.id AND m.client_id = $2)"
              " WHERE conversations.id = $1 AND conversations.client_id = $2"
              "   AND (x.id IS NULL OR u.id IS NOT NULL) RETURNING conversations.id";
        params[2] = nobody ? NULL : inbox_id(r->pool, who);
        if (!nobody && !params[2]) {
            return HTTP_BAD_REQUEST;
        }
        detail = apr_psprintf(r->pool, "{\"assignee\": %s}", params[2] ? params[2] : "null");
    }
    else if (!strcmp(action, "intent")) {
        const char *intent = apr_table_get(form, "intent");
        const char *urgency = apr_table_get(form, "urgency");
        if (!one_of(intent, INTENT_LIST)
            || (urgency && *urgency && !one_of(urgency, "high normal low"))) {
            return HTTP_BAD_REQUEST;
        }
        /* The correction applies to the latest inbound message and is kept
         * for retraining (consult_correct_classification). */
        sql = "SELECT consult_correct_classification($2, m.id, $3, $4, $5) FROM messages m"
              " WHERE m.conversation_id = $1 AND m.client_id = $2 AND m.direction = 'inbound'"
              " ORDER BY m.created_at DESC, m.id DESC LIMIT 1";
        params[2] = intent;
        params[3] = urgency && *urgency ? urgency : NULL;
        params[4] = ctx->user_email;
        n = 5;
        detail = apr_psprintf(r->pool, "{\"intent\": \"%s\"}", intent);
    }
    else if (!strcmp(action, "reply")) {
        const char *refused = NULL;
        int st = inbox_reply(r, ctx, id, &refused);
        if (st != OK || r->status == HTTP_CONFLICT) {
            return st;
        }
        if (!refused) {
            apr_table_setn(r->headers_out, "HX-Trigger", "inbox-changed");
        }
        if (inbox_is_htmx(r)) {
            /* htmx swaps only 2xx: a refused reply comes back as the panel
             * with the reason above the composer. */
            json_object *d = panel_data(r, ctx, id, refused);
            return d ? inbox_render(r, HTTP_OK, "partials/panel", d) : HTTP_NOT_FOUND;
        }
        return inbox_redirect(r, apr_pstrcat(r->pool, "/c/", id, NULL));
    }
    else if (!strcmp(action, "note")) {
        const char *body = apr_table_get(form, "body");
        if (!body || !*body || strlen(body) > 5000) {
            return HTTP_BAD_REQUEST;
        }
        sql = "INSERT INTO notes (client_id, conversation_id, author_id, body)"
              " SELECT $2, cv.id, $3, $4 FROM conversations cv"
              " WHERE cv.id = $1 AND cv.client_id = $2 RETURNING id";
        params[2] = ctx->user_id;
        params[3] = body;
        n = 4;
    }
    else {
        return HTTP_NOT_FOUND;
    }
    res = inbox_query(r, ctx, sql, n, params);
    if (!res) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return HTTP_NOT_FOUND;      /* not this client's conversation */
    }
    PQclear(res);
    if (!inbox_audit(r, ctx, action, "conversation", id, detail)) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (inbox_is_htmx(r)) {
        json_object *d = panel_data(r, ctx, id, NULL);
        if (!d) {
            return HTTP_NOT_FOUND;
        }
        /* The list refreshes itself on this event. */
        apr_table_setn(r->headers_out, "HX-Trigger", "inbox-changed");
        return inbox_render(r, HTTP_OK, "partials/panel", d);
    }
    return inbox_redirect(r, apr_pstrcat(r->pool, "/c/", id, NULL));
}

int inbox_attachment(request_rec *r, inbox_ctx *ctx, const char *id)
{
    const char *params[2] = { id, ctx->client_id };
    PGresult *res = PQexecParams(ctx->conn,
        "SELECT a.filename, a.content_type, a.data FROM attachments a"
        " WHERE a.id = $1 AND a.client_id = $2", 2, NULL, params, NULL, NULL, 1);
    const char *name, *type;
    int len;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        PQclear(res);
        return HTTP_NOT_FOUND;
    }
    name = apr_pstrndup(r->pool, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
    type = apr_pstrndup(r->pool, PQgetvalue(res, 0, 1), PQgetlength(res, 0, 1));
    len = PQgetlength(res, 0, 2);
    /* Recorded before a byte is sent; unrecorded, nothing is. */
    if (!inbox_audit(r, ctx, "download", "attachment", id, NULL)) {
        PQclear(res);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Always a download, never rendered: no HTML, SVG or script can run
     * from a customer's upload on the dashboard's origin. */
    ap_set_content_type(r, apr_pstrdup(r->pool, cs_safe_serve_type(type)));
    apr_table_setn(r->headers_out, "Content-Disposition",
                   cs_attachment_disposition(r->pool, name));
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    /* Replaces the dashboard's policy (set on err_headers_out) for this one. */
    apr_table_setn(r->err_headers_out, "Content-Security-Policy", "sandbox");
    ap_set_content_length(r, len);
    if (!r->header_only) {
        ap_rwrite(PQgetvalue(res, 0, 2), len, r);
    }
    PQclear(res);
    return OK;
}
