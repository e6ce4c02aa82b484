// Cal.com's inline booking calendar where a page asks for one: an element
// with data-consult-cal, data-cal-link ("user/event") and data-cal-origin
// (the Cal.com it lives on), holding a plain link to the booking page (what
// a visitor without JavaScript uses) and a [data-cal-inline] element the
// calendar opens in. The loader is Cal.com's own embed snippet (npm
// @calcom/embed-snippet, pinned in package-lock.json), copied next to this
// file by tools/assets.sh; it fetches embed.js from that Cal.com.
(function () {
    'use strict';
    var box = document.querySelector('[data-consult-cal]');
    var snippet = window.snippet;
    if (!box || !snippet || typeof snippet.default !== 'function') {
        return;
    }
    var origin = box.getAttribute('data-cal-origin');
    var link = box.getAttribute('data-cal-link');
    var target = box.querySelector('[data-cal-inline]');
    if (!origin || !/^https?:\/\//.test(origin) || !link || !target) {
        return;
    }
    var Cal = snippet.default(origin + '/embed/embed.js');
    Cal('init', { origin: origin });
    Cal('inline', { elementOrSelector: target, calLink: link, layout: 'month_view' });
    box.classList.add('cal-embedded');
})();
