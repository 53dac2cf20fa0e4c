/* Starts Swagger UI on /docs (templates/api/docs.html): a file, not an inline script, so that the
   page runs under the site's Content-Security-Policy (script-src 'self').

   Accessibility (checked by axe in tests/web/test_every_page.py, also with an operation opened and
   tried, the schemas opened and the Authorize dialog open):
   - PlainDeepLink: Swagger UI puts each operation's path, as a link, inside the button that opens
     the operation (axe nested-interactive); the path is shown as text instead. deepLinking stays on,
     so the address bar still follows what is open and such an address opens it again.
   - fix(): heading levels (docs-a11y.js), landmarks for what lies outside Swagger UI's <main>,
     names for the controls Swagger UI leaves unnamed (the parameter fields of "Try it out" have
     only a placeholder) and keyboard access to the scrolling code boxes. Colour contrast: docs.css. */
(function () {
  "use strict";
  function PlainDeepLink(system) {
    var React = system.React;
    return { components: { DeepLink: function (props) { return React.createElement("span", null, props.text); } } };
  }

  // Swagger UI's own <main> (#operations) holds the operations; what it shows before them (the
  // API's description, the Authorize button) and the schemas after them become named regions.
  var REGIONS = [[".information-container", "About the API"], [".scheme-container", "Authorization"],
                 ["section.models", "Schemas"]];

  function fix(root) {
    window.GroundswellDocs.levelHeadings(root);
    REGIONS.forEach(function (r) {
      var part = root.querySelector(r[0]);
      if (part && !part.closest("main") && part.getAttribute("role") !== "region") {
        part.setAttribute("role", "region");
        part.setAttribute("aria-label", r[1]);
      }
    });
    var fields = root.querySelectorAll(".parameters tr[data-param-name] input, .parameters tr[data-param-name] select, " +
                                       ".parameters tr[data-param-name] textarea");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.labels && f.labels.length || f.hasAttribute("aria-label")) continue;
      var row = f.closest("tr[data-param-name]");
      f.setAttribute("aria-label", row.getAttribute("data-param-name") + " (" + (row.getAttribute("data-param-in") || "parameter") + ")");
    }
    var bodies = root.querySelectorAll("textarea.body-param__text");
    for (var k = 0; k < bodies.length; k++) {
      if (!bodies[k].hasAttribute("aria-label")) bodies[k].setAttribute("aria-label", "Request body");
    }
    // The Authorize dialog: a dialog with a name, and its close button (an icon) named.
    var dialog = root.querySelector(".dialog-ux .modal-ux");
    if (dialog && dialog.getAttribute("role") !== "dialog") {
      dialog.setAttribute("role", "dialog");
      dialog.setAttribute("aria-modal", "true");
      dialog.setAttribute("aria-label", "Available authorizations");
    }
    var close = root.querySelector(".dialog-ux .close-modal");
    if (close && !close.hasAttribute("aria-label")) close.setAttribute("aria-label", "Close");
    // The code boxes (examples, the curl command, the response) scroll: they take the keyboard
    // focus so that they can be scrolled without a mouse (axe scrollable-region-focusable).
    var boxes = root.querySelectorAll(".highlight-code > .microlight, .curl-command .microlight");
    for (var j = 0; j < boxes.length; j++) {
      if (!boxes[j].hasAttribute("tabindex")) boxes[j].setAttribute("tabindex", "0");
    }
  }

  window.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    if (!root || typeof window.SwaggerUIBundle !== "function") return;
    window.ui = window.SwaggerUIBundle({
      url: root.getAttribute("data-openapi-url"),
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: true,
      showExtensions: true,
      showCommonExtensions: true,
      presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
      // the default theme (agate) shows numbers at 3.45:1 on its background; Tomorrow Night's
      // tokens are all above 6.6:1
      syntaxHighlight: { theme: "tomorrow-night" },
      plugins: [PlainDeepLink]
    });
    if (window.GroundswellDocs) window.GroundswellDocs.watch(root, fix);
  });
})();
