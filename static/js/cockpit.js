// Cockpit's page script: the live event socket. Loaded as a file (the CSP forbids inline scripts).
(function () {
  "use strict";
  const body = document.body;
  const path = body.dataset.eventsUrl;
  if (!path) return;
  const status = document.getElementById("live-status");
  const feed = document.getElementById("live-events");
  let delay = 1000;

  function show(text, url) {
    if (!feed) return;
    const note = document.createElement("p");
    note.className = "toast";
    note.setAttribute("data-testid", "live-prompt");
    if (url) {
      const link = document.createElement("a");
      link.href = url;
      link.textContent = text;
      note.appendChild(link);
    } else {
      note.textContent = text;
    }
    feed.prepend(note);
  }

  function handle(message) {
    document.dispatchEvent(new CustomEvent("cockpit:" + message.event, { detail: message.data }));
    // htmx fragments listen for these on <body> (hx-trigger="cockpit-approvals-changed from:body").
    if (message.event.indexOf("approval.") === 0) {
      body.dispatchEvent(new CustomEvent("cockpit-approvals-changed", { detail: message.data }));
      body.dispatchEvent(new CustomEvent("cockpit-keys-changed", { detail: message.data }));
    }
    if (message.data && message.data.prompt) show(message.data.prompt, message.data.url);
    if (message.data && typeof message.data.pending_approvals === "number") {
      const badge = document.getElementById("approvals-badge");
      if (badge) {
        badge.textContent = String(message.data.pending_approvals);
        badge.hidden = message.data.pending_approvals === 0;
      }
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + path);
    socket.addEventListener("open", function () {
      delay = 1000;
      if (status) { status.classList.add("on"); status.title = "Live updates on"; }
    });
    socket.addEventListener("message", function (e) {
      try { handle(JSON.parse(e.data)); } catch (err) { /* ignore malformed frames */ }
    });
    socket.addEventListener("close", function (e) {
      if (status) { status.classList.remove("on"); status.title = "Live updates off"; }
      if (e.code === 4401 || e.code === 4404) return;  // not allowed: do not hammer the server
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
})();
