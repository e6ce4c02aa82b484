/* cs_migration_version: names come from a folder anyone with deploy
 * access fills; also the checksum helper over the same bytes. */
#include "fuzz_common.h"
#include "db/cs_migrate.h"
#include "base/cs_crypto.h"

FUZZ_APR_INIT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *name = fuzz_cstr(p, data, size);
    char *raw = fuzz_exact(data, size);
    const char *hex;
    int v = cs_migration_version(name);

    if (v == 0 || v < -1) {
        abort();
    }
    hex = cs_sha256_hex(p, raw, size);
    if (!hex || strlen(hex) != 64) {
        abort();
    }
    free(raw);
    apr_pool_destroy(p);
    return 0;
}
