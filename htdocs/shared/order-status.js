// The order status page follows the order: it asks /api/order/ID every few
// seconds and reloads when the state changed (paid, sent, ready...).
(function () {
  "use strict";
  var box = document.getElementById("order-status");
  if (!box || !box.dataset.live) return;
  var url = "/api/order/" + encodeURIComponent(box.dataset.order);
  function check() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (o) {
        if (o && o.state && o.state !== box.dataset.state) { window.location.reload(); return; }
        setTimeout(check, 3000);
      })
      .catch(function () { setTimeout(check, 6000); });
  }
  setTimeout(check, 2000);
})();
