// Starts ReDoc on /redoc (templates/api/docs.html) with the style nonce of this response, so that
// the <style> elements ReDoc creates pass the page's Content-Security-Policy (no inline script).
//
// Accessibility (checked by axe in tests/web/test_every_page.py): once ReDoc has rendered, fix()
// gives its side menu a navigation landmark and a name (and its phone toggle a button's role), makes its content the skip link's target
// (#reference), and sets heading levels by nesting (docs-a11y.js: ReDoc jumps from h2 to h5).
(function () {
  "use strict";
  var el = document.getElementById("redoc");
  if (!el || !window.Redoc) return;

  function fix(root) {
    var menu = root.querySelector(".menu-content");
    if (menu && menu.getAttribute("role") !== "navigation") {
      menu.setAttribute("role", "navigation");
      menu.setAttribute("aria-label", "Operations");
    }
    var content = root.querySelector(".api-content");
    if (content && content.id !== "reference") {
      content.id = "reference";
      content.setAttribute("tabindex", "-1");
    }
    // On a phone the menu opens from a floating round button that ReDoc draws as a bare <div>:
    // a button for the keyboard and screen readers too.
    var toggle = root.querySelector(".redoc-wrap > .menu-content + div");
    if (toggle && toggle.getAttribute("role") !== "button") {
      toggle.setAttribute("role", "button");
      toggle.setAttribute("tabindex", "0");
      toggle.setAttribute("aria-label", "Operations menu");
      toggle.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle.click(); }
      });
    }
    window.GroundswellDocs.levelHeadings(root);
  }

  window.Redoc.init(el.getAttribute("data-spec-url"), { nonce: el.getAttribute("data-style-nonce") || undefined }, el,
    function () { if (window.GroundswellDocs) window.GroundswellDocs.watch(el, fix); });
})();
