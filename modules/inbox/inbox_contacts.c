/* Contact profile (edit, notes, merge), saved replies, the audit log and
 * the CSV export. All scoped to the session's client. */
#include "inbox_private.h"
#include "text/cs_text.h"

#include "http_protocol.h"
#include "http_request.h"
#include <apr_strings.h>

APLOG_USE_MODULE(consult_inbox);

static apr_table_t *form_of(request_rec *r)
{
    return ap_get_module_config(r->request_config, &consult_inbox_module);
}

static int is_owner(const inbox_ctx *ctx)
{
    return ctx->is_admin || (ctx->role && !strcmp(ctx->role, "owner"));
}

static int contact_page(request_rec *r, inbox_ctx *ctx, const char *id, int status,
                        const char *error)
{
    const char *params[2] = { id, ctx->client_id };
    json_object *d = inbox_page_data(r, ctx, "Contact");
    PGresult *res = inbox_query(r, ctx,
        "SELECT id, name, email, phone, coalesce(name, email, phone) AS display, sms_opted_out,"
        "  to_char(sms_opted_out_at AT TIME ZONE 'UTC', 'Mon DD, YYYY') AS opted_out_on,"
        "  to_char(created_at AT TIME ZONE 'UTC', 'Mon DD, YYYY') AS since"
        " FROM contacts WHERE id = $1 AND client_id = $2", 2, params);

    if (!res || PQntuples(res) != 1) {
        if (res) PQclear(res);
        json_object_put(d);
        return HTTP_NOT_FOUND;
    }
    json_object_object_add(d, "contact", inbox_row(res, 0));
    PQclear(res);
    if (error) {
        json_object_object_add(d, "error", json_object_new_string(error));
    }
    res = inbox_query(r, ctx,
        "SELECT cv.id, cv.status, count(m.id) AS messages,"
        "  to_char(max(m.created_at) AT TIME ZONE 'UTC', 'Mon DD, YYYY HH24:MI') AS last,"
        "  string_agg(DISTINCT m.channel, ', ') AS channels"
        " FROM conversations cv JOIN messages m ON m.conversation_id = cv.id"
        " WHERE cv.contact_id = $1 AND cv.client_id = $2 GROUP BY cv.id", 2, params);
    if (res) { json_object_object_add(d, "conversations", inbox_rows(res)); PQclear(res); }
    res = inbox_query(r, ctx,
        "SELECT s.id, left(s.message, 200) AS message, s.service, s.is_spam,"
        "  to_char(s.created_at AT TIME ZONE 'UTC', 'Mon DD, YYYY HH24:MI') AS at"
        " FROM submissions s WHERE s.contact_id = $1 AND s.client_id = $2"
        " ORDER BY s.created_at DESC LIMIT 100", 2, params);
    if (res) { json_object_object_add(d, "submissions", inbox_rows(res)); PQclear(res); }
    res = inbox_query(r, ctx,
        "SELECT n.body, coalesce(u.name, 'someone') AS author,"
        "  to_char(n.created_at AT TIME ZONE 'UTC', 'Mon DD, HH24:MI') AS at"
        " FROM notes n LEFT JOIN staff_users u ON u.id = n.author_id"
        " WHERE n.contact_id = $1 AND n.client_id = $2 ORDER BY n.created_at", 2, params);
    if (res) { json_object_object_add(d, "notes", inbox_rows(res)); PQclear(res); }
    /* Who was merged into this contact, as they were (nothing is lost). */
    res = inbox_query(r, ctx,
        "SELECT a.merged_id, a.name, a.email, a.phone, a.sms_opted_out,"
        "  to_char(a.merged_at AT TIME ZONE 'UTC', 'Mon DD, YYYY') AS at"
        " FROM contact_aliases a WHERE a.contact_id = $1 AND a.client_id = $2"
        " ORDER BY a.id", 2, params);
    if (res) {
        json_object_object_add(d, "merged", json_object_new_boolean(PQntuples(res) > 0));
        json_object_object_add(d, "aliases", inbox_rows(res));
        PQclear(res);
    }
    return inbox_render(r, status, "contact", d);
}

int inbox_contact(request_rec *r, inbox_ctx *ctx, const char *id)
{
    return contact_page(r, ctx, id, HTTP_OK, NULL);
}

int inbox_contact_post(request_rec *r, inbox_ctx *ctx, const char *id, const char *what)
{
    apr_table_t *form = form_of(r);
    const char *params[5] = { id, ctx->client_id, NULL, NULL, NULL };
    PGresult *res;

    if (!form) {
        return HTTP_BAD_REQUEST;
    }
    if (!strcmp(what, "edit")) {
        const char *name = apr_table_get(form, "name"), *email = apr_table_get(form, "email");
        const char *phone = apr_table_get(form, "phone");
        const char *e = NULL, *ph = NULL;
        /* A national number is read as the client's country's, as the
         * forms of its site read it (ConsultPhoneRegion). */
        const char *region = inbox_core.phone_region
                             ? inbox_core.phone_region(ctx->client_slug) : NULL;
        name = cs_trim(r->pool, name);
        email = cs_trim(r->pool, email);
        phone = cs_trim(r->pool, phone);
        if (name && cs_utf8_chars(name) > 200) {
            return contact_page(r, ctx, id, HTTP_BAD_REQUEST,
                                "The name is too long (200 characters at most).");
        }
        if (name && !*name) name = NULL;
        if (email && *email && cs_email_normalize(r->pool, email, &e) != APR_SUCCESS) {
            return contact_page(r, ctx, id, HTTP_BAD_REQUEST, "The email address is not valid.");
        }
        if (phone && *phone && cs_phone_e164(r->pool, phone, region ? region : "US", &ph)
                               != APR_SUCCESS) {
            return contact_page(r, ctx, id, HTTP_BAD_REQUEST, "The phone number is not valid.");
        }
        if (!e && !ph) {
            return contact_page(r, ctx, id, HTTP_BAD_REQUEST,
                                "Keep an email address or a phone number.");
        }
        params[2] = name;
        params[3] = e;
        params[4] = ph;
        res = PQexecParams(ctx->conn,
                           /* A number that said STOP under a merged-away
                            * contact stays opted out under this one. */
                           "UPDATE contacts SET name = $3, email = $4, phone = $5, updated_at = now(),"
                           " unknown_caller = false, sms_opted_out = consult_sms_opted_out(id, $5)"
                           " WHERE id = $1 AND client_id = $2 RETURNING id", 5, NULL, params,
                           NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            int taken = state && !strcmp(state, "23505");
            PQclear(res);
            if (taken) {
                /* The page's own queries need a transaction that works. */
                inbox_tx_abort(r);
                return contact_page(r, ctx, id, HTTP_CONFLICT, "Another contact has that "
                                    "email or phone: merge the two instead.");
            }
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (PQntuples(res) != 1) { PQclear(res); return HTTP_NOT_FOUND; }
        PQclear(res);
        {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", name ? json_object_new_string(name) : NULL);
            json_object_object_add(o, "email", e ? json_object_new_string(e) : NULL);
            json_object_object_add(o, "phone", ph ? json_object_new_string(ph) : NULL);
            int audited = inbox_audit(r, ctx, "contact_edit", "contact", id, apr_pstrdup(
                r->pool, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)));
            json_object_put(o);
            if (!audited) return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    else if (!strcmp(what, "note")) {
        const char *body = cs_trim(r->pool, apr_table_get(form, "body"));
        if (!body || !*body || strlen(body) > 5000) {
            return contact_page(r, ctx, id, HTTP_BAD_REQUEST, "Write a note first.");
        }
        params[2] = ctx->user_id;
        params[3] = body;
        res = inbox_query(r, ctx, "INSERT INTO notes (client_id, contact_id, author_id, body)"
                          " SELECT $2, c.id, $3, $4 FROM contacts c"
                          " WHERE c.id = $1 AND c.client_id = $2 RETURNING id", 4, params);
        if (!res) return HTTP_INTERNAL_SERVER_ERROR;
        if (PQntuples(res) != 1) { PQclear(res); return HTTP_NOT_FOUND; }
        PQclear(res);
        if (!inbox_audit(r, ctx, "contact_note", "contact", id, NULL)) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    else if (!strcmp(what, "merge")) {
        const char *other = inbox_id(r->pool, apr_table_get(form, "other"));
        if (!other) {
            return contact_page(r, ctx, id, HTTP_BAD_REQUEST, "Choose the contact to merge in.");
        }
        params[2] = other;
        res = inbox_query(r, ctx, "SELECT consult_merge_contacts($2, $1, $3)", 3, params);
        if (!res) return HTTP_INTERNAL_SERVER_ERROR;
        if (PQgetvalue(res, 0, 0)[0] != 't') {
            PQclear(res);
            return contact_page(r, ctx, id, HTTP_NOT_FOUND, "No such contact to merge.");
        }
        PQclear(res);
        /* In the same transaction as the merge (see handler()): a merge
         * that cannot be recorded is undone. */
        if (!inbox_audit(r, ctx, "contact_merge", "contact", id,
                         apr_psprintf(r->pool, "{\"merged\": %s}", other))) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    else {
        return HTTP_NOT_FOUND;
    }
    return inbox_redirect(r, apr_pstrcat(r->pool, "/contacts/", id, NULL));
}

/* CSV cells: quoted, quotes doubled, and cells a spreadsheet would run as
 * a formula prefixed with a quote (CSV injection). */
static void csv_cell(request_rec *r, const char *v, int last)
{
    const char *c;
    ap_rputc('"', r);
    if (v && (*v == '=' || *v == '+' || *v == '-' || *v == '@' || *v == '\t' || *v == '\r')) {
        ap_rputc('\'', r);
    }
    for (c = v ? v : ""; *c; c++) {
        if (*c == '"') ap_rputc('"', r);
        ap_rputc(*c, r);
    }
    ap_rputs(last ? "\"\r\n" : "\",", r);
}

/* The rows of @p res as CSV under @p header; the file is named for the
 * client and @p what. */
static void send_csv(request_rec *r, inbox_ctx *ctx, PGresult *res, const char *what,
                     const char *header)
{
    int i, j;
    ap_set_content_type(r, "text/csv; charset=utf-8");
    apr_table_setn(r->headers_out, "Content-Disposition", apr_psprintf(
        r->pool, "attachment; filename=\"%s-%s.csv\"", ctx->client_slug, what));
    ap_rputs(header, r);
    for (i = 0; i < PQntuples(res); i++) {
        for (j = 0; j < PQnfields(res); j++) {
            csv_cell(r, PQgetisnull(res, i, j) ? "" : PQgetvalue(res, i, j),
                     j == PQnfields(res) - 1);
        }
    }
}

/* Every contact of the client, with its opt-out and what it was merged from. */
int inbox_export_contacts_csv(request_rec *r, inbox_ctx *ctx)
{
    const char *params[1] = { ctx->client_id };
    PGresult *res;

    if (!is_owner(ctx)) {
        return HTTP_FORBIDDEN;
    }
    res = inbox_query(r, ctx,
        "SELECT ct.id, ct.name, ct.email, ct.phone, ct.sms_opted_out,"
        "  to_char(ct.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),"
        "  (SELECT count(*) FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
        "    WHERE cv.contact_id = ct.id),"
        "  (SELECT string_agg(concat_ws(' ', a.name, a.email, a.phone), '; ' ORDER BY a.id)"
        "    FROM contact_aliases a WHERE a.contact_id = ct.id)"
        " FROM contacts ct WHERE ct.client_id = $1 ORDER BY ct.id", 1, params);
    if (!res) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Recorded before a byte is sent; unrecorded, nothing is. */
    if (!inbox_audit(r, ctx, "export", "client", ctx->client_id, "{\"what\": \"contacts\"}")) {
        PQclear(res);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    send_csv(r, ctx, res, "contacts",
             "contact_id,name,email,phone,sms_opted_out,created_utc,messages,merged_from\r\n");
    PQclear(res);
    return OK;
}

int inbox_export_csv(request_rec *r, inbox_ctx *ctx)
{
    const char *params[1] = { ctx->client_id };
    PGresult *res;

    if (!is_owner(ctx)) {
        return HTTP_FORBIDDEN;
    }
    res = inbox_query(r, ctx,
        "SELECT m.id, to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),"
        "  ct.id, ct.name, ct.email, ct.phone, m.channel, m.direction, m.intent, m.urgency,"
        "  m.is_spam, cv.status, m.body"
        " FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
        " JOIN contacts ct ON ct.id = cv.contact_id"
        " WHERE m.client_id = $1 ORDER BY m.created_at, m.id", 1, params);
    if (!res) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!inbox_audit(r, ctx, "export", "client", ctx->client_id, "{\"what\": \"messages\"}")) {
        PQclear(res);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    send_csv(r, ctx, res, "messages", "message_id,created_utc,contact_id,name,email,phone,"
             "channel,direction,intent,urgency,spam,status,message\r\n");
    PQclear(res);
    return OK;
}

int inbox_audit_page(request_rec *r, inbox_ctx *ctx)
{
    const char *params[1] = { ctx->client_id };
    json_object *d;
    PGresult *res;

    if (!is_owner(ctx)) {
        return HTTP_FORBIDDEN;
    }
    d = inbox_page_data(r, ctx, "Activity");
    res = inbox_query(r, ctx,
        "SELECT to_char(a.created_at AT TIME ZONE 'UTC', 'Mon DD, YYYY HH24:MI') AS at,"
        "  coalesce(u.name, 'system') AS who, replace(a.action, '_', ' ') AS action,"
        "  a.target_type, a.target_id,"
        "  CASE WHEN a.target_type = 'conversation' THEN '/c/' || a.target_id"
        "       WHEN a.target_type = 'contact' THEN '/contacts/' || a.target_id END AS link,"
        "  (SELECT string_agg(e.key || ': ' || coalesce(e.value #>> '{}', 'none'), ', '"
        "     ORDER BY e.key) FROM jsonb_each(a.detail) e) AS detail"
        " FROM audit_log a LEFT JOIN staff_users u ON u.id = a.user_id"
        " WHERE a.client_id = $1 ORDER BY a.created_at DESC, a.id DESC LIMIT 300", 1, params);
    if (!res) {
        json_object_put(d);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    json_object_object_add(d, "entries", inbox_rows(res));
    PQclear(res);
    return inbox_render(r, HTTP_OK, "audit", d);
}

int inbox_replies(request_rec *r, inbox_ctx *ctx)
{
    const char *params[4] = { ctx->client_id, NULL, NULL, NULL };
    json_object *d;
    PGresult *res;

    if (r->method_number == M_POST) {
        apr_table_t *form = form_of(r);
        const char *del = form ? apr_table_get(form, "delete") : NULL;
        if (!form) return HTTP_BAD_REQUEST;
        if (del) {
            if (!(del = inbox_id(r->pool, del))) return HTTP_BAD_REQUEST;
            params[1] = del;
            res = inbox_query(r, ctx, "DELETE FROM saved_replies WHERE client_id = $1"
                              " AND id = $2 RETURNING id", 2, params);
        }
        else {
            params[1] = cs_trim(r->pool, apr_table_get(form, "title"));
            params[2] = cs_trim(r->pool, apr_table_get(form, "body"));
            if (!params[1] || !*params[1] || !params[2] || !*params[2]
                || cs_utf8_chars(params[1]) > 200 || cs_utf8_chars(params[2]) > 5000) {
                return HTTP_BAD_REQUEST;
            }
            res = inbox_query(r, ctx, "INSERT INTO saved_replies (client_id, title, body)"
                              " VALUES ($1, $2, $3) RETURNING id", 3, params);
        }
        if (!res) return HTTP_INTERNAL_SERVER_ERROR;
        if (PQntuples(res) != 1) { PQclear(res); return HTTP_NOT_FOUND; }
        if (!inbox_audit(r, ctx, del ? "reply_delete" : "reply_create", "saved_reply",
                         PQgetvalue(res, 0, 0), NULL)) {
            PQclear(res);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        PQclear(res);
        return inbox_redirect(r, "/replies");
    }
    d = inbox_page_data(r, ctx, "Saved replies");
    res = inbox_query(r, ctx, "SELECT id, title, body FROM saved_replies"
                      " WHERE client_id = $1 ORDER BY title", 1, params);
    if (!res) {
        json_object_put(d);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    json_object_object_add(d, "replies", inbox_rows(res));
    PQclear(res);
    return inbox_render(r, HTTP_OK, "replies", d);
}
