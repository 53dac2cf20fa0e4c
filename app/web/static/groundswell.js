/* Groundswell progressive enhancement. Every page works without this file:
   - votes are sent with fetch to the JSON API (no page reload), falling back to the form post;
     a refused vote (locked, daily limit, privilege) shows the server's explanation by the post;
   - delete buttons ask for confirmation;
   - the error summary of a rejected form takes focus; "Go back" buttons appear. */
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

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
    document.querySelectorAll("[data-back]").forEach(function (button) {
      if (window.history.length < 2) return;
      button.hidden = false;
      button.addEventListener("click", function () { window.history.back(); });
    });
  });
})();
