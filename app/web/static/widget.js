/* Groundswell product widget (docs/product-sites.md).
   <script src="https://COMMUNITY/widget.js" data-product="SLUG" async></script>
   Renders after its own script tag, or into every <div data-groundswell data-product="SLUG">.
   Shadow DOM, no cookies (credentials: "omit"), requests only to the community it came from. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me) me = document.querySelector('script[src*="widget.js"][data-product]:not([data-gs-done])');
  if (!me || me.getAttribute("data-gs-done")) return;
  me.setAttribute("data-gs-done", "1");
  var base = me.src.replace(/\/widget\.js(\?.*)?$/, "");
  var api = base + "/api/v1";
  var CSS = ":host{all:initial;display:block}*{box-sizing:border-box}" +
    ".gs{font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;background:#fff;" +
    "border:1px solid #d5d9e0;border-radius:8px;padding:16px;max-width:100%}" +
    "h2{font-size:1.15em;margin:0 0 8px}h3{font-size:1em;margin:16px 0 6px}" +
    "ul{list-style:none;margin:0;padding:0}li{padding:6px 0;border-top:1px solid #eef0f3;display:flex;" +
    "flex-wrap:wrap;gap:6px;align-items:baseline;justify-content:space-between}" +
    "a{color:#0b5cad}a:focus,button:focus,input:focus{outline:3px solid #f5b400;outline-offset:1px}" +
    "label{display:block;font-weight:600;margin:12px 0 4px}" +
    ".row{display:flex;gap:6px;flex-wrap:wrap}input{flex:1 1 12em;min-width:0;font:inherit;padding:8px;" +
    "border:1px solid #8a93a3;border-radius:6px}" +
    "button{font:inherit;padding:6px 12px;border-radius:6px;border:1px solid #0b5cad;background:#0b5cad;color:#fff;cursor:pointer}" +
    "button.alt{background:#fff;color:#0b5cad}.meta{color:#545d6e;font-size:.85em}.ask{display:inline-block;margin-top:12px}" +
    ".ok{color:#1c6b2c;font-weight:600}";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function get(path) {
    return fetch(api + path, { credentials: "omit", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    });
  }

  function mount(host, slug) {
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];  // not an inline <style>: works under a strict CSP
    } catch (e) { root.appendChild(el("style", {}, CSS)); }
    var q = encodeURIComponent(slug);
    var home = base + (slug ? "/products/" + q : "/");
    var box = el("section", { "class": "gs", "aria-labelledby": "gs-h" });
    var h = el("h2", { id: "gs-h" }, "Answers from the community");
    var best = el("ul", { "aria-label": "Best solved questions" });
    box.appendChild(h);
    box.appendChild(best);

    function item(list, x, deflectTitle) {
      var li = el("li");
      var a = el("a", { href: base + x.url }, x.title);
      li.appendChild(a);
      var meta = el("span", { "class": "meta" }, x.answer_count + (x.answer_count === 1 ? " answer" : " answers") +
        (x.has_accepted_answer ? " · solved" : ""));
      li.appendChild(meta);
      if (deflectTitle) {
        var b = el("button", { type: "button", "class": "alt" }, "This solved it");
        b.setAttribute("aria-label", "This solved it: " + x.title);
        b.addEventListener("click", function () {
          fetch(api + "/questions/" + x.id + "/deflect", {
            method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ title: deflectTitle().slice(0, 150) || x.title, product: slug || null })
          }).then(function (r) {
            if (!r.ok) throw new Error(r.status);
            var done = el("span", { "class": "ok", role: "status" }, "Glad it helped!");
            li.replaceChild(done, b);
          }).catch(function () { b.textContent = "Try again"; });
        });
        li.appendChild(b);
      }
      list.appendChild(li);
    }
    function fill(list, items, empty, deflectTitle) {
      list.textContent = "";
      if (!items.length) list.appendChild(el("li", {}, empty));
      items.forEach(function (x) { item(list, x, deflectTitle); });
    }

    var form = el("form", { role: "search" });
    form.appendChild(el("label", { "for": "gs-q" }, "Search the community"));
    var row = el("div", { "class": "row" });
    var search = el("input", { id: "gs-q", type: "search", name: "q", autocomplete: "off" });
    row.appendChild(search);
    row.appendChild(el("button", { type: "submit" }, "Search"));
    form.appendChild(row);
    var found = el("ul", { "aria-live": "polite", "aria-label": "Search results" });
    form.appendChild(found);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var t = search.value.trim();
      if (!t) return;
      get("/search?limit=5&q=" + encodeURIComponent(t) + (slug ? "&product=" + q : "")).then(function (d) {
        fill(found, d.items, "No questions match yet.");
      }).catch(function () { fill(found, [], "Search is unavailable right now."); });
    });
    box.appendChild(form);

    box.appendChild(el("h3", {}, "Have a question?"));
    box.appendChild(el("label", { "for": "gs-ask" }, "Your question"));
    var ask = el("input", { id: "gs-ask", type: "text", maxlength: "150", autocomplete: "off",
      "aria-describedby": "gs-ask-help" });
    box.appendChild(ask);
    box.appendChild(el("p", { id: "gs-ask-help", "class": "meta" }, "Similar questions appear as you type."));
    var similar = el("ul", { "aria-live": "polite", "aria-label": "Similar questions" });
    box.appendChild(similar);
    var link = el("a", { "class": "ask" }, "Ask the community");
    function askHref() {
      link.href = base + "/ask?" + (slug ? "product=" + q + "&" : "") + "title=" + encodeURIComponent(ask.value.trim());
    }
    askHref();
    box.appendChild(link);
    var timer, seq = 0;
    ask.addEventListener("input", function () {
      askHref();
      clearTimeout(timer);
      var t = ask.value.trim();
      if (t.length < 8) { similar.textContent = ""; return; }
      timer = setTimeout(function () {
        var n = ++seq;
        get("/questions/similar?limit=5&title=" + encodeURIComponent(t) + (slug ? "&product=" + q : "")).then(function (d) {
          if (n === seq) fill(similar, d.items, "Nothing similar yet: ask the community.", function () { return ask.value.trim(); });
        }).catch(function () {});
      }, 250);
    });

    root.appendChild(box);
    if (slug) {
      // Top contributors of the last 30 days (issue 18); shown only when there are some.
      get("/products/" + q + "/top-contributors?period=30d&limit=3").then(function (d) {
        if (!d.items.length) return;
        var th = el("h3", { id: "gs-top" }, "Top helpers, last 30 days");
        var tl = el("ul", { "aria-labelledby": "gs-top" });
        d.items.forEach(function (x) {
          var li = el("li");
          li.appendChild(el("a", { href: base + "/users/" + encodeURIComponent(x.user.username) }, x.user.display_name));
          li.appendChild(el("span", { "class": "meta" }, x.points + (x.points === 1 ? " point" : " points")));
          tl.appendChild(li);
        });
        box.insertBefore(tl, form);
        box.insertBefore(th, tl);
      }).catch(function () {});
    }
    Promise.all([
      slug ? get("/products/" + q) : Promise.resolve({ name: "" }),
      get("/questions?sort=votes&solved=true&limit=5" + (slug ? "&product=" + q : ""))
    ]).then(function (r) {
      if (r[0].name) h.textContent = r[0].name + ": answers from the community";
      fill(best, r[1].items, "No solved questions yet.");
      host.setAttribute("data-gs-state", "ready");
    }).catch(function () {
      // The community is unreachable: a plain link, nothing else.
      box.textContent = "";
      var p = el("p");
      p.appendChild(el("a", { href: home }, "Visit the community for answers"));
      box.appendChild(p);
      host.setAttribute("data-gs-state", "offline");
    });
  }

  var targets = document.querySelectorAll("[data-groundswell]:not([data-gs-host])");
  if (targets.length) {
    Array.prototype.forEach.call(targets, function (t) {
      t.setAttribute("data-gs-host", "1");
      mount(t, t.getAttribute("data-product") || me.getAttribute("data-product") || "");
    });
  } else {
    var host = el("div", { "data-gs-host": "1" });
    me.parentNode.insertBefore(host, me.nextSibling);
    mount(host, me.getAttribute("data-product") || "");
  }
})();
