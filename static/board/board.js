// The board's "Out now", kept live over /ws/board/ (board/consumers.py).
(function () {
  "use strict";
  const section = document.getElementById("areas-out");
  if (!section) return;
  const rows = document.getElementById("areas-out-rows");
  const table = document.getElementById("areas-out-table");
  const payingLine = document.getElementById("paying-line");
  const allOn = document.getElementById("all-on");
  const status = document.getElementById("board-live");
  const announce = document.getElementById("areas-announce");
  const REFUSED = new Set([4401, 4403]);
  let known = new Set(Array.from(rows.querySelectorAll("tr[data-area]"), (tr) => tr.dataset.area));

  function setStatus(state) {
    status.dataset.state = state;
    status.querySelector(".label").textContent = state === "live" ? gettext("Live") : gettext("Not live");
  }

  function since(iso) {
    return window.celcWhen.dayTime(iso);
  }

  const money = window.celcMoney;

  // An amount in the site's one money format (whole paise: a rate an hour).
  function moneyData(value) {
    const data = document.createElement("data");
    data.className = "money";
    const parts = money.parts(value);
    data.value = parts[2];
    data.title = money.title(parts[2]);
    data.append(parts[0]);
    return data;
  }

  function cell(tag, text, label) {
    const el = document.createElement(tag);
    if (label) el.dataset.label = label;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function render(message) {
    const areas = message.areas;
    rows.replaceChildren(...areas.map((area) => {
      const tr = document.createElement("tr");
      tr.dataset.area = area.code;
      const name = cell("th");
      name.scope = "row";
      name.append(area.name + " ", Object.assign(cell("span", area.code), { className: "muted" }));
      const when = cell("td", undefined, gettext("Since"));
      when.dataset.field = "since";
      const time = document.createElement("time");
      time.dateTime = area.since;
      time.textContent = since(area.since);
      when.append(time);
      const hour = cell("td", undefined, gettext("₹ an hour"));
      hour.dataset.field = "rate";
      hour.append(moneyData(money.micros(area.rate_per_second) * 3600));
      const off = cell(
        "td", interpolate(gettext("%(off)s of %(devices)s"), area, true), gettext("Devices off")
      );
      off.dataset.field = "off";
      tr.append(name, off, when, hour);
      return tr;
    }));
    document.getElementById("paying-now").textContent = message.paying_now;
    money.render(
      document.querySelector("#paying-hour data.money"), money.micros(message.paying_now) * 3600, "paise"
    );
    table.hidden = payingLine.hidden = areas.length === 0;
    allOn.hidden = areas.length > 0;
    const now = new Set(areas.map((a) => a.code));
    const newly = areas.filter((a) => !known.has(a.code)).map((a) => a.name);
    if (newly.length) announce.textContent = interpolate(
      gettext("Power out now in %(areas)s"), { areas: newly.join(", ") }, true
    );
    known = now;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/ws/board/");
    ws.addEventListener("open", () => setStatus("live"));
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "areas") render(message);
    });
    ws.addEventListener("close", (event) => {
      setStatus("offline");
      if (!REFUSED.has(event.code)) setTimeout(connect, 2000);
    });
  }
  connect();
})();
