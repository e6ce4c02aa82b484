#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* memmem, for the bounded header search */
#endif
#include "http/cs_multipart.h"
#include "text/cs_text.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>

#define NOT_FOUND ((apr_size_t)-1)

/* One parse: the body and the delimiter that separates its parts. */
typedef struct {
    apr_pool_t *p;
    const char *body;
    apr_size_t len;
    char delim[4 + CS_MULTIPART_MAX_BOUNDARY + 1];  /* CRLF "--" boundary */
    apr_size_t dlen;
} mp_t;

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 7230 tchar: what header names and unquoted parameter values use. */
static int is_tchar(char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 2046 bchars (space allowed, but not last). */
static int is_bchar(char c)
{
    return apr_isalnum(c) || (c && strchr("'()+_,-./:=? ", c));
}

static apr_status_t fail(const char **perr, apr_status_t rv, const char *msg)
{
    if (perr) {
        *perr = msg;
    }
    return rv;
}

/* ---- header values --------------------------------------------------- */

/* A quoted-string starting at **ps (on the opening quote). Browsers never
 * escape inside quotes (WHATWG percent-encodes '"' instead) and old ones
 * sent Windows paths raw, so only \" and \\ are treated as quoted-pairs;
 * any other backslash is kept, which is what lets C:\x\y.pdf reach the
 * basename step intact. */
static apr_status_t parse_quoted(apr_pool_t *p, const char **ps, const char **pout)
{
    const char *s = *ps + 1;
    char *buf = apr_palloc(p, strlen(s) + 1);
    char *o = buf;

    for (;;) {
        unsigned char c = (unsigned char)*s;
        if (c == '\0') {
            return APR_EINVAL;      /* unterminated */
        }
        if (c == '"') {
            s++;
            break;
        }
        if (c == '\\' && (s[1] == '"' || s[1] == '\\')) {
            *o++ = s[1];
            s += 2;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return APR_EINVAL;
        }
        *o++ = (char)c;
        s++;
    }
    *o = '\0';
    *ps = s;
    *pout = buf;
    return APR_SUCCESS;
}

static const char *parse_token(apr_pool_t *p, const char **ps)
{
    const char *s = *ps;
    while (is_tchar(*s)) {
        s++;
    }
    if (s == *ps) {
        return NULL;
    }
    {
        const char *tok = apr_pstrmemdup(p, *ps, s - *ps);
        *ps = s;
        return tok;
    }
}

/*
 * Parse "type[/subtype] *( OWS ";" OWS name "=" value )" as Content-Type
 * and Content-Disposition share it. The type comes back lowercased;
 * parameter names are case-insensitive (apr_table_t) and may appear once,
 * since two names or two filenames on one part have no right answer.
 */
static apr_status_t parse_value(apr_pool_t *p, const char *s, int with_subtype,
                                const char **ptype, apr_table_t **pparams)
{
    const char *type, *sub;
    apr_table_t *params = apr_table_make(p, 4);

    while (is_ows(*s)) {
        s++;
    }
    if (!(type = parse_token(p, &s))) {
        return APR_EINVAL;
    }
    if (with_subtype) {
        if (*s++ != '/' || !(sub = parse_token(p, &s))) {
            return APR_EINVAL;
        }
        type = apr_pstrcat(p, type, "/", sub, NULL);
    }
    for (;;) {
        const char *name, *value;

        while (is_ows(*s)) {
            s++;
        }
        if (*s == '\0') {
            break;
        }
        if (*s++ != ';') {
            return APR_EINVAL;
        }
        while (is_ows(*s)) {
            s++;
        }
        if (*s == '\0') {
            break;      /* a trailing ';' is harmless */
        }
        if (!(name = parse_token(p, &s))) {
            return APR_EINVAL;
        }
        while (is_ows(*s)) {
            s++;
        }
        if (*s++ != '=') {
            return APR_EINVAL;
        }
        while (is_ows(*s)) {
            s++;
        }
        if (*s == '"') {
            if (parse_quoted(p, &s, &value) != APR_SUCCESS) {
                return APR_EINVAL;
            }
        }
        else if (!(value = parse_token(p, &s))) {
            return APR_EINVAL;
        }
        if (apr_table_get(params, name)) {
            return APR_EINVAL;
        }
        apr_table_setn(params, name, value);
    }
    {
        char *t = apr_pstrdup(p, type);
        *ptype = t;
        for (; *t; t++) {
            *t = (char)apr_tolower(*t);
        }
    }
    *pparams = params;
    return APR_SUCCESS;
}

/* ---- filenames ------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/*
 * Decode an RFC 5987 ext-value (charset'lang'pct-encoded). RFC 7578 tells
 * senders not to use filename*, but some non-browser clients do; UTF-8 and
 * ISO-8859-1 are the two charsets RFC 5987 requires. Another charset gives
 * APR_ENOTIMPL so the caller falls back to the plain filename.
 */
static apr_status_t decode_ext_value(apr_pool_t *p, const char *v,
                                     const char **pout, apr_size_t *plen)
{
    const char *q1 = strchr(v, '\''), *q2, *s;
    int latin1;
    char *buf, *o;

    if (!q1 || !(q2 = strchr(q1 + 1, '\''))) {
        return APR_EINVAL;
    }
    if ((q1 - v) == 5 && strncasecmp(v, "utf-8", 5) == 0) {
        latin1 = 0;
    }
    else if ((q1 - v) == 10 && strncasecmp(v, "iso-8859-1", 10) == 0) {
        latin1 = 1;
    }
    else {
        return APR_ENOTIMPL;
    }
    buf = o = apr_palloc(p, 2 * strlen(q2) + 1);
    for (s = q2 + 1; *s; s++) {
        unsigned char b;
        if (*s == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
            if (lo < 0) {
                return APR_EINVAL;
            }
            b = (unsigned char)(hi * 16 + lo);
            s += 2;
        }
        else if (*s == '\'') {
            return APR_EINVAL;
        }
        else {
            b = (unsigned char)*s;
        }
        if (latin1 && b >= 0x80) {
            *o++ = (char)(0xc0 | (b >> 6));
            *o++ = (char)(0x80 | (b & 0x3f));
        }
        else {
            *o++ = (char)b;
        }
    }
    *o = '\0';
    *pout = buf;
    *plen = o - buf;
    return APR_SUCCESS;
}

/* Bytes in the UTF-8 sequence led by @p c; 0 for a byte that cannot lead. */
static apr_size_t utf8_seq_len(unsigned char c)
{
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) return 2;
    if ((c & 0xf0) == 0xe0) return 3;
    if ((c & 0xf8) == 0xf0) return 4;
    return 0;
}

/* Code points that are invisible yet change how a name reads: C1 controls
 * and the bidirectional marks and overrides ("invoice\u202Efdp.exe" shows
 * as "invoiceexe.pdf"). @p s is a valid sequence of @p n bytes. */
static int is_deceptive(const unsigned char *s, apr_size_t n)
{
    unsigned int cp;

    if (n == 2) {
        cp = ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
        return cp <= 0x9f || cp == 0x61c;
    }
    if (n == 3) {
        cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
        return cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
               (cp >= 0x2066 && cp <= 0x2069);
    }
    return 0;
}

/* The name the client gave, reduced to something safe to show and to use
 * as a download name: see cs_part_t.filename. */
static const char *clean_filename(apr_pool_t *p, const char *s, apr_size_t n)
{
    const char *base = s;
    apr_size_t i, olen;
    char *out, *o, *start;

    for (i = 0; i < n; i++) {
        if (s[i] == '/' || s[i] == '\\') {
            base = s + i + 1;
        }
    }
    n -= base - s;
    out = o = apr_palloc(p, n + 1);
    for (i = 0; i < n; ) {
        const unsigned char *u = (const unsigned char *)base + i;
        apr_size_t k = utf8_seq_len(*u);

        if (k == 1) {
            if (*u >= 0x20 && *u != 0x7f) {
                *o++ = (char)*u;
            }
            i++;
        }
        else if (k == 0 || i + k > n || !cs_text_is_clean((const char *)u, k) ||
                 is_deceptive(u, k)) {
            i++;    /* drop the byte; resynchronize on the next one */
        }
        else {
            memcpy(o, u, k);
            o += k;
            i += k;
        }
    }
    *o = '\0';
    for (start = out; *start == ' '; start++)
        ;
    while (o > start && o[-1] == ' ') {
        *--o = '\0';
    }
    if (!*start || strcmp(start, ".") == 0 || strcmp(start, "..") == 0) {
        return "upload";
    }
    olen = o - start;
    if (olen > CS_MULTIPART_MAX_FILENAME) {
        /* Keep a short extension: it is what a person and a desktop use to
         * tell what the file is. Cut the rest on a character boundary. */
        const char *ext = strrchr(start, '.');
        apr_size_t elen = (ext && ext != start && strlen(ext) <= 16) ? strlen(ext) : 0;
        apr_size_t keep = CS_MULTIPART_MAX_FILENAME - elen;

        while (keep > 0 && ((unsigned char)start[keep] & 0xc0) == 0x80) {
            keep--;
        }
        return apr_pstrcat(p, apr_pstrmemdup(p, start, keep),
                           elen ? ext : "", NULL);
    }
    return start;
}

/* ---- delimiters ------------------------------------------------------ */

/*
 * Is there a delimiter's tail at @p t (just past "--boundary")? A close
 * delimiter is "--", then transport padding, then CRLF or the end of the
 * body; an open one is transport padding then CRLF. Anything else means
 * the boundary text was only a prefix of content, which is not a
 * delimiter (as browsers and Go's mime/multipart read it).
 */
static int delim_tail(const mp_t *m, apr_size_t t, int *pclose, apr_size_t *pnext)
{
    int close = 0;
    apr_size_t k = t;

    if (k + 2 <= m->len && m->body[k] == '-' && m->body[k + 1] == '-') {
        close = 1;
        k += 2;
    }
    while (k < m->len && is_ows(m->body[k])) {
        k++;
    }
    if (close && k == m->len) {
        *pclose = 1;
        *pnext = k;
        return 1;
    }
    if (k + 2 <= m->len && m->body[k] == '\r' && m->body[k + 1] == '\n') {
        *pclose = close;
        *pnext = k + 2;
        return 1;
    }
    return 0;
}

/*
 * Offset of the next real delimiter (its leading CRLF) at or after
 * @p from, or NOT_FOUND. memchr finds each CR and the rest is compared by
 * hand: the delimiter holds a single CR (a boundary cannot contain one),
 * so a candidate that matched k bytes puts the next CR at least k bytes
 * on, and the scan stays linear in the body whatever it holds. A memmem()
 * restarted after each false hit would be linear too, but the sanitizers'
 * interceptor checks the whole remaining haystack per call, which turns
 * a body full of near-delimiters quadratic under `make SAN=1`.
 */
static apr_size_t find_delim(const mp_t *m, apr_size_t from, int *pclose,
                             apr_size_t *pnext)
{
    while (from + m->dlen <= m->len) {
        const char *cr = memchr(m->body + from, '\r', m->len - m->dlen - from + 1);
        apr_size_t at, k;

        if (!cr) {
            break;
        }
        at = cr - m->body;
        for (k = 1; k < m->dlen && m->body[at + k] == m->delim[k]; k++)
            ;
        if (k == m->dlen && delim_tail(m, at + m->dlen, pclose, pnext)) {
            return at;
        }
        from = at + 1;
    }
    return NOT_FOUND;
}

/* ---- parts ----------------------------------------------------------- */

/* The headers one part may carry, each at most once. */
typedef struct {
    const char *disposition;
    const char *type;
    const char *encoding;
} part_headers_t;

/* Header lines in [s, end), each ending in CRLF. */
static const char *parse_headers(apr_pool_t *p, const char *s, const char *end,
                                 apr_size_t index, part_headers_t *hs)
{
    memset(hs, 0, sizeof(*hs));
    while (s < end) {
        const char *le = memchr(s, '\r', end - s);     /* the block ends in CRLF */
        const char *colon = NULL, *c, *v, *ve;
        const char **slot;
        apr_size_t nlen;

        /* Obsolete line folding would let one header hide inside another;
         * RFC 7230 deprecated it and browsers never fold. */
        if (is_ows(*s)) {
            return apr_psprintf(p, "part %" APR_SIZE_T_FMT " has a folded header line", index);
        }
        if (le[1] != '\n') {
            return apr_psprintf(p, "part %" APR_SIZE_T_FMT " has a control "
                                "character in its headers", index);
        }
        for (c = s; c < le; c++) {
            unsigned char u = (unsigned char)*c;
            if ((u < 0x20 && u != '\t') || u == 0x7f) {
                return apr_psprintf(p, "part %" APR_SIZE_T_FMT " has a control "
                                    "character in its headers", index);
            }
            if (!colon && u == ':') {
                colon = c;
            }
        }
        if (!colon || colon == s) {
            return apr_psprintf(p, "part %" APR_SIZE_T_FMT " has a header line "
                                "that is not 'Name: value'", index);
        }
        for (c = s; c < colon; c++) {
            if (!is_tchar(*c)) {
                return apr_psprintf(p, "part %" APR_SIZE_T_FMT " has an invalid "
                                    "header name", index);
            }
        }
        nlen = colon - s;
        if (nlen == 19 && strncasecmp(s, "Content-Disposition", nlen) == 0) {
            slot = &hs->disposition;
        }
        else if (nlen == 12 && strncasecmp(s, "Content-Type", nlen) == 0) {
            slot = &hs->type;
        }
        else if (nlen == 25 && strncasecmp(s, "Content-Transfer-Encoding", nlen) == 0) {
            slot = &hs->encoding;
        }
        else {
            slot = NULL;    /* other headers carry nothing we use */
        }
        if (slot) {
            if (*slot) {
                return apr_psprintf(p, "part %" APR_SIZE_T_FMT " repeats the %s header",
                                    index, apr_pstrmemdup(p, s, nlen));
            }
            for (v = colon + 1; v < le && is_ows(*v); v++)
                ;
            for (ve = le; ve > v && is_ows(ve[-1]); ve--)
                ;
            *slot = apr_pstrmemdup(p, v, ve - v);
        }
        s = le + 2;
    }
    return NULL;
}

/* Parse the part whose headers start at @p h and whose content ends where
 * the delimiter at @p d begins; append it to @p parts. */
static apr_status_t parse_part(const mp_t *m, apr_size_t h, apr_size_t d,
                               apr_size_t index, const cs_multipart_limits_t *lim,
                               apr_size_t *files_total, apr_array_header_t *parts,
                               const char **perr)
{
    apr_pool_t *p = m->p;
    const char *body = m->body, *hit, *msg, *dtype, *name, *fname, *fstar;
    apr_size_t window, e, clen;
    part_headers_t hs;
    apr_table_t *params;
    cs_part_t *part;

    if (d <= h || (body[h] == '\r' && body[h + 1] == '\n')) {
        return fail(perr, APR_EINVAL, apr_psprintf(p, "part %" APR_SIZE_T_FMT
                                                   " has no headers", index));
    }
    /* The blank line must come within the header limit and before the
     * delimiter; bounding the search keeps a headerless megabyte cheap. */
    window = d - h;
    if (window > CS_MULTIPART_MAX_HEADER_LEN + 2) {
        window = CS_MULTIPART_MAX_HEADER_LEN + 2;
    }
    hit = memmem(body + h, window, "\r\n\r\n", 4);
    if (!hit) {
        return fail(perr, APR_EINVAL, d - h > CS_MULTIPART_MAX_HEADER_LEN + 2
                    ? apr_psprintf(p, "part %" APR_SIZE_T_FMT " has headers longer "
                                   "than %d bytes", index, CS_MULTIPART_MAX_HEADER_LEN)
                    : apr_psprintf(p, "part %" APR_SIZE_T_FMT " has no blank line "
                                   "after its headers", index));
    }
    e = hit - body;
    if ((msg = parse_headers(p, body + h, body + e + 2, index, &hs))) {
        return fail(perr, APR_EINVAL, msg);
    }
    if (!hs.disposition) {
        return fail(perr, APR_EINVAL, apr_psprintf(p, "part %" APR_SIZE_T_FMT
                                                   " has no Content-Disposition", index));
    }
    if (parse_value(p, hs.disposition, 0, &dtype, &params) != APR_SUCCESS ||
        strcmp(dtype, "form-data") != 0) {
        return fail(perr, APR_EINVAL, apr_psprintf(p, "part %" APR_SIZE_T_FMT " has an "
                                                   "invalid Content-Disposition", index));
    }
    name = apr_table_get(params, "name");
    if (!name || !*name) {
        return fail(perr, APR_EINVAL, apr_psprintf(p, "part %" APR_SIZE_T_FMT
                                                   " has no name", index));
    }
    if (!cs_text_is_clean(name, strlen(name)) || strpbrk(name, "\t\r\n")) {
        return fail(perr, APR_EINVAL, apr_psprintf(p, "part %" APR_SIZE_T_FMT " has a name "
                                                   "that is not clean UTF-8 text", index));
    }

    part = apr_array_push(parts);
    memset(part, 0, sizeof(*part));
    part->name = name;

    fname = apr_table_get(params, "filename");
    fstar = apr_table_get(params, "filename*");
    if (fstar) {
        const char *dec;
        apr_size_t dlen;
        apr_status_t rv = decode_ext_value(p, fstar, &dec, &dlen);
        if (rv == APR_SUCCESS) {
            part->filename = clean_filename(p, dec, dlen);
        }
        else if (rv != APR_ENOTIMPL) {
            return fail(perr, APR_EINVAL, apr_psprintf(p, "part '%s' has an invalid "
                                                       "filename*", name));
        }
    }
    if (!part->filename && fname) {
        part->filename = clean_filename(p, fname, strlen(fname));
    }
    if (!part->filename && fstar) {
        part->filename = "upload";  /* a file, in a charset we do not read */
    }

    if (hs.type && *hs.type) {
        apr_table_t *tparams;
        if (parse_value(p, hs.type, 1, &part->content_type, &tparams) != APR_SUCCESS) {
            return fail(perr, APR_EINVAL, apr_psprintf(p, "part '%s' has an invalid "
                                                       "Content-Type", name));
        }
    }
    /* RFC 7578 deprecates Content-Transfer-Encoding; storing base64 text
     * as if it were the file would be silently wrong, so refuse it. */
    if (hs.encoding && strcasecmp(hs.encoding, "binary") != 0 &&
        strcasecmp(hs.encoding, "8bit") != 0 && strcasecmp(hs.encoding, "7bit") != 0) {
        return fail(perr, APR_EINVAL, apr_psprintf(p, "part '%s' uses Content-Transfer-"
                                                   "Encoding %s", name, hs.encoding));
    }

    clen = d - (e + 4);
    if (part->filename) {
        if (clen > lim->max_file_size) {
            return fail(perr, APR_ENOSPC, apr_psprintf(p, "file '%s' is larger than %"
                                                       APR_SIZE_T_FMT " bytes",
                                                       name, lim->max_file_size));
        }
        *files_total += clen;
        if (*files_total > lim->max_files_total) {
            return fail(perr, APR_ENOSPC, apr_psprintf(p, "file '%s' brings the files "
                                                       "over %" APR_SIZE_T_FMT " bytes "
                                                       "in total", name,
                                                       lim->max_files_total));
        }
        part->data = body + e + 4;
    }
    else {
        if (clen > lim->max_field_size) {
            return fail(perr, APR_ENOSPC, apr_psprintf(p, "field '%s' is larger than %"
                                                       APR_SIZE_T_FMT " bytes",
                                                       name, lim->max_field_size));
        }
        part->data = apr_pstrmemdup(p, body + e + 4, clen);
    }
    part->len = clen;
    return APR_SUCCESS;
}

/* The boundary from the request's Content-Type, into m->delim. */
static apr_status_t set_boundary(mp_t *m, const char *content_type, const char **perr)
{
    const char *type, *b;
    apr_table_t *params;
    apr_size_t blen, i;

    if (!content_type || parse_value(m->p, content_type, 1, &type, &params) != APR_SUCCESS) {
        return fail(perr, APR_EINVAL, "the Content-Type header is malformed");
    }
    if (strcmp(type, "multipart/form-data") != 0) {
        return fail(perr, APR_EINVAL, "the body is not multipart/form-data");
    }
    if (!(b = apr_table_get(params, "boundary"))) {
        return fail(perr, APR_EINVAL, "the Content-Type has no boundary");
    }
    blen = strlen(b);
    if (blen == 0 || blen > CS_MULTIPART_MAX_BOUNDARY || b[blen - 1] == ' ') {
        return fail(perr, APR_EINVAL, "the multipart boundary is empty, too long "
                    "or ends in a space");
    }
    for (i = 0; i < blen; i++) {
        if (!is_bchar(b[i])) {
            return fail(perr, APR_EINVAL, "the multipart boundary has a character "
                        "RFC 2046 does not allow");
        }
    }
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, b, blen);
    m->dlen = 4 + blen;
    m->delim[m->dlen] = '\0';
    return APR_SUCCESS;
}

apr_status_t cs_multipart_parse(apr_array_header_t **pparts, apr_pool_t *p,
                                const char *content_type, const char *body,
                                apr_size_t len,
                                const cs_multipart_limits_t *limits,
                                const char **perr)
{
    mp_t m;
    apr_array_header_t *parts;
    apr_size_t next = 0, nparts = 0, files_total = 0;
    int close = 0;
    apr_status_t rv;

    *pparts = NULL;
    if (perr) {
        *perr = NULL;
    }
    memset(&m, 0, sizeof(m));
    m.p = p;
    m.body = body;
    m.len = body ? len : 0;
    if ((rv = set_boundary(&m, content_type, perr)) != APR_SUCCESS) {
        return rv;
    }

    /* The first delimiter's CRLF is optional when it opens the body (RFC
     * 2046: the CRLF belongs to the delimiter, and there is no preamble
     * line before it to end). Otherwise skip the preamble. */
    if (!(m.len >= m.dlen - 2 && memcmp(m.body, m.delim + 2, m.dlen - 2) == 0 &&
          delim_tail(&m, m.dlen - 2, &close, &next)) &&
        find_delim(&m, 0, &close, &next) == NOT_FOUND) {
        return fail(perr, APR_EINVAL, "the body has no multipart boundary delimiter");
    }

    parts = apr_array_make(p, 8, sizeof(cs_part_t));
    while (!close) {
        apr_size_t h = next, d;

        if (++nparts > limits->max_parts) {
            return fail(perr, APR_ENOSPC, apr_psprintf(p, "the form has more than %"
                                                       APR_SIZE_T_FMT " parts",
                                                       limits->max_parts));
        }
        /* Search from the CRLF that ended the delimiter line, so a
         * delimiter right after it (an empty part) is seen as such. */
        if ((d = find_delim(&m, h - 2, &close, &next)) == NOT_FOUND) {
            return fail(perr, APR_EINVAL, "the body ends without a closing "
                        "boundary delimiter");
        }
        if ((rv = parse_part(&m, h, d, nparts, limits, &files_total, parts, perr))
            != APR_SUCCESS) {
            return rv;
        }
    }
    *pparts = parts;
    return APR_SUCCESS;
}
