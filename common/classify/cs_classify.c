/* The builtin classifier with the model generated at build time. This is
 * the only object that references the generated tables (MODEL_LIB); the
 * pipeline itself is in cs_classify_core.c. */
#include "classify/cs_classify_model.h"

cs_classification_t *cs_classify_builtin_opts(apr_pool_t *p, const char *text,
                                              const cs_classify_opts_t *opts)
{
    int vertical = opts ? cs_vertical_index(opts->vertical) : -1;
    return cs_clf_classify(p, &cs_clf_builtin_model, text, vertical);
}

cs_classification_t *cs_classify_builtin(apr_pool_t *p, const char *text)
{
    return cs_classify_builtin_opts(p, text, NULL);
}
