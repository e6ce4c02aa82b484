#include "http/cs_sniff.h"

#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_thread_mutex.h>
#include <magic.h>
#include <string.h>

#define OCTET_STREAM "application/octet-stream"

struct cs_sniffer_t {
    magic_t cookie;
    apr_thread_mutex_t *lock;
};

static apr_status_t close_cookie(void *data)
{
    cs_sniffer_t *s = data;
    if (s->cookie) {
        magic_close(s->cookie);
        s->cookie = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t cs_sniffer_create(cs_sniffer_t **pout, apr_pool_t *p, const char **perr)
{
    cs_sniffer_t *s = apr_pcalloc(p, sizeof(*s));
    apr_status_t rv;

    *pout = NULL;
    if (perr) {
        *perr = NULL;
    }
    rv = apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        if (perr) {
            *perr = "cannot create the sniffer's mutex";
        }
        return rv;
    }
    if (!(s->cookie = magic_open(MAGIC_MIME_TYPE))) {
        if (perr) {
            *perr = "magic_open failed (out of memory?)";
        }
        return APR_ENOMEM;
    }
    /* Registered before loading, so a failed load is closed too. */
    apr_pool_cleanup_register(p, s, close_cookie, apr_pool_cleanup_null);
    if (magic_load(s->cookie, NULL) != 0) {
        const char *why = magic_error(s->cookie);
        if (perr) {
            *perr = apr_pstrcat(p, "cannot load the libmagic database: ",
                                why ? why : "unknown error", NULL);
        }
        apr_pool_cleanup_run(p, s, close_cookie);
        return APR_EGENERAL;
    }
    *pout = s;
    return APR_SUCCESS;
}

/* "type/subtype" made of token characters, nothing else. */
static int is_media_type(const char *t, apr_size_t n)
{
    apr_size_t i, slash = 0;

    for (i = 0; i < n; i++) {
        char c = t[i];
        if (c == '/') {
            if (slash || i == 0) {
                return 0;
            }
            slash = i;
        }
        else if (!apr_isalnum(c) && !strchr("!#$%&'*+-.^_`|~", c)) {
            return 0;
        }
    }
    return slash && slash + 1 < n;
}

const char *cs_sniff(cs_sniffer_t *s, apr_pool_t *p, const void *data, apr_size_t len)
{
    const char *r, *out = NULL;

    if (!s || (!data && len)) {
        return OCTET_STREAM;
    }
    if (len > CS_SNIFF_MAX_BYTES) {
        len = CS_SNIFF_MAX_BYTES;
    }
    if (apr_thread_mutex_lock(s->lock) != APR_SUCCESS) {
        return OCTET_STREAM;
    }
    /* The answer lives in the cookie and the next call overwrites it:
     * copy it before letting another thread in. */
    r = magic_buffer(s->cookie, len ? data : "", len);
    if (r && is_media_type(r, strlen(r))) {
        out = apr_pstrdup(p, r);
    }
    apr_thread_mutex_unlock(s->lock);
    if (!out) {
        return OCTET_STREAM;
    }
    {
        char *t;
        for (t = (char *)out; *t; t++) {
            *t = (char)apr_tolower(*t);
        }
    }
    return out;
}

/* Length of the media type at the start of @p t, without parameters or
 * trailing whitespace. */
static apr_size_t media_type_len(const char *t)
{
    apr_size_t n = strcspn(t, ";");
    while (n > 0 && apr_isspace(t[n - 1])) {
        n--;
    }
    return n;
}

int cs_type_allowed(const char *type, const char *allow_list)
{
    apr_size_t tlen;
    const char *a;

    if (!type || !allow_list) {
        return 0;
    }
    while (apr_isspace(*type)) {
        type++;
    }
    tlen = media_type_len(type);
    if (!is_media_type(type, tlen)) {
        return 0;
    }
    for (a = allow_list; *a; ) {
        apr_size_t n;

        a += strspn(a, ", \t\r\n");
        n = strcspn(a, ", \t\r\n");
        if (n == 0) {
            break;
        }
        if (n == tlen && strncasecmp(a, type, n) == 0) {
            return 1;
        }
        /* "image/\*": the major type and its slash must match, and the
         * major type must be a real one, so a "*" major type allows nothing. */
        if (n > 2 && a[n - 2] == '/' && a[n - 1] == '*' && a[0] != '*' &&
            n - 1 <= tlen && strncasecmp(a, type, n - 1) == 0) {
            return 1;
        }
        a += n;
    }
    return 0;
}

/* Types a browser renders as a document or runs, or that start a program
 * on a desktop, matched on the whole media type. */
static const char *const unsafe_types[] = {
    "text/html", "application/xhtml+xml", "image/svg+xml",
    "text/xml", "application/xml", "application/xslt+xml",
    "application/javascript", "text/javascript", "application/x-javascript",
    "application/ecmascript", "text/ecmascript",
    "application/wasm",
    "application/x-executable", "application/x-pie-executable",
    "application/x-sharedlib", "application/x-object", "application/x-coredump",
    "application/x-mach-binary", "application/x-dosexec",
    "application/vnd.microsoft.portable-executable", "application/x-msdownload",
    "application/x-msi", "application/x-ms-installer", "application/x-ms-shortcut",
    "application/hta", "application/x-bat", "application/x-msdos-program",
    "application/java-archive", "application/x-java-archive",
    "application/x-java-applet", "application/x-java-jnlp-file",
    "application/vnd.android.package-archive",
    "application/x-shockwave-flash", "application/x-sh", "application/x-csh",
    "application/x-shellscript", "application/x-perl", "application/x-python",
    "application/x-python-code", "application/x-bytecode.python",
    "application/x-php", "application/x-httpd-php", "application/x-ruby",
    "application/x-tcl", "application/x-lua",
    NULL
};

/* The text types that are only ever shown as text. */
static const char *const safe_text_types[] = {
    "text/plain", "text/csv", "text/tab-separated-values", "text/calendar",
    "text/vcard", "text/x-vcard", "text/markdown", "text/rtf",
    NULL
};

static int in_list(const char *const *list, const char *t, apr_size_t n)
{
    for (; *list; list++) {
        if (strlen(*list) == n && strncasecmp(*list, t, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Does @p t (length @p n) end with @p suffix, ignoring case? */
static int ends_with(const char *t, apr_size_t n, const char *suffix)
{
    apr_size_t k = strlen(suffix);
    return n >= k && strncasecmp(t + n - k, suffix, k) == 0;
}

const char *cs_safe_serve_type(const char *sniffed)
{
    const char *t = sniffed;
    apr_size_t n;

    if (!t) {
        return OCTET_STREAM;
    }
    while (apr_isspace(*t)) {
        t++;
    }
    n = media_type_len(t);
    if (!is_media_type(t, n) || in_list(unsafe_types, t, n) ||
        ends_with(t, n, "+xml") || ends_with(t, n, "/xml") ||
        ends_with(t, n, "script") ||                /* x-shellscript, javascript... */
        (n >= 10 && strncasecmp(t, "multipart/", 10) == 0) ||
        (n >= 8 && strncasecmp(t, "message/", 8) == 0) ||
        (n >= 5 && strncasecmp(t, "text/", 5) == 0 && !in_list(safe_text_types, t, n))) {
        return OCTET_STREAM;
    }
    return sniffed;
}
