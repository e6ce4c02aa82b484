/* Live sold-out marks for a restaurant's /menu page.
 *
 * The page is complete without this script: the server already marks what
 * was sold out when it rendered. This only keeps those marks current by
 * polling GET /api/menu/availability, which answers
 *   {"version": 17, "sold_out": ["margherita"], "updated_at": "…Z", "stale": false}
 * It expects, from the template:
 *   [data-item-id]          one element per menu item
 *   [data-sold-out-badge]   inside each item, hidden unless sold out
 *   [data-item-name]        optional, inside each item: the name to announce
 *   [data-menu-stale]       the "menu as of …" line, hidden unless stale
 *   [data-menu-stale-time]  optional, inside it: where the time goes
 *   [data-menu-announce]    optional polite live region (made if missing)
 */
(function () {
  'use strict';

  var ENDPOINT = '/api/menu/availability';
  var EVERY_MS = 3000;
  var AFTER_ERROR_MS = 15000; // a struggling server gets fewer requests, not more
  var TIMEOUT_MS = 8000;      // a hung request must not stop the polling loop

  var items = document.querySelectorAll('[data-item-id]');
  if (!items.length || !window.fetch) return;

  var staleLine = document.querySelector('[data-menu-stale]');
  var announcer = document.querySelector('[data-menu-announce]');
  if (!announcer) {
    announcer = document.createElement('div');
    announcer.className = 'visually-hidden';
    announcer.setAttribute('aria-live', 'polite');
    document.body.appendChild(announcer);
  }

  var timer = 0;
  var busy = false;
  var timeFormat = new Intl.DateTimeFormat('en-US', {
    month: 'short', day: 'numeric', year: 'numeric', hour: 'numeric', minute: '2-digit'
  });

  function itemName(el) {
    var n = el.querySelector('[data-item-name]') || el.querySelector('h3, h4');
    return (n ? n.textContent : el.getAttribute('data-item-id')).trim();
  }

  // Returns true when the item's state actually changed, so only real
  // changes are announced (the first poll usually agrees with the page).
  function setSoldOut(el, soldOut) {
    var was = el.getAttribute('data-sold-out') === 'true';
    if (was === soldOut) return false;
    var badge = el.querySelector('[data-sold-out-badge]');
    if (soldOut) {
      el.setAttribute('data-sold-out', 'true');
      el.setAttribute('aria-disabled', 'true');
    } else {
      el.removeAttribute('data-sold-out');
      el.removeAttribute('aria-disabled');
    }
    if (badge) badge.hidden = !soldOut;
    return true;
  }

  function showStale(stale, updatedAt) {
    if (!staleLine) return;
    if (stale && updatedAt) {
      var when = new Date(updatedAt);
      var slot = staleLine.querySelector('[data-menu-stale-time]');
      if (slot && !isNaN(when)) slot.textContent = timeFormat.format(when);
    }
    staleLine.hidden = !stale;
  }

  function announce(gone, back) {
    var msg;
    // Reading out a dozen names at once helps nobody; summarise instead.
    if (gone.length + back.length > 3) {
      msg = [gone.length ? gone.length + (gone.length === 1 ? ' item is' : ' items are') + ' now sold out.' : '',
             back.length ? back.length + (back.length === 1 ? ' item is' : ' items are') + ' available again.' : '']
        .join(' ').trim();
    } else {
      msg = gone.map(function (n) { return n + ' is now sold out.'; })
        .concat(back.map(function (n) { return n + ' is available again.'; })).join(' ');
    }
    if (!msg) return;
    // Clearing first makes a repeat of the same sentence count as a change.
    announcer.textContent = '';
    setTimeout(function () { announcer.textContent = msg; }, 50);
  }

  function apply(data) {
    var soldOut = new Set(Array.isArray(data.sold_out) ? data.sold_out : []);
    var gone = [], back = [];
    items.forEach(function (el) {
      var now = soldOut.has(el.getAttribute('data-item-id'));
      if (setSoldOut(el, now)) (now ? gone : back).push(itemName(el));
    });
    showStale(data.stale === true, data.updated_at);
    announce(gone, back);
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = 0;
    if (document.visibilityState === 'visible') timer = setTimeout(poll, ms);
  }

  function poll() {
    if (busy) return;
    busy = true;
    var ctl = window.AbortController ? new AbortController() : null;
    var cut = ctl ? setTimeout(function () { ctl.abort(); }, TIMEOUT_MS) : 0;
    fetch(ENDPOINT, {
      headers: { Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'same-origin',
      signal: ctl ? ctl.signal : undefined
    }).then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    }).then(function (data) {
      apply(data || {});
      return EVERY_MS;
    }, function () {
      // Keep the marks we have: they are the last thing we knew.
      return AFTER_ERROR_MS;
    }).then(function (next) {
      clearTimeout(cut);
      busy = false;
      schedule(next);
    });
  }

  // Hidden tabs do not poll at all; coming back checks at once, since the
  // page may have been in a pocket for an hour.
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') {
      clearTimeout(timer);
      poll();
    } else {
      clearTimeout(timer);
      timer = 0;
    }
  });

  schedule(EVERY_MS);
})();
