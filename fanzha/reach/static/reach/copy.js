/* One tap to copy a text (the liaison's daily tip): navigator.clipboard where the browser allows it
   (a secure page), else select the text box and use the older copy command; when both fail, the text
   stays selected and the page says to long-press it. No library, nothing from elsewhere. */
(function () {
  "use strict";
  function say(button, text) {
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (status) { status.textContent = text; }
  }
  function fallback(box) {
    box.removeAttribute("readonly");
    box.focus();
    box.select();
    box.setSelectionRange(0, box.value.length);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    box.setAttribute("readonly", "");
    return ok;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var box = document.getElementById(button.getAttribute("data-copy"));
    if (!box) { return; }
    var done = function () { say(button, button.getAttribute("data-copied")); };
    var failed = function () {
      if (fallback(box)) { done(); } else { say(button, button.getAttribute("data-copy-failed")); }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(box.value).then(done, failed);
    } else {
      failed();
    }
  });
})();
