#include "providers/cs_twilio.h"
#include "base/cs_crypto.h"
#include "base/cs_json.h"

#include <apr_strings.h>
#include <apr_date.h>
#include <apr_lib.h>
#include <stdlib.h>
#include <string.h>

/* ---- X-Twilio-Signature ------------------------------------------------- */

static int param_cmp(const void *a, const void *b)
{
    const cs_pair_t *x = *(const cs_pair_t *const *)a;
    const cs_pair_t *y = *(const cs_pair_t *const *)b;
    int c = strcmp(x->key ? x->key : "", y->key ? y->key : "");

    if (c) {
        return c;
    }
    return strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

const char *cs_twilio_signing_string(apr_pool_t *p, const char *url,
                                     const apr_array_header_t *params)
{
    const cs_pair_t **sorted;
    apr_size_t total, at, ulen = url ? strlen(url) : 0;
    char *out;
    int i, n = params ? params->nelts : 0;

    if (n == 0) {
        return apr_pstrmemdup(p, url ? url : "", ulen);
    }
    /* Sorting by (name, value) and dropping equal neighbours gives exactly
     * the SDKs' "names sorted, then sorted(set(values)) per name". strcmp
     * compares as unsigned char, i.e. byte order, which for UTF-8 is code
     * point order like Python's sorted(). */
    sorted = apr_palloc(p, sizeof(*sorted) * (apr_size_t)n);
    for (i = 0; i < n; i++) {
        sorted[i] = &APR_ARRAY_IDX(params, i, cs_pair_t);
    }
    qsort(sorted, (size_t)n, sizeof(*sorted), param_cmp);

    total = ulen;
    for (i = 0; i < n; i++) {
        total += strlen(sorted[i]->key ? sorted[i]->key : "")
               + strlen(sorted[i]->value ? sorted[i]->value : "");
    }
    out = apr_palloc(p, total + 1);
    memcpy(out, url ? url : "", ulen);
    at = ulen;
    for (i = 0; i < n; i++) {
        const char *name = sorted[i]->key ? sorted[i]->key : "";
        const char *value = sorted[i]->value ? sorted[i]->value : "";
        apr_size_t nl = strlen(name), vl = strlen(value);

        if (i > 0 && param_cmp(&sorted[i - 1], &sorted[i]) == 0) {
            continue;   /* a repeated (name, value) pair is signed once */
        }
        memcpy(out + at, name, nl);
        at += nl;
        memcpy(out + at, value, vl);
        at += vl;
    }
    out[at] = '\0';
    return out;
}

/* base64(HMAC-SHA1(token, msg)): always 28 characters. */
static const char *sign(apr_pool_t *p, const char *auth_token, const char *msg)
{
    unsigned char md[CS_SHA1_LEN];

    if (cs_hmac_sha1(md, auth_token, strlen(auth_token), msg, strlen(msg))
        != APR_SUCCESS) {
        return NULL;
    }
    return cs_base64_encode(p, md, sizeof(md));
}

const char *cs_twilio_signature(apr_pool_t *p, const char *auth_token,
                                const char *url,
                                const apr_array_header_t *params)
{
    if (!auth_token) {
        return NULL;
    }
    return sign(p, auth_token, cs_twilio_signing_string(p, url, params));
}

/*
 * Split @p url around the port of its authority. On return the URL is
 * url[0, *phost_end) + [":" port] + url[*prest, ...): *phost_end is where
 * the host (or "[v6]") ends and *prest where the path/query begins, so
 * *prest > *phost_end means a port (possibly an empty one after ':') is
 * present. Returns 0 when the URL has no "scheme://".
 */
static int split_port(const char *url, apr_size_t *phost_end,
                      apr_size_t *prest)
{
    const char *auth = strstr(url, "://"), *end, *host, *c;

    if (!auth || auth == url) {
        return 0;
    }
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    /* userinfo may contain ':' (user:pass@); the host starts after the
     * last '@' of the authority. */
    host = auth;
    for (c = auth; c < end; c++) {
        if (*c == '@') {
            host = c + 1;
        }
    }
    if (*host == '[') {
        c = memchr(host, ']', (size_t)(end - host));
        c = c ? c + 1 : end;
    }
    else {
        c = memchr(host, ':', (size_t)(end - host));
        if (!c) {
            c = end;
        }
    }
    *phost_end = (apr_size_t)(c - url);
    *prest = (apr_size_t)(end - url);
    return 1;
}

/* The URL variants Twilio's SDKs accept a signature for: as given, plus
 * with the default port added when it has none, or without its port when
 * it has one (Twilio may sign either form depending on how the webhook URL
 * was configured). Returns how many were written to out[] (1 or 2). */
static int url_variants(apr_pool_t *p, const char *url, const char *out[2])
{
    apr_size_t host_end, rest;

    out[0] = url;
    if (!split_port(url, &host_end, &rest)) {
        return 1;
    }
    if (rest > host_end) {
        out[1] = apr_pstrcat(p, apr_pstrmemdup(p, url, host_end),
                             url + rest, NULL);
    }
    else {
        const char *port = strncasecmp(url, "https://", 8) == 0 ? ":443" : ":80";

        out[1] = apr_pstrcat(p, apr_pstrmemdup(p, url, host_end), port,
                             url + host_end, NULL);
    }
    return 2;
}

/* First value of query parameter @p name in @p url (no decoding: Twilio's
 * bodySHA256 is plain hex), or NULL. */
static const char *query_param(apr_pool_t *p, const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    apr_size_t nl = strlen(name);

    if (!q) {
        return NULL;
    }
    q++;
    while (*q && *q != '#') {
        apr_size_t len = strcspn(q, "&#");

        if (len > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
            return apr_pstrmemdup(p, q + nl + 1, len - nl - 1);
        }
        q += len;
        if (*q == '&') {
            q++;
        }
    }
    return NULL;
}

static int body_hash_matches(apr_pool_t *p, const char *url, const char *body,
                             apr_size_t body_len)
{
    unsigned char md[CS_SHA256_LEN], got[CS_SHA256_LEN];
    const char *given = query_param(p, url, "bodySHA256");

    /* Decoded, so hex digits compare case-blind. */
    if (!given || cs_hex_decode(got, sizeof(got), given, strlen(given)) != APR_SUCCESS
        || cs_sha256(md, body, body_len) != APR_SUCCESS) {
        return 0;
    }
    return cs_ct_equal(md, got, sizeof(md));
}

int cs_twilio_verify(apr_pool_t *p, const char *auth_token, const char *url,
                     const apr_array_header_t *params, const char *body,
                     apr_size_t body_len, const char *presented)
{
    const char *urls[2];
    apr_size_t plen;
    int i, n, ok = 0;

    if (!auth_token || !*auth_token || !url || !*url || !presented
        || !*presented) {
        return 0;
    }
    if (body) {
        /* JSON: the body is bound to the signature only through the
         * bodySHA256 in the (signed) URL, so that hash must be checked. */
        if (params || !body_hash_matches(p, url, body, body_len)) {
            return 0;
        }
    }
    plen = strlen(presented);
    n = url_variants(p, url, urls);
    for (i = 0; i < n; i++) {
        const char *want = cs_twilio_signature(p, auth_token, urls[i], params);

        /* The length of a valid signature is public (28), so only the
         * bytes need a constant-time comparison. */
        if (want && strlen(want) == plen && cs_ct_equal(want, presented, plen)) {
            ok = 1;
        }
    }
    return ok;
}

/* ---- keywords ----------------------------------------------------------- */

static const struct {
    const char *word;
    cs_sms_keyword_t kind;
} keywords[] = {
    { "STOP", CS_SMS_STOP }, { "STOPALL", CS_SMS_STOP },
    { "UNSUBSCRIBE", CS_SMS_STOP }, { "CANCEL", CS_SMS_STOP },
    { "END", CS_SMS_STOP }, { "QUIT", CS_SMS_STOP },
    { "OPTOUT", CS_SMS_STOP }, { "REVOKE", CS_SMS_STOP },
    { "PARAR", CS_SMS_STOP },
    { "START", CS_SMS_START }, { "YES", CS_SMS_START },
    { "UNSTOP", CS_SMS_START },
    { "HELP", CS_SMS_HELP }, { "INFO", CS_SMS_HELP },
    { "AYUDA", CS_SMS_HELP },
};

cs_sms_keyword_t cs_sms_keyword(const char *body)
{
    const char *end;
    apr_size_t len, i;

    if (!body) {
        return CS_SMS_NONE;
    }
    while (apr_isspace(*body)) {
        body++;
    }
    end = body + strlen(body);
    while (end > body && apr_isspace(end[-1])) {
        end--;
    }
    len = (apr_size_t)(end - body);
    for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (strlen(keywords[i].word) == len
            && strncasecmp(body, keywords[i].word, len) == 0) {
            return keywords[i].kind;
        }
    }
    return CS_SMS_NONE;
}

/* ---- segments ----------------------------------------------------------- */

/* Next code point of NUL-terminated UTF-8 at *ps; invalid, overlong,
 * surrogate or out-of-range sequences give U+FFFD and skip one byte. */
static apr_uint32_t next_cp(const unsigned char **ps)
{
    const unsigned char *s = *ps;
    apr_uint32_t cp;
    int n, i;

    if (s[0] < 0x80) {
        *ps = s + 1;
        return s[0];
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 1;
        cp = s[0] & 0x1f;
    }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 2;
        cp = s[0] & 0x0f;
    }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 3;
        cp = s[0] & 0x07;
    }
    else {
        *ps = s + 1;
        return 0xfffd;
    }
    for (i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80) {   /* also stops at the NUL */
            *ps = s + 1;
            return 0xfffd;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff
        || (cp >= 0xd800 && cp <= 0xdfff)) {
        *ps = s + 1;
        return 0xfffd;
    }
    *ps = s + n + 1;
    return cp;
}

/* The non-ASCII characters of the GSM 03.38 basic set. */
static const apr_uint16_t gsm_basic_hi[] = {
    0x00a1, 0x00a3, 0x00a4, 0x00a5, 0x00a7, 0x00bf, 0x00c4, 0x00c5,
    0x00c6, 0x00c7, 0x00c9, 0x00d1, 0x00d6, 0x00d8, 0x00dc, 0x00df,
    0x00e0, 0x00e4, 0x00e5, 0x00e6, 0x00e8, 0x00e9, 0x00ec, 0x00f1,
    0x00f2, 0x00f6, 0x00f8, 0x00f9, 0x00fc, 0x0393, 0x0394, 0x0398,
    0x039b, 0x039e, 0x03a0, 0x03a3, 0x03a6, 0x03a8, 0x03a9,
};

/* Septets @p cp costs in GSM-7: 1 basic, 2 extension (ESC + code), 0 when
 * GSM-7 cannot carry it. */
static int gsm_septets(apr_uint32_t cp)
{
    apr_size_t i;

    if (cp == '\n' || cp == '\r' || (cp >= 0x20 && cp <= 0x5a) || cp == '_'
        || (cp >= 'a' && cp <= 'z')) {
        return 1;   /* ASCII in the basic set: note '`' and tab are not */
    }
    if (cp == '\f' || cp == '[' || cp == '\\' || cp == ']' || cp == '^'
        || cp == '{' || cp == '|' || cp == '}' || cp == '~' || cp == 0x20ac) {
        return 2;
    }
    for (i = 0; i < sizeof(gsm_basic_hi) / sizeof(gsm_basic_hi[0]); i++) {
        if (gsm_basic_hi[i] == cp) {
            return 1;
        }
    }
    return 0;
}

int cs_sms_segments(const char *utf8, const char **pencoding, int *pchars)
{
    const unsigned char *s;
    int gsm = 1, units = 0, single, part, segs, used;

    if (pencoding) {
        *pencoding = "GSM-7";
    }
    if (pchars) {
        *pchars = 0;
    }
    if (!utf8 || !*utf8) {
        return 0;
    }
    for (s = (const unsigned char *)utf8; *s && gsm;) {
        gsm = gsm_septets(next_cp(&s)) != 0;
    }
    single = gsm ? 160 : 70;
    part = gsm ? 153 : 67;
    /* Pack greedily: a two-unit character (escape pair or surrogate pair)
     * that does not fit in what is left of a part starts the next one. */
    segs = 1;
    used = 0;
    for (s = (const unsigned char *)utf8; *s;) {
        apr_uint32_t cp = next_cp(&s);
        int cost = gsm ? gsm_septets(cp) : (cp > 0xffff ? 2 : 1);

        units += cost;
        if (used + cost > part) {
            segs++;
            used = cost;
        }
        else {
            used += cost;
        }
    }
    if (units <= single) {
        segs = 1;
    }
    if (pencoding) {
        *pencoding = gsm ? "GSM-7" : "UCS-2";
    }
    if (pchars) {
        *pchars = units;
    }
    return segs;
}

/* ---- TwiML -------------------------------------------------------------- */

#define TWIML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

/* XML-escape for both text and double- or single-quoted attributes. C0
 * controls other than tab/LF/CR are not allowed in XML 1.0 at all (not
 * even as references), so they are dropped rather than producing a
 * document Twilio rejects. */
static const char *xml_escape(apr_pool_t *p, const char *s)
{
    apr_size_t len = 0;
    const char *c;
    char *out, *o;

    if (!s) {
        return "";
    }
    for (c = s; *c; c++) {
        switch (*c) {
        case '&': len += 5; break;
        case '<': case '>': len += 4; break;
        case '"': case '\'': len += 6; break;
        default: len += 1; break;
        }
    }
    out = o = apr_palloc(p, len + 1);
    for (c = s; *c; c++) {
        const char *rep = NULL;

        switch (*c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default:
            if ((unsigned char)*c < 0x20 && *c != '\t' && *c != '\n'
                && *c != '\r') {
                continue;
            }
            *o++ = *c;
            continue;
        }
        memcpy(o, rep, strlen(rep));
        o += strlen(rep);
    }
    *o = '\0';
    return out;
}

const char *cs_twiml_empty(void)
{
    return TWIML_DECL "<Response/>";
}

const char *cs_twiml_message(apr_pool_t *p, const char *text)
{
    return apr_pstrcat(p, TWIML_DECL "<Response><Message>",
                       xml_escape(p, text), "</Message></Response>", NULL);
}

/* ` name="value"` with the value escaped, or "" when it is NULL. */
static const char *attr(apr_pool_t *p, const char *name, const char *value)
{
    if (!value) {
        return "";
    }
    return apr_pstrcat(p, " ", name, "=\"", xml_escape(p, value), "\"", NULL);
}

const char *cs_twiml_voicemail(apr_pool_t *p, const char *greeting,
                               const char *action_url,
                               const char *recording_cb_url,
                               const char *transcribe_cb_url, int max_length)
{
    const char *say = greeting
        ? apr_pstrcat(p, "<Say>", xml_escape(p, greeting), "</Say>", NULL)
        : "";

    return apr_pstrcat(p, TWIML_DECL "<Response>", say, "<Record",
                       attr(p, "action", action_url),
                       max_length > 0
                           ? apr_psprintf(p, " maxLength=\"%d\"", max_length)
                           : "",
                       attr(p, "recordingStatusCallback", recording_cb_url),
                       transcribe_cb_url ? " transcribe=\"true\"" : "",
                       attr(p, "transcribeCallback", transcribe_cb_url),
                       "/></Response>", NULL);
}

/* ---- Messages.json ------------------------------------------------------ */

/* An integer member given as a JSON number or a numeric string (Twilio's
 * 2010 API is not consistent about this), or 0. */
static int json_int(const cs_json_t *j, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(cs_json_raw(j), key, &v) || !v) {
        return 0;
    }
    if (json_object_is_type(v, json_type_int)) {
        return json_object_get_int(v);
    }
    if (json_object_is_type(v, json_type_string)) {
        return atoi(json_object_get_string(v));
    }
    return 0;
}

apr_status_t cs_twilio_parse_message_response(apr_pool_t *p, const char *json,
                                              apr_size_t len,
                                              const char **psid,
                                              const char **pstatus, int *pcode,
                                              const char **pmessage)
{
    cs_json_t *doc = NULL;
    const char *err = NULL, *sid, *msg;
    int code;

    if (psid) {
        *psid = NULL;
    }
    if (pstatus) {
        *pstatus = NULL;
    }
    if (pcode) {
        *pcode = 0;
    }
    if (pmessage) {
        *pmessage = NULL;
    }
    if (!json || cs_json_parse(&doc, p, json, len, &err) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_object)) {
        return APR_EINVAL;
    }
    /* An error document has "code"/"message"; a Message resource that
     * failed carries "error_code"/"error_message" instead. */
    code = json_int(doc, "code");
    msg = cs_json_get_str(doc, "message");
    if (!code && !msg) {
        code = json_int(doc, "error_code");
        msg = cs_json_get_str(doc, "error_message");
    }
    if (pcode) {
        *pcode = code;
    }
    if (pmessage) {
        *pmessage = msg;
    }
    sid = cs_json_get_str(doc, "sid");
    if (!sid || !*sid) {
        return APR_EINVAL;
    }
    if (psid) {
        *psid = sid;
    }
    if (pstatus) {
        *pstatus = cs_json_get_str(doc, "status");
    }
    return APR_SUCCESS;
}

/* application/x-www-form-urlencoded value: unreserved bytes as is, space
 * as '+', the rest %XX. */
static const char *form_encode(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 3 * strlen(s) + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        }
        else if (c == ' ') {
            *o++ = '+';
        }
        else {
            *o++ = '%';
            *o++ = "0123456789ABCDEF"[c >> 4];
            *o++ = "0123456789ABCDEF"[c & 0xf];
        }
    }
    *o = '\0';
    return out;
}

static void form_add(apr_pool_t *p, const char **body, const char *name,
                     const char *value)
{
    if (!value) {
        return;
    }
    *body = apr_pstrcat(p, *body, **body ? "&" : "", name, "=",
                        form_encode(p, value), NULL);
}

const char *cs_twilio_message_form(apr_pool_t *p, const char *to,
                                   const char *from, const char *body,
                                   const char *status_callback)
{
    const char *form = "";

    form_add(p, &form, "To", to);
    /* A Messaging Service SID lets Twilio pick the sender from its pool. */
    form_add(p, &form,
             from && strncmp(from, "MG", 2) == 0 ? "MessagingServiceSid" : "From",
             from);
    form_add(p, &form, "Body", body);
    form_add(p, &form, "StatusCallback", status_callback);
    return form;
}

cs_twilio_list_t cs_twilio_list_matches(apr_pool_t *p, const char *json, apr_size_t len,
                                        const char *body, apr_time_t since,
                                        apr_array_header_t **psids)
{
    cs_json_t *doc = NULL;
    json_object *list;
    const char *err = NULL;
    apr_array_header_t *out;
    size_t i;

    *psids = NULL;
    if (!json || cs_json_parse(&doc, p, json, len, &err) != APR_SUCCESS
        || !json_object_is_type(cs_json_raw(doc), json_type_object)
        || !json_object_object_get_ex(cs_json_raw(doc), "messages", &list)
        || !json_object_is_type(list, json_type_array)) {
        return CS_TWILIO_LIST_UNREADABLE;
    }
    out = apr_array_make(p, 2, sizeof(const char *));
    for (i = 0; i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i), *v;
        const char *b = NULL, *sid = NULL, *created = NULL;
        apr_time_t t;

        if (!json_object_is_type(e, json_type_object)) {
            continue;
        }
        if (json_object_object_get_ex(e, "body", &v) && json_object_is_type(v, json_type_string))
            b = json_object_get_string(v);
        if (json_object_object_get_ex(e, "sid", &v) && json_object_is_type(v, json_type_string))
            sid = json_object_get_string(v);
        if (json_object_object_get_ex(e, "date_created", &v)
            && json_object_is_type(v, json_type_string))
            created = json_object_get_string(v);
        if (!b || !sid || !*sid || strcmp(b, body ? body : "")) {
            continue;
        }
        /* Created since the attempt began (a minute of clock skew allowed). */
        t = created ? apr_date_parse_rfc(created) : 0;
        if (t > 0 && t + apr_time_from_sec(60) < since) {
            continue;
        }
        APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, sid);
    }
    *psids = out;
    return out->nelts ? CS_TWILIO_LIST_FOUND : CS_TWILIO_LIST_NONE;
}

static int in_list(const apr_array_header_t *list, const char *s)
{
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        const char *x = APR_ARRAY_IDX(list, i, const char *);
        if (x && !strcmp(x, s)) {
            return 1;
        }
    }
    return 0;
}

cs_twilio_list_t cs_twilio_find_in_list(apr_pool_t *p, const char *json, apr_size_t len,
                                        const char *body, apr_time_t since,
                                        const apr_array_header_t *taken, int rivals,
                                        const char **psid)
{
    apr_array_header_t *matches = NULL;
    const char *only = NULL;
    int i, free_ = 0;

    *psid = NULL;
    if (cs_twilio_list_matches(p, json, len, body, since, &matches)
        == CS_TWILIO_LIST_UNREADABLE) {
        return CS_TWILIO_LIST_UNREADABLE;
    }
    for (i = 0; i < matches->nelts; i++) {
        const char *sid = APR_ARRAY_IDX(matches, i, const char *);
        /* Stored on another message of ours: that one's, never ours. */
        if (in_list(taken, sid) || (only && !strcmp(only, sid))) {
            continue;
        }
        only = sid;
        free_++;
    }
    if (free_ == 0) {
        return CS_TWILIO_LIST_NONE;
    }
    if (free_ > 1 || rivals > 0) {
        return CS_TWILIO_LIST_UNSURE;
    }
    *psid = only;
    return CS_TWILIO_LIST_FOUND;
}

const char *cs_twilio_delivery_status(const char *s)
{
    if (!s) return "queued";
    if (!strcmp(s, "delivered") || !strcmp(s, "read")) return "delivered";
    if (!strcmp(s, "sent")) return "sent";
    if (!strcmp(s, "undelivered")) return "undelivered";
    if (!strcmp(s, "failed") || !strcmp(s, "canceled")) return "failed";
    if (!strcmp(s, "sending")) return "sending";
    return "queued";
}

/* ---- webhooks, as journaled ---------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* URL-decode s[0..n) ('+' is a space) into a new NUL-terminated string. */
static char *form_decode(apr_pool_t *p, const char *s, apr_size_t n, apr_size_t *plen)
{
    char *out = apr_palloc(p, n + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        }
        else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0
                 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *plen = (apr_size_t)(o - out);
    return out;
}

apr_status_t cs_twilio_parse_form(apr_pool_t *p, const char *body, apr_size_t len,
                                  int max_fields, apr_array_header_t **ppairs)
{
    apr_array_header_t *out = apr_array_make(p, 16, sizeof(cs_pair_t));
    apr_size_t i = 0;

    *ppairs = NULL;
    while (body && i < len) {
        const char *amp = memchr(body + i, '&', len - i);
        apr_size_t end = amp ? (apr_size_t)(amp - body) : len;
        const char *eq = memchr(body + i, '=', end - i);
        apr_size_t klen = eq ? (apr_size_t)(eq - (body + i)) : end - i, vlen = 0;
        cs_pair_t *kv;

        if (end > i) {
            if (out->nelts >= max_fields) {
                return APR_EINVAL;
            }
            kv = apr_array_push(out);
            kv->key = form_decode(p, body + i, klen, &vlen);
            if (eq) {
                kv->value = form_decode(p, eq + 1, end - (apr_size_t)(eq + 1 - body), &vlen);
            }
            else {
                kv->value = "";
                vlen = 0;
            }
            kv->value_len = vlen;
        }
        i = end + 1;
    }
    *ppairs = out;
    return APR_SUCCESS;
}

const char *cs_twilio_param(const apr_array_header_t *params, const char *name)
{
    int i;

    for (i = 0; params && i < params->nelts; i++) {
        const cs_pair_t *kv = &APR_ARRAY_IDX(params, i, cs_pair_t);
        if (kv->key && !strcmp(kv->key, name)) {
            return kv->value ? kv->value : "";
        }
    }
    return NULL;
}

/* A SID: 1-64 letters and digits. */
static int good_sid(const char *s)
{
    apr_size_t n = 0;

    for (; s && *s; s++, n++) {
        if (!apr_isalnum(*s)) {
            return 0;
        }
    }
    return s && n >= 1 && n <= 64;
}

/* A status word: 1-32 of [a-z_-]. */
static int good_word(const char *s)
{
    apr_size_t n = 0;

    for (; s && *s; s++, n++) {
        if (!(apr_islower(*s) || *s == '_' || *s == '-')) {
            return 0;
        }
    }
    return s && n >= 1 && n <= 32;
}

static int good_id(const char *s)
{
    apr_size_t n = 0;

    for (; s && *s; s++, n++) {
        if (!apr_isdigit(*s)) {
            return 0;
        }
    }
    return s && n >= 1 && n <= 18;
}

const char *cs_twilio_event_id(apr_pool_t *p, cs_twilio_event_t kind,
                               const apr_array_header_t *params,
                               const char *message_id)
{
    const char *call = cs_twilio_param(params, "CallSid"), *x;

    switch (kind) {
    case CS_TWILIO_EV_SMS:
        x = cs_twilio_param(params, "MessageSid");
        return good_sid(x) ? apr_pstrcat(p, "sms:", x, NULL) : NULL;
    case CS_TWILIO_EV_CALL:
        return good_sid(call) ? apr_pstrcat(p, "call:", call, NULL) : NULL;
    case CS_TWILIO_EV_RECORDING:
        x = cs_twilio_param(params, "RecordingSid");
        if (!good_sid(call) || (x && *x && !good_sid(x))) {
            return NULL;
        }
        return apr_pstrcat(p, "recording:", call, ":", x && *x ? x : "-", NULL);
    case CS_TWILIO_EV_TRANSCRIPTION:
        x = cs_twilio_param(params, "TranscriptionSid");
        if (!good_sid(call) || (x && *x && !good_sid(x))) {
            return NULL;
        }
        if (!x || !*x) {
            x = cs_twilio_param(params, "TranscriptionStatus");
            if (x && *x && !good_word(x)) {
                return NULL;
            }
        }
        return apr_pstrcat(p, "transcription:", call, ":", x && *x ? x : "-", NULL);
    case CS_TWILIO_EV_STATUS:
        x = cs_twilio_param(params, "MessageSid");
        if (!good_id(message_id) || !good_sid(x)
            || !good_word(cs_twilio_param(params, "MessageStatus"))) {
            return NULL;
        }
        return apr_pstrcat(p, "status:", message_id, ":", x, ":",
                           cs_twilio_param(params, "MessageStatus"), NULL);
    default:
        return NULL;
    }
}

cs_twilio_event_t cs_twilio_event_parse(apr_pool_t *p, const char *event_id,
                                        const char **pref)
{
    static const struct { const char *prefix; cs_twilio_event_t kind; } kinds[] = {
        { "sms:", CS_TWILIO_EV_SMS }, { "call:", CS_TWILIO_EV_CALL },
        { "recording:", CS_TWILIO_EV_RECORDING },
        { "transcription:", CS_TWILIO_EV_TRANSCRIPTION },
        { "status:", CS_TWILIO_EV_STATUS }
    };
    apr_size_t i;

    *pref = NULL;
    for (i = 0; event_id && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        apr_size_t n = strlen(kinds[i].prefix);
        if (!strncmp(event_id, kinds[i].prefix, n)) {
            const char *rest = event_id + n;
            apr_size_t m = strcspn(rest, ":");
            if (m == 0) {
                return CS_TWILIO_EV_NONE;
            }
            *pref = apr_pstrmemdup(p, rest, m);
            return kinds[i].kind;
        }
    }
    return CS_TWILIO_EV_NONE;
}

/* ---- requests ------------------------------------------------------------ */

static const char *messages_url(apr_pool_t *p, const cs_twilio_account_t *a)
{
    return apr_psprintf(p, "%s/2010-04-01/Accounts/%s/Messages.json", a->api_base,
                        a->account_sid);
}

static void authenticate(cs_http_req_t *req, const cs_twilio_account_t *a)
{
    req->basic_user = a->account_sid;
    req->basic_pass = a->auth_token;
    req->timeout = a->timeout;
}

void cs_twilio_build_send(cs_http_req_t *req, apr_pool_t *p,
                          const cs_twilio_account_t *a, const char *to,
                          const char *from, const char *body,
                          const char *status_callback)
{
    memset(req, 0, sizeof(*req));
    req->method = "POST";
    req->url = messages_url(p, a);
    req->body = cs_twilio_message_form(p, to, from, body, status_callback);
    req->content_type = "application/x-www-form-urlencoded";
    authenticate(req, a);
}

void cs_twilio_build_list(cs_http_req_t *req, apr_pool_t *p,
                          const cs_twilio_account_t *a, const char *to,
                          const char *from)
{
    memset(req, 0, sizeof(*req));
    req->url = apr_psprintf(p, "%s?To=%s&From=%s&PageSize=50", messages_url(p, a),
                            form_encode(p, to), form_encode(p, from));
    authenticate(req, a);
}
