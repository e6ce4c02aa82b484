/*
 * The reply composer: staff write once; cs_channel_choose (common/) picks
 * SMS or email from what the customer last used, their opt-out and what
 * is set up for the client, unless staff override it. The reply and its
 * send job are written in one statement; the job delivers it.
 */
#include "inbox_private.h"
#include "domain/cs_channel.h"
#include "text/cs_text.h"

#include "http_protocol.h"
#include "util_script.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_inbox);

typedef struct {
    const char *phone, *email, *last;
    int opted_out;
} who_t;

static int load_who(request_rec *r, inbox_ctx *ctx, const char *cv, who_t *w)
{
    const char *params[2] = { cv, ctx->client_id };
    PGresult *res = inbox_query(r, ctx,
        "SELECT ct.phone, ct.email, ct.sms_opted_out,"
        "  (SELECT m.channel FROM messages m WHERE m.conversation_id = cv.id"
        "     AND m.direction = 'inbound' ORDER BY m.created_at DESC, m.id DESC LIMIT 1)"
        " FROM conversations cv JOIN contacts ct ON ct.id = cv.contact_id"
        " WHERE cv.id = $1 AND cv.client_id = $2", 2, params);
    if (!res || PQntuples(res) != 1) {
        if (res) PQclear(res);
        return 0;
    }
    w->phone = PQgetisnull(res, 0, 0) ? NULL : apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    w->email = PQgetisnull(res, 0, 1) ? NULL : apr_pstrdup(r->pool, PQgetvalue(res, 0, 1));
    w->opted_out = PQgetvalue(res, 0, 2)[0] == 't';
    w->last = PQgetisnull(res, 0, 3) ? NULL : apr_pstrdup(r->pool, PQgetvalue(res, 0, 3));
    PQclear(res);
    return 1;
}

static void choose(request_rec *r, inbox_ctx *ctx, const who_t *w, const char *override,
                   cs_channel_choice_t *out)
{
    cs_channel_input_t in;
    memset(&in, 0, sizeof(in));
    in.last_inbound = w->last;
    in.has_phone = w->phone != NULL;
    in.has_email = w->email != NULL;
    in.sms_opted_out = w->opted_out;
    in.sms_enabled = inbox_core.twilio_enabled && inbox_core.twilio_enabled(ctx->client_slug);
    in.email_enabled = inbox_core.email_enabled && inbox_core.email_enabled(ctx->client_slug);
    in.fallback_order = inbox_core.reply_order ? inbox_core.reply_order(ctx->client_slug)
                                               : "sms email";
    in.override = override && *override && strcmp(override, "auto") ? override : NULL;
    cs_channel_choose(out, &in);
}

static json_object *composer(request_rec *r, inbox_ctx *ctx, const char *cv,
                             const char *override, const char *error)
{
    json_object *c = json_object_new_object();
    cs_channel_choice_t ch;
    who_t w;

    memset(&w, 0, sizeof(w));
    if (!load_who(r, ctx, cv, &w)) {
        json_object_put(c);
        return NULL;
    }
    choose(r, ctx, &w, override, &ch);
    json_object_object_add(c, "channel", json_object_new_string(
        ch.channel == CS_CH_SMS ? "SMS" : ch.channel == CS_CH_EMAIL ? "email" : "nothing"));
    json_object_object_add(c, "possible", json_object_new_boolean(ch.channel != CS_CH_NONE));
    json_object_object_add(c, "reason", json_object_new_string(ch.reason ? ch.reason : ""));
    json_object_object_add(c, "opted_out", json_object_new_boolean(w.opted_out));
    if (error) {
        json_object_object_add(c, "error", json_object_new_string(error));
    }
    return c;
}

json_object *inbox_composer(request_rec *r, inbox_ctx *ctx, const char *cv, const char *error)
{
    const char *params[1] = { ctx->client_id };
    json_object *c = composer(r, ctx, cv, NULL, error);
    PGresult *res;

    if (!c) {
        return json_object_new_object();
    }
    /* The client's saved replies, to start a reply from. */
    res = inbox_query(r, ctx, "SELECT title, body FROM saved_replies"
                      " WHERE client_id = $1 ORDER BY title LIMIT 100", 1, params);
    if (res) {
        json_object_object_add(c, "has_saved", json_object_new_boolean(PQntuples(res) > 0));
        json_object_object_add(c, "saved", inbox_rows(res));
        PQclear(res);
    }
    return c;
}

/* GET /c/ID/how?channel=sms: what a reply would do with that choice, for
 * the composer to show as staff change "Send by". Changes nothing. */
int inbox_composer_how(request_rec *r, inbox_ctx *ctx, const char *cv)
{
    apr_table_t *q = NULL;
    const char *want;
    json_object *c;

    ap_args_to_table(r, &q);
    want = q ? apr_table_get(q, "channel") : NULL;
    if (want && strcmp(want, "auto") && strcmp(want, "sms") && strcmp(want, "email")) {
        return HTTP_BAD_REQUEST;
    }
    if (!(c = composer(r, ctx, cv, want, NULL))) {
        return HTTP_NOT_FOUND;
    }
    return inbox_render(r, HTTP_OK, "partials/how", c);
}

int inbox_reply(request_rec *r, inbox_ctx *ctx, const char *cv, const char **prefused)
{
    apr_table_t *form = ap_get_module_config(r->request_config, &consult_inbox_module);
    const char *body = cs_trim(r->pool, form ? apr_table_get(form, "body") : NULL);
    const char *params[7], *kind;
    cs_channel_choice_t ch;
    PGresult *res;
    who_t w;

    memset(&w, 0, sizeof(w));
    if (!load_who(r, ctx, cv, &w)) {
        return HTTP_NOT_FOUND;
    }
    if (!body || !*body || cs_utf8_chars(body) > 1600) {
        return HTTP_BAD_REQUEST;
    }
    choose(r, ctx, &w, apr_table_get(form, "channel"), &ch);
    if (ch.channel == CS_CH_NONE) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, CSLOGNO(03030)
                      "reply on conversation %s not sent: %s", cv, ch.reason);
        if (inbox_is_htmx(r)) {
            *prefused = apr_pstrcat(r->pool, "Not sent. ", ch.reason, NULL);
            return OK;
        }
        return inbox_core.send_error(r, HTTP_CONFLICT, "no_channel", ch.reason);
    }
    kind = ch.channel == CS_CH_SMS ? "twilio.sms.send" : "email.send";
    params[0] = cv;
    params[1] = ctx->client_id;
    params[2] = ch.channel == CS_CH_SMS ? "sms" : "email";
    params[3] = body;
    params[4] = ch.channel == CS_CH_SMS ? w.phone : w.email;
    params[5] = ctx->user_id;
    params[6] = kind;
    /* The reply and the job that sends it, together or not at all. */
    res = inbox_query(r, ctx,
        "WITH m AS (INSERT INTO messages (client_id, conversation_id, channel, direction, body,"
        "   delivery_status, to_address, author_id, provider)"
        " SELECT $2, cv.id, $3, 'outbound', $4, 'queued', $5, $6,"
        "   CASE WHEN $3 = 'sms' THEN 'twilio' ELSE 'resend' END"
        "   FROM conversations cv WHERE cv.id = $1 AND cv.client_id = $2 RETURNING id)"
        " INSERT INTO jobs (kind, payload, unique_key)"
        " SELECT $7, jsonb_build_object('message_id', m.id, 'client_id', $2::bigint),"
        "   $7 || ':' || m.id FROM m RETURNING payload->>'message_id'", 7, params);
    if (!res) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return HTTP_NOT_FOUND;
    }
    if (!inbox_audit(r, ctx, "reply", "conversation", cv,
                     apr_psprintf(r->pool, "{\"channel\": \"%s\", \"message\": %s}", params[2],
                                  PQgetvalue(res, 0, 0)))) {
        PQclear(res);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    PQclear(res);
    return OK;      /* the caller renders the panel */
}
