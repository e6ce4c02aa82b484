/*
 * consult-classify: the builtin classifier over JSON lines.
 *
 * Reads {"text": "..."} per line on stdin, with an optional "vertical" (the
 * client's line of business, one of CS_VERTICALS; other keys are ignored),
 * and writes one classification per line on stdout (cs_classification_json).
 * A line that is not a JSON object with a "text" string yields
 * {"error": "..."} on its output line; processing continues. Exit 0 unless
 * stdout cannot be written.
 */
#include "classify/cs_classify.h"
#include "base/cs_json.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_error(apr_pool_t *p, const char *msg)
{
    cs_json_t *o = cs_json_object(p);
    cs_json_set_str(o, "error", msg);
    puts(cs_json_dump(o, p));
}

int main(void)
{
    apr_pool_t *root, *p;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS) {
        fprintf(stderr, "consult-classify: APR initialization failed\n");
        return 1;
    }
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        cs_json_t *j;
        const char *err = NULL, *text;
        cs_classify_opts_t opts = { 0 };

        apr_pool_create(&p, root);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (cs_json_parse(&j, p, line, (apr_size_t)len, &err) != APR_SUCCESS) {
            print_error(p, apr_pstrcat(p, "invalid JSON: ", err, NULL));
        }
        else if (!json_object_is_type(cs_json_raw(j), json_type_object)) {
            print_error(p, "expected a JSON object");
        }
        else if (!(text = cs_json_get_str(j, "text"))) {
            print_error(p, "missing \"text\" string");
        }
        else {
            opts.vertical = cs_json_get_str(j, "vertical");
            puts(cs_classification_json(p, cs_classify_builtin_opts(p, text, &opts)));
        }
        fflush(stdout);
        apr_pool_destroy(p);
    }
    free(line);
    apr_pool_destroy(root);
    apr_terminate();
    return ferror(stdout) ? 1 : 0;
}
