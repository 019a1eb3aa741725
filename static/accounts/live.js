// The dashboard's live connection: /ws/balance/ with reconnection and backoff,
// and a visible live / reconnecting / offline state.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var attempt = 0;
  var socket = null;

  function show(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.querySelector(".label").textContent = text;
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/balance/");
    socket.onopen = function () {
      attempt = 0;
      show("live", "Live");
    };
    socket.onmessage = function (event) {
      document.dispatchEvent(new CustomEvent("celc:update", { detail: JSON.parse(event.data) }));
    };
    socket.onclose = function (event) {
      if (event.code === 4401) {
        show("offline", "Signed out: reload to sign in");
        return;
      }
      // Full jitter: spread reconnections out after a server restart.
      var delay = Math.random() * Math.min(30000, 500 * Math.pow(2, attempt));
      attempt += 1;
      show("reconnecting", "Reconnecting…");
      window.setTimeout(connect, delay);
    };
  }

  if ("WebSocket" in window) {
    connect();
  } else {
    show("offline", "Not live: this browser has no WebSocket");
  }
})();
