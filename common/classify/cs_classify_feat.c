/* Builtin classifier: text normalization, tokenization and hashed features.
 * Shared verbatim by the runtime and tools/classifier-train, so a model is
 * always scored on the features it was trained on. No model tables here. */
#include "classify/cs_classify_model.h"

#include <apr_strings.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 2166136261u
#define FNV_PRIME  16777619u

uint32_t cs_clf_fnv1a(uint32_t h, const void *data, size_t len)
{
    const unsigned char *b = data;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* ---- UTF-8 decoding and folding ----------------------------------------- */

/* Decode one code point at s[i]; returns its length, or 0 if the bytes
 * there are not valid UTF-8 (overlong, surrogate, truncated, > U+10FFFF). */
static apr_size_t utf8_decode(const unsigned char *s, apr_size_t len,
                              apr_size_t i, unsigned int *cp)
{
    unsigned char c = s[i];
    apr_size_t n, k;
    unsigned int v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) { n = 1; v = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { n = 2; v = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { n = 3; v = c & 0x07; }
    else { return 0; }
    if (i + n >= len) {
        return 0;
    }
    for (k = 1; k <= n; k++) {
        if ((s[i + k] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[i + k] & 0x3f);
    }
    if ((n == 1 && v < 0x80) || (n == 2 && v < 0x800) || (n == 3 && v < 0x10000)
        || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return n + 1;
}

/* U+00C0..U+00FF folded to ASCII ("" = not a letter: a separator). */
static const char *const latin1_fold[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y"
};

/* U+0100..U+017F (Latin Extended-A) folded to one ASCII letter each. */
static const char latin_ext_a_fold[129] =
    "aaaaaa" "cccccccc" "dddd" "eeeeeeeeee" "gggggggg" "hhhh" "iiiiiiiiii"
    "jj" "jj" "kkk" "llllllllll" "nnnnnnnnn" "oooooo" "oo" "rrrrrr" "ssssssss"
    "tttttt" "uuuuuuuuuuuu" "ww" "yyy" "zzzzzz" "s";

/* Letters of scripts other than Latin: kept as typed, counted for the rules. */
static int is_nonlatin_letter(unsigned int cp)
{
    return (cp >= 0x0370 && cp <= 0x03ff) || (cp >= 0x0400 && cp <= 0x052f)
        || (cp >= 0x0530 && cp <= 0x08ff) || (cp >= 0x0900 && cp <= 0x0fff)
        || (cp >= 0x10a0 && cp <= 0x11ff) || (cp >= 0x3040 && cp <= 0x30ff)
        || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff)
        || (cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0xf900 && cp <= 0xfaff);
}

/* Other Latin letters (Extended-B, Extended Additional): kept, counted. */
static int is_other_latin_letter(unsigned int cp)
{
    return (cp >= 0x0180 && cp <= 0x024f) || (cp >= 0x1e00 && cp <= 0x1eff);
}

static int is_emoji(unsigned int cp)
{
    return (cp >= 0x1f000 && cp <= 0x1faff) || (cp >= 0x2600 && cp <= 0x27bf);
}

static int is_spanish_letter(unsigned int cp)
{
    switch (cp) {
    case 0xe1: case 0xe9: case 0xed: case 0xf3: case 0xfa: case 0xf1: case 0xfc:
    case 0xc1: case 0xc9: case 0xcd: case 0xd3: case 0xda: case 0xd1: case 0xdc:
        return 1;
    default:
        return 0;
    }
}

/* Append folded bytes for one input character at original offset @p at. */
static void put(cs_clf_doc_t *d, const char *s, apr_size_t n, apr_size_t at)
{
    apr_size_t k;
    for (k = 0; k < n; k++) {
        d->map[d->folded_len] = at;
        d->folded[d->folded_len++] = s[k];
    }
}

static void fold(cs_clf_doc_t *d)
{
    const unsigned char *s = (const unsigned char *)d->orig;
    apr_size_t len = d->orig_len, i = 0;
    cs_clf_info_t *in = &d->info;

    while (i < len) {
        unsigned int cp;
        apr_size_t n = utf8_decode(s, len, i, &cp);
        char c;

        if (n == 0) {
            in->invalid++;
            put(d, " ", 1, i);
            i++;
            continue;
        }
        if (cp < 0x80) {
            c = (char)cp;
            if (c >= 'A' && c <= 'Z') {
                in->upper++;
                in->letters++;
                c = (char)(c - 'A' + 'a');
            }
            else if (c >= 'a' && c <= 'z') {
                in->letters++;
            }
            else if (c >= '0' && c <= '9') {
                in->digits++;
            }
            else if (c == '!') {
                in->exclaims++;
            }
            else if (c == '?') {
                in->questions++;
            }
            else if ((unsigned char)c < 0x20 || c == 0x7f) {
                c = ' ';
            }
            put(d, &c, 1, i);
        }
        else if (cp >= 0xc0 && cp <= 0xff) {
            const char *f = latin1_fold[cp - 0xc0];
            if (*f) {
                in->letters++;
                in->upper += cp < 0xdf;
                in->spanish_letters += is_spanish_letter(cp);
                put(d, f, strlen(f), i);
            }
            else {
                put(d, " ", 1, i);
            }
        }
        else if (cp >= 0x100 && cp <= 0x17f) {
            in->letters++;
            if (cp == 0x152 || cp == 0x153) {
                put(d, "oe", 2, i);
            }
            else {
                put(d, &latin_ext_a_fold[cp - 0x100], 1, i);
            }
        }
        else if (is_nonlatin_letter(cp) || is_other_latin_letter(cp)) {
            if (is_nonlatin_letter(cp)) {
                in->nonlatin++;
            }
            else {
                in->letters++;
            }
            put(d, (const char *)s + i, n, i);
        }
        else {
            switch (cp) {
            case 0x2018: case 0x2019: case 0x201b: case 0x02bc: case 0x00b4:
                put(d, "'", 1, i);
                break;
            case 0x201c: case 0x201d: case 0x00ab: case 0x00bb:
                put(d, "\"", 1, i);
                break;
            case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014:
            case 0x2015:
                put(d, "-", 1, i);
                break;
            case 0x2026:
                put(d, ".", 1, i);
                break;
            case 0x20ac: case 0x00a3: case 0xff04:
                put(d, "$", 1, i);    /* other currencies count as money */
                break;
            case 0x00bf:
                in->questions++;
                in->inverted_q++;
                put(d, " ", 1, i);
                break;
            case 0x00a1:
                in->exclaims++;
                in->inverted_q++;
                put(d, " ", 1, i);
                break;
            default:
                in->emoji += is_emoji(cp);
                put(d, " ", 1, i);
                break;
            }
        }
        i += n;
    }
    d->map[d->folded_len] = len;
    d->folded[d->folded_len] = '\0';
}

/* ---- tokenization --------------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_word_byte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '$'
        || (unsigned char)c >= 0x80;
}

static int is_alnum_ascii(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static const char *const tlds[] = {
    "com", "net", "org", "io", "co", "ly", "gl", "me", "us", "info", "biz",
    "xyz", "top", "site", "online", "club", "shop", "store", "link", "live",
    "app", "dev", "ru", "cn", "tk", "ml", "ga", "cf", "gq", "pw", "cc", "ws",
    "to", "in", "ai", "es", "mx", "ca", "uk", "de", "fr", "br", "ar", "cl",
    "pe", "ve", "ec", "gy", "id", "gd", "at", "su", "vip", "win", "bid",
    "loan", "work", "click", "icu", "buzz", "fun", "space", "website", "tech",
    "pro", "mobi", "tv", "eu", "nl", "pl", "ua", "kz", "vn", "ph", "pk", "ng",
    NULL
};

static const char *const shorteners[] = {
    "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd",
    "v.gd", "buff.ly", "rebrand.ly", "cutt.ly", "shorturl.at", "rb.gy",
    "tiny.cc", "t.ly", "lnkd.in", "s.id", "bl.ink", "short.io", "shorte.st",
    "adf.ly", "tiny.one", "qr.net", "t.me", "wa.me", "clck.ru", "u.to",
    "ouo.io", "soo.gd", "x.co", "y2u.be", "bit.do", "linktr.ee",
    NULL
};

/* Where people link their own profiles, portfolios, photos and places: such
 * a link is its own token (CS_TOK_PROFILE), not evidence of spam. */
static const char *const profile_hosts[] = {
    "linkedin.com", "instagram.com", "facebook.com", "fb.com", "behance.net",
    "dribbble.com", "indeed.com", "youtube.com", "youtu.be", "tiktok.com",
    "maps.google.com", "maps.app.goo.gl", "drive.google.com", "photos.google.com",
    "photos.app.goo.gl", "dropbox.com", "imgur.com", "icloud.com", "yelp.com",
    "nextdoor.com", "flickr.com", "pinterest.com", "vimeo.com", NULL
};

/* The host or a subdomain of it. */
static int host_in(const char *const *list, const char *h, apr_size_t hn)
{
    for (; *list; list++) {
        apr_size_t n = strlen(*list);
        if (hn >= n && !memcmp(h + hn - n, *list, n) && (hn == n || h[hn - n - 1] == '.')) {
            return 1;
        }
    }
    return 0;
}

static int in_list(const char *const *list, const char *s, apr_size_t n)
{
    for (; *list; list++) {
        if (strlen(*list) == n && memcmp(*list, s, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Is [s, s+n) a host name: letter-bearing labels, a known top-level domain? */
static int looks_like_host(const char *s, apr_size_t n)
{
    apr_size_t i, label = 0, last = 0;
    int dots = 0, alpha = 0;

    if (n < 4) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0) {
                return 0;
            }
            dots++;
            label = 0;
            last = i + 1;
        }
        else if (is_alnum_ascii(c) || c == '-') {
            alpha |= c >= 'a' && c <= 'z';
            label++;
        }
        else {
            return 0;
        }
    }
    return dots > 0 && label > 0 && alpha && in_list(tlds, s + last, n - last);
}

static void add_tok(apr_array_header_t *a, const char *text, int kind,
                    apr_size_t start, apr_size_t end)
{
    cs_clf_tok_t *t = apr_array_push(a);
    t->text = text;
    t->kind = kind;
    t->short_url = 0;
    t->start = start;
    t->end = end;
}

/* Split a chunk (no whitespace) that is not a link into words: letters,
 * digits and '$'; apostrophes inside a word are dropped ("don't" -> dont). */
static void split_words(apr_pool_t *p, cs_clf_doc_t *d, apr_array_header_t *a,
                        apr_size_t cs, apr_size_t ce)
{
    const char *f = d->folded;
    apr_size_t i = cs;

    while (i < ce) {
        apr_size_t ws, k, n = 0;
        char *w;

        while (i < ce && !is_word_byte(f[i])) {
            i++;
        }
        if (i >= ce) {
            break;
        }
        ws = i;
        while (i < ce && (is_word_byte(f[i])
                          || (f[i] == '\'' && i + 1 < ce && i > ws
                              && is_word_byte(f[i + 1])))) {
            i++;
        }
        w = apr_palloc(p, i - ws + 1);
        for (k = ws; k < i; k++) {
            if (f[k] != '\'') {
                w[n++] = f[k];
            }
        }
        w[n] = '\0';
        add_tok(a, w, CS_TOK_WORD, ws, i);
    }
}

static void tokenize_chunk(apr_pool_t *p, cs_clf_doc_t *d, apr_array_header_t *a,
                           apr_size_t cs, apr_size_t ce)
{
    const char *f = d->folded;
    const char *scheme, *at;
    apr_size_t hs, he, k;

    /* Punctuation around a link or address is not part of it. */
    while (cs < ce && f[cs] && strchr("([{<\"'*", f[cs])) {
        cs++;
    }
    while (ce > cs && f[ce - 1] && strchr(".,;:!?)]}>\"'*", f[ce - 1])) {
        ce--;
    }
    if (cs >= ce) {
        return;
    }

    /* A link: scheme://host..., www.host..., or host.tld[/...]. */
    hs = he = 0;
    scheme = NULL;
    for (k = cs; k + 3 <= ce; k++) {
        if (f[k] == ':' && f[k + 1] == '/' && f[k + 2] == '/') {
            scheme = f + k;
            break;
        }
    }
    if (scheme) {
        hs = (apr_size_t)(scheme - f) + 3;
    }
    else if (ce - cs > 4 && memcmp(f + cs, "www.", 4) == 0) {
        hs = cs;
    }
    else {
        apr_size_t e = cs;
        while (e < ce && f[e] != '/' && f[e] != '?' && f[e] != '#') {
            e++;
        }
        if (memchr(f + cs, '@', ce - cs) == NULL && looks_like_host(f + cs, e - cs)) {
            hs = cs;
        }
    }
    if (hs) {
        cs_clf_tok_t *t;
        he = hs;
        while (he < ce && f[he] != '/' && f[he] != '?' && f[he] != '#'
               && f[he] != ':') {
            he++;
        }
        if (he - hs > 4 && memcmp(f + hs, "www.", 4) == 0) {
            hs += 4;
        }
        if (host_in(profile_hosts, f + hs, he - hs)) {
            add_tok(a, "__profile_link", CS_TOK_PROFILE, cs, ce);
            d->info.profile_links++;
            return;
        }
        add_tok(a, "__url", CS_TOK_URL, cs, ce);
        t = &APR_ARRAY_IDX(a, a->nelts - 1, cs_clf_tok_t);
        t->short_url = in_list(shorteners, f + hs, he - hs);
        d->info.urls++;
        d->info.short_urls += t->short_url;
        return;
    }

    /* An email address: local@host.tld. */
    at = memchr(f + cs, '@', ce - cs);
    if (at && at > f + cs && memchr(at, '.', (apr_size_t)(f + ce - at))
        && at + 1 < f + ce && is_alnum_ascii(at[1])) {
        add_tok(a, "__email", CS_TOK_EMAIL, cs, ce);
        d->info.emails++;
        return;
    }
    split_words(p, d, a, cs, ce);
}

cs_clf_doc_t *cs_clf_analyze(apr_pool_t *p, const char *text)
{
    cs_clf_doc_t *d = apr_pcalloc(p, sizeof(*d));
    apr_array_header_t *a;
    apr_size_t i;

    if (!text) {
        text = "";
    }
    d->orig = text;
    d->orig_len = strnlen(text, CS_CLF_MAX_INPUT);
    /* Folding never lengthens: every input character yields at most as many
     * bytes as it had. */
    d->folded = apr_palloc(p, d->orig_len + 1);
    d->map = apr_palloc(p, (d->orig_len + 1) * sizeof(*d->map));
    fold(d);

    a = apr_array_make(p, 64, sizeof(cs_clf_tok_t));
    i = 0;
    while (i < d->folded_len) {
        apr_size_t s;
        while (i < d->folded_len && is_space(d->folded[i])) {
            i++;
        }
        s = i;
        while (i < d->folded_len && !is_space(d->folded[i])) {
            i++;
        }
        if (i > s) {
            tokenize_chunk(p, d, a, s, i);
        }
    }
    d->toks = (cs_clf_tok_t *)a->elts;
    d->ntoks = a->nelts;
    return d;
}

const char *cs_clf_orig_span(apr_pool_t *p, const cs_clf_doc_t *d,
                             apr_size_t start, apr_size_t end)
{
    apr_size_t os, oe;

    if (end > d->folded_len) {
        end = d->folded_len;
    }
    if (start >= end) {
        return "";
    }
    os = d->map[start];
    oe = d->map[end];   /* the next character's offset: ends on a boundary */
    /* The last character may have folded into several bytes that all map
     * to its start; d->map[end] is the next character's start either way. */
    if (oe <= os) {
        oe = os + 1;
    }
    return apr_pstrmemdup(p, d->orig + os, oe - os);
}

/* ---- features --------------------------------------------------------------- */

/* Longest word whose character n-grams are used (longer ones are noise:
 * links without a scheme, glued words, binary junk). */
#define CHAR_NGRAM_MAX_WORD 24
#define CHAR_NGRAM_MIN 3
#define CHAR_NGRAM_MAX 5

typedef struct {
    uint64_t *keys;
    int n, cap;
    uint32_t mask;
    apr_pool_t *p;
} keybuf_t;

static void emit(keybuf_t *kb, uint32_t h, uint32_t kind)
{
    uint64_t key;

    /* Finalize FNV so the low bits used as the bucket depend on all bytes. */
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    key = ((uint64_t)(h & kb->mask) << 2) | kind;
    if (kb->n == kb->cap) {
        uint64_t *nk;
        kb->cap = kb->cap ? kb->cap * 2 : 256;
        nk = apr_palloc(kb->p, (apr_size_t)kb->cap * sizeof(*nk));
        if (kb->n) {
            memcpy(nk, kb->keys, (apr_size_t)kb->n * sizeof(*nk));
        }
        kb->keys = nk;
    }
    kb->keys[kb->n++] = key;
}

static uint32_t kind_seed(char k)
{
    return cs_clf_fnv1a(FNV_OFFSET, &k, 1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A token's feature form: digits become '0' (so phone numbers, prices and
 * times share shapes), into @p buf of at least @p cap bytes; returns length. */
static apr_size_t feature_form(const cs_clf_tok_t *t, char *buf, apr_size_t cap)
{
    apr_size_t n = 0;
    const char *s = t->text;

    for (; *s && n + 1 < cap; s++) {
        buf[n++] = (*s >= '0' && *s <= '9') ? '0' : *s;
    }
    buf[n] = '\0';
    return n;
}

static void emit_meta(keybuf_t *kb, const char *name)
{
    emit(kb, cs_clf_fnv1a(kind_seed('m'), name, strlen(name)), CS_FK_META);
}

int cs_clf_raw_features(apr_pool_t *p, const cs_clf_doc_t *d,
                        unsigned int bucket_bits, cs_clf_raw_t **out)
{
    keybuf_t kb;
    char cur[64], prev[64], gram[CHAR_NGRAM_MAX_WORD + 3];
    apr_size_t curn, prevn;
    uint32_t seed_w = kind_seed('w'), seed_b = kind_seed('b'), seed_c = kind_seed('c');
    const cs_clf_info_t *in = &d->info;
    int i, nraw, words = 0;
    cs_clf_raw_t *raw;

    if (bucket_bits < 8 || bucket_bits > 24) {
        bucket_bits = 16;
    }
    memset(&kb, 0, sizeof(kb));
    kb.p = p;
    kb.mask = (1u << bucket_bits) - 1;

    strcpy(prev, "^");      /* start-of-text marker for the first bigram */
    prevn = 1;
    for (i = 0; i < d->ntoks; i++) {
        const cs_clf_tok_t *t = &d->toks[i];
        uint32_t h;

        curn = feature_form(t, cur, sizeof(cur));
        if (curn == 0) {
            continue;
        }
        words += t->kind == CS_TOK_WORD;
        emit(&kb, cs_clf_fnv1a(seed_w, cur, curn), CS_FK_WORD);
        h = cs_clf_fnv1a(seed_b, prev, prevn);
        h = cs_clf_fnv1a(h, "\x1f", 1);
        emit(&kb, cs_clf_fnv1a(h, cur, curn), CS_FK_BIGRAM);

        if (t->kind == CS_TOK_WORD && curn <= CHAR_NGRAM_MAX_WORD) {
            apr_size_t gl = curn + 2, s, n;
            gram[0] = '<';
            memcpy(gram + 1, cur, curn);
            gram[curn + 1] = '>';
            for (n = CHAR_NGRAM_MIN; n <= CHAR_NGRAM_MAX; n++) {
                for (s = 0; s + n <= gl; s++) {
                    emit(&kb, cs_clf_fnv1a(seed_c, gram + s, n), CS_FK_CHAR);
                }
            }
        }
        if (t->kind == CS_TOK_URL && t->short_url) {
            emit_meta(&kb, "short_url");
        }
        memcpy(prev, cur, curn + 1);
        prevn = curn;
    }

    /* Message shape. */
    emit_meta(&kb, words == 0 ? "len0" : words <= 3 ? "len1-3" : words <= 8 ? "len4-8"
              : words <= 16 ? "len9-16" : words <= 32 ? "len17-32"
              : words <= 64 ? "len33-64" : "len65+");
    if (in->urls) {
        emit_meta(&kb, in->urls >= 3 ? "urls3+" : in->urls == 2 ? "urls2" : "urls1");
    }
    if (in->emails) {
        emit_meta(&kb, "email");
    }
    if (in->nonlatin > 3 && in->nonlatin * 3 > in->letters) {
        emit_meta(&kb, in->urls ? "nonlatin+url" : "nonlatin");
    }
    if (in->letters >= 12 && in->upper * 2 > in->letters) {
        emit_meta(&kb, "shouting");
    }
    if (in->exclaims >= 3) {
        emit_meta(&kb, "exclaims3+");
    }
    if (in->questions) {
        emit_meta(&kb, "question_mark");
    }
    if (in->emoji) {
        emit_meta(&kb, "emoji");
    }

    /* Sort and count. */
    qsort(kb.keys, (size_t)kb.n, sizeof(*kb.keys), cmp_u64);
    raw = apr_palloc(p, (apr_size_t)(kb.n ? kb.n : 1) * sizeof(*raw));
    nraw = 0;
    for (i = 0; i < kb.n; i++) {
        if (nraw && ((uint64_t)raw[nraw - 1].bucket << 2 | raw[nraw - 1].kind) == kb.keys[i]) {
            raw[nraw - 1].count += 1.0;
        }
        else {
            raw[nraw].bucket = (uint32_t)(kb.keys[i] >> 2);
            raw[nraw].kind = (uint32_t)(kb.keys[i] & 3);
            raw[nraw].count = 1.0;
            nraw++;
        }
    }
    *out = raw;
    return nraw;
}

int cs_clf_vectorize(apr_pool_t *p, const cs_clf_raw_t *raw, int nraw,
                     const cs_clf_featcfg_t *cfg, cs_clf_feat_t **out)
{
    cs_clf_feat_t *x = apr_palloc(p, (apr_size_t)(nraw ? nraw : 1) * sizeof(*x));
    int i, n = 0;
    double ss = 0.0;

    for (i = 0; i < nraw; i++) {
        double c = raw[i].count, v;
        unsigned int k = raw[i].kind < CS_FK_N ? raw[i].kind : CS_FK_META;

        if (cfg->sublinear) {
            c = 1.0 + log(c);
        }
        v = c * cfg->kind_weight[k];
        if (v <= 0.0) {
            continue;
        }
        if (n && x[n - 1].bucket == raw[i].bucket) {
            x[n - 1].value += v;
        }
        else {
            x[n].bucket = raw[i].bucket;
            x[n].value = v;
            n++;
        }
    }
    if (cfg->norm > 0.0) {
        for (i = 0; i < n; i++) {
            ss += x[i].value * x[i].value;
        }
        if (ss > 0.0) {
            double f = cfg->norm / sqrt(ss);
            for (i = 0; i < n; i++) {
                x[i].value *= f;
            }
        }
    }
    *out = x;
    return n;
}

/* ---- scoring ---------------------------------------------------------------- */

void cs_clf_softmax(double *v, int n)
{
    double mx = v[0], sum = 0.0;
    int i;

    for (i = 1; i < n; i++) {
        if (v[i] > mx) {
            mx = v[i];
        }
    }
    for (i = 0; i < n; i++) {
        v[i] = exp(v[i] - mx);
        sum += v[i];
    }
    for (i = 0; i < n; i++) {
        v[i] /= sum;
    }
}

double cs_clf_linear_score(const cs_clf_linear_t *l, unsigned int bucket_bits,
                           const cs_clf_feat_t *x, int nx)
{
    uint32_t nb = 1u << bucket_bits;
    double s = 0.0;
    int i;

    if (!l->w) {
        return 0.0;
    }
    for (i = 0; i < nx; i++) {
        if (x[i].bucket < nb) {
            s += x[i].value * (double)l->w[x[i].bucket];
        }
    }
    s = l->intercept + l->scale * s;
    if (!(s > -1e300 && s < 1e300)) {   /* NaN or infinite */
        s = 0.0;
    }
    return s;
}

void cs_clf_head_predict(const cs_clf_head_t *head, unsigned int bucket_bits,
                         const cs_clf_feat_t *x, int nx, double *prob,
                         double *logit)
{
    double s[CS_CLF_MAX_CLASSES];
    int nc = head->n_classes, c, i;
    uint32_t nb = 1u << bucket_bits;
    double temp = head->temp > 0.0 ? head->temp : 1.0;

    if (nc < 1 || nc > CS_CLF_MAX_CLASSES) {
        nc = 1;
    }
    for (c = 0; c < nc; c++) {
        s[c] = 0.0;
    }
    if (head->w) {
        for (i = 0; i < nx; i++) {
            const int16_t *w;
            if (x[i].bucket >= nb) {
                continue;
            }
            w = head->w + (apr_size_t)x[i].bucket * (apr_size_t)nc;
            for (c = 0; c < nc; c++) {
                s[c] += x[i].value * (double)w[c];
            }
        }
    }
    for (c = 0; c < nc; c++) {
        s[c] = (head->prior[c] + head->scale * s[c]) / temp + head->bias[c];
        if (!(s[c] > -1e300 && s[c] < 1e300)) {   /* NaN or infinite */
            s[c] = 0.0;
        }
        if (logit) {
            logit[c] = s[c];
        }
        prob[c] = s[c];
    }
    cs_clf_softmax(prob, nc);
}
