// How money is written on the page: the same format as the server's (common/money.py).
// `₹`, rupees and paise with Indian digit grouping (lakh and crore) and Western digits in
// English, Tamil and Hindi alike, truncated toward zero (never showing what is not yet
// owed), and for ledger amounts two sub-paise digits in smaller type. en-IN's pattern
// serves all three: the server writes Tamil and Hindi with the same symbols and grouping.
//
// Amounts travel as whole micro-rupees (the ledger's 6 places) in plain numbers: exact
// up to 9 billion rupees.
(function () {
  "use strict";
  var rupees = new Intl.NumberFormat("en-IN", {
    style: "currency", currency: "INR", minimumFractionDigits: 2, maximumFractionDigits: 2,
    roundingMode: "trunc"
  });

  function micros(text) {
    // "12.345678" -> 12345678, without floating-point rounding.
    var negative = text.charAt(0) === "-";
    var parts = text.replace("-", "").split(".");
    var fraction = ((parts[1] || "") + "000000").slice(0, 6);
    var value = parseInt(parts[0] || "0", 10) * 1000000 + parseInt(fraction, 10);
    return negative ? -value : value;
  }

  function exact(value) {
    var size = Math.abs(Math.trunc(value));
    var text = Math.floor(size / 1000000) + "." + String(size % 1000000).padStart(6, "0");
    return (value < 0 ? "-" : "") + text;
  }

  // [₹ and grouped rupees.paise, the two sub-paise digits, the exact 6 places]
  function parts(value) {
    var size = Math.floor(Math.abs(value) / 100); // in hundredths of a paisa
    var whole = Math.floor(size / 10000);
    var paise = Math.floor(size / 100) % 100;
    var sign = value < 0 && size > 0 ? "-" : "";
    // A decimal string, so that Intl formats it exactly (no float on the way).
    return [
      rupees.format(sign + whole + "." + String(paise).padStart(2, "0")),
      String(size % 100).padStart(2, "0"),
      exact(value),
    ];
  }

  // The exact 6 places for the hover, signed as the figure is: "-₹12.345678".
  function title(exactText) {
    return exactText.charAt(0) === "-" ? "-₹" + exactText.slice(1) : "₹" + exactText;
  }

  // Writes `value` (micro-rupees) into a <data class="money"> element the server rendered.
  function render(el, value, kind) {
    if (!el) return;
    var p = parts(value);
    var sub = el.querySelector(".subpaise");
    el.value = p[2];
    el.title = title(p[2]);
    el.firstChild.nodeValue = p[0];
    if (sub && kind !== "paise") sub.textContent = p[1];
  }

  // Plain text, for announcements: "₹12.34".
  function text(value) {
    return parts(value)[0];
  }

  window.celcMoney = { micros: micros, parts: parts, render: render, text: text, title: title };
})();
