// Times as the server writes them (accounts/templatetags/dashboard.py: `when`, Django's
// date filter): India time, day month year and the 24-hour clock, the month's name from the
// same catalogue as the server's, so that what the page rewrites reads like what it rendered.
(function () {
  "use strict";
  var MONTHS = [
    gettext("jan"), gettext("feb"), gettext("mar"), gettext("apr"), gettext("may"),
    gettext("jun"), gettext("jul"), gettext("aug"), gettext("sep"), gettext("oct"),
    gettext("nov"), gettext("dec")
  ];
  var india = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Kolkata", year: "numeric", month: "numeric", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
  });

  function fields(moment) {
    var out = {};
    india.formatToParts(new Date(moment)).forEach(function (part) { out[part.type] = part.value; });
    return out;
  }

  function month(number) {
    var name = MONTHS[number - 1];
    return name.charAt(0).toUpperCase() + name.slice(1); // as Django's "M" (title case)
  }

  // "j M Y, H:i:s", "j M, H:i:s" or "H:i:s" of an instant (ms or a Date or an ISO string).
  function format(moment, withDay, withYear) {
    var f = fields(typeof moment === "string" ? Date.parse(moment) : moment);
    var clock = f.hour + ":" + f.minute + ":" + f.second;
    if (!withDay) return clock;
    var day = parseInt(f.day, 10) + " " + month(parseInt(f.month, 10));
    return day + (withYear ? " " + f.year : "") + ", " + clock;
  }

  window.celcWhen = {
    dateTime: function (moment) { return format(moment, true, true); },
    dayTime: function (moment) { return format(moment, true, false); },
    time: function (moment) { return format(moment, false, false); }
  };
})();
