/* cs_multipart_parse: the first input line is the boundary (or, when it
 * starts with "multipart/", the whole Content-Type value); the rest is the
 * body, handed over in an exact-size buffer so overreads are caught. */
#include "fuzz_common.h"
#include "http/cs_multipart.h"
#include "text/cs_text.h"

FUZZ_APR_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const cs_multipart_limits_t limits = { 16, 2048, 4096, 1024 };
    apr_pool_t *p = fuzz_pool();
    const char *line = fuzz_take_line(p, &data, &size);
    const char *ctype;
    char *body = fuzz_exact(data, size);
    apr_array_header_t *parts = NULL;
    const char *err = NULL;
    int i;

    if (!strncasecmp(line, "multipart/", 10)) {
        ctype = line;
    }
    else {
        ctype = apr_pstrcat(p, "multipart/form-data; boundary=", line, NULL);
    }
    if (cs_multipart_parse(&parts, p, ctype, body, size, &limits, &err)
        == APR_SUCCESS) {
        if (!parts || (apr_size_t)parts->nelts > limits.max_parts) {
            abort();
        }
        for (i = 0; i < parts->nelts; i++) {
            const cs_part_t *part = &APR_ARRAY_IDX(parts, i, cs_part_t);

            if (!part->name || !*part->name
                || !cs_text_is_clean(part->name, strlen(part->name))) {
                abort();
            }
            if (part->filename
                && (!*part->filename
                    || strlen(part->filename) > CS_MULTIPART_MAX_FILENAME)) {
                abort();
            }
            fuzz_touch_str(part->filename);
            fuzz_touch_str(part->content_type);
            fuzz_touch(part->data, part->len);
            if (part->filename ? part->len > limits.max_file_size
                               : part->len > limits.max_field_size) {
                abort();
            }
        }
    }
    else {
        fuzz_touch_str(err);
    }
    free(body);
    apr_pool_destroy(p);
    return 0;
}
