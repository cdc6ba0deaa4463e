/* The case intake: more rows on demand, the victim's name from the roster, autosave of the draft,
   and a second tap on "submit" that does not send twice. No framework; the form works without
   this script (a few empty rows are already there, and the server checks everything again). */
(function () {
  "use strict";
  var form = document.getElementById("case-form");
  if (!form) { return; }

  // Rows --------------------------------------------------------------------------------------
  function addRow(prefix) {
    var template = form.querySelector("template[data-empty-row='" + prefix + "']");
    var rows = form.querySelector("[data-rows='" + prefix + "']");
    var total = form.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    if (!template || !rows || !total) { return; }
    var index = parseInt(total.value, 10) || 0;
    var html = template.innerHTML.split("__prefix__").join(String(index)).split("__n__").join(String(index + 1));
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var row = holder.firstElementChild;
    if (!row) { return; }
    rows.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("input, select");
    if (first) { first.focus(); }
  }
  Array.prototype.forEach.call(form.querySelectorAll("[data-add-row]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      addRow(button.getAttribute("data-add-row"));
      changed();
    });
  });

  // The victim from the roster ------------------------------------------------------------------
  var personUrl = form.getAttribute("data-person-url");
  var number = form.querySelector("[data-person-lookup]");
  var nameOut = form.querySelector("[data-person-name]");
  if (personUrl && number && nameOut) {
    number.addEventListener("change", function () {
      var value = number.value.trim();
      nameOut.textContent = "";
      if (!value) { return; }
      fetch(personUrl + "?number=" + encodeURIComponent(value), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          if (data.found) {
            nameOut.textContent = data.names.map(function (p) { return p.name + "（" + p.kind + "）"; }).join("、");
          } else {
            nameOut.textContent = form.getAttribute("data-not-found") || "";
          }
        })
        .catch(function () {});
    });
  }

  // Autosave ------------------------------------------------------------------------------------
  var saveUrl = form.getAttribute("data-autosave");
  var status = document.querySelector("[data-draft-status]");
  var draftInput = form.querySelector("input[name=draft]");
  var dirty = false;
  var timer = null;
  var saving = false;
  var submitted = false;
  var DELAY = 4000;

  function csrf() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function fields() {
    var data = {};
    var skip = { csrfmiddlewaretoken: 1, submit_token: 1, draft: 1, attachments: 1 };
    new FormData(form).forEach(function (value, key) {
      if (skip[key] || typeof value !== "string") { return; }
      if (Object.prototype.hasOwnProperty.call(data, key)) {
        if (!Array.isArray(data[key])) { data[key] = [data[key]]; }
        data[key].push(value);
      } else if (key === "fund_sources") {
        data[key] = [value];
      } else {
        data[key] = value;
      }
    });
    return data;
  }

  function save() {
    timer = null;
    if (!saveUrl || !dirty || saving || submitted) { return; }
    saving = true;
    dirty = false;
    var body = JSON.stringify({ draft: draftInput && draftInput.value ? draftInput.value : null, data: fields() });
    fetch(saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: body,
      keepalive: body.length < 60000
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        saving = false;
        if (!data) { dirty = true; return; }
        if (draftInput && data.id) { draftInput.value = String(data.id); }
        if (status && data.message) { status.textContent = data.message; }
      })
      .catch(function () { saving = false; dirty = true; });
  }

  function changed() {
    if (!saveUrl || submitted) { return; }
    dirty = true;
    if (!timer) { timer = window.setTimeout(save, DELAY); }
  }

  if (saveUrl) {
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden" && dirty) {
        if (timer) { window.clearTimeout(timer); }
        save();
      }
    });
  }

  // One submit ----------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    if (submitted) { event.preventDefault(); return; }
    submitted = true;
    if (timer) { window.clearTimeout(timer); timer = null; }
    var button = form.querySelector("button[type=submit]");
    if (button) {
      var text = button.getAttribute("data-sending-text");
      window.setTimeout(function () {
        button.disabled = true;
        if (text) { button.textContent = text; }
      }, 0);
    }
  });
})();
