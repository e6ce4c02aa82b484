/* cs_migration_version and cs_function_file_name: names come from folders
 * anyone with deploy access fills; cs_sql_next_definition and the rules
 * built on it read the same bytes as a migration's or a function file's
 * SQL; also the checksum helper over them. */
#include "fuzz_common.h"
#include "db/cs_migrate.h"
#include "base/cs_crypto.h"

FUZZ_APR_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *name = fuzz_cstr(p, data, size);
    char *raw = fuzz_exact(data, size);
    const char *hex, *fname = NULL;
    cs_sql_definition_t d;
    cs_migration_t m;
    cs_function_file_t f;
    apr_size_t pos = 0, last = 0;
    int line = 1, last_line = 1, found = 0;
    int v = cs_migration_version(name);
    int order = cs_function_file_name(name, &fname, p);

    if (v == 0 || v < -1) {
        abort();
    }
    if (order < -1 || (order >= 0 && (!fname || !*fname))) {
        abort();
    }
    /* The exact-size copy: a read past the SQL is an ASan report. */
    while (cs_sql_next_definition(raw, size, &pos, &line, &d)) {
        if (pos <= last || pos > size || line < last_line || d.line < last_line
            || d.line > line || !d.kind
            || (d.name_len && (d.name < raw || d.name + d.name_len > raw + size))) {
            abort();
        }
        last = pos;
        last_line = line;
        found++;
    }
    if (pos != size) {
        abort();
    }
    /* The rules, over the text as a file would give it. */
    m.version = CS_MIGRATION_LAST_WITH_FUNCTIONS + 1;
    m.name = m.path = "006_fuzz.sql";
    m.sql = name;
    m.checksum = "";
    (void)cs_migration_refusal(p, &m);
    f.order = 0;
    f.name = "consult_fuzz";
    f.file = f.path = "consult_fuzz.sql";
    f.sql = name;
    f.checksum = "";
    if (!cs_function_file_refusal(p, &f) && !found) {
        abort();    /* a file that defines nothing is never accepted */
    }
    hex = cs_sha256_hex(p, raw, size);
    if (!hex || strlen(hex) != 64) {
        abort();
    }
    free(raw);
    apr_pool_destroy(p);
    return 0;
}
