// autoinformer's web UI: behaviour that needs no inline script (the CSP forbids inline code).
// A button with data-confirm asks before its form is sent.
document.addEventListener("submit", function (e) {
  var b = e.submitter || e.target.querySelector("[data-confirm]");
  var text = b && b.getAttribute("data-confirm");
  if (text && !window.confirm(text)) { e.preventDefault(); }
});
