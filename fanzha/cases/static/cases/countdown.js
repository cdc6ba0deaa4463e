/* The stop-payment countdown: every <time data-deadline="ISO"> shows the time left until the deadline,
   then the text of its data-expired attribute. No inline script; the words come from the page, so they
   are translated with it. Loaded by the alert pages and the case page's alert panel (once is enough). */
(function () {
  "use strict";
  if (window.fanzhaCountdown) { return; }
  window.fanzhaCountdown = true;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-deadline]").forEach(function (el) {
      var deadline = Date.parse(el.getAttribute("data-deadline"));
      if (isNaN(deadline)) { return; }
      var left = Math.floor((deadline - now) / 1000);
      if (left <= 0) {
        el.textContent = el.getAttribute("data-expired") || "已超过止付黄金时间";
        el.classList.add("expired");
        return;
      }
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = (el.getAttribute("data-prefix") || "剩余") + " " + pad(h) + ":" + pad(m) + ":" + pad(s);
    });
  }

  function start() { tick(); window.setInterval(tick, 1000); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
