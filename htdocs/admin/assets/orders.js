// The Orders page's new-order alert: while any order is unacknowledged, a
// chime every 4 seconds (once the browser allows sound: after any click or
// key on the page) and a blinking tab title. The list itself refreshes
// through htmx every 5 seconds, so the count is always the server's.
(function () {
  "use strict";
  var ctx = null, title = document.title, flip = false;
  function alerting() {
    var a = document.getElementById("orders-alert");
    return a && Number(a.dataset.new) > 0;
  }
  function chime() {
    try {
      if (!ctx) ctx = new (window.AudioContext || window.webkitAudioContext)();
      [880, 1320].forEach(function (f, i) {
        var o = ctx.createOscillator(), g = ctx.createGain(), t = ctx.currentTime + i * 0.18;
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, t);
        g.gain.exponentialRampToValueAtTime(0.3, t + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + 0.16);
        o.connect(g); g.connect(ctx.destination);
        o.start(t); o.stop(t + 0.17);
      });
    } catch (e) { /* no sound on this browser: the banner and title still flash */ }
  }
  function unlock() { if (ctx && ctx.state === "suspended") ctx.resume(); }
  document.addEventListener("click", unlock);
  document.addEventListener("keydown", unlock);
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
  setInterval(function () {
    if (alerting()) {
      chime();
      flip = !flip;
      document.title = flip ? "(new order) " + title : title;
    } else {
      document.title = title;
    }
  }, 4000);
})();
