/* Shared helpers for the libFuzzer targets in tests/fuzz/.
 *
 * Every target: apr_initialize() once (LLVMFuzzerInitialize), one APR pool
 * created and destroyed per input, everything the code under test
 * allocates lives in that pool (json-c values are released by the pool's
 * cleanups), so LeakSanitizer sees a clean slate after each input. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline int fuzz_apr_init(void)
{
    if (apr_initialize() != APR_SUCCESS) {
        abort();
    }
    atexit(apr_terminate);
    return 0;
}

#define FUZZ_APR_INIT                                         \
    int LLVMFuzzerInitialize(int *argc, char ***argv)         \
    {                                                         \
        (void)argc;                                           \
        (void)argv;                                           \
        return fuzz_apr_init();                               \
    }

static inline apr_pool_t *fuzz_pool(void)
{
    apr_pool_t *p = NULL;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        abort();
    }
    return p;
}

/* NUL-terminated pool copy of @p size bytes (embedded NULs kept, so C
 * string functions see a prefix: as a C caller would). */
static inline char *fuzz_cstr(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *s = apr_palloc(p, size + 1);

    if (size) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

/* Exact-size heap copy (not NUL-terminated) so ASan catches any read past
 * @p size: a pool copy would hide overreads inside the pool's block. */
static inline char *fuzz_exact(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);

    if (!s) {
        abort();
    }
    if (size) {
        memcpy(s, data, size);
    }
    return s;
}

/* Split off the first line of [*pdata, *pdata + *psize): returns it as a
 * pool string without its "\n" (and a trailing "\r"), advances past it. */
static inline char *fuzz_take_line(apr_pool_t *p, const uint8_t **pdata,
                                   size_t *psize)
{
    const uint8_t *nl = memchr(*pdata, '\n', *psize);
    size_t n = nl ? (size_t)(nl - *pdata) : *psize;
    size_t adv = nl ? n + 1 : n;
    char *line;

    if (n && (*pdata)[n - 1] == '\r') {
        line = fuzz_cstr(p, *pdata, n - 1);
    }
    else {
        line = fuzz_cstr(p, *pdata, n);
    }
    *pdata += adv;
    *psize -= adv;
    return line;
}

static inline int fuzz_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode one application/x-www-form-urlencoded component ('+' is space,
 * %XX a byte; a bad escape is kept as typed) into a NUL-terminated pool
 * string; *plen gets its length (it may hold NULs). */
static inline char *fuzz_urldecode(apr_pool_t *p, const char *s, size_t n,
                                   size_t *plen)
{
    char *out = apr_palloc(p, n + 1);
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        }
        else if (s[i] == '%' && i + 2 < n
                 && fuzz_hexval((unsigned char)s[i + 1]) >= 0
                 && fuzz_hexval((unsigned char)s[i + 2]) >= 0) {
            out[o++] = (char)(fuzz_hexval((unsigned char)s[i + 1]) * 16
                              + fuzz_hexval((unsigned char)s[i + 2]));
            i += 2;
        }
        else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    if (plen) {
        *plen = o;
    }
    return out;
}

/* Read every byte of @p s so ASan checks the whole range. */
static inline void fuzz_touch(const void *s, size_t n)
{
    volatile unsigned char acc = 0;
    const unsigned char *b = s;
    size_t i;

    for (i = 0; i < n; i++) {
        acc ^= b[i];
    }
    (void)acc;
}

static inline void fuzz_touch_str(const char *s)
{
    if (s) {
        fuzz_touch(s, strlen(s) + 1);
    }
}

#endif
