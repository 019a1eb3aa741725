// The dashboard's live part. The page ticks from a quote, not from a stream: the server
// sends the household's exact state at a moment T (payouts/quotes.py: the ledger, what it
// holds of each outage, the outages' facts, the policy versions) and the page works the
// balance out on every animation frame with the same closed form (static/js/compensation.js,
// a port of policy/compensation.py, exact to the last of 6 places). Events from the web
// process that stores the ticks keep the outages' facts current between quotes: a cut
// started, the power back, a gap, a device silent (paused) or heard again.
//
// The count never runs ahead of the evidence by more than a few seconds: it runs two seconds
// behind the clock, an ongoing outage is counted on only until the quote's cover, and a
// silent device's outage only to its last tick. While a cut is under way the figure shown
// never moves backwards but for a payout or an adjustment; once no cut is (the power back
// everywhere) it is exactly what the facts say is owed, so that a power back heard later
// than the count ran (a loaded server) corrects what was counted past it. When the page is
// not live, everything live stops together and says since when.
(function () {
  "use strict";
  var C = window.celcCompensation;
  var money = window.celcMoney;
  var status = document.getElementById("live-status");
  var balanceEl = document.getElementById("balance");
  var card = document.querySelector(".balance-card");
  var rateEl = document.getElementById("balance-rate");
  var announceEl = document.getElementById("balance-announce");
  var todayEl = document.getElementById("today");
  var monthEl = document.getElementById("month");
  var frozenNote = document.getElementById("frozen-note");
  var quoteEl = document.getElementById("quote");
  // The page's words come from the server's catalogue in its language (/jsi18n/).
  var LABELS = {
    on: gettext("Power on"), off: gettext("Power cut"), offline: gettext("Offline"),
    lost: gettext("Lost contact"), unknown: gettext("Not heard from yet"),
    revoked: gettext("Revoked"), silent: gettext("Power cut: device silent")
  };
  function say(text, values) {
    return interpolate(text, values, true);
  }
  var ANNOUNCE_EVERY = 30000; // ms: screen readers hear the balance now and then, not every tick
  var GROWING_EVERY = 1000; // ms: how often to ask whether the caps still let it grow
  var ASK_FOR_A_QUOTE_AFTER = 2000; // ms: a cut heard of, no quote yet: the page asks
  // The count runs this far behind the clock: news of the power back reaches the page
  // within it, as a rule, so the figure does not have to go back to meet it (when it comes
  // later, the figure at rest is corrected). Two seconds: a loaded server or network can take
  // more than one to deliver it. A device falling silent is told later (devices.live:
  // PAUSE_AFTER): the figure holds while the count waits, and goes on when it ticks again.
  var LAG = 2000; // ms
  var MICRO = BigInt(1000);

  // The model: the last quote, kept current by events. Instants as BigInt microseconds.
  var model = null;
  var skew = 0; // server clock minus this clock, ms
  var shown = null; // micro-rupees on display: never backwards but for a payout/adjustment
  var shownAt = null; // the moment `shown` is the balance at (BigInt microseconds)
  var earnedAtStart = null; // the outages' owed total at the moment today/month were rendered
  var todayBase = todayEl ? money.micros(todayEl.dataset.amount) : 0;
  var monthBase = monthEl ? money.micros(monthEl.dataset.amount) : 0;
  var growing = { checked: 0, value: true };
  var lastAnnounced = 0;
  var wasCut = false;
  var frozenSince = null;
  var waiting = false;

  function serverNow() {
    return BigInt(Math.round(Date.now() + skew - LAG)) * MICRO;
  }

  function micros(text) {
    return money.micros(text);
  }

  // Decimal string with 6 places -> micro-rupees (a Number: exact up to 9 billion rupees).
  function toMicros(decimal) {
    return micros(decimal.toFixed ? decimal.toFixed(6) : String(decimal));
  }

  function fromQuote(quote) {
    var m = quote.money;
    var outages = {};
    m.outages.forEach(function (o) {
      var facts = C.OutageFacts(o);
      outages[o.id] = {
        facts: facts,
        status: o.status,
        lastTick: o.last_tick_at ? C.instant(o.last_tick_at) : null,
        openStart: o.open_interval_start ? C.instant(o.open_interval_start) : null,
        posted: new C.Decimal(o.posted),
        paused: false,
        quoted: true
      };
    });
    return {
      at: C.instant(quote.at),
      ledger: new C.Decimal(m.ledger),
      policies: C.Policies(m.policies.map(C.Terms)),
      outages: outages,
      cover: C.instant(m.cover_until)
    };
  }

  // An ongoing outage's facts as witnessed up to `until` if its device ticked on from its
  // last tick: the interval growing from the last tick runs on (payouts.quotes.extended).
  function extended(o, until) {
    if (o.lastTick === null || !(until > o.lastTick)) return o.facts;
    var intervals = o.facts.intervals.slice();
    var last = intervals[intervals.length - 1];
    if (last && last[1] === o.lastTick) intervals[intervals.length - 1] = [last[0], until];
    else intervals.push([o.lastTick, until]);
    return o.facts.withIntervals(intervals);
  }

  // The outages as they will be witnessed up to `t` if their devices keep ticking.
  function factsAt(t) {
    var list = [];
    Object.keys(model.outages).forEach(function (id) {
      var o = model.outages[id];
      if (!o.quoted) return; // a cut heard of but not quoted yet: counted from its quote
      var facts = o.facts;
      if (o.status === "ongoing" && !o.paused) facts = extended(o, t < model.cover ? t : model.cover);
      list.push(facts);
    });
    return list;
  }

  // The balance at t (micro-rupees) and each outage's owed (6-place strings).
  function compute(t) {
    var list = factsAt(t);
    var owed = C.householdOwed(list, model.policies, t).byOutage;
    var balance = model.ledger;
    var earned = new C.Decimal(0);
    list.forEach(function (facts) {
      var o = model.outages[facts.id];
      balance = balance.plus(new C.Decimal(owed[facts.id])).minus(o.posted);
      earned = earned.plus(new C.Decimal(owed[facts.id]));
    });
    return { balance: toMicros(balance), earned: toMicros(earned), owed: owed, facts: list };
  }

  // Rupees a second now, over the ongoing outages the caps still let grow.
  function rateAt(t, state) {
    if (Date.now() - growing.checked > GROWING_EVERY) {
      growing.value = C.stillGrowing(state.facts, model.policies, t, state.owed);
      growing.checked = Date.now();
    }
    var total = 0;
    var perOutage = {};
    state.facts.forEach(function (facts) {
      var o = model.outages[facts.id];
      var r = 0;
      if (growing.value && o.status === "ongoing" && !o.paused && !(t > model.cover)) {
        var terms = model.policies.at(t);
        var unpaid = C.unpaidWindows(facts, model.policies).some(function (w) {
          return w[0] <= t && t < w[1];
        });
        if (!unpaid && new C.Decimal(state.owed[facts.id]).lt(terms.capPerOutage)) {
          r = micros(C.rate(terms, facts.valueAt(t), facts.witnessedBefore(t)));
        }
      }
      perOutage[facts.id] = r;
      total += r;
    });
    return { total: total, perOutage: perOutage };
  }

  function render(now) {
    if (!model || !balanceEl) return;
    var t = frozenSince ? BigInt(Math.round(frozenSince + skew - LAG)) * MICRO : serverNow();
    var state = compute(t);
    var rate = frozenSince ? { total: 0, perOutage: {} } : rateAt(t, state);
    var cut = rate.total > 0;
    // A figure ahead of the count (the page opened with the server's balance of now, the
    // count LAG behind) holds until the count reaches it; only then is it the balance at a
    // moment of the count (data-at, empty until then).
    if (shown === null || state.balance >= shown || !anyOngoing()) {
      shown = state.balance;
      shownAt = t;
    }
    if (earnedAtStart === null) earnedAtStart = state.earned;
    money.render(balanceEl.querySelector("data.money"), shown);
    var earned = Math.max(0, state.earned - earnedAtStart);
    if (todayEl) money.render(todayEl.querySelector("data.money"), todayBase + earned);
    if (monthEl) money.render(monthEl.querySelector("data.money"), monthBase + earned);
    if (card) card.dataset.cut = cut ? "1" : "0";
    balanceEl.dataset.balance = money.parts(shown)[2];
    balanceEl.dataset.at = shownAt === null ? "" : C.isoformat(shownAt);
    showRate(rate.total, t);
    devicesAt(state, rate);
    if (!frozenSince && t > model.cover && anyOngoing()) {
      if (!waiting) {
        waiting = true;
        show("stale", gettext("Not live: waiting for the server"));
      }
    }
    if (cut !== wasCut) {
      wasCut = cut;
      announce(true, rate.total);
    } else if (cut && Date.now() - lastAnnounced > ANNOUNCE_EVERY) {
      announce(false, rate.total);
    }
  }

  function anyOngoing() {
    return Object.keys(model.outages).some(function (id) {
      return model.outages[id].status === "ongoing";
    });
  }

  function showRate(total, t) {
    if (!rateEl || frozenSince) return;
    var text = gettext("No cut now: the balance rests.");
    if (total > 0) {
      text = say(gettext("Power cut: rising %(rate)s an hour"), { rate: money.text(total * 3600) });
    } else if (anyOngoing()) {
      var silent = Object.keys(model.outages).some(function (id) {
        var o = model.outages[id];
        return o.status === "ongoing" && (o.paused || !o.quoted);
      });
      var starting = Object.keys(model.outages).some(function (id) {
        var o = model.outages[id];
        // Not begun at the count's moment, or begun without a second witnessed yet (one
        // tick so far): the count is about to start, not stopped.
        return o.status === "ongoing" && o.facts &&
          (o.facts.startedAt > t || extended(o, t).witnessedBefore(t).isZero());
      });
      if (silent) text = gettext("Power cut: the count waits to hear from the device or the server");
      else if (t > model.cover) text = gettext("Power cut: the count waits for the server");
      else if (starting) {
        text = gettext("Power cut: the count starts in a moment (it runs two seconds behind)");
      } else {
        text = gettext(
          "Power cut: nothing more is owed now (a cap is reached, or this time is not paid)"
        );
      }
    }
    if (rateEl.textContent !== text) rateEl.textContent = text;
  }

  function devicesAt(state, rate) {
    // The outages table's amount of each cut the page counts on goes on with it.
    document.querySelectorAll("#outages tr[data-outage]").forEach(function (row) {
      var id = row.dataset.outage;
      if (!(id in state.owed)) return;
      var amount = row.querySelector('td[data-field="amount"] data.money');
      if (amount) money.render(amount, micros(state.owed[id]));
    });
    document.querySelectorAll("tr[data-device]").forEach(function (row) {
      var outageId = row.dataset.outage;
      if (!outageId || !(outageId in state.owed)) return;
      var owed = row.querySelector('[data-field="owed"] data.money');
      if (owed) money.render(owed, micros(state.owed[outageId]));
      var perSecond = rate.perOutage[outageId] || 0;
      var cell = row.querySelector('[data-field="rate"]');
      var text = perSecond > 0 ? perHour(perSecond) : "–";
      if (cell.textContent !== text) cell.textContent = text;
    });
  }

  function tick() {
    try {
      render();
    } catch (error) {
      // A bad quote must not stop the page: the next one replaces it.
      if (window.console) console.error(error);
    }
    window.requestAnimationFrame(tick);
  }

  function announce(changed, perSecond) {
    if (!announceEl || shown === null) return;
    lastAnnounced = Date.now();
    var balance = { balance: money.text(shown), rate: money.text(perSecond * 3600) };
    var text = say(gettext("Balance %(balance)s."), balance);
    if (perSecond > 0) {
      text = say(gettext("Balance %(balance)s, rising %(rate)s an hour."), balance);
    } else if (changed) {
      text = say(gettext("Balance %(balance)s. The power cut is over: the balance rests."), balance);
    }
    announceEl.textContent = text;
  }

  // A quote: the household's exact state at its moment. A lower balance than shown is a
  // payout or an adjustment only when the ledger itself went down; otherwise the figure
  // holds until the count catches up.
  function applyQuote(quote) {
    if (!quote.money) return;
    var before = model;
    var next = fromQuote(quote);
    if (before && next.at < before.at) return; // overtaken by a newer quote
    if (before) keepNewerEvidence(before, next);
    skew = Date.parse(quote.at) - Date.now();
    model = next;
    if (before && model.ledger.lt(before.ledger) && shown !== null) {
      shownAt = serverNow();
      shown = compute(shownAt).balance; // money left the balance: shown at once
    }
    (quote.devices || []).forEach(updateDevice);
    if (waiting) {
      // "Waiting for the server" (a cut heard of before its quote) is over: live again,
      // not at the next heartbeat.
      waiting = false;
      if (socketOpen && !frozenSince) show("live", gettext("Live"));
    }
    thaw();
  }

  // A quote worked out just before a tick's commit can arrive after that tick's event (beat
  // and the web process publish apart): where an event told of a later tick than the quote
  // knew, its facts stand (the quote's ledger and what it held posted are still the newer).
  // Otherwise an outage the power-back event ended would run on from the quote's last tick.
  function keepNewerEvidence(before, next) {
    Object.keys(before.outages).forEach(function (id) {
      var old = before.outages[id];
      var fresh = next.outages[id];
      if (!fresh) {
        // A cut the quote did not know (worked out before the cut was stored): kept, and
        // still waiting for a quote that knows it.
        if (!old.quoted) next.outages[id] = old;
        return;
      }
      if (old.lastTick === null) return;
      if (!old.facts) {
        // Heard of from events only (a cut started, then perhaps paused or ended). A quote
        // that knows its last tick is complete, and a pause heard stands; one older than
        // what the events told is not counted from: the page asks for a newer one.
        if (fresh.lastTick !== null && fresh.lastTick === old.lastTick) {
          if (old.paused) fresh.paused = true;
        } else if (fresh.lastTick === null || fresh.lastTick < old.lastTick) {
          next.outages[id] = old;
          window.setTimeout(requote, ASK_FOR_A_QUOTE_AFTER);
        }
        return;
      }
      var same = old.lastTick === fresh.lastTick;
      // With no tick since, what the events said of it stands: silent (paused), lost
      // contact or ended. A quote does not know of a pause: it would count on to its cover.
      if (same && old.paused) fresh.paused = true;
      var newer = fresh.lastTick === null || old.lastTick > fresh.lastTick ||
        (same && old.status !== "ongoing" && fresh.status === "ongoing");
      if (!newer) return;
      fresh.facts = old.facts;
      fresh.status = old.status;
      fresh.lastTick = old.lastTick;
      fresh.openStart = old.openStart;
      fresh.paused = old.paused;
    });
  }

  // An event: one outage changed. Its facts are rebuilt from the change.
  function applyEvent(event) {
    if (!model) return;
    var change = event.outage || {};
    var o = model.outages[change.id];
    var row = document.querySelector('tr[data-device="' + event.device + '"]');
    // An event of a tick older than the page already knows of (a quote overtook it): stale.
    var told = change.last_tick_at ? C.instant(change.last_tick_at) : null;
    if (o && o.lastTick !== null && told !== null && told < o.lastTick) return;
    if (event.event === "paused") {
      if (o) {
        // Counted on to its last tick (it ticked on from the last the page knew: a silence
        // past max_gap would have come as a `gap`), then no further.
        if (told !== null && o.facts && o.status === "ongoing" && !o.paused) {
          o.facts = extended(o, told);
          o.lastTick = told;
        } else if (told !== null) {
          o.lastTick = told;
        }
        o.paused = true;
      }
      setBadge(row, "silent");
      return;
    }
    if (!o) {
      // A cut the quote did not know: shown at once, counted from its quote (which
      // carries what its money needs: the device's value, the area's announced windows).
      // Beat's next run sends one; if none comes soon, the page asks.
      o = model.outages[change.id] = {
        facts: null, status: "ongoing", lastTick: null, openStart: null,
        posted: new C.Decimal(0), paused: false, quoted: false
      };
      window.setTimeout(function () {
        var still = model.outages[change.id];
        if (still && !still.quoted) requote();
      }, ASK_FOR_A_QUOTE_AFTER);
    }
    var closed = [];
    if (o.facts) {
      closed = o.facts.intervals.slice();
      var last = closed[closed.length - 1];
      if (o.openStart !== null && last && last[0] === o.openStart) closed.pop(); // the open one
    }
    (change.new_intervals || []).forEach(function (pair) {
      var start = C.instant(pair[0]);
      var known = closed.some(function (interval) { return interval[0] === start; });
      if (!known) closed.push([start, C.instant(pair[1])]); // a quote may hold it already
    });
    o.status = change.status;
    o.lastTick = change.last_tick_at ? C.instant(change.last_tick_at) : null;
    o.openStart = change.open_interval_start ? C.instant(change.open_interval_start) : null;
    o.paused = false;
    if (o.openStart !== null && o.lastTick > o.openStart) closed.push([o.openStart, o.lastTick]);
    if (o.facts) {
      o.facts = o.facts.withIntervals(closed);
      o.facts.ongoing = o.status === "ongoing";
    }
    if (row) {
      row.dataset.outage = change.id;
      var timer = row.querySelector('[data-field="timer"]');
      if (o.status === "ongoing") {
        timer.dataset.started = change.started_at;
        timer.dataset.status = "ongoing";
      } else {
        delete timer.dataset.started;
        delete timer.dataset.status;
        timer.textContent = "–";
      }
    }
    setBadge(row, o.status === "ongoing" ? "off" : "on");
  }

  function setBadge(row, state) {
    if (!row) return;
    var badge = row.querySelector('[data-field="state"]');
    badge.className = "badge power-" + (state === "silent" ? "lost" : state);
    badge.dataset.state = state;
    badge.textContent = LABELS[state] || state;
  }

  function updateDevice(device) {
    var row = document.querySelector('tr[data-device="' + device.id + '"]');
    if (!row) return;
    setBadge(row, device.state);
    var outage = device.outage;
    var timer = row.querySelector('[data-field="timer"]');
    if (outage) {
      row.dataset.outage = outage.id;
      timer.dataset.started = outage.started_at;
      timer.dataset.status = outage.status;
    } else {
      delete row.dataset.outage;
      delete timer.dataset.started;
      delete timer.dataset.status;
      timer.textContent = "–";
    }
    var perSecond = outage ? micros(outage.rate_per_second) : 0;
    row.querySelector('[data-field="rate"]').textContent =
      perSecond > 0 ? perHour(perSecond) : "–";
    row.querySelector('[data-field="escalation"]').textContent =
      outage && outage.escalation ? "×" + outage.escalation : "–";
    var owed = row.querySelector('[data-field="owed"]');
    if (outage) {
      var p = money.parts(micros(outage.owed));
      owed.innerHTML = "";
      var data = document.createElement("data");
      data.className = "money";
      data.value = p[2];
      data.title = money.title(p[2]);
      var sub = document.createElement("span");
      sub.className = "subpaise";
      sub.textContent = p[1];
      data.append(p[0], sub);
      owed.append(data);
    } else {
      owed.textContent = "–";
    }
    var seen = row.querySelector('[data-field="seen"]');
    if (device.last_seen_at) {
      seen.innerHTML = "";
      var time = document.createElement("time");
      time.dateTime = device.last_seen_at;
      time.textContent = window.celcWhen.dateTime(device.last_seen_at);
      seen.appendChild(time);
    }
  }

  function perHour(perSecond) {
    return say(gettext("%(rate)s/h"), { rate: money.text(perSecond * 3600) });
  }

  function clock(ms) {
    return window.celcWhen.time(ms);
  }

  // Not live: the balance, the rate and the cut timers stop together, and the page
  // says since when; the next state from the server starts them again.
  function freeze() {
    if (frozenSince) return;
    frozenSince = Date.now();
    if (card) card.dataset.frozen = "1";
    var since = { time: clock(frozenSince + skew) };
    if (rateEl && wasCut) rateEl.textContent = say(gettext("Power cut: the balance is as of %(time)s"), since);
    if (frozenNote) {
      frozenNote.textContent = say(
        gettext("Not live since %(time)s: the figures stopped then and catch up when the connection is back."),
        since
      );
      frozenNote.hidden = false;
    }
  }

  // No network (an installed app opened offline shows the last page it kept): the figures
  // are those of the last quote this browser had, and the page says so.
  function offline() {
    if (!frozenNote || !model) return;
    frozenNote.textContent = say(
      gettext("Offline: these are the last figures this phone had, as of %(time)s. They catch up when the network is back."),
      { time: clock(Number(model.at / MICRO)) }
    );
    frozenNote.hidden = false;
  }

  function thaw() {
    if (!frozenSince) return;
    frozenSince = null;
    if (socketOpen) show("live", gettext("Live"));
    if (card) card.dataset.frozen = "0";
    if (frozenNote) frozenNote.hidden = true;
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var pad = function (n) { return String(n).padStart(2, "0"); };
    // The same words as the server's (accounts/templatetags/dashboard.py: duration).
    if (h) return say(gettext("%(h)s h %(min)s min %(s)s s"), { h: h, min: pad(m), s: pad(s) });
    if (m) return say(gettext("%(min)s min %(s)s s"), { min: m, s: pad(s) });
    return say(gettext("%(s)s s"), { s: s });
  }

  function updateTimers() {
    if (frozenSince) return; // not live: the timers stop with the balance
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

  function requote() {
    fetch("/api/me/quote", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (quote) { if (quote) applyQuote(quote); })
      .catch(function () { /* the next quote brings it */ });
  }

  function resync() {
    // After (re)connecting: the state now, in case something was missed meanwhile.
    fetch("/api/me/summary", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state) applyQuote(state); })
      .catch(function () { /* the next quote brings it */ });
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
    if (socketOpen && !frozenSince && !waiting) show("live", gettext("Live"));
    if (frozenSince && socketOpen) resync(); // live again: catch up (thaw), then go on
  }

  window.setInterval(function () {
    if (socketOpen && performance.now() - lastHeard > heartbeat * 2500) {
      show("stale", gettext("Not live: no news from the server"));
      freeze();
    }
  }, 1000);

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/balance/");
    socket.onopen = function () {
      attempt = 0;
      socketOpen = true;
      lastHeard = performance.now();
      show("live", gettext("Live"));
      // What changed between the page's render (or the last connection) and now.
      if (connectedBefore) resync();
      else requote();
      connectedBefore = true;
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      heard();
      if (message.type === "alive") return;
      if (message.type === "event") applyEvent(message);
      else applyQuote(message);
      document.dispatchEvent(new CustomEvent("celc:update", { detail: message }));
    };
    socket.onclose = function (event) {
      socketOpen = false;
      freeze();
      if (event.code === 4401) {
        show("offline", gettext("Signed out: reload to sign in"));
        return;
      }
      // Full jitter: spread reconnections out after a server restart.
      var delay = Math.random() * Math.min(30000, 500 * Math.pow(2, attempt));
      attempt += 1;
      if (navigator.onLine === false) {
        show("offline", gettext("Offline: waiting for the network"));
        offline();
      } else {
        show("reconnecting", gettext("Reconnecting…"));
      }
      window.setTimeout(connect, delay);
    };
  }

  if (quoteEl) {
    var first = JSON.parse(quoteEl.textContent);
    applyQuote(first);
    shown = micros(first.balance); // the server's figure, as the page was rendered with it
    // Today's and the month's figures hold what the quote's outages were owed at its
    // moment: what they earn after it is added to them (the count runs LAG behind the
    // clock, so counting from its first frame would add those seconds twice).
    if (first.money) {
      earnedAtStart = first.money.outages.reduce(function (sum, o) {
        return sum + micros(o.owed);
      }, 0);
    }
  }
  window.requestAnimationFrame(tick);
  window.setInterval(updateTimers, 1000);
  updateTimers();
  if ("WebSocket" in window) {
    connect();
  } else {
    show("offline", gettext("Not live: this browser has no WebSocket"));
  }
})();
