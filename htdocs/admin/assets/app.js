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
