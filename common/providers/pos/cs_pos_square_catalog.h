/**
 * @file cs_pos_square_catalog.h
 * @brief Internal to the Square adapter: the catalog being read
 * (cs_square_catalog_t of cs_pos_parse.h) as its files share it.
 * cs_pos_square_catalog.c reads catalog objects into it,
 * cs_pos_square_menu.c reads the pages (catalog and inventory counts) and
 * builds the menu and stock from it, cs_pos_square_parse.c picks order
 * lines' variations from it.
 */
#ifndef CS_POS_SQUARE_CATALOG_H
#define CS_POS_SQUARE_CATALOG_H

#include "providers/pos/cs_pos_util.h"

#include <apr_hash.h>

/** Most variations of one item we offer. */
#define SQ_MAX_VARS 250

/** An ITEM_VARIATION. */
typedef struct {
    const char *id, *name;
    apr_int64_t price;
    int priced;            /* a fixed price at the location */
    int present;           /* sold at the location */
    int sold_out;
    apr_time_t until;
    int tracked;
    apr_int64_t ordinal;
    int seq;
} sq_var_t;

/** An item's modifier_list_info entry. */
typedef struct {
    const char *list_id;
    apr_int64_t min, max;  /* -1: the list's own */
    int enabled;
} sq_info_t;

/** An ITEM. */
typedef struct {
    const char *id, *name, *description, *category_id, *image_id;
    int visible, usable, has_ordinal, seq;
    apr_int64_t ordinal;
    apr_array_header_t *vars;   /* of sq_var_t * */
    apr_array_header_t *infos;  /* of sq_info_t */
} sq_item_t;

/** A MODIFIER_LIST. */
typedef struct {
    const char *id, *name;
    int min, max;
    apr_array_header_t *mods;   /* of cs_menu_modifier_t */
    apr_hash_t *mod_ids;
} sq_list_t;

struct cs_square_catalog_t {
    apr_pool_t *pool;
    const char *location;
    apr_time_t now;
    const char *currency;
    int objects, seq;
    apr_array_header_t *cats;   /* of cs_menu_category_t */
    apr_hash_t *cat_ids;
    apr_array_header_t *items;  /* of sq_item_t * */
    apr_hash_t *item_by_id, *var_by_id, *pending_vars;  /* item id -> array */
    apr_array_header_t *lists;  /* of sq_list_t * */
    apr_hash_t *list_by_id, *pending_mods;              /* list id -> array */
    apr_hash_t *images;         /* image id -> url */
};

/** Adds one catalog object (any type; ones we do not read are skipped)
 * to @p c, counting it against the catalog's size limit. */
apr_status_t cs_pos_square_add_object(cs_square_catalog_t *c, json_object *o,
                                      const char **perr);

/** The item's variations that can be ordered here into @p out (at most
 * @p cap), in Square's order (ordinal, then as listed); their number. */
int cs_pos_square_sellable(const sq_item_t *it, sq_var_t **out, int cap);

/** The cheapest of @p n (>= 1) variations (the first among equals). */
sq_var_t *cs_pos_square_cheapest(sq_var_t **vars, int n);

#endif
