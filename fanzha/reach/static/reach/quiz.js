/* Quiz countdown: reads the deadline from the form's data-deadline (ISO 8601), shows the time left
   and sends the answers when it runs out. The server decides what is late; this only helps. */
(function () {
  "use strict";
  var form = document.getElementById("quiz-form");
  if (!form) { return; }
  var deadline = Date.parse(form.getAttribute("data-deadline"));
  var out = form.querySelector("[data-countdown]");
  if (isNaN(deadline) || !out) { return; }
  var sent = false;
  form.addEventListener("submit", function () { sent = true; });

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
    out.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
    out.classList.toggle("urgent", left <= 60);
    if (left === 0) {
      if (!sent) { sent = true; form.submit(); }
      return;
    }
    window.setTimeout(tick, 1000);
  }
  tick();
})();
