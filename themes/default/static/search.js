// kb search in the browser: no server, the same tokens and scores as `kb search`.
//
// The index (written by `kb build` under _kb/search/) is loaded lazily on first focus of the
// search box: meta.json (notes; on small sites also the word lists), then only the postings
// shards a query needs, w/C.json when the last word is a prefix, and one fragment per shown
// result for its excerpt.
//
// The tokenizer, the English stemmer (a port of the Snowball `english` algorithm that tantivy
// uses), the query parser and the excerpt rules mirror src/search/{tokenize,query,excerpt}.rs
// rule for rule; a test runs both on a sample and compares.
(function () {
  "use strict";

  // ---------------------------------------------------------------- tokenizer
  var MAX_WORD_CHARS = 64;
  var ALNUM = /[\p{Alphabetic}\p{Nd}\p{Nl}\p{No}]/u;

  function normalizeChar(c) {
    var cp = c.codePointAt(0);
    return cp >= 0xff01 && cp <= 0xff5e ? String.fromCodePoint(cp - 0xfee0) : c;
  }

  function isCjk(c) {
    var cp = c.codePointAt(0);
    return (
      (cp >= 0x3040 && cp <= 0x30ff) ||
      (cp >= 0x3400 && cp <= 0x4dbf) ||
      (cp >= 0x4e00 && cp <= 0x9fff) ||
      (cp >= 0xac00 && cp <= 0xd7af) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0x20000 && cp <= 0x2fa1f)
    );
  }

  function classOf(c) {
    if (isCjk(c)) return 1; // CJK
    if (ALNUM.test(c)) return 2; // word
    return 0; // separator
  }

  // Runs of one class: {cls, chars: [normalized], from: [code point index]}.
  function runs(text) {
    var cps = Array.from(text);
    var out = [];
    var cur = null;
    for (var i = 0; i < cps.length; i++) {
      var c = normalizeChar(cps[i]);
      var cls = classOf(c);
      if (cur && cur.cls === cls) {
        cur.chars.push(c);
        cur.from.push(i);
      } else {
        if (cur) out.push(cur);
        cur = cls ? { cls: cls, chars: [c], from: [i] } : null;
      }
    }
    if (cur) out.push(cur);
    return out;
  }

  function isLower(c) {
    return c >= "a" && c <= "z";
  }
  function isUpper(c) {
    return c >= "A" && c <= "Z";
  }

  function camelParts(chars) {
    var starts = [0];
    for (var i = 1; i < chars.length; i++) {
      var prev = chars[i - 1],
        cur = chars[i],
        next = chars[i + 1];
      if ((isLower(prev) && isUpper(cur)) || (isUpper(prev) && isUpper(cur) && next !== undefined && isLower(next))) {
        starts.push(i);
      }
    }
    return starts.map(function (s, k) {
      return [s, k + 1 < starts.length ? starts[k + 1] : chars.length];
    });
  }

  function isAscii(s) {
    return /^[\x00-\x7f]*$/.test(s);
  }

  function normalizeWord(word) {
    var lower = word.toLowerCase();
    return isAscii(lower) ? stem(lower) : lower;
  }

  function tok(text, from, to, position, kind) {
    return { text: text, from: from, to: to, position: position, kind: kind };
  }

  // Offsets are code point indices into `text`. A CJK run gives its bigrams and its last
  // character (`allChars`: every character, to find one-character query terms in text).
  function indexTokens(text, allChars) {
    var out = [];
    var pos = 0;
    runs(text).forEach(function (run) {
      var n = run.chars.length;
      if (run.cls === 1) {
        for (var i = 0; i < n; i++) {
          if (allChars || i + 1 === n) out.push(tok(run.chars[i], run.from[i], run.from[i] + 1, pos + i, "unigram"));
          if (i + 1 < n) out.push(tok(run.chars[i] + run.chars[i + 1], run.from[i], run.from[i] + 2, pos + i, "bigram"));
        }
        pos += n;
      } else {
        var parts = camelParts(run.chars);
        if (n <= MAX_WORD_CHARS) {
          out.push(tok(normalizeWord(run.chars.join("")), run.from[0], run.from[0] + n, pos, "word"));
          if (parts.length > 1) {
            parts.forEach(function (p, k) {
              var t = normalizeWord(run.chars.slice(p[0], p[1]).join(""));
              out.push(tok(t, run.from[p[0]], run.from[p[0]] + (p[1] - p[0]), pos + k, "part"));
            });
          }
        }
        pos += parts.length;
      }
    });
    return out;
  }

  function matchTokens(text) {
    return indexTokens(text, true);
  }

  // One CJK character: as a query term it stands for every index term starting with it.
  function isLoneCjk(t) {
    var cps = Array.from(t);
    return cps.length === 1 && isCjk(cps[0]);
  }

  function queryTokens(text, phrase) {
    var out = [];
    var pos = 0;
    runs(text).forEach(function (run) {
      var n = run.chars.length;
      if (run.cls === 1) {
        if (n === 1) out.push(tok(run.chars[0], run.from[0], run.from[0] + 1, pos, "unigram"));
        for (var i = 0; i + 1 < n; i++) {
          out.push(tok(run.chars[i] + run.chars[i + 1], run.from[i], run.from[i] + 2, pos + i, "bigram"));
        }
        pos += n;
      } else {
        var parts = camelParts(run.chars);
        if (n <= MAX_WORD_CHARS) {
          if (phrase && parts.length > 1) {
            parts.forEach(function (p, k) {
              var t = normalizeWord(run.chars.slice(p[0], p[1]).join(""));
              out.push(tok(t, run.from[p[0]], run.from[p[0]] + (p[1] - p[0]), pos + k, "part"));
            });
          } else {
            out.push(tok(normalizeWord(run.chars.join("")), run.from[0], run.from[0] + n, pos, "word"));
          }
        }
        pos += phrase ? parts.length : 1;
      }
    });
    return out;
  }

  function prefixForm(word) {
    return Array.from(word).map(normalizeChar).join("").toLowerCase();
  }

  // ---------------------------------------------------------------- stemmer
  // Snowball `english` (as generated for Rust by Snowball 3.1.1), for ASCII lowercase input.
  var A_0 = [["arsen", -1, -1], ["commun", -1, -1], ["emerg", -1, -1], ["gener", -1, -1], ["inter", -1, -1], ["later", -1, -1], ["organ", -1, -1], ["past", -1, -1], ["univers", -1, -1]];
  var A_1 = [["'", -1, 1], ["'s'", 0, 1], ["'s", -1, 1]];
  var A_2 = [["ied", -1, 2], ["s", -1, 3], ["ies", 1, 2], ["sses", 1, 1], ["ss", 1, -1], ["us", 1, -1]];
  var A_3 = [["succ", -1, 1], ["proc", -1, 1], ["exc", -1, 1]];
  var A_4 = [["even", -1, 2], ["cann", -1, 2], ["inn", -1, 2], ["earr", -1, 2], ["herr", -1, 2], ["out", -1, 2], ["y", -1, 1]];
  var A_5 = [["", -1, -1], ["ed", 0, 2], ["eed", 1, 1], ["ing", 0, 3], ["edly", 0, 2], ["eedly", 4, 1], ["ingly", 0, 2]];
  var A_6 = [["", -1, 3], ["bb", 0, 2], ["dd", 0, 2], ["ff", 0, 2], ["gg", 0, 2], ["bl", 0, 1], ["mm", 0, 2], ["nn", 0, 2], ["pp", 0, 2], ["rr", 0, 2], ["at", 0, 1], ["tt", 0, 2], ["iz", 0, 1]];
  var A_7 = [["anci", -1, 3], ["enci", -1, 2], ["ogi", -1, 14], ["li", -1, 16], ["bli", 3, 12], ["abli", 4, 4], ["alli", 3, 8], ["fulli", 3, 9], ["lessli", 3, 15], ["ousli", 3, 10], ["entli", 3, 5], ["aliti", -1, 8], ["biliti", -1, 12], ["iviti", -1, 11], ["tional", -1, 1], ["ational", 14, 7], ["alism", -1, 8], ["ation", -1, 7], ["ization", 17, 6], ["izer", -1, 6], ["ator", -1, 7], ["iveness", -1, 11], ["fulness", -1, 9], ["ousness", -1, 10], ["ogist", -1, 13]];
  var A_8 = [["icate", -1, 4], ["ative", -1, 6], ["alize", -1, 3], ["iciti", -1, 4], ["ical", -1, 4], ["tional", -1, 1], ["ational", 5, 2], ["ful", -1, 5], ["ness", -1, 5]];
  var A_9 = [["ic", -1, 1], ["ance", -1, 1], ["ence", -1, 1], ["able", -1, 1], ["ible", -1, 1], ["ate", -1, 1], ["ive", -1, 1], ["ize", -1, 1], ["iti", -1, 1], ["al", -1, 1], ["ism", -1, 1], ["ion", -1, 2], ["er", -1, 1], ["ous", -1, 1], ["ant", -1, 1], ["ent", -1, 1], ["ment", 15, 1], ["ement", 16, 1]];
  var A_10 = [["e", -1, 1], ["l", -1, 2]];
  var A_11 = [["andes", -1, -1], ["atlas", -1, -1], ["bias", -1, -1], ["cosmos", -1, -1], ["early", -1, 6], ["gently", -1, 4], ["howe", -1, -1], ["idly", -1, 3], ["news", -1, -1], ["only", -1, 7], ["singly", -1, 8], ["skies", -1, 2], ["skis", -1, 1], ["sky", -1, -1], ["ugly", -1, 5]];
  var G_aeo = [17, 64];
  var G_v = [17, 65, 16, 1];
  var G_v_WXY = [1, 17, 65, 208, 1];
  var G_valid_LI = [55, 141, 2];

  function Env(s) {
    this.current = s;
    this.cursor = 0;
    this.limit = s.length;
    this.limit_backward = 0;
    this.bra = 0;
    this.ket = 0;
  }
  Env.prototype.code = function (i) {
    return this.current.charCodeAt(i);
  };
  Env.prototype.inG = function (g, min, max, ch) {
    if (ch > max || ch < min) return false;
    ch -= min;
    return (g[ch >> 3] & (1 << (ch & 7))) !== 0;
  };
  Env.prototype.in_grouping = function (g, min, max) {
    if (this.cursor >= this.limit) return false;
    if (!this.inG(g, min, max, this.code(this.cursor))) return false;
    this.cursor++;
    return true;
  };
  Env.prototype.go_in_grouping = function (g, min, max) {
    while (this.cursor < this.limit) {
      if (!this.inG(g, min, max, this.code(this.cursor))) return true;
      this.cursor++;
    }
    return false;
  };
  Env.prototype.in_grouping_b = function (g, min, max) {
    if (this.cursor <= this.limit_backward) return false;
    if (!this.inG(g, min, max, this.code(this.cursor - 1))) return false;
    this.cursor--;
    return true;
  };
  Env.prototype.out_grouping = function (g, min, max) {
    if (this.cursor >= this.limit) return false;
    if (this.inG(g, min, max, this.code(this.cursor))) return false;
    this.cursor++;
    return true;
  };
  Env.prototype.go_out_grouping = function (g, min, max) {
    while (this.cursor < this.limit) {
      if (this.inG(g, min, max, this.code(this.cursor))) return true;
      this.cursor++;
    }
    return false;
  };
  Env.prototype.out_grouping_b = function (g, min, max) {
    if (this.cursor <= this.limit_backward) return false;
    if (this.inG(g, min, max, this.code(this.cursor - 1))) return false;
    this.cursor--;
    return true;
  };
  Env.prototype.go_out_grouping_b = function (g, min, max) {
    while (this.cursor > this.limit_backward) {
      if (this.inG(g, min, max, this.code(this.cursor - 1))) return true;
      this.cursor--;
    }
    return false;
  };
  Env.prototype.eq_s = function (s) {
    if (this.cursor >= this.limit) return false;
    if (this.current.startsWith(s, this.cursor)) {
      this.cursor += s.length;
      return true;
    }
    return false;
  };
  Env.prototype.eq_s_b = function (s) {
    if (this.cursor - this.limit_backward < s.length) return false;
    if (this.current.slice(this.cursor - s.length, this.cursor) !== s) return false;
    this.cursor -= s.length;
    return true;
  };
  Env.prototype.replace_s = function (bra, ket, s) {
    var adj = s.length - (ket - bra);
    this.current = this.current.slice(0, bra) + s + this.current.slice(ket);
    this.limit += adj;
    if (this.cursor >= ket) this.cursor += adj;
    else if (this.cursor > bra) this.cursor = bra;
    return adj;
  };
  Env.prototype.slice_from = function (s) {
    this.replace_s(this.bra, this.ket, s);
    this.ket = this.bra + s.length;
  };
  Env.prototype.slice_del = function () {
    this.slice_from("");
  };
  Env.prototype.hop = function (d) {
    var r = this.cursor + d;
    if (r > this.limit) return false;
    this.cursor = r;
    return true;
  };
  Env.prototype.hop_back = function (d) {
    var r = this.cursor - d;
    if (r < this.limit_backward) return false;
    this.cursor = r;
    return true;
  };
  Env.prototype.find_among = function (v) {
    var i = 0,
      j = v.length,
      c = this.cursor,
      l = this.limit,
      ci = 0,
      cj = 0,
      first = false;
    for (;;) {
      var k = i + ((j - i) >> 1),
        diff = 0,
        common = Math.min(ci, cj),
        w = v[k];
      for (var lv = common; lv < w[0].length; lv++) {
        if (c + common === l) {
          diff = -1;
          break;
        }
        diff = this.code(c + common) - w[0].charCodeAt(lv);
        if (diff !== 0) break;
        common++;
      }
      if (diff < 0) {
        j = k;
        cj = common;
      } else {
        i = k;
        ci = common;
      }
      if (j - i <= 1) {
        if (i > 0 || j === i || first) break;
        first = true;
      }
    }
    for (;;) {
      var w2 = v[i];
      if (ci >= w2[0].length) {
        this.cursor = c + w2[0].length;
        return w2[2];
      }
      i = w2[1];
      if (i < 0) return 0;
    }
  };
  Env.prototype.find_among_b = function (v) {
    var i = 0,
      j = v.length,
      c = this.cursor,
      lb = this.limit_backward,
      ci = 0,
      cj = 0,
      first = false;
    for (;;) {
      var k = i + ((j - i) >> 1),
        diff = 0,
        common = ci < cj ? ci : cj,
        w = v[k];
      for (var lv = w[0].length - 1 - common; lv >= 0; lv--) {
        if (c - common === lb) {
          diff = -1;
          break;
        }
        diff = this.code(c - common - 1) - w[0].charCodeAt(lv);
        if (diff !== 0) break;
        common++;
      }
      if (diff < 0) {
        j = k;
        cj = common;
      } else {
        i = k;
        ci = common;
      }
      if (j - i <= 1) {
        if (i > 0 || j === i || first) break;
        first = true;
      }
    }
    for (;;) {
      var w2 = v[i];
      if (ci >= w2[0].length) {
        this.cursor = c - w2[0].length;
        return w2[2];
      }
      i = w2[1];
      if (i < 0) return 0;
    }
  };

  // quick-reject test of the generated code: is byte `b` a lowercase letter in `mask`?
  function inMask(b, mask) {
    return b >> 5 === 3 && ((mask >> (b & 0x1f)) & 1) !== 0;
  }

  function r_shortv(env) {
    var v_1 = env.limit - env.cursor;
    lab1: {
      if (!env.out_grouping_b(G_v_WXY, 89, 121)) break lab1;
      if (!env.in_grouping_b(G_v, 97, 121)) break lab1;
      if (!env.out_grouping_b(G_v, 97, 121)) break lab1;
      return true;
    }
    env.cursor = env.limit - v_1;
    lab2: {
      if (!env.out_grouping_b(G_v, 97, 121)) break lab2;
      if (!env.in_grouping_b(G_v, 97, 121)) break lab2;
      if (env.cursor > env.limit_backward) break lab2;
      return true;
    }
    env.cursor = env.limit - v_1;
    return env.eq_s_b("past");
  }

  function stemEnv(env) {
    var among_var, b_Y_found, i_p1, i_p2;
    lab0: {
      var v_1 = env.cursor;
      lab1: {
        env.bra = env.cursor;
        if (env.cursor + 2 >= env.limit || !inMask(env.code(env.cursor + 2), 42750482)) break lab1;
        among_var = env.find_among(A_11);
        if (among_var === 0) break lab1;
        env.ket = env.cursor;
        if (env.cursor < env.limit) break lab1;
        switch (among_var) {
          case 1: env.slice_from("ski"); break;
          case 2: env.slice_from("sky"); break;
          case 3: env.slice_from("idl"); break;
          case 4: env.slice_from("gentl"); break;
          case 5: env.slice_from("ugli"); break;
          case 6: env.slice_from("earli"); break;
          case 7: env.slice_from("onli"); break;
          case 8: env.slice_from("singl"); break;
        }
        break lab0;
      }
      env.cursor = v_1;
      if (!env.hop(3)) break lab0;
      env.cursor = v_1;
      // prelude
      b_Y_found = false;
      var v_2 = env.cursor;
      lab5: {
        env.bra = env.cursor;
        if (!env.eq_s("'")) break lab5;
        env.ket = env.cursor;
        env.slice_del();
      }
      env.cursor = v_2;
      var v_3 = env.cursor;
      lab6: {
        env.bra = env.cursor;
        if (!env.eq_s("y")) break lab6;
        env.ket = env.cursor;
        env.slice_from("Y");
        b_Y_found = true;
      }
      env.cursor = v_3;
      var v_4 = env.cursor;
      replab8: for (;;) {
        var v_5 = env.cursor;
        lab9: {
          golab10: for (;;) {
            var v_6 = env.cursor;
            lab11: {
              if (!env.in_grouping(G_v, 97, 121)) break lab11;
              env.bra = env.cursor;
              if (!env.eq_s("y")) break lab11;
              env.ket = env.cursor;
              env.cursor = v_6;
              break golab10;
            }
            env.cursor = v_6;
            if (env.cursor >= env.limit) break lab9;
            env.cursor++;
          }
          env.slice_from("Y");
          b_Y_found = true;
          continue replab8;
        }
        env.cursor = v_5;
        break replab8;
      }
      env.cursor = v_4;
      // mark regions
      i_p1 = env.limit;
      i_p2 = env.limit;
      var v_7 = env.cursor;
      lab13: {
        lab14: {
          var v_8 = env.cursor;
          lab15: {
            if (env.cursor + 3 >= env.limit || !inMask(env.code(env.cursor + 3), 5513250)) break lab15;
            if (env.find_among(A_0) === 0) break lab15;
            break lab14;
          }
          env.cursor = v_8;
          if (!env.go_out_grouping(G_v, 97, 121)) break lab13;
          env.cursor++;
          if (!env.go_in_grouping(G_v, 97, 121)) break lab13;
          env.cursor++;
        }
        i_p1 = env.cursor;
        if (!env.go_out_grouping(G_v, 97, 121)) break lab13;
        env.cursor++;
        if (!env.go_in_grouping(G_v, 97, 121)) break lab13;
        env.cursor++;
        i_p2 = env.cursor;
      }
      env.cursor = v_7;
      env.limit_backward = env.cursor;
      env.cursor = env.limit;
      // Step 1a
      var v_9 = env.limit - env.cursor;
      lab16: {
        var v_10 = env.limit - env.cursor;
        lab17: {
          env.ket = env.cursor;
          if (env.cursor <= env.limit_backward || (env.code(env.cursor - 1) !== 39 && env.code(env.cursor - 1) !== 115)) {
            env.cursor = env.limit - v_10;
            break lab17;
          }
          if (env.find_among_b(A_1) === 0) {
            env.cursor = env.limit - v_10;
            break lab17;
          }
          env.bra = env.cursor;
          env.slice_del();
        }
        env.ket = env.cursor;
        if (env.cursor <= env.limit_backward || (env.code(env.cursor - 1) !== 100 && env.code(env.cursor - 1) !== 115)) break lab16;
        among_var = env.find_among_b(A_2);
        if (among_var === 0) break lab16;
        env.bra = env.cursor;
        switch (among_var) {
          case 1:
            env.slice_from("ss");
            break;
          case 2:
            var v_11 = env.limit - env.cursor;
            if (env.hop_back(2)) {
              env.slice_from("i");
            } else {
              env.cursor = env.limit - v_11;
              env.slice_from("ie");
            }
            break;
          case 3:
            if (env.cursor <= env.limit_backward) break lab16;
            env.cursor--;
            if (!env.go_out_grouping_b(G_v, 97, 121)) break lab16;
            env.cursor--;
            env.slice_del();
            break;
        }
      }
      env.cursor = env.limit - v_9;
      // Step 1b
      var v_12 = env.limit - env.cursor;
      lab20: {
        env.ket = env.cursor;
        if (env.cursor - 1 <= env.limit_backward || !inMask(env.code(env.cursor - 1), 33554576)) among_var = -1;
        else among_var = env.find_among_b(A_5);
        env.bra = env.cursor;
        lab21: {
          var v_13 = env.limit - env.cursor;
          lab22: {
            switch (among_var) {
              case 1:
                var v_14 = env.limit - env.cursor;
                lab23: {
                  if (i_p1 > env.cursor) break lab23;
                  lab24: {
                    var v_15 = env.limit - env.cursor;
                    lab25: {
                      if (env.cursor - 2 <= env.limit_backward || env.code(env.cursor - 1) !== 99) break lab25;
                      if (env.find_among_b(A_3) === 0) break lab25;
                      if (env.cursor > env.limit_backward) break lab25;
                      break lab24;
                    }
                    env.cursor = env.limit - v_15;
                    env.slice_from("ee");
                  }
                }
                env.cursor = env.limit - v_14;
                break;
              case 2:
                break lab22;
              case 3:
                if (env.cursor <= env.limit_backward || !inMask(env.code(env.cursor - 1), 34881536)) break lab22;
                among_var = env.find_among_b(A_4);
                if (among_var === 0) break lab22;
                switch (among_var) {
                  case 1:
                    var v_16 = env.limit - env.cursor;
                    if (!env.out_grouping_b(G_v, 97, 121)) break lab22;
                    if (env.cursor > env.limit_backward) break lab22;
                    env.cursor = env.limit - v_16;
                    env.bra = env.cursor;
                    env.slice_from("ie");
                    break;
                  case 2:
                    if (env.cursor > env.limit_backward) break lab22;
                    break;
                }
                break;
            }
            break lab21;
          }
          env.cursor = env.limit - v_13;
          var v_17 = env.limit - env.cursor;
          if (!env.go_out_grouping_b(G_v, 97, 121)) break lab20;
          env.cursor--;
          env.cursor = env.limit - v_17;
          env.slice_del();
          env.ket = env.cursor;
          env.bra = env.cursor;
          var v_18 = env.limit - env.cursor;
          if (env.cursor - 1 <= env.limit_backward || !inMask(env.code(env.cursor - 1), 68514004)) among_var = 3;
          else among_var = env.find_among_b(A_6);
          switch (among_var) {
            case 1:
              env.slice_from("e");
              break lab20;
            case 2:
              var v_19 = env.limit - env.cursor;
              lab26: {
                if (!env.in_grouping_b(G_aeo, 97, 111)) break lab26;
                if (env.cursor > env.limit_backward) break lab26;
                break lab20;
              }
              env.cursor = env.limit - v_19;
              break;
            case 3:
              if (env.cursor !== i_p1) break lab20;
              var v_20 = env.limit - env.cursor;
              if (!r_shortv(env)) break lab20;
              env.cursor = env.limit - v_20;
              env.slice_from("e");
              break lab20;
          }
          env.cursor = env.limit - v_18;
          env.ket = env.cursor;
          if (env.cursor <= env.limit_backward) break lab20;
          env.cursor--;
          env.bra = env.cursor;
          env.slice_del();
        }
      }
      env.cursor = env.limit - v_12;
      // Step 1c
      var v_21 = env.limit - env.cursor;
      lab27: {
        env.ket = env.cursor;
        if (!env.eq_s_b("y") && !env.eq_s_b("Y")) break lab27;
        env.bra = env.cursor;
        if (!env.out_grouping_b(G_v, 97, 121)) break lab27;
        if (env.cursor <= env.limit_backward) break lab27;
        env.slice_from("i");
      }
      env.cursor = env.limit - v_21;
      // Step 2
      var v_22 = env.limit - env.cursor;
      lab30: {
        env.ket = env.cursor;
        if (env.cursor - 1 <= env.limit_backward || !inMask(env.code(env.cursor - 1), 1864192)) break lab30;
        among_var = env.find_among_b(A_7);
        if (among_var === 0) break lab30;
        env.bra = env.cursor;
        if (i_p1 > env.cursor) break lab30;
        switch (among_var) {
          case 1: env.slice_from("tion"); break;
          case 2: env.slice_from("ence"); break;
          case 3: env.slice_from("ance"); break;
          case 4: env.slice_from("able"); break;
          case 5: env.slice_from("ent"); break;
          case 6: env.slice_from("ize"); break;
          case 7: env.slice_from("ate"); break;
          case 8: env.slice_from("al"); break;
          case 9: env.slice_from("ful"); break;
          case 10: env.slice_from("ous"); break;
          case 11: env.slice_from("ive"); break;
          case 12: env.slice_from("ble"); break;
          case 13: env.slice_from("og"); break;
          case 14:
            if (!env.eq_s_b("l")) break lab30;
            env.slice_from("og");
            break;
          case 15: env.slice_from("less"); break;
          case 16:
            if (!env.in_grouping_b(G_valid_LI, 99, 116)) break lab30;
            env.slice_del();
            break;
        }
      }
      env.cursor = env.limit - v_22;
      // Step 3
      var v_23 = env.limit - env.cursor;
      lab31: {
        env.ket = env.cursor;
        if (env.cursor - 2 <= env.limit_backward || !inMask(env.code(env.cursor - 1), 528928)) break lab31;
        among_var = env.find_among_b(A_8);
        if (among_var === 0) break lab31;
        env.bra = env.cursor;
        if (i_p1 > env.cursor) break lab31;
        switch (among_var) {
          case 1: env.slice_from("tion"); break;
          case 2: env.slice_from("ate"); break;
          case 3: env.slice_from("al"); break;
          case 4: env.slice_from("ic"); break;
          case 5: env.slice_del(); break;
          case 6:
            if (i_p2 > env.cursor) break lab31;
            env.slice_del();
            break;
        }
      }
      env.cursor = env.limit - v_23;
      // Step 4
      var v_24 = env.limit - env.cursor;
      lab32: {
        env.ket = env.cursor;
        if (env.cursor - 1 <= env.limit_backward || !inMask(env.code(env.cursor - 1), 1864232)) break lab32;
        among_var = env.find_among_b(A_9);
        if (among_var === 0) break lab32;
        env.bra = env.cursor;
        if (i_p2 > env.cursor) break lab32;
        switch (among_var) {
          case 1:
            env.slice_del();
            break;
          case 2:
            if (!env.eq_s_b("s") && !env.eq_s_b("t")) break lab32;
            env.slice_del();
            break;
        }
      }
      env.cursor = env.limit - v_24;
      // Step 5
      var v_25 = env.limit - env.cursor;
      lab35: {
        env.ket = env.cursor;
        if (env.cursor <= env.limit_backward || (env.code(env.cursor - 1) !== 101 && env.code(env.cursor - 1) !== 108)) break lab35;
        among_var = env.find_among_b(A_10);
        if (among_var === 0) break lab35;
        env.bra = env.cursor;
        switch (among_var) {
          case 1:
            lab36: {
              if (!(i_p2 > env.cursor)) break lab36;
              if (i_p1 > env.cursor) break lab35;
              var v_26 = env.limit - env.cursor;
              if (r_shortv(env)) break lab35;
              env.cursor = env.limit - v_26;
            }
            env.slice_del();
            break;
          case 2:
            if (i_p2 > env.cursor) break lab35;
            if (!env.eq_s_b("l")) break lab35;
            env.slice_del();
            break;
        }
      }
      env.cursor = env.limit - v_25;
      env.cursor = env.limit_backward;
      // postlude: Y back to y
      var v_27 = env.cursor;
      if (b_Y_found) {
        replab40: for (;;) {
          var v_28 = env.cursor;
          lab41: {
            golab42: for (;;) {
              var v_29 = env.cursor;
              lab43: {
                env.bra = env.cursor;
                if (!env.eq_s("Y")) break lab43;
                env.ket = env.cursor;
                env.cursor = v_29;
                break golab42;
              }
              env.cursor = v_29;
              if (env.cursor >= env.limit) break lab41;
              env.cursor++;
            }
            env.slice_from("y");
            continue replab40;
          }
          env.cursor = v_28;
          break replab40;
        }
      }
      env.cursor = v_27;
    }
    return env.current;
  }

  function stem(word) {
    return stemEnv(new Env(word));
  }

  // ---------------------------------------------------------------- query parser
  var MIN_PREFIX = 2;
  var WS = /\s/;

  function parse(input) {
    var q = { clauses: [], tags: [] };
    var chunks = [];
    var cps = input;
    var i = 0;
    while (i < cps.length) {
      while (i < cps.length && WS.test(cps[i])) i++;
      if (i >= cps.length) break;
      if (cps[i] === '"') {
        var end = cps.indexOf('"', i + 1);
        if (end < 0) {
          chunks.push([cps.slice(i + 1), true]);
          i = cps.length;
        } else {
          chunks.push([cps.slice(i + 1, end), true]);
          i = end + 1;
        }
      } else {
        var j = i;
        while (j < cps.length && !WS.test(cps[j]) && cps[j] !== '"') j++;
        chunks.push([cps.slice(i, j), false]);
        i = j;
      }
    }
    var last = input.length ? input[input.length - 1] : "";
    var typing = input.length > 0 && !WS.test(last) && last !== '"';
    var lastPlain = chunks.length && !chunks[chunks.length - 1][1] ? chunks.length - 1 : -1;
    function push(c) {
      var key = JSON.stringify(c);
      for (var k = 0; k < q.clauses.length; k++) if (JSON.stringify(q.clauses[k]) === key) return;
      q.clauses.push(c);
    }
    chunks.forEach(function (ch, ci) {
      var text = ch[0],
        quoted = ch[1];
      if (!quoted) {
        var m = /^tags?:/.exec(text);
        if (m) {
          var tag = text.slice(m[0].length);
          if (tag) q.tags.push(tag.toLowerCase());
          return;
        }
      }
      if (quoted) {
        var pt = queryTokens(text, true);
        if (pt.length === 1) push({ term: pt[0].text });
        else if (pt.length > 1) {
          var base = pt[0].position;
          q.clauses.push({ phrase: pt.map(function (t) { return [t.position - base, t.text]; }) });
        }
        return;
      }
      var toks = queryTokens(text, false);
      var cpsText = Array.from(text);
      toks.forEach(function (t, k) {
        var typed = typing && ci === lastPlain && k + 1 === toks.length && t.kind === "word";
        var raw = prefixForm(cpsText.slice(t.from, t.to).join(""));
        if (typed && Array.from(raw).length >= MIN_PREFIX) push({ exact: t.text, prefix: raw });
        else push({ term: t.text });
      });
    });
    q.tags = q.tags.filter(function (t, k) { return k === 0 || q.tags[k - 1] !== t; });
    return q;
  }

  function queryTerms(q) {
    var out = [];
    q.clauses.forEach(function (c) {
      if (c.term !== undefined) out.push(c.term);
      else if (c.exact !== undefined) out.push(c.exact);
      else c.phrase.forEach(function (p) { out.push(p[1]); });
    });
    return out;
  }

  // ---------------------------------------------------------------- excerpts
  var EXCERPT_CHARS = 90;
  var LEAD_CHARS = 15;

  function Matcher(q) {
    var terms = [];
    queryTerms(q).forEach(function (t) {
      if (terms.indexOf(t) < 0) terms.push(t);
    });
    this.terms = terms;
    this.prefix = null;
    for (var k = 0; k < q.clauses.length; k++) if (q.clauses[k].prefix !== undefined) { this.prefix = q.clauses[k].prefix; break; }
  }
  Matcher.prototype.matches = function (text) {
    if (!this.terms.length && this.prefix === null) return [];
    var cps = Array.from(text);
    var out = [];
    var self = this;
    matchTokens(text).forEach(function (t) {
      var slot = self.terms.indexOf(t.text);
      if (slot < 0 && self.prefix !== null) {
        var orig = cps.slice(t.from, t.to).join("").toLowerCase();
        if (t.text.startsWith(self.prefix) || orig.startsWith(self.prefix)) slot = self.terms.length;
      }
      if (slot >= 0) out.push({ from: t.from, to: t.to, slot: slot });
    });
    return out;
  };

  function distinct(ms) {
    var seen = {};
    var n = 0;
    ms.forEach(function (m) {
      if (!seen[m.slot]) {
        seen[m.slot] = true;
        n++;
      }
    });
    return n;
  }

  // Longest stretch of touching or overlapping matches, in characters (excerpt.rs: longest_run).
  function longestRun(ms) {
    var spans = ms.map(function (m) { return [m.from, m.to]; }).sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var best = 0;
    var cur = null;
    spans.forEach(function (sp) {
      if (cur && sp[0] <= cur[1]) cur[1] = Math.max(cur[1], sp[1]);
      else {
        if (cur) best = Math.max(best, cur[1] - cur[0]);
        cur = [sp[0], sp[1]];
      }
    });
    return cur ? Math.max(best, cur[1] - cur[0]) : best;
  }

  // sections: [[anchor, heading, text, code], ...]
  function locate(sections, m) {
    var best = null;
    sections.forEach(function (s, i) {
      var h = distinct(m.matches(s[1]));
      var tm = m.matches(s[2]);
      var t = distinct(tm);
      var cm = t === 0 ? m.matches(s[3]) : [];
      var c = distinct(cm);
      var score = 2 * h + t + 0.5 * c;
      var run = longestRun(tm);
      if (best === null || score > best.score || (score === best.score && run > best.run)) best = t > 0 ? { score: score, run: run, i: i, ms: tm, code: false } : { score: score, run: run, i: i, ms: cm, code: c > 0 };
    });
    if (best === null) return { section: 0, excerpt: { text: "", highlights: [] } };
    var s = sections[best.i];
    var source = best.code || s[2] === "" ? s[3] : s[2];
    return { section: best.i, excerpt: windowOf(source, best.ms) };
  }

  function windowOf(text, ms) {
    var chars = Array.from(text).map(function (c) { return c === "\n" ? " " : c; });
    var n = chars.length;
    var start = 0;
    if (ms.length) {
      var best = [0, 0, 0];
      ms.forEach(function (m) {
        var end = m.from + EXCERPT_CHARS - Math.min(LEAD_CHARS, m.from);
        var inside = ms.filter(function (x) { return x.from >= m.from && x.to <= end; });
        var d = distinct(inside);
        var run = longestRun(inside);
        if (d > best[0] || (d === best[0] && run > best[1])) best = [d, run, m.from];
      });
      start = Math.max(0, best[2] - LEAD_CHARS);
    }
    var end = Math.min(start + EXCERPT_CHARS, n);
    if (end === n) start = Math.max(0, n - EXCERPT_CHARS);
    var lead = start > 0 ? 1 : 0;
    var out = (start > 0 ? "…" : "") + chars.slice(start, end).join("") + (end < n ? "…" : "");
    var spans = ms
      .filter(function (m) { return m.to > start && m.from < end; })
      .map(function (m) { return [Math.max(m.from, start) - start + lead, Math.min(m.to, end) - start + lead]; })
      .sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var merged = [];
    spans.forEach(function (sp) {
      var l = merged[merged.length - 1];
      if (l && sp[0] <= l[1]) l[1] = Math.max(l[1], sp[1]);
      else merged.push([sp[0], sp[1]]);
    });
    return { text: out, highlights: merged };
  }

  function escapeHtml(s) {
    // the same five characters as the library's escaper (src/html.rs)
    return s.replace(/[<>&"']/g, function (c) {
      return { "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function excerptHtml(e) {
    var chars = Array.from(e.text);
    var out = "";
    var at = 0;
    e.highlights.forEach(function (h) {
      out += escapeHtml(chars.slice(at, h[0]).join("")) + "<mark>" + escapeHtml(chars.slice(h[0], h[1]).join("")) + "</mark>";
      at = h[1];
    });
    return out + escapeHtml(chars.slice(at).join(""));
  }

  // ---------------------------------------------------------------- index
  function fnv1a(s) {
    var bytes = new TextEncoder().encode(s);
    var h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) {
      h ^= bytes[i];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  function Index(base) {
    this.base = base + "/_kb/search/";
    this.meta = null;
    this.shards = {};
    this.words = {};
    this.fragments = {};
  }
  Index.prototype.fetchJson = function (path) {
    var url = this.base + path + (this.meta ? "?v=" + this.meta.build : "");
    return fetch(url, { cache: this.meta ? "default" : "no-cache" }).then(function (r) {
      if (!r.ok) throw new Error("search index: " + url + " " + r.status);
      return r.json();
    });
  };
  Index.prototype.load = function () {
    var self = this;
    if (!this.loading) {
      this.loading = this.fetchJson("meta.json").then(function (m) {
        if (m.format !== 3) throw new Error("search index format " + m.format + " not supported; rebuild the site");
        self.meta = m;
        // small sites carry their prefix word lists in meta.json instead of w/C.json files
        Object.keys(m.words || {}).forEach(function (first) {
          self.words[+first] = Promise.resolve(m.words[first]);
        });
        MAX_WORD_CHARS = m.max_word_chars;
        MIN_PREFIX = m.min_prefix;
        EXCERPT_CHARS = m.excerpt_chars;
        LEAD_CHARS = m.lead_chars;
        return self;
      });
    }
    return this.loading;
  };
  Index.prototype.shard = function (k) {
    var self = this;
    if (!this.shards[k]) this.shards[k] = this.fetchJson("i/" + k + ".json");
    return this.shards[k].then(function (s) { return s; }, function (e) { delete self.shards[k]; throw e; });
  };
  // term -> Map(doc -> score)
  Index.prototype.postings = function (terms) {
    var self = this;
    var need = {};
    terms.forEach(function (t) { need[fnv1a(t) % self.meta.shards] = true; });
    return Promise.all(Object.keys(need).map(function (k) { return self.shard(+k); })).then(function () {
      var out = {};
      return Promise.all(terms.map(function (t) {
        return self.shard(fnv1a(t) % self.meta.shards).then(function (s) {
          var list = s[t] || [];
          var m = new Map();
          var d = 0;
          for (var i = 0; i < list.length; i += 2) {
            d += list[i];
            m.set(d, list[i + 1] / self.meta.scale);
          }
          out[t] = m;
        });
      })).then(function () { return out; });
    });
  };
  Index.prototype.expansions = function (prefix) {
    var self = this;
    var first = prefix.codePointAt(0);
    if (!this.words[first]) {
      this.words[first] = this.fetchJson("w/" + first + ".json").catch(function () { return []; });
    }
    return this.words[first].then(function (w) {
      // words are sorted: binary search for the first candidate
      var lo = 0, hi = w.length / 2;
      while (lo < hi) {
        var mid = (lo + hi) >> 1;
        if (w[mid * 2] < prefix) lo = mid + 1;
        else hi = mid;
      }
      var cands = [];
      for (var i = lo; i < w.length / 2 && w[i * 2].startsWith(prefix); i++) cands.push([w[i * 2], w[i * 2 + 1]]);
      cands.sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0); });
      return cands.slice(0, self.meta.max_expansions).map(function (c) { return c[0]; });
    });
  };
  Index.prototype.fragment = function (d) {
    if (!this.fragments[d]) this.fragments[d] = this.fetchJson("f/" + d + ".json");
    return this.fragments[d];
  };

  // Is `phrase` ([[offset, term]...]) at consecutive positions in one value of the note? A
  // lone CJK character at its end matches any term starting with it (as `kb search` does).
  function hasPhrase(values, phrase) {
    var last = phrase[phrase.length - 1];
    var lastByFirstChar = isLoneCjk(last[1]);
    return values.some(function (v) {
      var pos = {};
      var starts = {};
      indexTokens(v).forEach(function (t) {
        (pos[t.text] = pos[t.text] || {})[t.position] = true;
        if (lastByFirstChar) {
          var c = Array.from(t.text)[0];
          (starts[c] = starts[c] || {})[t.position] = true;
        }
      });
      var at = function (pt, p) {
        var m = pt === last && lastByFirstChar ? starts[pt[1]] : pos[pt[1]];
        return !!(m && m[p + pt[0]]);
      };
      var first = pos[phrase[0][1]];
      if (!first) return false;
      return Object.keys(first).some(function (p) {
        return phrase.every(function (pt) { return at(pt, +p); });
      });
    });
  }

  Index.prototype.search = function (input, limit) {
    var self = this;
    var q = parse(input);
    if ((!q.clauses.length && !q.tags.length) || limit <= 0) return Promise.resolve([]);
    return this.load().then(function () {
      var meta = self.meta;
      var expFor = q.clauses.map(function (c) { return c.prefix !== undefined ? self.expansions(c.prefix) : Promise.resolve([]); });
      return Promise.all(expFor).then(function (exps) {
        var terms = {};
        q.clauses.forEach(function (c, i) {
          if (c.term !== undefined) terms[c.term] = 1;
          else if (c.exact !== undefined) {
            terms[c.exact] = 1;
            exps[i].forEach(function (t) { terms[t] = 1; });
          } else c.phrase.forEach(function (p) { terms[p[1]] = 1; });
        });
        return self.postings(Object.keys(terms)).then(function (post) {
          // per clause: Map(doc -> score)
          var scores = q.clauses.map(function (c, i) {
            if (c.term !== undefined) return post[c.term];
            if (c.exact !== undefined) {
              var m = new Map(post[c.exact]);
              exps[i].forEach(function (t) {
                if (t === c.exact) return;
                post[t].forEach(function (s, d) {
                  var v = s * meta.expansion_weight;
                  if (!m.has(d) || m.get(d) < v) m.set(d, v);
                });
              });
              return m;
            }
            var pm = null;
            c.phrase.forEach(function (p) {
              var cur = post[p[1]];
              var next = new Map();
              cur.forEach(function (s, d) {
                if (pm === null) next.set(d, s);
                else if (pm.has(d)) next.set(d, pm.get(d) + s);
              });
              pm = next;
            });
            return pm;
          });
          var tagOk = function (d) {
            var tags = meta.doc_tags[d].map(function (i) { return meta.tags[i]; });
            return q.tags.every(function (t) { return tags.indexOf(t) >= 0; });
          };
          var combine = function (all) {
            var acc = new Map();
            if (!scores.length) {
              for (var d = 0; d < meta.n; d++) acc.set(d, 0);
            } else if (all) {
              scores[0].forEach(function (s, d) { acc.set(d, s); });
              for (var k = 1; k < scores.length; k++) {
                var next = new Map();
                acc.forEach(function (s, d) { if (scores[k].has(d)) next.set(d, s + scores[k].get(d)); });
                acc = next;
              }
            } else {
              scores.forEach(function (m) { m.forEach(function (s, d) { acc.set(d, (acc.get(d) || 0) + s); }); });
            }
            var list = [];
            acc.forEach(function (s, d) { if (tagOk(d)) list.push([d, s]); });
            return list.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
          };
          var ranked = combine(true);
          if (!ranked.length && scores.length > 1) ranked = combine(false);
          var phrases = q.clauses.filter(function (c) { return c.phrase; });
          var m = new Matcher(q);
          var hits = [];
          var next = function (k) {
            if (hits.length >= limit || k >= ranked.length) return Promise.resolve(hits);
            var d = ranked[k][0];
            return self.fragment(d).then(function (frag) {
              var sections = frag.s;
              var values = [frag.t];
              sections.forEach(function (s) { values.push(s[1], s[2], s[3]); });
              if (phrases.every(function (p) { return hasPhrase(values, p.phrase); })) {
                var loc = locate(sections, m);
                var sec = sections[loc.section] || ["", "", "", ""];
                hits.push({
                  title: frag.t,
                  url: sec[0] ? frag.u + "#" + sec[0] : frag.u,
                  note_url: frag.u,
                  heading: sec[1],
                  score: ranked[k][1],
                  excerpt: loc.excerpt.text,
                  excerpt_html: excerptHtml(loc.excerpt),
                  highlights: loc.excerpt.highlights,
                  tags: frag.g,
                  date: frag.d
                });
              }
              return next(k + 1);
            });
          };
          return next(0);
        });
      });
    });
  };

  // ---------------------------------------------------------------- UI
  var api = {
    indexTokens: indexTokens,
    matchTokens: matchTokens,
    queryTokens: queryTokens,
    stem: stem,
    parse: parse,
    locate: function (sections, query) { return locate(sections, new Matcher(parse(query))); },
    fnv1a: fnv1a,
    index: null,
    search: function (query, limit) { return api.index.search(query, limit || 10); }
  };
  window.kbSearch = api;

  function init() {
    var base = document.documentElement.getAttribute("data-base-path") || "";
    api.index = new Index(base.replace(/\/$/, ""));
    var box = document.querySelector(".kb-search");
    if (!box) return;
    var input = box.querySelector("input");
    var list = box.querySelector(".kb-search-results");
    var status = box.querySelector(".kb-search-status");
    var selected = -1;
    var seq = 0;
    var timer = null;

    function items() {
      return list.querySelectorAll("a");
    }
    function select(i) {
      var as = items();
      if (!as.length) return;
      selected = (i + as.length) % as.length;
      as.forEach(function (a, k) { a.setAttribute("aria-selected", k === selected ? "true" : "false"); });
      as[selected].scrollIntoView({ block: "nearest" });
    }
    function open(show) {
      list.hidden = !show;
      input.setAttribute("aria-expanded", show ? "true" : "false");
    }
    function say(text) {
      if (status) status.textContent = text;
    }
    function render(hits, query) {
      list.innerHTML = "";
      selected = -1;
      hits.forEach(function (h) {
        var li = document.createElement("li");
        li.setAttribute("role", "presentation");
        var a = document.createElement("a");
        a.href = h.url;
        a.setAttribute("role", "option");
        a.className = "kb-search-hit";
        var title = document.createElement("span");
        title.className = "kb-search-title";
        title.textContent = h.title;
        a.appendChild(title);
        if (h.heading && h.heading !== h.title) {
          var head = document.createElement("span");
          head.className = "kb-search-heading";
          head.textContent = h.heading;
          a.appendChild(head);
        }
        var ex = document.createElement("span");
        ex.className = "kb-search-excerpt";
        ex.innerHTML = h.excerpt_html;
        a.appendChild(ex);
        li.appendChild(a);
        list.appendChild(li);
      });
      say(hits.length ? "" : "没有找到 “" + query + "”");
      open(hits.length > 0 || query.trim() !== "");
    }
    function run() {
      var query = input.value;
      var mine = ++seq;
      if (!query.trim()) {
        list.innerHTML = "";
        say("");
        open(false);
        return;
      }
      api.index.search(query, 10).then(
        function (hits) { if (mine === seq) render(hits, query); },
        function (err) { if (mine === seq) say(String(err.message || err)); }
      );
    }
    input.addEventListener("focus", function () {
      api.index.load().catch(function (e) { say(String(e.message || e)); });
      if (input.value.trim()) open(true);
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, 60);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); select(selected + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); select(selected - 1); }
      else if (e.key === "Enter") {
        var as = items();
        var a = as[selected >= 0 ? selected : 0];
        if (a) { e.preventDefault(); window.location.href = a.href; }
      } else if (e.key === "Escape") { open(false); input.blur(); }
    });
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      var typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
      if ((e.key === "k" || e.key === "K") && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        input.focus();
        input.select();
      } else if (e.key === "/" && !typing) {
        e.preventDefault();
        input.focus();
      }
    });
    document.addEventListener("click", function (e) {
      if (!box.contains(e.target)) open(false);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
