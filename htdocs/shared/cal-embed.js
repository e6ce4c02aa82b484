// Cal.com on a client's site, in the two shapes a page can ask for. Both
// start as plain links (what a visitor without JavaScript uses); the loader
// is Cal.com's own embed snippet (npm @calcom/embed-snippet, pinned in
// package-lock.json), copied next to this file by tools/assets.sh; it
// fetches embed.js from the client's Cal.com.
//
// - Inline: an element with data-consult-cal, data-cal-link ("user/event")
//   and data-cal-origin (the /book page renders them), holding the link and
//   a [data-cal-inline] element the calendar opens in.
// - Pop-up: any link with data-consult-cal-popup (on the site's static
//   pages, to /book). The link and origin come from /book.json, the
//   vhost's ConsultCalLink and ConsultCalOrigin; once they are here a click
//   opens Cal.com's booking pop-up instead of leaving the page.
(function () {
    'use strict';
    var snippet = window.snippet;
    var Cal = null;
    if (!snippet || typeof snippet.default !== 'function') {
        return;
    }
    function valid(origin, link) {
        return origin && /^https?:\/\//.test(origin) && link && /^[A-Za-z0-9._\/-]+$/.test(link);
    }
    function cal(origin) {
        if (!Cal) {
            Cal = snippet.default(origin + '/embed/embed.js');
            Cal('init', { origin: origin });
        }
        return Cal;
    }

    var box = document.querySelector('[data-consult-cal]');
    if (box) {
        var origin = box.getAttribute('data-cal-origin');
        var link = box.getAttribute('data-cal-link');
        var target = box.querySelector('[data-cal-inline]');
        if (valid(origin, link) && target) {
            cal(origin)('inline', { elementOrSelector: target, calLink: link, layout: 'month_view' });
            box.classList.add('cal-embedded');
        }
    }

    var buttons = document.querySelectorAll('[data-consult-cal-popup]');
    if (!buttons.length || !window.fetch) {
        return;
    }
    fetch('/book.json', { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (c) {
            if (!c || !valid(c.cal_origin, c.cal_link)) {
                return;     // the plain link still works
            }
            var api = cal(c.cal_origin);
            Array.prototype.forEach.call(buttons, function (b) {
                b.addEventListener('click', function (e) {
                    e.preventDefault();
                    api('modal', { calLink: c.cal_link, config: { layout: 'month_view' } });
                });
                b.setAttribute('data-cal-ready', '');
            });
        })
        .catch(function () { /* the plain link still works */ });
})();
