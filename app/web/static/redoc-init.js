// Starts ReDoc on /redoc (app/api/docs.py) with the style nonce of this response, so that the
// <style> elements ReDoc creates pass the page's Content-Security-Policy (no inline script).
(function () {
  "use strict";
  var el = document.getElementById("redoc");
  if (!el || !window.Redoc) return;
  window.Redoc.init(el.getAttribute("data-spec-url"), { nonce: el.getAttribute("data-style-nonce") || undefined }, el);
})();
