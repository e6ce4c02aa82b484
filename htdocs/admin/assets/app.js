/* Keyboard shortcuts for the inbox: j/k next/previous conversation, e
 * archive (or move back), / search. The pages work without this file. */
(function () {
  "use strict";
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("a.conv-row")); }
  function current() {
    var list = rows(), i;
    for (i = 0; i < list.length; i++) { if (list[i].classList.contains("selected")) { return i; } }
    return -1;
  }
  function open(i) {
    var list = rows();
    if (i < 0 || i >= list.length) { return; }
    list.forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-current"); });
    list[i].classList.add("selected");
    list[i].setAttribute("aria-current", "true");
    list[i].focus();
    list[i].click();
  }
  document.addEventListener("click", function (ev) {
    var row = ev.target.closest && ev.target.closest("a.conv-row");
    if (row) {
      rows().forEach(function (r) { r.classList.remove("selected"); });
      row.classList.add("selected");
    }
  });
  /* "Start from a saved reply": its text goes into the reply box, which
   * staff then edit; the counter below updates as if they had typed it. */
  document.addEventListener("change", function (ev) {
    var t = ev.target, box;
    if (!t.getAttribute || !t.getAttribute("data-fill") || !t.value) { return; }
    box = document.getElementById(t.getAttribute("data-fill"));
    if (!box) { return; }
    box.value = t.value;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
    t.selectedIndex = 0;
  });
  /* The list refreshes itself (every 15 s, and after actions): ask for
   * as many rows as are shown, so rows that "load more" added stay. */
  document.addEventListener("htmx:configRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (elt && elt.id === "inbox-list") {
      ev.detail.parameters.rows = String(elt.querySelectorAll("a.conv-row").length);
    }
  });
  /* An action htmx could not complete says so (htmx shows nothing for an
   * error answer by itself). Fixed words per status: no server text is
   * put into the page here. */
  var FLASH = {
    403: "This page is out of date. Reload it and try again.",
    404: "That is no longer there. Reload the page.",
    409: "That could not be done as things stand. Reload the page.",
    429: "Too many tries. Wait a moment and try again.",
    503: "The dashboard cannot reach its database just now. Try again in a moment."
  };
  var flashTimer;
  function flash(text) {
    var box = document.getElementById("flash");
    if (!box) { return; }
    box.textContent = text;
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(function () { box.hidden = true; }, 10000);
  }
  document.addEventListener("htmx:responseError", function (ev) {
    var st = ev.detail && ev.detail.xhr ? ev.detail.xhr.status : 0;
    flash(FLASH[st] || "Something went wrong (" + st + "). Try again, or reload the page.");
  });
  document.addEventListener("htmx:sendError", function () {
    flash("Cannot reach the server. Check the connection and try again.");
  });
  /* SMS length and segments while typing (GSM-7: 160/153, else 70/67). */
  var GSM = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXT = "^{}\\[~]|€\f";
  function segments(text) {
    var gsm = true, units = 0, i, ch;
    for (i = 0; i < text.length; i++) {
      ch = text.charAt(i);
      if (GSM.indexOf(ch) >= 0) { units += 1; }
      else if (GSM_EXT.indexOf(ch) >= 0) { units += 2; }
      else { gsm = false; break; }
    }
    if (!gsm) { units = text.length; }
    if (units === 0) { return [0, units, gsm]; }
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    return [units <= single ? 1 : Math.ceil(units / multi), units, gsm];
  }
  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (!t.hasAttribute || !t.hasAttribute("data-sms-counter")) { return; }
    var out = t.form && t.form.querySelector(".sms-count");
    if (!out) { return; }
    var s = segments(t.value);
    out.textContent = s[1] + " characters, " + s[0] + " SMS segment" + (s[0] === 1 ? "" : "s") +
      (s[2] ? "" : " (special characters: 70 per segment)");
  });
  document.addEventListener("keydown", function (ev) {
    var t = ev.target, tag = t && t.tagName;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    if (ev.key === "j") { open(current() + 1); ev.preventDefault(); }
    else if (ev.key === "k") { open(Math.max(0, current() - 1)); ev.preventDefault(); }
    else if (ev.key === "e") {
      var b = document.querySelector("#panel button[data-key='e']");
      if (b) { b.click(); ev.preventDefault(); }
    }
    else if (ev.key === "/") {
      var q = document.getElementById("q");
      if (q) { q.focus(); ev.preventDefault(); }
    }
  });
})();
