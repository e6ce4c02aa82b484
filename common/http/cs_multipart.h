/**
 * @file cs_multipart.h
 * @brief A strict multipart/form-data (RFC 7578) parser over a complete
 * request body held in memory.
 *
 * The module reads the body within its size limit first and hands it over
 * whole: parsing a finished buffer keeps this code free of the state
 * machine a streaming parser needs, and lets the delimiter search be one
 * linear pass over the body, so adversarial bodies cannot make it
 * quadratic.
 *
 * Strict means: CRLF line endings only, header names that are tokens, no
 * folded header lines, a Content-Disposition of "form-data" with a name on
 * every part, a closing delimiter, and no transfer encoding other than the
 * identity ones. Anything else is refused rather than guessed at, since a
 * lenient parser that disagrees with the browser about where a part ends is
 * how smuggled fields happen.
 */
#ifndef CS_MULTIPART_H
#define CS_MULTIPART_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>

/** Longest boundary RFC 2046 allows. */
#define CS_MULTIPART_MAX_BOUNDARY    70
/** Most bytes of headers one part may carry (browsers send ~150). */
#define CS_MULTIPART_MAX_HEADER_LEN  8192
/** Longest filename kept, in bytes (what most filesystems accept). */
#define CS_MULTIPART_MAX_FILENAME    255

/** What a form may send. A limit of 0 means "none allowed", not
 * "unlimited", so a forgotten field fails closed. */
typedef struct {
    apr_size_t max_parts;        /**< parts in the body, e.g. 80 */
    apr_size_t max_file_size;    /**< bytes per file part (one with a filename) */
    apr_size_t max_files_total;  /**< bytes of all file parts together */
    apr_size_t max_field_size;   /**< bytes per plain (non-file) part */
} cs_multipart_limits_t;

/** One part of the form, in body order. */
typedef struct {
    /** Form field name from Content-Disposition: never NULL or empty, and
     * clean UTF-8 without control characters (else APR_EINVAL). */
    const char *name;
    /**
     * NULL for a plain field. For a file part, the base name only: any
     * path is stripped (C:\\x\\y.pdf gives y.pdf, ../../etc gives etc),
     * control characters, invalid UTF-8 and bidirectional overrides are
     * dropped, and it is cut to CS_MULTIPART_MAX_FILENAME bytes. A name
     * left empty, "." or ".." becomes "upload"; note that browsers send a
     * file input nobody filled in as filename="" with no content, which
     * therefore arrives here as "upload" with len 0.
     */
    const char *filename;
    /** The media type the client declared (type/subtype only, parameters
     * dropped, lowercased), NULL if absent. Untrusted: sniff the bytes. */
    const char *content_type;
    /**
     * The content. Plain fields are NUL-terminated copies. File parts
     * point into the body (no copy of what may be megabytes, and so not
     * NUL-terminated): the body must outlive the parts. Either way @c len
     * is authoritative, since content may hold NULs.
     */
    const char *data;
    apr_size_t len;
} cs_part_t;

/**
 * Parse a multipart/form-data body.
 *
 * @param pparts  receives an array of cs_part_t in body order (possibly
 *                empty: a form with no fields sends only the closing
 *                delimiter), or NULL on error.
 * @param content_type the request's Content-Type header value, which must
 *                be multipart/form-data with a boundary parameter (token or
 *                quoted-string, 1 to 70 characters of RFC 2046 bchars).
 * @param body, len the complete body; it may contain NULs.
 * @param limits  required.
 * @param perr    if not NULL, receives NULL on success or a short message
 *                naming the field when known, e.g.
 *                "file 'photo' is larger than 5242880 bytes".
 * @return APR_SUCCESS; APR_EINVAL for malformed input (no or bad boundary,
 *         no closing delimiter, a part without headers, name or blank line,
 *         headers too long, bad header syntax...); APR_ENOSPC when a limit
 *         is exceeded. The first problem in body order wins.
 */
apr_status_t cs_multipart_parse(apr_array_header_t **pparts, apr_pool_t *p,
                                const char *content_type, const char *body,
                                apr_size_t len,
                                const cs_multipart_limits_t *limits,
                                const char **perr);

#endif
