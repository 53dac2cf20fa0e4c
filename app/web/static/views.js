/* Saved views (/views): each column refreshes itself without a page reload (progressive
   enhancement; without this file the page is a stack of lists with a Reload link).
   - every column gets a "Refresh" button; all columns refresh every data-refresh-seconds (60 s);
   - nothing is fetched while the tab is hidden; coming back refreshes at once if one is due;
   - a column's body is swapped with the server's fragment (/views/{id}/column: the same template
     as the page), and a polite live region says when it was updated and how many questions it has. */
(function () {
  "use strict";

  function timeNow() {
    var d = new Date();
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function refresh(column) {
    var url = column.getAttribute("data-fragment-url");
    var status = column.querySelector("[data-view-status]");
    var button = column.querySelector("[data-view-refresh]");
    if (!url || column.getAttribute("aria-busy") === "true") return Promise.resolve();
    column.setAttribute("aria-busy", "true");
    if (button) button.disabled = true;
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}, cache: "no-store"})
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-view-body]");
        var body = column.querySelector("[data-view-body]");
        if (!fresh || !body) throw new Error("not a column");  // e.g. signed out meanwhile
        body.innerHTML = fresh.innerHTML;
        var count = body.querySelector("[data-view-count]");
        if (status) status.textContent = "Updated at " + timeNow() + (count ? ": " + count.textContent : "") + ".";
        column.setAttribute("data-refreshed", String(Number(column.getAttribute("data-refreshed") || 0) + 1));
      })
      .catch(function () {
        if (status) status.textContent = "Could not refresh just now; it will try again, or reload the page.";
      })
      .then(function () {
        column.removeAttribute("aria-busy");
        if (button) button.disabled = false;
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.querySelector("[data-view-columns]");
    if (!container) return;
    document.querySelectorAll("[data-views-live]").forEach(function (note) { note.hidden = false; });
    var columns = Array.prototype.slice.call(container.querySelectorAll("[data-view-column]"));
    columns.forEach(function (column) {
      var actions = column.querySelector(".view-column-actions");
      if (!actions) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link-button";
      button.setAttribute("data-view-refresh", "");
      var title = column.querySelector("h2");
      button.textContent = "Refresh";
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " “" + (title ? title.textContent.trim() : "") + "”";
      button.appendChild(hidden);
      button.addEventListener("click", function () { refresh(column); });
      actions.insertBefore(button, actions.firstChild);
    });
    var every = Math.max(5, Number(container.getAttribute("data-refresh-seconds")) || 60) * 1000;
    var last = Date.now();
    function refreshAll() {
      last = Date.now();
      columns.forEach(refresh);
    }
    window.setInterval(function () {
      if (!document.hidden) refreshAll();
    }, every);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && Date.now() - last >= every) refreshAll();
    });
  });
})();
