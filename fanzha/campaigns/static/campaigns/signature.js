/* Signature pad for responsibility letters: draw with a finger, pen or mouse (pointer events),
   and the drawing goes to the form's hidden field as a PNG data URL when the form is sent.
   The canvas stays transparent where nobody drew, so the server can tell an empty pad. */
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  if (!canvas || !canvas.getContext) { return; }
  var form = canvas.closest("form");
  var field = document.getElementById(canvas.getAttribute("data-target"));
  var clear = form.querySelector("[data-clear-signature]");
  var context = canvas.getContext("2d");
  var MAX_WIDTH = 2000;
  var MAX_HEIGHT = 1000;
  var strokes = [];  // each stroke: a list of [x, y] in CSS pixels
  var current = null;
  var scale = 1;

  function setup() {
    var box = canvas.getBoundingClientRect();
    var ratio = window.devicePixelRatio || 1;
    scale = Math.min(ratio, MAX_WIDTH / Math.max(box.width, 1), MAX_HEIGHT / Math.max(box.height, 1));
    canvas.width = Math.max(1, Math.round(box.width * scale));
    canvas.height = Math.max(1, Math.round(box.height * scale));
    context.setTransform(scale, 0, 0, scale, 0, 0);
    context.lineCap = "round";
    context.lineJoin = "round";
    context.lineWidth = 2.6;
    context.strokeStyle = "#111827";
    strokes.forEach(draw);
  }

  function draw(stroke) {
    if (!stroke.length) { return; }
    context.beginPath();
    context.moveTo(stroke[0][0], stroke[0][1]);
    if (stroke.length === 1) {
      context.lineTo(stroke[0][0] + 0.1, stroke[0][1] + 0.1);
    }
    for (var i = 1; i < stroke.length; i += 1) {
      var mid = [(stroke[i - 1][0] + stroke[i][0]) / 2, (stroke[i - 1][1] + stroke[i][1]) / 2];
      context.quadraticCurveTo(stroke[i - 1][0], stroke[i - 1][1], mid[0], mid[1]);
    }
    context.stroke();
  }

  function point(event) {
    var box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  function redraw() {
    context.clearRect(0, 0, canvas.width / scale, canvas.height / scale);
    strokes.forEach(draw);
  }

  var note = form.querySelector("[data-signature-note]");

  function store() {
    field.value = strokes.length ? canvas.toDataURL("image/png") : "";
    canvas.classList.toggle("signed", strokes.length > 0);
    if (note && strokes.length) { note.hidden = true; }
  }

  canvas.addEventListener("pointerdown", function (event) {
    if (event.button !== undefined && event.button > 0) { return; }
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    current = [point(event)];
    strokes.push(current);
    draw(current);
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!current) { return; }
    event.preventDefault();
    var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    events.forEach(function (e) { current.push(point(e)); });
    redraw();
  });
  function finish() {
    if (!current) { return; }
    current = null;
    store();
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  canvas.addEventListener("lostpointercapture", finish);

  if (clear) {
    clear.addEventListener("click", function () {
      strokes = [];
      redraw();
      store();
    });
  }

  form.addEventListener("submit", function (event) {
    store();
    if (!field.value) {
      event.preventDefault();
      if (note) { note.hidden = false; }
      canvas.focus();
    }
  });

  var width = 0;
  window.addEventListener("resize", function () {
    var now = canvas.getBoundingClientRect().width;
    if (Math.abs(now - width) > 1) { width = now; setup(); }
  });
  width = canvas.getBoundingClientRect().width;
  setup();
})();
