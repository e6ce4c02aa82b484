/**
 * @file cs_text.h
 * @brief Normalizers for what people type into forms: trimmed text, email
 * addresses and phone numbers. Pure functions over APR pools.
 */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include <apr_pools.h>
#include <apr_errno.h>

/** Copy of @p s without leading/trailing whitespace; NULL stays NULL. */
char *cs_trim(apr_pool_t *p, const char *s);

/** True when @p s is valid UTF-8 without NUL or C0 controls other than
 * tab, CR and LF (so it is safe to store as text and show to staff). */
int cs_text_is_clean(const char *s, apr_size_t len);

/** Characters (code points) in valid UTF-8 @p s, as Postgres' length()
 * counts them. */
apr_size_t cs_utf8_chars(const char *s);

/**
 * Normalize an email address: trims, lowercases the domain (the local part
 * is kept as typed, since some servers treat it case-sensitively) and checks
 * the shape local@label.label with RFC 5321 length limits.
 * @return APR_SUCCESS with *out set, or APR_EINVAL.
 */
apr_status_t cs_email_normalize(apr_pool_t *p, const char *in, const char **out);

/**
 * Normalize a phone number for storage: keeps a leading '+' and the digits,
 * dropping the usual separators (space, dot, dash, parentheses). Requires
 * 7 to 15 digits (E.164's maximum). Letters or other symbols are rejected.
 * @return APR_SUCCESS with *out set, or APR_EINVAL.
 */
apr_status_t cs_phone_normalize(apr_pool_t *p, const char *in, const char **out);

/**
 * Normalize a phone number to E.164 ("+15035550142"). A number written
 * with '+' or an international "00" prefix keeps its country code; a
 * national number gets the calling code of @p region (ISO 3166 alpha-2:
 * US, CA, MX, GB, ES, FR, DE, IT, PT, AR, CO, CL, PE, AU, NZ, IE, NL, BE),
 * with the trunk '0' dropped where the region uses one. Length checks are
 * per region for national numbers, 8-15 digits for international ones.
 * @return APR_SUCCESS with *out set, APR_EINVAL for an invalid number,
 *         APR_ENOTIMPL for an unknown region.
 */
apr_status_t cs_phone_e164(apr_pool_t *p, const char *in, const char *region,
                           const char **out);

/**
 * The network a rate limit counts @p ip in: an IPv4 address itself (also
 * when written IPv4-mapped, ::ffff:a.b.c.d), an IPv6 address's /64 (a host
 * controls its whole /64, and one /64 has many spellings) as
 * "v6:xxxx:xxxx:xxxx:xxxx". Anything unparsable is returned as given.
 */
const char *cs_ip_network(apr_pool_t *p, const char *ip);

/**
 * The same network as cs_ip_network, as a CIDR block PostgreSQL reads
 * (`ip <<= $1::cidr`): "a.b.c.d/32" for an IPv4 address (also when written
 * IPv4-mapped), "xxxx:xxxx:xxxx:xxxx::/64" for an IPv6 one; NULL for
 * anything that is not an IP address.
 */
const char *cs_ip_network_cidr(apr_pool_t *p, const char *ip);

/**
 * A Content-Disposition value that downloads @p filename (UTF-8) as an
 * attachment: filename*= with RFC 5987 percent-encoding (so spaces stay
 * spaces, not "+"), and a plain ASCII filename= fallback with anything
 * unsafe in a quoted string replaced by '_'.
 */
const char *cs_attachment_disposition(apr_pool_t *p, const char *filename);

/** Whether @p region is one cs_phone_e164 knows. */
int cs_phone_region_known(const char *region);

#endif
