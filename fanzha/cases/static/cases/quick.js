/* The quick intake: after the victim's name is typed, the people of that name in one's scope are
   offered to pick (as the server does after a submit); nothing is offered when none match. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-person-url]");
  if (!form) { return; }
  var name = form.querySelector("#id_victim_name");
  var picks = form.querySelector("[data-victim-picks]");
  var box = form.querySelector("[data-victim-choices]");
  if (!name || !picks || !box) { return; }
  var asked = name.value.trim();
  function show(choices) {
    box.textContent = "";
    choices.forEach(function (choice, i) {
      var label = document.createElement("label");
      var input = document.createElement("input");
      var text = document.createElement("span");
      label.className = "pick";
      input.type = "radio";
      input.name = "victim";
      input.value = choice[0];
      input.id = "id_victim_" + i;
      label.htmlFor = input.id;
      text.textContent = choice[1];
      label.appendChild(input);
      label.appendChild(document.createTextNode(" "));
      label.appendChild(text);
      box.appendChild(label);
    });
    picks.hidden = choices.length === 0;
  }
  name.addEventListener("change", function () {
    var typed = name.value.trim();
    if (typed === asked) { return; }
    asked = typed;
    if (!typed) { show([]); return; }
    var url = form.getAttribute("data-person-url") + "?name=" + encodeURIComponent(typed);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { found: false }; })
      .then(function (data) { if (asked === typed) { show(data.found ? data.choices : []); } })
      .catch(function () { /* the server asks after the submit instead */ });
  });
})();
