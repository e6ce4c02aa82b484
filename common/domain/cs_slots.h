/**
 * @file cs_slots.h
 * @brief Pickup times for online orders: the restaurant's time zone, its
 * hours (cs_hours) and its kitchen's capacity turned into the slots a guest
 * may choose, an ASAP quote, or "closed/paused: reopens at ...".
 *
 * Times are UTC epoch seconds (apr_int64_t). Local times come from the
 * zone's rules: a tzdata file (cs_slots_zone_load, the same files Postgres
 * and the system use) or a POSIX TZ rule (cs_slots_zone_rule). The plan
 * walks real minutes in UTC and asks cs_hours_open about each one's local
 * weekday, minute and date, so a local hour that does not exist (spring
 * forward) offers nothing, one that happens twice (fall back) is open both
 * times, and holidays are the local dates cs_hours knows.
 *
 * The rules, in one place:
 * - Slots start on the local wall clock at multiples of the slot length
 *   from midnight (:00, :15, :30, :45) and last until the next one starts.
 *   A slot is offered when the restaurant is open throughout it, it starts
 *   at least lead + extra minutes from now, it starts at least lead minutes
 *   after its opening (the kitchen cooks while open), and its points taken
 *   plus the cart's fit the capacity.
 * - Ordering is open while the restaurant is open and will still be open
 *   last_order minutes later (last order N minutes before closing).
 * - ASAP is the earliest moment now + lead + extra, in the first slot of
 *   the current opening that has room for the cart; not a later opening.
 * - Paused (staff's switch) or closed, nothing is offered and the plan says
 *   when ordering reopens; with scheduled_when_closed, a closed plan still
 *   lists slots of the openings after now (ordering ahead), never the rest
 *   of one whose last order has passed.
 *
 * Capacity is kitchen load, not order count: each slot holds capacity
 * points, a cart weighs the sum of its items' prep points x quantity
 * (cs_cart_totals_t.prep_points). The plan reads the points already taken;
 * taking them must be atomic, so the module does it in one SQL statement
 * that re-checks cs_slots_fits' arithmetic, e.g.
 *   UPDATE pickup_load SET points = points + $pts
 *    WHERE restaurant = $r AND slot_start = $s AND points + $pts <= $cap
 *   RETURNING points;          -- no row: the slot filled up meanwhile
 * (after an INSERT ... ON CONFLICT DO NOTHING of the slot's zero row).
 */
#ifndef CS_SLOTS_H
#define CS_SLOTS_H

#include "domain/cs_hours.h"

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>

#define CS_SLOTS_DEFAULT_MIN   15      /**< slot length */
#define CS_SLOTS_DEFAULT_COUNT 8       /**< slots listed */
#define CS_SLOTS_MAX_COUNT     200
#define CS_SLOTS_MAX_DAYS      14      /**< local days listed, at most */
#define CS_SLOTS_PAUSE_HORIZON (31 * 86400)  /**< a pause beyond it: "for now" */

/* ---- time zones ---------------------------------------------------------- */

/** A time zone's rules (opaque; lives in its pool). */
typedef struct cs_slots_zone_t cs_slots_zone_t;

/**
 * A zone from a POSIX TZ rule: "CST6CDT,M3.2.0,M11.1.0", "UTC0",
 * "<+0545>-5:45", "AEST-10AEDT,M10.1.0,M4.1.0/3". A DST name with no rule
 * gets the US rule (M3.2.0,M11.1.0), as tzcode does.
 * @return APR_SUCCESS, or APR_EINVAL with *perr naming the rule.
 */
apr_status_t cs_slots_zone_rule(cs_slots_zone_t **pz, apr_pool_t *p,
                                const char *rule, const char **perr);

/**
 * A zone from its tzdata file, @p dir / @p name ("America/Chicago"): the
 * file's transitions, then its footer rule for times after the last one.
 * @p name is a zone name only (letters, digits, "/_+-", no "..", not
 * absolute); @p dir NULL means /usr/share/zoneinfo. Files with leap
 * seconds ("right/") are refused.
 * @return APR_SUCCESS; APR_EINVAL for a bad name or file (*perr says);
 *         the APR error of the read for a missing file.
 */
apr_status_t cs_slots_zone_load(cs_slots_zone_t **pz, apr_pool_t *p,
                                const char *dir, const char *name,
                                const char **perr);

/**
 * Seconds east of UTC in force at @p t (UTC epoch seconds), and the
 * zone's abbreviation then ("CDT"; NULL-safe @p pabbr). NULL zone: UTC.
 */
int cs_slots_zone_offset(const cs_slots_zone_t *z, apr_int64_t t, const char **pabbr);

/* ---- capacity arithmetic ------------------------------------------------- */

/** Points still free in a slot: capacity - taken, never below 0. */
int cs_slots_points_left(int capacity, int taken);

/** 1 when @p points (>= 1) fit on top of @p taken: taken + points <=
 * capacity, computed without overflow; 0 otherwise. */
int cs_slots_fits(int capacity, int taken, int points);

/* ---- the plan ------------------------------------------------------------ */

/** Points already taken in the slot starting at @p start (UTC epoch s);
 * several entries for one start add up. */
typedef struct {
    apr_int64_t start;
    int points;
} cs_slots_taken_t;

typedef struct {
    const cs_hours_t *hours;        /**< NULL: always open */
    const cs_slots_zone_t *zone;    /**< NULL: UTC */
    apr_int64_t now;                /**< UTC epoch seconds */
    int lead_min;                   /**< kitchen time for an order, 0 .. 1440 */
    int slot_min;                   /**< 0: 15; else a divisor of 60 from 5 */
    int last_order_min;             /**< 0 .. 720 */
    int capacity;                   /**< points per slot, >= 1 */
    const apr_array_header_t *taken;/**< of cs_slots_taken_t; NULL: none */
    int cart_points;                /**< >= 0; 0 counts as 1 (no cart yet) */
    int paused;                     /**< staff's pause switch */
    apr_int64_t paused_until;       /**< 0: until staff resume */
    int extra_min;                  /**< added to every quote, 0 .. 1440 */
    int max_slots;                  /**< 0: 8 */
    int days;                       /**< local days listed from today; 0: 1 */
    int scheduled_when_closed;      /**< 1: list later slots while closed */
} cs_slots_req_t;

/** A moment as the guest reads it. */
typedef struct {
    apr_int64_t at;                 /**< UTC epoch seconds */
    const char *local_date;         /**< "YYYY-MM-DD" */
    int local_minute;               /**< 0 .. 1439 */
    int isodow;                     /**< 1 = Mon .. 7 = Sun */
    int utc_offset;                 /**< seconds east of UTC */
    const char *abbr;               /**< "CDT" */
    const char *label;              /**< "6:45 PM"; "1:30 AM CDT" when that
                                         local time happens twice that day */
    const char *phrase;             /**< "today at 6:45 PM", "tomorrow at ...",
                                         "Friday at ...", "on March 14 at ..." */
} cs_slots_when_t;

typedef struct {
    cs_slots_when_t start;
    apr_int64_t end;                /**< UTC epoch seconds */
    int points_left;                /**< before this cart */
} cs_slot_t;

typedef enum {
    CS_SLOTS_OPEN = 0,              /**< ordering open, asap set */
    CS_SLOTS_FULL,                  /**< open, but no room before closing */
    CS_SLOTS_CLOSED,                /**< closed, or past the last order */
    CS_SLOTS_PAUSED,                /**< staff paused online ordering */
    CS_SLOTS_TOO_BIG                /**< the cart outweighs a whole slot */
} cs_slots_state_t;

typedef struct {
    cs_slots_state_t state;
    /* CS_SLOTS_OPEN: */
    cs_slot_t asap_slot;            /**< the slot whose capacity it takes */
    cs_slots_when_t asap;           /**< when it is ready */
    int asap_minutes;               /**< from now, rounded up */
    cs_slots_when_t order_by;       /**< OPEN/FULL: ordering closes then */
    /* CLOSED, PAUSED, FULL: */
    int reopens_known;              /**< 0: not within the horizon / paused
                                         until staff resume */
    cs_slots_when_t reopens;        /**< when ordering opens again */
    apr_array_header_t *slots;      /**< of cs_slot_t, offered, earliest first */
    const char *message;            /**< for the guest: "Ready in about 25
                                         minutes (6:45 PM)", "Online ordering
                                         is closed. It reopens tomorrow at
                                         11:00 AM." */
} cs_slots_plan_t;

/**
 * The pickup plan for one cart at @p req->now (see the rules above).
 * @return APR_SUCCESS; APR_BADARG with *perr for a request out of range
 *         (slot length, capacity, ...).
 */
apr_status_t cs_slots_plan(apr_pool_t *p, const cs_slots_req_t *req,
                           cs_slots_plan_t *out, const char **perr);

/** The moment @p t in @p z, labeled relative to @p now's local date. */
void cs_slots_when(apr_pool_t *p, const cs_slots_zone_t *z, apr_int64_t now,
                   apr_int64_t t, cs_slots_when_t *out);

#endif
