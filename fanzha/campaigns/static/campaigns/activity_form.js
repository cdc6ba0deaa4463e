/* The record-activity form: title follows the kind, the obligation list follows the unit and kind,
   chosen files are listed, and a second tap on "save" does not upload everything twice.
   No framework; the form works without this script (the server checks everything again). */
(function () {
  "use strict";
  var form = document.getElementById("activity-form");
  if (!form) { return; }
  var kind = form.querySelector("[name=kind]");
  var title = form.querySelector("[name=title]");
  var obligation = form.querySelector("select[name=obligation]");
  var chosen = form.querySelector("[data-chosen]");
  // A new record picks the one task it fits; an edit never links a task the user did not choose.
  var obligationTouched = !form.hasAttribute("data-autolink");

  function kindLabel() {
    var option = kind && kind.options[kind.selectedIndex];
    return option ? option.text : "";
  }

  function unitValue() {
    var checked = form.querySelector("input[name=unit]:checked");
    if (checked) { return checked.value; }
    var select = form.querySelector("select[name=unit]");
    return select ? select.value : "";
  }

  var lastLabel = kindLabel();
  if (kind && title) {
    kind.addEventListener("change", function () {
      var label = kindLabel();
      if (!title.value.trim() || title.value === lastLabel) { title.value = label; }
      lastLabel = label;
    });
  }

  function fits(option, unit, kindValue) {
    var kinds = (option.getAttribute("data-kinds") || "").split(" ").filter(Boolean);
    return option.getAttribute("data-unit") === unit && (!kinds.length || kinds.indexOf(kindValue) >= 0);
  }

  function filterObligations() {
    if (!obligation) { return; }
    var unit = unitValue();
    var kindValue = kind ? kind.value : "";
    var matches = [];
    Array.prototype.forEach.call(obligation.options, function (option) {
      if (!option.value) { return; }
      var ok = fits(option, unit, kindValue);
      option.hidden = !ok;
      option.disabled = !ok;
      if (ok) { matches.push(option); }
    });
    var current = obligation.options[obligation.selectedIndex];
    if (current && current.value && current.disabled) { obligation.value = ""; }
    // The obvious one (as the server chooses it): the only match, or the only one naming the kind.
    var named = matches.filter(function (option) {
      return (option.getAttribute("data-kinds") || "").split(" ").indexOf(kindValue) >= 0;
    });
    var obvious = matches.length === 1 ? matches[0] : (named.length === 1 ? named[0] : null);
    if (!obligationTouched && !obligation.value && obvious) { obligation.value = obvious.value; }
  }

  if (obligation) {
    obligation.addEventListener("change", function () { obligationTouched = true; });
    form.addEventListener("change", function (event) {
      var name = event.target && event.target.name;
      if (name === "unit" || name === "kind") { filterObligations(); }
    });
    filterObligations();
  }

  function sizeText(bytes) {
    if (bytes >= 1048576) { return (bytes / 1048576).toFixed(1) + " MB"; }
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function listFiles() {
    if (!chosen) { return; }
    chosen.textContent = "";
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        var item = document.createElement("li");
        item.textContent = file.name + " · " + sizeText(file.size);
        chosen.appendChild(item);
      });
    });
  }
  form.querySelectorAll("input[type=file]").forEach(function (input) {
    input.addEventListener("change", listFiles);
  });

  var submit = form.querySelector("button[type=submit]");
  var submitText = submit ? submit.textContent : "";
  window.addEventListener("pageshow", function () {
    form.removeAttribute("data-sending");
    if (submit) { submit.removeAttribute("aria-disabled"); submit.textContent = submitText; }
  });

  form.addEventListener("submit", function (event) {
    if (form.getAttribute("data-sending")) { event.preventDefault(); return; }
    form.setAttribute("data-sending", "1");
    if (submit) {
      submit.setAttribute("aria-disabled", "true");
      submit.textContent = submit.getAttribute("data-sending-text") || submitText;
    }
  });
})();
