/* cs_hours_parse: each input line is one ConsultHours entry, except lines
 * "holiday X" (cs_hours_add_holiday) and "date X" (the local date given to
 * cs_hours_open). */
#include "fuzz_common.h"
#include "domain/cs_hours.h"

FUZZ_APR_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    apr_array_header_t *entries = apr_array_make(p, 8, sizeof(const char *));
    apr_array_header_t *holidays = apr_array_make(p, 4, sizeof(const char *));
    const char *date = "2024-03-15";
    cs_hours_t *h = NULL;
    const char *err = NULL, *evening;
    int i, dow, minute;

    while (size) {
        const char *line = fuzz_take_line(p, &data, &size);

        if (!strncmp(line, "holiday ", 8)) {
            APR_ARRAY_PUSH(holidays, const char *) = line + 8;
        }
        else if (!strncmp(line, "date ", 5)) {
            date = line + 5;
        }
        else if (entries->nelts < 64) {
            APR_ARRAY_PUSH(entries, const char *) = line;
        }
    }
    if (cs_hours_parse(&h, p, entries, &err) != APR_SUCCESS) {
        if (h || !err) {
            abort();
        }
        fuzz_touch_str(err);
        apr_pool_destroy(p);
        return 0;
    }
    for (i = 0; i < holidays->nelts; i++) {
        err = NULL;
        if (cs_hours_add_holiday(h, APR_ARRAY_IDX(holidays, i, const char *),
                                 &err) != APR_SUCCESS) {
            fuzz_touch_str(err);
        }
    }
    for (dow = 0; dow <= 8; dow++) {
        for (minute = -1; minute <= 1440; minute += 97) {
            evening = NULL;
            if (!cs_hours_open(h, p, dow, minute, date, &evening)) {
                if (!evening) {
                    abort();
                }
                fuzz_touch_str(evening);
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
