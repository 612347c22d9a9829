// Registrar's own page behaviour. Pages carry no inline script (the Content-Security-Policy
// forbids it), so what they need is declared with data attributes and done here.
document.addEventListener("DOMContentLoaded", function () {
  // The payment hand-off: the signed form goes to the processor's page at once.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.submit();
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
});
