// What an outage is owed, in the page: a port of policy/compensation.py, the one definition
// of the money, so that a page can tick from a quote (issue 16). Same functions, same order of
// operations, same precision: the results are the server's to the last of 6 places
// (policy/tests/test_compensation_js.py checks it on the vectors the Python writes).
//
// Inputs are the quote's JSON forms (compensation.py's terms_to_json / facts_to_json) or the
// objects made from them once (`Terms`, `Policies`, `OutageFacts`: faster when ticking).
// Instants are BigInt microseconds since the epoch (JS Date has only milliseconds); amounts
// are Decimals (decimal.js-light, static/js/vendor/) inside, 6-place strings outside.
//
// Needs static/js/vendor/decimal.min.js loaded first (or require()d, in Node).
(function (root) {
  "use strict";
  var Base =
    root.Decimal || (typeof require === "function" ? require("./vendor/decimal.min.js") : null);
  if (!Base) throw new Error("compensation.js needs decimal.js-light (vendor/decimal.min.js)");

  var PRECISION = 28; // compensation.PRECISION, and Python's default decimal context
  var HALF_EVEN = 6; // Decimal.ROUND_HALF_EVEN: the context's rounding and _q's

  // Where the port differs from a plain `Decimal.clone({precision: 28, rounding: HALF_EVEN})`:
  // decimal.js-light truncates every result of +, -, x, / to `precision` digits (its
  // `rounding` applies only to toDecimalPlaces and the like), and its exp and ln are not
  // always correctly rounded, where Python rounds each result half-even to 28 significant
  // digits and exp and ln correctly. So each operation here is done exactly (+, -, x: at
  // 1000 digits, exact while two operands' magnitudes are less than some 900 digits apart;
  // ours are within 100), or with a sticky digit (/), or correctly rounded by retrying at
  // more digits (exp, ln); then rounded half-even to 28 significant digits as Python does.
  var Decimal = Base.clone({ precision: 1000, rounding: HALF_EVEN });
  var Quotient = Base.clone({ precision: PRECISION + 12 }); // long division, truncated
  var ZERO = new Decimal(0);
  var ONE = new Decimal(1);
  var HOUR = new Decimal(3600);

  function round(x) {
    return x.toSignificantDigits(PRECISION, HALF_EVEN);
  }
  function add(a, b) {
    return round(a.plus(b));
  }
  function sub(a, b) {
    return round(a.minus(b));
  }
  function mul(a, b) {
    return round(a.times(b));
  }
  function div(a, b) {
    // The first 40 digits of a / b, truncated; if that is not all of it, a 1 far below them
    // stands for the rest, so that a tie at digit 29 is no tie (as with exact division).
    var q = new Decimal(new Quotient(a).div(b));
    if (!q.times(b).eq(a)) {
      q = q.plus((q.isNegative() ? "-1e" : "1e") + (q.exponent() - PRECISION - 20));
    }
    return round(q);
  }

  var working = {};
  function correctly(method, x) {
    // Python's exp and ln are correctly rounded: compute with 12 more digits, and again with
    // more while the result give or take 10^4 units of its last digit could round either way.
    for (var digits = PRECISION + 12; digits <= PRECISION + 300; digits += 24) {
      var W = working[digits] || (working[digits] = Base.clone({ precision: digits }));
      var y = new Decimal(new W(x)[method]());
      var slack = new Decimal("1e" + (y.exponent() - digits + 5));
      var low = round(y.minus(slack));
      if (low.eq(round(y.plus(slack)))) return low;
    }
    throw new Error("compensation.js: no correctly rounded " + method + " of " + x);
  }

  var exps = new Map();
  function exp(x) {
    // Like compensation._exp, remembered by value (the same exponents recur tick after tick).
    if (x.isZero()) return ONE;
    var key = x.toString();
    var y = exps.get(key);
    if (y === undefined) {
      if (exps.size >= 200000) exps.clear();
      y = correctly("exp", x);
      exps.set(key, y);
    }
    return y;
  }
  function ln(x) {
    return x.eq(ONE) ? ZERO : correctly("ln", x);
  }
  function max(a, b) {
    return a.gte(b) ? a : b; // Python's max(a, b): the first if equal
  }
  function min(a, b) {
    return b.lt(a) ? b : a;
  }
  function dec(value) {
    return value instanceof Decimal ? value : new Decimal(value);
  }
  function places(x) {
    // _q: 6 places, half-even, as Python writes it (str() of the quantized Decimal).
    var q = x.toDecimalPlaces(6, HALF_EVEN).toFixed(6);
    return x.isNegative() && q.charAt(0) !== "-" ? "-" + q : q;
  }

  // Instants -------------------------------------------------------------------------------

  var SECOND = 1000000n;
  var DAY = 86400n * SECOND;
  // Asia/Kolkata, for the monthly cap's months: UTC+05:30 without DST, as it has been since
  // 1945 (Python's zoneinfo knows the older offsets; no quote reaches back that far).
  var INDIA = 19800n * SECOND;
  var ISO = new RegExp(
    // date, time, fraction (1 to 6 digits)
    "^(\\d{4})-(\\d\\d)-(\\d\\d)[T ](\\d\\d):(\\d\\d)(?::(\\d\\d)(?:[.,](\\d{1,6}))?)?" +
      // Z or the offset, to the second or microsecond as Python may write it
      "(?:(Z)|([+-])(\\d\\d):?(\\d\\d)(?::?(\\d\\d)(?:\\.(\\d{1,6}))?)?)$"
  );

  function daysFromCivil(y, m, d) {
    y -= m <= 2 ? 1 : 0;
    var era = Math.floor(y / 400);
    var yoe = y - era * 400;
    var doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
    return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
  }

  function civilFromDays(z) {
    z += 719468;
    var era = Math.floor(z / 146097);
    var doe = z - era * 146097;
    var yoe = Math.floor(
      (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365
    );
    var doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    var mp = Math.floor((5 * doy + 2) / 153);
    var m = mp < 10 ? mp + 3 : mp - 9;
    return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, doy - Math.floor((153 * mp + 2) / 5) + 1];
  }

  function micros(fraction) {
    return BigInt(((fraction || "") + "000000").slice(0, 6));
  }

  // "2026-11-30T23:30:00.000001+05:30" -> BigInt microseconds since the epoch (exactly).
  function instant(value) {
    if (typeof value === "bigint") return value;
    var m = ISO.exec(value);
    if (!m) throw new Error("compensation.js: not an ISO 8601 instant with an offset: " + value);
    var days = daysFromCivil(+m[1], +m[2], +m[3]);
    var seconds = BigInt(days) * 86400n + BigInt(+m[4] * 3600 + +m[5] * 60 + +(m[6] || 0));
    var t = seconds * SECOND + micros(m[7]);
    if (!m[8]) {
      var offset = BigInt(+m[10] * 3600 + +m[11] * 60 + +(m[12] || 0)) * SECOND + micros(m[13]);
      t -= m[9] === "-" ? -offset : offset;
    }
    return t;
  }

  function floorDiv(a, b) {
    var q = a / b;
    return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
  }

  function pad(n, width) {
    return String(n).padStart(width, "0");
  }

  // BigInt microseconds -> "2026-11-30T18:00:00.000001+00:00" (what isoformat() writes in UTC).
  function isoformat(t) {
    var days = floorDiv(t, DAY);
    var rest = t - days * DAY;
    var ymd = civilFromDays(Number(days));
    var s = Number(rest / SECOND);
    return (
      pad(ymd[0], 4) + "-" + pad(ymd[1], 2) + "-" + pad(ymd[2], 2) + "T" +
      pad(Math.floor(s / 3600), 2) + ":" + pad(Math.floor(s / 60) % 60, 2) + ":" +
      pad(s % 60, 2) + "." + pad(rest % SECOND, 6) + "+00:00"
    );
  }

  // _seconds: the seconds from a to b, exactly (Python: days x 86400 + seconds + micro / 10^6).
  function seconds(delta) {
    var negative = delta < 0n;
    var size = negative ? -delta : delta;
    var text = (negative ? "-" : "") + (size / SECOND) + "." + pad(size % SECOND, 6);
    return round(new Decimal(text));
  }

  function minT(a, b) {
    return b < a ? b : a;
  }
  function maxT(a, b) {
    return b > a ? b : a;
  }
  function compareT(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function monthStart(moment) {
    var ymd = civilFromDays(Number(floorDiv(instant(moment) + INDIA, DAY)));
    return BigInt(daysFromCivil(ymd[0], ymd[1], 1)) * DAY - INDIA;
  }

  function nextMonth(start) {
    // Python: (start + 32 days).replace(day=1), start being a month's start.
    var ymd = civilFromDays(Number(floorDiv(instant(start) + INDIA, DAY)));
    var y = ymd[0] + (ymd[1] === 12 ? 1 : 0);
    return BigInt(daysFromCivil(y, (ymd[1] % 12) + 1, 1)) * DAY - INDIA;
  }

  // Terms: one policy version ----------------------------------------------------------------

  function Terms(data) {
    if (data instanceof Terms) return data;
    if (!(this instanceof Terms)) return new Terms(data);
    this.effectiveFrom = instant(data.effective_from);
    this.kind = data.kind;
    this.graceSeconds = data.grace_seconds;
    this.grace = new Decimal(data.grace_seconds);
    this.multiplier = new Decimal(data.multiplier);
    this.escalation = new Decimal(data.escalation);
    this.tiers = data.tiers.map(function (tier) {
      return [new Decimal(tier[0]), new Decimal(tier[1])];
    });
    this.capPerOutage = new Decimal(data.cap_per_outage);
    this.capPerMonth = new Decimal(data.cap_per_month);
    this.plannedUnpaidSeconds = data.planned_unpaid_seconds;
    this.exemptionsPay = data.exemptions_pay;
    this.id = data.id;
    this.name = data.name;
    this._logGrowth = null;
  }

  Terms.prototype.logGrowth = function () {
    if (this._logGrowth === null) this._logGrowth = ln(add(ONE, this.escalation));
    return this._logGrowth;
  };

  // The rate integrated from a to b witnessed seconds into the outage (Decimals, 0 <= a <= b).
  Terms.prototype.integral = function (value, a, b) {
    a = max(a, this.grace);
    if (b.lte(a)) return ZERO;
    if (this.kind === "tiers") return this._tiersIntegral(a, b);
    var base = mul(value, this.multiplier);
    if (this.escalation.isZero()) return mul(base, sub(b, a));
    var k = div(this.logGrowth(), HOUR);
    return div(mul(base, sub(exp(mul(k, b)), exp(mul(k, a)))), k);
  };

  // Rupees per second after s witnessed seconds (a Decimal).
  Terms.prototype.rate = function (value, s) {
    if (s.lt(this.grace)) return ZERO;
    if (this.kind === "tiers") return div(this._tierAt(s), HOUR);
    return mul(mul(value, this.multiplier), exp(div(mul(this.logGrowth(), s), HOUR)));
  };

  Terms.prototype._tierAt = function (s) {
    var hour = div(s, HOUR);
    var current = ZERO;
    for (var i = 0; i < this.tiers.length; i++) {
      if (hour.gte(this.tiers[i][0])) current = this.tiers[i][1];
    }
    return current;
  };

  Terms.prototype._tiersIntegral = function (a, b) {
    var total = ZERO;
    var bounds = this.tiers.map(function (tier) {
      return mul(tier[0], HOUR);
    });
    bounds.push(b);
    for (var i = 0; i < this.tiers.length; i++) {
      var lo = max(bounds[i], a);
      var hi = min(bounds[i + 1], b);
      if (hi.gt(lo)) total = add(total, div(mul(this.tiers[i][1], sub(hi, lo)), HOUR));
    }
    return total;
  };

  // Policies: the versions, ordered ------------------------------------------------------------

  function Policies(versions) {
    if (versions instanceof Policies) return versions;
    if (!(this instanceof Policies)) return new Policies(versions);
    this.versions = versions.map(Terms).sort(function (x, y) {
      return compareT(x.effectiveFrom, y.effectiveFrom); // stable, as Python's sorted
    });
    if (!this.versions.length) throw new Error("no compensation policy is defined");
    this.starts = this.versions.map(function (t) {
      return t.effectiveFrom;
    });
  }

  function bisectRight(list, x) {
    var lo = 0;
    var hi = list.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (x < list[mid]) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  Policies.prototype.at = function (moment) {
    var index = bisectRight(this.starts, instant(moment)) - 1;
    return this.versions[Math.max(index, 0)]; // before the first version, the first applies
  };

  // [a, b] cut where versions change: [[start, end, terms], ...].
  Policies.prototype.pieces = function (a, b) {
    var starts = this.starts;
    if (a >= starts[starts.length - 1]) return [[a, b, this.versions[this.versions.length - 1]]];
    var out = [];
    var start = a;
    var index = Math.max(bisectRight(starts, a) - 1, 0);
    while (start < b) {
      var nxt = index + 1 < starts.length ? starts[index + 1] : null;
      var end = nxt !== null && nxt > start ? minT(b, nxt) : b;
      out.push([start, end, this.versions[index]]);
      start = end;
      index += nxt !== null && end === nxt ? 1 : 0;
    }
    return out;
  };

  // OutageFacts: an outage as the money sees it -------------------------------------------------

  function OutageFacts(data) {
    if (data instanceof OutageFacts) return data;
    if (!(this instanceof OutageFacts)) return new OutageFacts(data);
    this.id = data.id;
    this.householdId = data.household_id;
    this.startedAt = instant(data.started_at);
    this.valuePerSecond = new Decimal(data.value_per_second);
    this.intervals = data.intervals.map(function (pair) {
      return [instant(pair[0]), instant(pair[1])];
    });
    this.updatedAt = data.updated_at == null ? null : instant(data.updated_at);
    this.ongoing = data.ongoing;
    this.windows = data.windows.map(function (w) {
      return [instant(w[0]), instant(w[1]), w[2], w[3]];
    });
    this.valueChanges = data.value_changes.map(function (change) {
      return [instant(change[0]), new Decimal(change[1])];
    });
  }

  // The same outage with other intervals (Python's dataclasses.replace).
  OutageFacts.prototype.withIntervals = function (intervals) {
    var copy = Object.create(OutageFacts.prototype);
    var self = this;
    Object.keys(this).forEach(function (key) {
      copy[key] = self[key];
    });
    copy.intervals = intervals;
    return copy;
  };

  // The supply value per second in force at `moment` (a Decimal).
  OutageFacts.prototype.valueAt = function (moment) {
    moment = instant(moment);
    var value = this.valuePerSecond;
    for (var i = 0; i < this.valueChanges.length; i++) {
      if (this.valueChanges[i][0] > moment) break;
      value = this.valueChanges[i][1];
    }
    return value;
  };

  // The escalation clock at `moment`: witnessed seconds before it (a Decimal).
  OutageFacts.prototype.witnessedBefore = function (moment) {
    moment = instant(moment);
    var total = ZERO;
    for (var i = 0; i < this.intervals.length; i++) {
      var a = this.intervals[i][0];
      if (a >= moment) break;
      total = add(total, seconds(minT(this.intervals[i][1], moment) - a));
    }
    return total;
  };

  // The money ------------------------------------------------------------------------------------

  // The unpaid parts of the outage's announced windows: [[start, stop, window], ...] by start.
  function unpaidWindows(outage, policies) {
    outage = OutageFacts(outage);
    policies = Policies(policies);
    var unpaid = [];
    for (var i = 0; i < outage.windows.length; i++) {
      var w = outage.windows[i];
      var start = w[0];
      var terms = policies.at(start);
      var stop;
      if (w[2] === "planned") {
        stop = minT(w[1], start + BigInt(terms.plannedUnpaidSeconds) * SECOND);
      } else {
        stop = terms.exemptionsPay ? start : w[1];
      }
      if (stop > start) unpaid.push([start, stop, w]);
    }
    return unpaid.sort(function (x, y) {
      return compareT(x[0], y[0]);
    });
  }

  // [a, b] less the unpaid stretches (sorted by start).
  function paidParts(a, b, unpaid) {
    var parts = [];
    var cursor = a;
    for (var i = 0; i < unpaid.length; i++) {
      var start = unpaid[i][0];
      var stop = unpaid[i][1];
      if (stop <= cursor || start >= b) continue;
      if (start > cursor) parts.push([cursor, start]);
      cursor = maxT(cursor, stop);
      if (cursor >= b) break;
    }
    if (cursor < b) parts.push([cursor, b]);
    return parts;
  }

  // [a, b] cut where the supply value changes: [[start, end, value], ...].
  function valuePieces(outage, a, b) {
    if (!outage.valueChanges.length) return [[a, b, outage.valuePerSecond]];
    var out = [];
    var start = a;
    var value = outage.valueAt(a);
    for (var i = 0; i < outage.valueChanges.length; i++) {
      var since = outage.valueChanges[i][0];
      if (since <= start) continue;
      if (since >= b) break;
      out.push([start, since, value]);
      start = since;
      value = outage.valueChanges[i][1];
    }
    out.push([start, b, value]);
    return out;
  }

  // [start, end, terms, value, witnessed seconds at start] of the paid witnessed time before
  // `until`, in order; the escalation clock runs through the unpaid windows, not the silences.
  function outagePieces(outage, policies, until) {
    var unpaid = outage.windows.length ? unpaidWindows(outage, policies) : [];
    var out = [];
    var witnessed = ZERO;
    for (var i = 0; i < outage.intervals.length; i++) {
      var a = outage.intervals[i][0];
      var b = minT(outage.intervals[i][1], until);
      if (b <= a) continue;
      var parts = unpaid.length ? paidParts(a, b, unpaid) : [[a, b]];
      for (var j = 0; j < parts.length; j++) {
        var byTerms = policies.pieces(parts[j][0], parts[j][1]);
        for (var k = 0; k < byTerms.length; k++) {
          var byValue = valuePieces(outage, byTerms[k][0], byTerms[k][1]);
          for (var n = 0; n < byValue.length; n++) {
            var g = byValue[n][0];
            var clock = add(witnessed, seconds(g - a));
            out.push([g, byValue[n][1], byTerms[k][2], byValue[n][2], clock]);
          }
        }
      }
      witnessed = add(witnessed, seconds(b - a));
    }
    return out;
  }

  // Owed before the monthly cap, with the per-outage running cap, unrounded (_running).
  function running(outage, policies, until) {
    var total = ZERO;
    var pieces = outagePieces(outage, policies, until);
    for (var i = 0; i < pieces.length; i++) {
      var p = pieces[i];
      var sA = p[4];
      var piece = p[2].integral(p[3], sA, add(sA, seconds(p[1] - p[0])));
      total = max(total, min(add(total, piece), p[2].capPerOutage));
    }
    return total;
  }

  // Owed for one outage up to `at` with the per-outage cap (monthly: householdOwed): "14.004438".
  function outageOwed(outage, policies, at) {
    return places(running(OutageFacts(outage), Policies(policies), instant(at)));
  }

  // outageOwed of many outages: {id: "14.004438", ...}.
  function outagesOwed(outages, policies, at) {
    policies = Policies(policies);
    at = instant(at);
    var out = {};
    for (var i = 0; i < outages.length; i++) {
      var o = OutageFacts(outages[i]);
      out[o.id] = places(running(o, policies, at));
    }
    return out;
  }

  // The stretches of [month, end) in which the household's month grows ([[a, stop], ...]).
  function paying(outages, policies, month, end) {
    function total(t) {
      var sum = ZERO;
      for (var i = 0; i < outages.length; i++) sum = add(sum, running(outages[i], policies, t));
      return sum;
    }
    var out = [];
    var paid = ZERO;
    var pieces = policies.pieces(month, end);
    for (var i = 0; i < pieces.length; i++) {
      var a = pieces[i][0];
      var b = pieces[i][1];
      var room = sub(pieces[i][2].capPerMonth, paid);
      if (room.lte(ZERO)) continue;
      var start = total(a);
      var stop = b;
      var grown = total(b);
      if (sub(grown, start).gt(room)) {
        // The moment the month reaches the cap: growth stops there.
        var lo = a;
        var hi = b;
        while (hi - lo > 1n) {
          var mid = lo + halve(hi - lo);
          if (sub(total(mid), start).lte(room)) lo = mid;
          else hi = mid;
        }
        stop = lo;
        grown = total(lo);
      }
      paid = add(paid, sub(grown, start));
      var last = out.length ? out[out.length - 1] : null;
      if (last && last[1] === a) out[out.length - 1] = [last[0], stop];
      else out.push([a, stop]);
    }
    return out;
  }

  // Python's timedelta / 2: to the microsecond, halves to even.
  function halve(delta) {
    var half = delta / 2n;
    return delta % 2n !== 0n && half % 2n !== 0n ? half + 1n : half;
  }

  // Owed per outage of one household up to `at`, with both caps: {byOutage: {id: "..."}}.
  // `outages` are every outage of the household with witnessed time in the months concerned.
  function householdOwed(outages, policies, at) {
    outages = outages.map(OutageFacts);
    policies = Policies(policies);
    at = instant(at);
    var result = { byOutage: {} };
    var runningNow = {};
    var months = [];
    var seen = new Set();
    function month(t) {
      var m = monthStart(t);
      if (!seen.has(m)) {
        seen.add(m);
        months.push(m);
      }
    }
    for (var i = 0; i < outages.length; i++) {
      runningNow[outages[i].id] = running(outages[i], policies, at);
      var intervals = outages[i].intervals;
      for (var j = 0; j < intervals.length; j++) {
        if (intervals[j][0] < at) {
          month(intervals[j][0]);
          month(minT(intervals[j][1], at));
        }
      }
    }
    months.sort(compareT);
    var capped = new Map();
    for (i = 0; i < months.length; i++) {
      var end = minT(nextMonth(months[i]), at);
      if (end <= months[i]) continue;
      var stretches = paying(outages, policies, months[i], end);
      if (!(stretches.length === 1 && stretches[0][0] === months[i] && stretches[0][1] === end)) {
        capped.set(months[i], stretches);
      }
    }
    for (i = 0; i < outages.length; i++) {
      var o = outages[i];
      if (!capped.size) {
        result.byOutage[o.id] = places(runningNow[o.id]);
        continue;
      }
      var total = ZERO;
      for (j = 0; j < months.length; j++) {
        var monthEnd = minT(nextMonth(months[j]), at);
        var spans = capped.has(months[j])
          ? capped.get(months[j])
          : monthEnd > months[j]
            ? [[months[j], monthEnd]]
            : [];
        for (var s = 0; s < spans.length; s++) {
          var grew = sub(running(o, policies, spans[s][1]), running(o, policies, spans[s][0]));
          total = add(total, grew);
        }
      }
      result.byOutage[o.id] = places(total);
    }
    return result;
  }

  // Whether one more witnessed second of the ongoing outages would pay anything (a boolean).
  // `owedNow`: their householdOwed(...).byOutage at `at`, if the caller has it already.
  function stillGrowing(outages, policies, at, owedNow) {
    outages = outages.map(OutageFacts);
    policies = Policies(policies);
    at = instant(at);
    var later = at + SECOND;
    var extended = outages.map(function (o) {
      if (o.ongoing && o.intervals.length) {
        var last = o.intervals[o.intervals.length - 1];
        return o.withIntervals(o.intervals.slice(0, -1).concat([[last[0], last[1] + SECOND]]));
      }
      return o;
    });
    if (owedNow == null) owedNow = householdOwed(outages, policies, at).byOutage;
    var nowTotal = ZERO;
    for (var i = 0; i < outages.length; i++) nowTotal = add(nowTotal, dec(owedNow[outages[i].id]));
    var laterOwed = householdOwed(extended, policies, later).byOutage;
    var laterTotal = ZERO;
    for (var id in laterOwed) laterTotal = add(laterTotal, dec(laterOwed[id]));
    return laterTotal.gt(nowTotal);
  }

  // Rupees per second after s witnessed seconds, under one version: "0.003472".
  function rate(terms, valuePerSecond, s) {
    return places(Terms(terms).rate(dec(valuePerSecond), dec(s)));
  }

  function witnessedBefore(outage, moment) {
    return places(OutageFacts(outage).witnessedBefore(moment));
  }

  function valueAt(outage, moment) {
    return places(OutageFacts(outage).valueAt(moment));
  }

  var api = {
    Decimal: Decimal,
    Terms: Terms,
    Policies: Policies,
    OutageFacts: OutageFacts,
    instant: instant,
    isoformat: isoformat,
    monthStart: monthStart,
    nextMonth: nextMonth,
    unpaidWindows: unpaidWindows,
    outageOwed: outageOwed,
    outagesOwed: outagesOwed,
    householdOwed: householdOwed,
    stillGrowing: stillGrowing,
    rate: rate,
    witnessedBefore: witnessedBefore,
    valueAt: valueAt,
    // Python's decimal operations at 28 digits, half-even (for tests): Decimals in and out.
    _arithmetic: { add: add, sub: sub, mul: mul, div: div, exp: exp, ln: ln, places: places },
  };
  root.celcCompensation = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
