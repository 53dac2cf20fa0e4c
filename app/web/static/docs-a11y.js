/* /docs and /redoc (templates/api/docs.html): what Swagger UI and ReDoc render is made to pass the
   same accessibility check as every other page (axe-core, tests/web/test_every_page.py) without
   touching their bundles. Both widgets re-render as readers open things, so the fixes run again
   on every change of the widget's DOM (a MutationObserver; the fixes are idempotent and only set
   attributes, which React leaves alone).

   window.GroundswellDocs.levelHeadings(root): the widgets pick heading elements for their looks
   (ReDoc: the API title h1, operations h2, "Request Body schema" h5; Swagger UI: the title h1,
   tags h3). The page's own h1 comes first, so each heading in `root` is given the level its
   nesting says (aria-level: what assistive technology reads and axe checks): a heading one level
   below the closest earlier heading of a smaller native level, level 2 at the top.
   window.GroundswellDocs.watch(root, fix): runs fix(root) now and after every change below root. */
(function () {
  "use strict";
  function levelHeadings(root) {
    var stack = [];  // [native level, given level] of the headings this one may be nested in
    var headings = root.querySelectorAll("h1, h2, h3, h4, h5, h6");
    for (var i = 0; i < headings.length; i++) {
      var h = headings[i], native = Number(h.tagName.charAt(1));
      while (stack.length && stack[stack.length - 1][0] >= native) stack.pop();
      var level = stack.length ? stack[stack.length - 1][1] + 1 : 2;
      if (level > 6) level = 6;
      if (level !== native) {
        if (h.getAttribute("aria-level") !== String(level)) h.setAttribute("aria-level", String(level));
      } else if (h.hasAttribute("aria-level")) {
        h.removeAttribute("aria-level");
      }
      stack.push([native, level]);
    }
  }

  function watch(root, fix) {
    var running = false;
    function run() {
      if (running) return;
      running = true;
      try { fix(root); } finally { running = false; }
    }
    run();
    new MutationObserver(run).observe(root, { childList: true, subtree: true });
  }

  window.GroundswellDocs = { levelHeadings: levelHeadings, watch: watch };
})();
