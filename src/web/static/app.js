// autoinformer's web UI: behaviour that needs no inline script (the CSP forbids inline code).
// A button with data-confirm asks before its form is sent.
document.addEventListener("submit", function (e) {
  var b = e.submitter || e.target.querySelector("[data-confirm]");
  var text = b && b.getAttribute("data-confirm");
  if (text && !window.confirm(text)) { e.preventDefault(); }
});

// The call timeline (/calls/{id}): a line follows the recording as it plays; a click on the
// drawing plays from that moment.
(function () {
  var svg = document.querySelector("svg.timeline");
  var audio = document.querySelector("audio.recording");
  if (!svg || !audio) { return; }
  var x0 = Number(svg.getAttribute("data-x0"));
  var w = Number(svg.getAttribute("data-w"));
  var total = Number(svg.getAttribute("data-ms")) / 1000;
  var head = svg.querySelector(".playhead");
  audio.addEventListener("timeupdate", function () {
    var x = x0 + Math.min(audio.currentTime / total, 1) * w;
    head.setAttribute("x1", x);
    head.setAttribute("x2", x);
  });
  svg.addEventListener("click", function (e) {
    var p = svg.createSVGPoint();
    p.x = e.clientX;
    p.y = e.clientY;
    var q = p.matrixTransform(svg.getScreenCTM().inverse());
    var t = (q.x - x0) / w * total;
    if (t >= 0 && t <= total) {
      audio.currentTime = t;
      audio.play();
    }
  });
})();
// Admin pages: a file input with data-max-bytes refuses a file larger than that before it is
// sent (the server refuses it too): it shows the element named by data-size-error and keeps
// the form from being sent.
document.addEventListener("change", function (e) {
  var input = e.target;
  if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) { return; }
  var max = Number(input.getAttribute("data-max-bytes"));
  var note = document.getElementById(input.getAttribute("data-size-error"));
  var big = input.files && input.files[0] && input.files[0].size > max;
  if (note) { note.hidden = !big; }
  input.setCustomValidity(big && note ? note.textContent : "");
});
