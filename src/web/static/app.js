// autoinformer's web UI: behaviour that needs no inline script (the CSP forbids inline code).
// A button with data-confirm asks before its form is sent.
document.addEventListener("submit", function (e) {
  var b = e.submitter || e.target.querySelector("[data-confirm]");
  var text = b && b.getAttribute("data-confirm");
  if (text && !window.confirm(text)) { e.preventDefault(); }
});

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
