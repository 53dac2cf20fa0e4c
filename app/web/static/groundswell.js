/* Groundswell progressive enhancement. Every page works without this file:
   - votes are sent with fetch to the JSON API (no page reload), falling back to the form post;
     a refused vote (locked, daily limit, privilege) shows the server's explanation by the post;
   - delete buttons ask for confirmation;
   - the error summary of a rejected form takes focus; "Go back" buttons appear;
   - on the ask page, similar questions already asked are listed under the title as it is typed
     (the "Do any of these solve your problem?" check before posting is done by the server). */
(function () {
  "use strict";

  function setPressed(form, mine) {
    form.querySelectorAll("button[data-direction]").forEach(function (button) {
      var direction = Number(button.getAttribute("data-direction"));
      var pressed = mine === direction;
      button.setAttribute("aria-pressed", pressed ? "true" : "false");
      button.value = pressed ? "0" : String(direction);
    });
  }

  function showScore(form, score) {
    var el = form.querySelector("[data-score]");
    if (!el) return;
    var label = el.querySelector(".visually-hidden");
    el.textContent = "";
    if (label) el.appendChild(label);
    el.appendChild(document.createTextNode(String(score)));
  }

  function fallback(form, button) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = button.name;
    input.value = button.value;
    form.appendChild(input);
    form.submit();
  }

  // A refused vote (locked, daily limit, privilege not earned) is explained next to the post.
  function problemBox(form) {
    var post = form.closest(".post");
    var main = post && post.querySelector(".post-main");
    if (!main) return null;
    var box = main.querySelector("[data-vote-problem]");
    if (!box) {
      box = document.createElement("p");
      box.className = "flash flash-error vote-problem";
      box.setAttribute("role", "alert");
      box.setAttribute("data-vote-problem", "");
      main.insertBefore(box, main.firstChild);
    }
    return box;
  }

  function showProblem(form, detail) {
    var box = problemBox(form);
    if (!box) return false;
    box.textContent = detail + " ";
    var link = document.createElement("a");
    link.href = "/help/reputation#voting";
    link.textContent = "How voting works";
    box.appendChild(link);
    return true;
  }

  function clearProblem(form) {
    var post = form.closest(".post");
    var box = post && post.querySelector("[data-vote-problem]");
    if (box) box.parentNode.removeChild(box);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;

    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }

    if (!form.hasAttribute("data-vote-form") || !window.fetch) return;
    var button = event.submitter;
    if (!button || !button.hasAttribute("data-direction")) return;
    event.preventDefault();
    var token = form.querySelector("input[name=csrf_token]");
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.getAttribute("data-api"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": token ? token.value : ""
      },
      body: JSON.stringify({ value: Number(button.value) })
    }).then(function (response) {
      if (response.ok) return response.json();
      var status = response.status;
      // Refusals the voter can act on come as problem+json with a detail to show here.
      if (status === 403 || status === 409 || status === 429) {
        return response.json().then(function (problem) {
          var error = new Error("vote refused: " + status);
          error.detail = problem && problem.detail;
          throw error;
        });
      }
      throw new Error("vote refused: " + status);
    }).then(function (data) {
      buttons.forEach(function (b) { b.disabled = false; });
      clearProblem(form);
      setPressed(form, data.my_vote);
      showScore(form, data.score);
    }).catch(function (error) {
      buttons.forEach(function (b) { b.disabled = false; });
      if (error && error.detail && showProblem(form, error.detail)) return;
      // Signed out, offline, a server error…: let the server explain with a full page.
      fallback(form, button);
    });
  });

  // --- ask page: similar questions as the title is typed --------------------------------------

  var SIMILAR_DEBOUNCE_MS = 300;
  var SIMILAR_LIMIT = 5;
  // Defaults; the page gives the server's values (app/web/search.py SIMILAR_MIN, SIMILAR_MIN_CHARS).
  var SIMILAR_MIN_SIMILARITY = 0.45;
  var SIMILAR_MIN_CHARS = 12;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value || "";
    return input;
  }

  function initSimilarLive() {
    var live = document.querySelector("[data-similar-live]");
    var form = live && live.closest("form");
    var title = form && form.querySelector("input[name=title]");
    if (!title || !window.fetch || !window.AbortController || !window.URLSearchParams) return;
    var product = form.querySelector("select[name=product]");
    var status = live.querySelector("[data-similar-status]");
    var box = live.querySelector("[data-similar-box]");
    var list = live.querySelector("[data-similar-list]");
    var minSimilarity = Number(live.getAttribute("data-min-similarity")) || SIMILAR_MIN_SIMILARITY;
    var minChars = Number(live.getAttribute("data-min-chars")) || SIMILAR_MIN_CHARS;
    var token = form.querySelector("input[name=csrf_token]");
    var timer = null;
    var controller = null;
    var shownKey = "";

    // "Yes, this solved it" posts this form (outside the ask form, so that pressing Enter in the
    // title still posts the question); each button gives its own formaction.
    var yesForm = document.createElement("form");
    yesForm.method = "post";
    yesForm.id = "similar-yes-form";
    yesForm.hidden = true;
    var yesTitle = hidden("title");
    var yesProduct = hidden("product");
    var yesAnswer = hidden("answer_id");
    yesForm.appendChild(hidden("csrf_token", token ? token.value : ""));
    yesForm.appendChild(yesAnswer);
    yesForm.appendChild(yesTitle);
    yesForm.appendChild(yesProduct);
    form.parentNode.insertBefore(yesForm, form.nextSibling);

    function clear() {
      box.hidden = true;
      list.textContent = "";
      if (status.textContent) status.textContent = "";
    }

    function item(q) {
      var li = el("li", "similar-item");
      var main = el("div", "similar-main");
      var link = el("a", "", q.title);
      link.href = q.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.appendChild(el("span", "visually-hidden", " (opens in a new tab)"));
      main.appendChild(link);
      var meta = el("span", "similar-meta");
      if (q.has_accepted_answer) {
        var badge = el("span", "badge badge-solved");
        var check = el("span", "", "\u2713 ");
        check.setAttribute("aria-hidden", "true");
        badge.appendChild(check);
        badge.appendChild(document.createTextNode("Solved"));
        meta.appendChild(badge);
        meta.appendChild(document.createTextNode(" "));
      }
      meta.appendChild(el("span", "muted", q.answer_count + (q.answer_count === 1 ? " answer" : " answers")));
      main.appendChild(meta);
      li.appendChild(main);
      // Only a question with an answer can have solved it; the click names that answer.
      if (!q.answer_id) return li;
      var yes = el("button", "button button-accept button-small", "Yes, this solved it");
      yes.type = "submit";
      yes.setAttribute("form", yesForm.id);
      yes.setAttribute("formaction", "/questions/" + encodeURIComponent(q.id) + "/solved-it");
      yes.appendChild(el("span", "visually-hidden", ": " + q.title));
      yes.addEventListener("click", function () {
        yesTitle.value = title.value;
        yesProduct.value = product ? product.value : "";
        yesAnswer.value = String(q.answer_id);
      });
      li.appendChild(yes);
      return li;
    }

    function show(items) {
      var relevant = items.filter(function (q) { return q.similarity >= minSimilarity; });
      // Solved ones first; otherwise the server's order (most similar first).
      relevant = relevant.filter(function (q) { return q.has_accepted_answer; })
        .concat(relevant.filter(function (q) { return !q.has_accepted_answer; }));
      if (!relevant.length) {
        clear();
        return;
      }
      list.textContent = "";
      relevant.forEach(function (q) { list.appendChild(item(q)); });
      box.hidden = false;
      var n = relevant.length;
      status.textContent = n + (n === 1 ? " similar question found" : " similar questions found") +
        ": see the list under the title.";
    }

    function query() {
      timer = null;
      var text = title.value.trim();
      var slug = product ? product.value : "";
      var key = text + "\u0000" + slug;
      if (key === shownKey) return;
      if (controller) controller.abort();
      controller = null;
      if (text.length < minChars) {
        shownKey = key;
        clear();
        return;
      }
      var params = new URLSearchParams({ title: text, limit: String(SIMILAR_LIMIT) });
      if (slug) params.set("product", slug);
      var mine = controller = new AbortController();
      fetch("/api/v1/questions/similar?" + params.toString(), {
        signal: mine.signal,
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) throw new Error("similar questions: " + response.status);
        return response.json();
      }).then(function (data) {
        if (mine !== controller) return;
        controller = null;
        shownKey = key;
        show((data && data.items) || []);
      }).catch(function (error) {
        if (mine !== controller || (error && error.name === "AbortError")) return;
        controller = null;
        clear();  // suggestions are a help, never in the way: hide them and try again on the next change
      });
    }

    function schedule(delay) {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(query, delay);
    }

    title.addEventListener("input", function () { schedule(SIMILAR_DEBOUNCE_MS); });
    if (product) product.addEventListener("change", function () { schedule(0); });
    // Back on the form with a title already there (a correction was asked for): look at once,
    // unless the server is already asking "Do any of these solve your problem?".
    if (!document.querySelector("[data-similar-panel]") && title.value.trim().length >= minChars) schedule(0);
  }

  // "Yes, this solved it" under "Do any of these solve your problem?": count the would-be question
  // with what is in the ask form now (edits included), not the copy made when the panel was shown.
  function initSolvedItForms() {
    var ask = document.getElementById("ask-form");
    if (!ask) return;
    document.querySelectorAll("form.similar-yes").forEach(function (yes) {
      yes.addEventListener("submit", function () {
        yes.querySelectorAll("input[data-from-field]").forEach(function (input) {
          var field = ask.elements.namedItem(input.getAttribute("data-from-field"));
          if (field && typeof field.value === "string") input.value = field.value;
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initSimilarLive();
    initSolvedItForms();
    var summary = document.querySelector("[data-error-summary]") || document.querySelector("[data-similar-panel]");
    if (summary) summary.focus();
    document.querySelectorAll("[data-back]").forEach(function (button) {
      if (window.history.length < 2) return;
      button.hidden = false;
      button.addEventListener("click", function () { window.history.back(); });
    });
  });
})();

// --- issue 14: Markdown preview and tag suggestions on the post forms (progressive enhancement:
// without JavaScript the form's "Preview" button renders on the server, and tags are a plain field).
(function () {
  "use strict";

  function csrfOf(form) {
    var token = form && form.querySelector("input[name=csrf_token]");
    return token ? token.value : "";
  }

  // The body as it will show, rendered by the server through the same sanitiser as posts.
  function initPreview() {
    var box = document.querySelector("[data-md-preview]");
    var form = box && box.closest("form");
    var body = form && form.querySelector("textarea[name=body]");
    var out = box && box.querySelector("[data-md-preview-body]");
    if (!body || !out || !window.fetch || !window.AbortController) return;
    var timer = null;
    var controller = null;
    var shown = null;

    function render() {
      timer = null;
      var text = body.value;
      if (text === shown) return;
      if (controller) controller.abort();
      if (!text.trim()) {
        shown = text;
        box.hidden = true;
        out.textContent = "";
        return;
      }
      var mine = controller = new AbortController();
      fetch("/api/v1/markdown/preview", {
        method: "POST",
        signal: mine.signal,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfOf(form) },
        body: JSON.stringify({ text: text.slice(0, 30000) })
      }).then(function (response) {
        if (!response.ok) throw new Error("preview: " + response.status);
        return response.json();
      }).then(function (data) {
        if (mine !== controller) return;
        controller = null;
        shown = text;
        out.innerHTML = data.html;  // sanitised by the server (app/core/markdown.py), as body_html
        box.hidden = false;
      }).catch(function () {
        if (mine === controller) controller = null;  // a help, never in the way: try again on the next change
      });
    }

    body.addEventListener("input", function () {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(render, 400);
    });
    var button = form.querySelector("[data-preview-button]");
    if (button) button.hidden = true;  // the preview follows the typing
    if (body.value.trim()) render();
  }

  // Tag suggestions while typing: the ARIA 1.2 combobox pattern (list autocomplete, the focus
  // stays in the field, aria-activedescendant marks the option). The field holds comma-separated
  // tags; suggestions are for the one being typed, from the tags already in use.
  function initTagSuggestions() {
    var input = document.querySelector(".post-form input[name=tags]");
    if (!input || !window.fetch || !window.AbortController || !window.URLSearchParams) return;
    var list = document.createElement("ul");
    list.id = input.id + "-suggestions";
    list.className = "tag-suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Tag suggestions");
    list.hidden = true;
    input.parentNode.insertBefore(list, input.nextSibling);
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.parentNode.insertBefore(status, list.nextSibling);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");
    var active = -1;
    var items = [];
    var timer = null;
    var controller = null;

    function current() {
      var parts = input.value.split(",");
      return parts[parts.length - 1].trim();
    }

    function close() {
      list.hidden = true;
      list.textContent = "";
      items = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      if (index >= 0) input.setAttribute("aria-activedescendant", items[index].id);
      else input.removeAttribute("aria-activedescendant");
    }

    function choose(name) {
      var parts = input.value.split(",");
      parts[parts.length - 1] = " " + name;
      var value = parts.map(function (p) { return p.trim(); }).filter(Boolean).join(", ");
      input.value = value + ", ";
      close();
      input.focus();
    }

    function show(tags) {
      list.textContent = "";
      var typed = input.value.split(",").map(function (p) { return p.trim().toLowerCase(); });
      items = tags.filter(function (t) { return typed.indexOf(t.name) < 0 || t.name === current().toLowerCase(); })
        .map(function (t, i) {
          var li = document.createElement("li");
          li.id = list.id + "-" + i;
          li.setAttribute("role", "option");
          li.setAttribute("aria-selected", "false");
          li.className = "tag-suggestion";
          var name = document.createElement("span");
          name.className = "tag";
          name.textContent = t.name;
          var count = document.createElement("span");
          count.className = "muted";
          count.textContent = " " + t.question_count + (t.question_count === 1 ? " question" : " questions");
          li.appendChild(name);
          li.appendChild(count);
          li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(t.name); });
          list.appendChild(li);
          return li;
        });
      if (!items.length) {
        close();
        return;
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(-1);
      status.textContent = items.length + (items.length === 1 ? " tag suggested" : " tags suggested");
    }

    function lookup() {
      timer = null;
      var prefix = current();
      if (controller) controller.abort();
      controller = null;
      if (!prefix) {
        close();
        return;
      }
      var mine = controller = new AbortController();
      fetch("/api/v1/tags?" + new URLSearchParams({ prefix: prefix.slice(0, 35), limit: "8" }).toString(), {
        signal: mine.signal, credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) throw new Error("tags: " + response.status);
        return response.json();
      }).then(function (data) {
        if (mine !== controller) return;
        controller = null;
        show((data && data.items) || []);
      }).catch(function () {
        if (mine === controller) controller = null;
      });
    }

    input.addEventListener("input", function () {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(lookup, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight((active + 1) % items.length);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();  // choosing a tag must not post the form
        choose(items[active].querySelector(".tag").textContent);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 0); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initPreview();
    initTagSuggestions();
  });
})();

// The Quote button (docs/quoting.md): inserts `[quote=answer:N]` … `[/quote]` into the answer form
// at the cursor, with the text selected in that post or else its first paragraph. Without script
// the link opens the page with the form prefilled (?quote=answer:N#your-answer).
(function () {
  "use strict";

  function selectedIn(prose) {
    var selection = window.getSelection && window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return "";
    return prose.contains(selection.getRangeAt(0).commonAncestorContainer) ? selection.toString().trim() : "";
  }

  function firstParagraph(prose) {
    for (var i = 0; i < prose.children.length; i++) {
      var child = prose.children[i];
      if (child.tagName === "P" && child.textContent.trim()) return child.textContent.trim();
    }
    return prose.textContent.trim().split(/\n\s*\n/)[0] || "";
  }

  function parts(target) {
    var link = target && target.closest ? target.closest("a[data-quote]") : null;
    var main = link && link.closest(".post-main");
    return link && main ? {link: link, prose: main.querySelector(".prose")} : null;
  }

  var captured = "";
  // A click on the link may clear the selection before "click": remember it on pointer down.
  document.addEventListener("mousedown", function (event) {
    var found = parts(event.target);
    captured = found && found.prose ? selectedIn(found.prose) : "";
  });

  document.addEventListener("click", function (event) {
    var found = parts(event.target);
    var textarea = document.getElementById("answer-body");
    if (!found || !found.prose || !textarea) return;  // no answer form here: follow the link
    if (event.button || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;  // a new tab
    event.preventDefault();
    var text = selectedIn(found.prose) || captured || firstParagraph(found.prose);
    captured = "";
    var block = "[quote=" + found.link.getAttribute("data-quote") + "]\n" + text + "\n[/quote]\n\n";
    var value = textarea.value, start = textarea.selectionStart, end = textarea.selectionEnd;
    var before = value.slice(0, start);
    if (before && !/\n\n$/.test(before)) before += /\n$/.test(before) ? "\n" : "\n\n";
    textarea.value = before + block + value.slice(end);
    var caret = (before + block).length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event("input", {bubbles: true}));  // the live preview follows
    textarea.scrollIntoView({block: "center"});
  });
})();
