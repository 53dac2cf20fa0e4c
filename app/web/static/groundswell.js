/* Groundswell progressive enhancement. Every page works without this file:
   - votes are sent with fetch to the JSON API (no page reload), falling back to the form post;
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
      if (!response.ok) throw new Error("vote refused: " + response.status);
      return response.json();
    }).then(function (data) {
      buttons.forEach(function (b) { b.disabled = false; });
      setPressed(form, data.my_vote);
      showScore(form, data.score);
    }).catch(function () {
      // Signed out, not allowed, rate limited…: let the server explain with a full page.
      buttons.forEach(function (b) { b.disabled = false; });
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
