// The dashboard's live part: /ws/balance/ with reconnection and backoff, a visible
// live / reconnecting / offline state, and the balance ticking up between broadcasts.
//
// Amounts are kept as whole micro-rupees (the ledger's 6 places) in plain numbers:
// exact up to 9 billion rupees, so the server's figures are shown as they are.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var balanceEl = document.getElementById("balance");
  var card = document.querySelector(".balance-card");
  var rateEl = document.getElementById("balance-rate");
  var announceEl = document.getElementById("balance-announce");
  var todayEl = document.getElementById("today");
  var monthEl = document.getElementById("month");
  var LABELS = {
    on: "Power on", off: "Power cut", offline: "Offline", lost: "Lost contact",
    unknown: "Not heard from yet", revoked: "Revoked"
  };
  var MAX_EXTRAPOLATION = 3; // seconds: without news, stop guessing
  var ANNOUNCE_EVERY = 30000; // ms: screen readers hear the balance now and then, not every tick

  function micros(text) {
    // "12.345678" -> 12345678, without floating-point rounding.
    var negative = text.charAt(0) === "-";
    var parts = text.replace("-", "").split(".");
    var fraction = ((parts[1] || "") + "000000").slice(0, 6);
    var value = parseInt(parts[0] || "0", 10) * 1000000 + parseInt(fraction, 10);
    return negative ? -value : value;
  }

  function rupees(value, places) {
    // Truncated, never rounded up: the page does not show what is not yet owed.
    var negative = value < 0;
    value = Math.floor(Math.abs(value));
    var whole = Math.floor(value / 1000000);
    var fraction = String(value % 1000000).padStart(6, "0").slice(0, places);
    var text = whole.toLocaleString("en-IN") + (places ? "." + fraction : "");
    return negative ? "-" + text : text;
  }

  // The ticker: the last figure from the server, its rate, and when it arrived.
  var base = balanceEl ? micros(balanceEl.dataset.balance) : 0;
  var rate = balanceEl ? micros(balanceEl.dataset.rate) : 0; // micro-rupees a second
  var baseTime = performance.now();
  var shown = base;
  var renderedBalance = base;
  var todayBase = todayEl ? micros(todayEl.dataset.amount) : 0;
  var monthBase = monthEl ? micros(monthEl.dataset.amount) : 0;
  var skew = 0; // server clock minus this clock, ms
  var lastAnnounced = 0;
  var wasCut = rate > 0;

  function tick(now) {
    if (balanceEl) {
      var elapsed = Math.min((now - baseTime) / 1000, MAX_EXTRAPOLATION);
      var target = base + Math.floor(rate * elapsed);
      if (target > shown) shown = target; // a correction never moves it backwards
      var cut = rate > 0;
      balanceEl.textContent = rupees(shown, cut ? 4 : 2);
      var earned = Math.max(0, shown - renderedBalance);
      if (todayEl) todayEl.textContent = rupees(todayBase + earned, 2);
      if (monthEl) monthEl.textContent = rupees(monthBase + earned, 2);
      if (cut !== wasCut) {
        wasCut = cut;
        announce(true);
      } else if (cut && Date.now() - lastAnnounced > ANNOUNCE_EVERY) {
        announce(false);
      }
    }
    window.requestAnimationFrame(tick);
  }

  function announce(changed) {
    if (!announceEl) return;
    lastAnnounced = Date.now();
    var text = "Balance Rs " + rupees(shown, 2);
    if (rate > 0) {
      text += ", rising Rs " + rupees(rate * 3600, 2) + " an hour.";
    } else if (changed) {
      text += ". The power cut is over: the balance rests.";
    }
    announceEl.textContent = text;
  }

  function applyUpdate(state) {
    var now = performance.now();
    if (state.at) skew = Date.parse(state.at) - Date.now();
    if (state.balance !== undefined) {
      var next = micros(state.balance);
      var newRate = micros(state.rate_per_second || "0");
      // A real decrease (a payout) is shown at once; a smaller figure than the
      // extrapolated one only holds the ticker until the server catches up.
      if (next < shown - Math.max(2 * Math.max(rate, newRate), 1)) {
        shown = next;
        renderedBalance = next;
        todayBase = todayEl ? micros(todayEl.dataset.amount) : 0;
      }
      base = next;
      rate = newRate;
      baseTime = now;
      if (card) card.dataset.cut = rate > 0 ? "1" : "0";
      if (rateEl) {
        rateEl.textContent = rate > 0
          ? "Power cut: rising Rs " + rupees(rate, 6) + " a second (Rs " + rupees(rate * 3600, 2) + " an hour)"
          : "No cut now: the balance rests.";
      }
    }
    (state.devices || []).forEach(updateDevice);
  }

  function updateDevice(device) {
    var row = document.querySelector('tr[data-device="' + device.id + '"]');
    if (!row) return;
    var badge = row.querySelector('[data-field="state"]');
    badge.className = "badge power-" + device.state;
    badge.dataset.state = device.state;
    badge.textContent = LABELS[device.state] || device.state;
    var outage = device.outage;
    var timer = row.querySelector('[data-field="timer"]');
    if (outage) {
      timer.dataset.started = outage.started_at;
      timer.dataset.status = outage.status;
    } else {
      delete timer.dataset.started;
      delete timer.dataset.status;
      timer.textContent = "–";
    }
    var perSecond = outage ? micros(outage.rate_per_second) : 0;
    row.querySelector('[data-field="rate"]').textContent =
      perSecond > 0 ? "Rs " + rupees(perSecond * 3600, 2) + "/h" : "–";
    row.querySelector('[data-field="escalation"]').textContent =
      outage && outage.escalation ? "×" + outage.escalation : "–";
    row.querySelector('[data-field="owed"]').textContent =
      outage ? "Rs " + rupees(micros(outage.owed), 4) : "–";
    var seen = row.querySelector('[data-field="seen"]');
    if (device.last_seen_at) {
      var when = new Date(device.last_seen_at);
      seen.innerHTML = "";
      var time = document.createElement("time");
      time.dateTime = device.last_seen_at;
      time.textContent = when.toLocaleString("en-IN", {
        timeZone: "Asia/Kolkata", day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
      });
      seen.appendChild(time);
    }
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var pad = function (n) { return String(n).padStart(2, "0"); };
    if (h) return h + " h " + pad(m) + " min " + pad(s) + " s";
    if (m) return m + " min " + pad(s) + " s";
    return s + " s";
  }

  function updateTimers() {
    document.querySelectorAll('td[data-field="timer"][data-started]').forEach(function (cell) {
      if (cell.dataset.status !== "ongoing") return;
      cell.textContent = duration((Date.now() + skew - Date.parse(cell.dataset.started)) / 1000);
    });
  }

  function show(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.querySelector(".label").textContent = text;
  }

  function resync() {
    // After (re)connecting: the state now, in case a broadcast was missed meanwhile.
    fetch("/api/me/summary", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state) applyUpdate(state); })
      .catch(function () { /* the next broadcast brings it */ });
  }

  var attempt = 0;
  var connectedBefore = false;
  var socketOpen = false;
  // The server sends a heartbeat through the channel layer every few seconds; a
  // page that hears nothing for 2.5 heartbeats is not live, even with its socket open.
  var heartbeat = status ? parseFloat(status.dataset.heartbeat || "10") : 10;
  var lastHeard = performance.now();

  function heard() {
    lastHeard = performance.now();
    if (socketOpen) show("live", "Live");
  }

  window.setInterval(function () {
    if (socketOpen && performance.now() - lastHeard > heartbeat * 2500) {
      show("stale", "Not live: no news from the server");
    }
  }, 1000);

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/balance/");
    socket.onopen = function () {
      attempt = 0;
      socketOpen = true;
      lastHeard = performance.now();
      show("live", "Live");
      if (connectedBefore) resync();
      connectedBefore = true;
    };
    socket.onmessage = function (event) {
      var state = JSON.parse(event.data);
      heard();
      if (state.type === "alive") return;
      applyUpdate(state);
      document.dispatchEvent(new CustomEvent("celc:update", { detail: state }));
    };
    socket.onclose = function (event) {
      socketOpen = false;
      if (event.code === 4401) {
        show("offline", "Signed out: reload to sign in");
        return;
      }
      // Full jitter: spread reconnections out after a server restart.
      var delay = Math.random() * Math.min(30000, 500 * Math.pow(2, attempt));
      attempt += 1;
      if (navigator.onLine === false) {
        show("offline", "Offline: waiting for the network");
      } else {
        show("reconnecting", "Reconnecting…");
      }
      window.setTimeout(connect, delay);
    };
  }

  window.requestAnimationFrame(tick);
  window.setInterval(updateTimers, 1000);
  updateTimers();
  if ("WebSocket" in window) {
    connect();
  } else {
    show("offline", "Not live: this browser has no WebSocket");
  }
})();
