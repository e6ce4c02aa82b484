/**
 * @file cs_sniff.h
 * @brief What an uploaded file really is (by its bytes, with libmagic),
 * whether a form accepts it, and which type is safe to serve it back as.
 *
 * The Content-Type a client declares is whatever it likes; deciding by
 * content is what stops "invoice.pdf" that is really HTML from reaching
 * a staff browser as a page of script on our origin.
 */
#ifndef CS_SNIFF_H
#define CS_SNIFF_H

#include <apr_pools.h>
#include <apr_errno.h>

/** At most this many leading bytes are shown to libmagic: every format
 * we accept is identified by its start, and it bounds the time a large
 * text-like upload can take. */
#define CS_SNIFF_MAX_BYTES (1024 * 1024)

/** An open libmagic database. */
typedef struct cs_sniffer_t cs_sniffer_t;

/**
 * Open libmagic (MAGIC_MIME_TYPE) and load its default database.
 *
 * A magic cookie is not thread-safe, so the sniffer serializes calls with
 * its own mutex; create one per process (e.g. in child_init, on the
 * process pool) rather than one per request, since loading the database
 * is the expensive part. magic_close is registered as a cleanup on @p p.
 *
 * @param perr if not NULL, receives libmagic's reason on failure.
 * @return APR_SUCCESS, or an error with *pout NULL.
 */
apr_status_t cs_sniffer_create(cs_sniffer_t **pout, apr_pool_t *p, const char **perr);

/**
 * The MIME type of @p data by content, e.g. "application/pdf", allocated
 * in @p p. "application/octet-stream" when libmagic fails or answers with
 * something that is not a type/subtype. An empty buffer is
 * "application/x-empty". Safe to call from several threads at once.
 */
const char *cs_sniff(cs_sniffer_t *s, apr_pool_t *p, const void *data, apr_size_t len);

/**
 * Whether @p type is in @p allow_list, a comma and/or space separated list
 * such as "image/jpeg image/png, application/pdf". Matching ignores case
 * and any parameters on @p type ("; charset=..."); an entry "image/\*"
 * matches every image type. Neither "*" nor a "*" major type is a
 * wildcard, so a list cannot allow everything by accident. NULL arguments
 * never match.
 */
int cs_type_allowed(const char *type, const char *allow_list);

/**
 * The type to serve a stored file back with. Anything a browser would
 * render as a document or run as script becomes "application/octet-stream":
 * text/html, application/xhtml+xml, image/svg+xml and every other XML type
 * (XML can carry script and XSLT), JavaScript/ECMAScript, multipart and
 * message types (MHTML renders as a page), executables, installers and
 * scripts, and any text/ type other than plain, csv, tab-separated values,
 * calendar, vcard, markdown and rtf. Other types pass through unchanged
 * (the pointer returned is @p sniffed). NULL or malformed input gives
 * application/octet-stream. Serve with "X-Content-Type-Options: nosniff"
 * too, or the browser may second-guess the answer.
 */
const char *cs_safe_serve_type(const char *sniffed);

#endif
