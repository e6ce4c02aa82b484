#include "text/cs_text.h"

#include <apr_strings.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <string.h>

char *cs_trim(apr_pool_t *p, const char *s)
{
    const char *end;

    if (!s) {
        return NULL;
    }
    while (*s && apr_isspace(*s)) {
        s++;
    }
    end = s + strlen(s);
    while (end > s && apr_isspace(end[-1])) {
        end--;
    }
    return apr_pstrmemdup(p, s, end - s);
}

int cs_text_is_clean(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0;

    while (i < len) {
        unsigned char c = u[i];
        apr_size_t n, k;
        unsigned int cp;

        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
                return 0;
            }
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
        else { return 0; }
        if (i + n >= len) {
            return 0;       /* truncated sequence */
        }
        for (k = 1; k <= n; k++) {
            if ((u[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        /* Reject overlong forms, surrogates and out-of-range code points. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
            (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

apr_size_t cs_utf8_chars(const char *s)
{
    apr_size_t n = 0;
    for (; *s; s++) {
        n += ((unsigned char)*s & 0xc0) != 0x80;   /* skip continuation bytes */
    }
    return n;
}

static int is_atext(char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

apr_status_t cs_email_normalize(apr_pool_t *p, const char *in, const char **out)
{
    char *s = cs_trim(p, in), *at, *d, *label;
    apr_size_t local_len, i;
    int labels = 0;

    *out = NULL;
    if (!s || !*s || strlen(s) > 254) {
        return APR_EINVAL;
    }
    at = strrchr(s, '@');
    if (!at || at == s || strchr(s, '@') != at) {
        return APR_EINVAL;
    }
    local_len = (apr_size_t)(at - s);
    if (local_len > 64 || s[0] == '.' || at[-1] == '.' || strstr(s, "..")) {
        return APR_EINVAL;
    }
    for (i = 0; i < local_len; i++) {
        if (!is_atext(s[i])) {
            return APR_EINVAL;
        }
    }
    d = at + 1;
    if (!*d || strlen(d) > 253) {
        return APR_EINVAL;
    }
    for (label = d; label; ) {
        char *dot = strchr(label, '.');
        apr_size_t n = dot ? (apr_size_t)(dot - label) : strlen(label);
        if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-') {
            return APR_EINVAL;
        }
        for (i = 0; i < n; i++) {
            if (!apr_isalnum(label[i]) && label[i] != '-') {
                return APR_EINVAL;
            }
            label[i] = apr_tolower(label[i]);
        }
        labels++;
        label = dot ? dot + 1 : NULL;
    }
    if (labels < 2) {
        return APR_EINVAL;
    }
    *out = s;
    return APR_SUCCESS;
}

apr_status_t cs_phone_normalize(apr_pool_t *p, const char *in, const char **out)
{
    char *s = cs_trim(p, in), *w;
    const char *r;
    int digits = 0;

    *out = NULL;
    if (!s || !*s) {
        return APR_EINVAL;
    }
    for (r = s, w = s; *r; r++) {
        if (apr_isdigit(*r)) {
            *w++ = *r;
            digits++;
        }
        else if (*r == '+' && w == s && digits == 0) {
            *w++ = '+';
        }
        else if (!strchr(" .-()/", *r)) {
            return APR_EINVAL;
        }
    }
    *w = '\0';
    if (digits < 7 || digits > 15) {
        return APR_EINVAL;
    }
    *out = s;
    return APR_SUCCESS;
}

/* Calling code, national significant number length range, trunk prefix. */
typedef struct {
    const char *region;
    const char *cc;
    int min_len, max_len;
    int trunk_zero;
} region_t;

static const region_t regions[] = {
    { "US", "1", 10, 10, 0 }, { "CA", "1", 10, 10, 0 },
    { "MX", "52", 10, 10, 0 }, { "GB", "44", 9, 10, 1 },
    { "ES", "34", 9, 9, 0 },  { "FR", "33", 9, 9, 1 },
    { "DE", "49", 6, 13, 1 }, { "IT", "39", 6, 11, 0 },
    { "PT", "351", 9, 9, 0 }, { "AR", "54", 10, 10, 1 },
    { "CO", "57", 10, 10, 0 }, { "CL", "56", 9, 9, 0 },
    { "PE", "51", 8, 9, 1 },  { "AU", "61", 9, 9, 1 },
    { "NZ", "64", 8, 10, 1 }, { "IE", "353", 7, 9, 1 },
    { "NL", "31", 9, 9, 1 },  { "BE", "32", 8, 9, 1 },
};

static const region_t *find_region(const char *region)
{
    size_t i;
    for (i = 0; region && i < sizeof(regions) / sizeof(regions[0]); i++) {
        if (!strcasecmp(regions[i].region, region)) {
            return &regions[i];
        }
    }
    return NULL;
}

int cs_phone_region_known(const char *region)
{
    return find_region(region) != NULL;
}

apr_status_t cs_phone_e164(apr_pool_t *p, const char *in, const char *region,
                           const char **out)
{
    const region_t *rg = find_region(region);
    const char *digits;
    apr_size_t n;

    *out = NULL;
    if (!rg) {
        return APR_ENOTIMPL;
    }
    if (cs_phone_normalize(p, in, &digits) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    if (digits[0] == '+' || !strncmp(digits, "00", 2)) {
        digits += digits[0] == '+' ? 1 : 2;
        n = strlen(digits);
        if (n < 8 || n > 15 || digits[0] == '0') {
            return APR_EINVAL;
        }
        *out = apr_pstrcat(p, "+", digits, NULL);
        return APR_SUCCESS;
    }
    /* NANP numbers are often written with the leading 1. */
    if (!strcmp(rg->cc, "1") && strlen(digits) == 11 && digits[0] == '1') {
        digits++;
    }
    if (rg->trunk_zero && digits[0] == '0') {
        digits++;
    }
    n = strlen(digits);
    if ((int)n < rg->min_len || (int)n > rg->max_len || digits[0] == '0') {
        return APR_EINVAL;
    }
    /* NANP area codes and exchanges never start with 0 or 1. */
    if (!strcmp(rg->cc, "1") && (digits[0] < '2' || digits[3] < '2')) {
        return APR_EINVAL;
    }
    *out = apr_pstrcat(p, "+", rg->cc, digits, NULL);
    return APR_SUCCESS;
}

const char *cs_ip_network(apr_pool_t *p, const char *ip)
{
    unsigned char a[16];
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    if (!ip || !strchr(ip, ':') || inet_pton(AF_INET6, ip, a) != 1) {
        return ip;
    }
    if (!memcmp(a, mapped, sizeof(mapped))) {
        return apr_psprintf(p, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    }
    return apr_psprintf(p, "v6:%02x%02x:%02x%02x:%02x%02x:%02x%02x",
                        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
}

const char *cs_ip_network_cidr(apr_pool_t *p, const char *ip)
{
    const char *net = cs_ip_network(p, ip);
    unsigned char a[4];

    if (!net) {
        return NULL;
    }
    if (!strncmp(net, "v6:", 3)) {
        return apr_pstrcat(p, net + 3, "::/64", NULL);
    }
    /* cs_ip_network gives back what it cannot parse: only an IPv4 is one. */
    return inet_pton(AF_INET, net, a) == 1 ? apr_pstrcat(p, net, "/32", NULL) : NULL;
}

const char *cs_attachment_disposition(apr_pool_t *p, const char *filename)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *c;
    size_t n = filename ? strlen(filename) : 0;
    char *enc = apr_palloc(p, n * 3 + 1), *e = enc;
    char *ascii = apr_palloc(p, n + 1), *a = ascii;

    for (c = (const unsigned char *)(filename ? filename : ""); *c; c++) {
        /* RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~" */
        if (apr_isalnum(*c) || strchr("!#$&+-.^_`|~", *c)) {
            *e++ = (char)*c;
        }
        else {
            *e++ = '%';
            *e++ = hex[*c >> 4];
            *e++ = hex[*c & 15];
        }
        *a++ = *c < 0x80 && (apr_isalnum(*c) || strchr(" .-_()[]+,", *c)) ? (char)*c : '_';
    }
    *e = '\0';
    *a = '\0';
    return apr_psprintf(p, "attachment; filename=\"%s\"; filename*=UTF-8''%s",
                        *ascii ? ascii : "download", enc);
}
