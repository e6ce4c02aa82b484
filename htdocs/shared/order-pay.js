// The pay page: Stripe's card form (Stripe.js from js.stripe.com, or the
// offline stand-in's script in the demo and tests) mounted in #payment,
// confirmed with the PaymentIntent's client secret. Stripe sends the guest
// on to the order's status page once the payment went through.
(function () {
  "use strict";
  var form = document.getElementById("pay-form");
  if (!form || typeof Stripe !== "function") {
    var e = document.getElementById("pay-error");
    if (e) { e.hidden = false; e.textContent = "The card form could not load. Check your connection and reload."; }
    return;
  }
  var stripe = Stripe(form.dataset.pk);
  var elements = stripe.elements({ clientSecret: form.dataset.secret });
  elements.create("payment").mount("#payment");
  var button = document.getElementById("pay-button");
  var error = document.getElementById("pay-error");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    button.disabled = true;
    error.hidden = true;
    stripe.confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.return } })
      .then(function (result) {
        if (result && result.error) {
          error.textContent = result.error.message || "The payment did not go through.";
          error.hidden = false;
          button.disabled = false;
        }
      });
  });
})();
