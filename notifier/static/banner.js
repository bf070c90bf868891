/*! notifier banner.js: shows the active crisis banner on a host page. Docs: docs/banner.md */
(function () {
  'use strict';
  try {
    var me = document.currentScript;
    if (!me || window.NotifierBanner || typeof fetch !== 'function') return;

    var ds = me.dataset;
    // banner.json next to the script by default, so a CDN folder or sub-path works as is.
    var SRC = new URL(ds.src || 'banner.json', ds.src ? document.baseURI : me.src).href;
    var EVERY = Math.max(5, Number(ds.interval) || 60) * 1000;
    var MAX_DELAY = 600000;
    var TIMEOUT = 10000;
    var KEY = 'notifier-banner:dismissed:';
    var SEVERITIES = ['critical', 'warning', 'info'];
    var SCHEMES = ['https:', 'tel:', 'mailto:'];
    var CLOSE = { sv: 'St\u00e4ng meddelandet', en: 'Dismiss message' };
    var CSS = [
      ':host{all:initial;display:block;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}',
      '.b{display:flex;gap:1rem;align-items:flex-start;padding:.75rem 1rem;border-bottom:4px solid}',
      '.c{flex:1;min-width:0}',
      '.h{margin:0;font-weight:700;font-size:1.125em}',
      '.t{margin:.25rem 0 0}',
      '.l{list-style:none;margin:.5rem 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem}',
      'a{color:inherit;font-weight:700;text-decoration:underline}',
      'button{flex:none;min-width:44px;min-height:44px;font:inherit;font-size:1.25em;line-height:1;',
      'color:inherit;background:transparent;border:2px solid currentColor;border-radius:4px;cursor:pointer}',
      'a:focus-visible,button:focus-visible{outline:3px solid currentColor;outline-offset:2px}',
      '.critical{background:#8b0000;color:#fff;border-color:#4a0000}',
      '.warning{background:#fff4ce;color:#4a3000;border-color:#b86e00}',
      '.info{background:#e6f0fa;color:#0b3a6e;border-color:#0b5cad}',
      '.resolved{background:#e6f4ea;color:#14532d;border-color:#1e7b34}',
      '@media (prefers-reduced-motion:no-preference){.b{animation:nb-in .2s ease-out}}',
      '@keyframes nb-in{from{transform:translateY(-.5rem)}}'
    ].join('');

    var data = null;     // last valid banner.json; kept while the endpoint is failing
    var fails = 0;
    var timer = 0;
    var inflight = null;
    var waiting = false; // a poll fell due while the tab was hidden
    var host = null;
    var root = null;
    var shown = '';
    var gone = Object.create(null); // dismissed in this page even if storage is unavailable

    var text = function (v) { return typeof v === 'string' ? v.slice(0, 2000) : ''; };
    var isObj = function (v) { return !!v && typeof v === 'object' && !Array.isArray(v); };

    var pageLang = function () {
      var raw = String(ds.lang || document.documentElement.lang || '').toLowerCase();
      return raw.slice(0, 2) === 'en' ? 'en' : 'sv';
    };

    // The wanted language, else Swedish, else whatever the document has.
    var pick = function (map, lang) {
      if (!isObj(map)) return null;
      var keys = [lang, 'sv'].concat(Object.keys(map));
      for (var i = 0; i < keys.length; i++) {
        if (Object.prototype.hasOwnProperty.call(map, keys[i]) && map[keys[i]]) return [keys[i], map[keys[i]]];
      }
      return null;
    };

    var safeHref = function (href) {
      try {
        var u = new URL(href);
        return SCHEMES.indexOf(u.protocol) >= 0 ? u.href : '';
      } catch (e) {
        return '';
      }
    };

    var dismissed = function (b) {
      if (gone[b.id] === b.version) return true;
      try {
        return window.localStorage.getItem(KEY + b.id) === b.version;
      } catch (e) {
        return false;
      }
    };

    var inWindow = function (b, now) {
      var s = b.starts_at == null ? -Infinity : Date.parse(b.starts_at);
      var e = b.ends_at == null ? Infinity : Date.parse(b.ends_at);
      return now >= s && now < e; // an unparsable time is NaN and hides the banner
    };

    var link = function (l, lang) {
      if (!isObj(l)) return null;
      var href = safeHref(l.href);
      if (!href) return null;
      var label = pick(l.label, lang);
      return { href: href, label: text(label && label[1]) || href.replace(/^(tel|mailto):/, '') };
    };

    var view = function (b, lang, now) {
      if (!isObj(b) || !text(b.id) || typeof b.version !== 'string') return null;
      var sev = SEVERITIES.indexOf(b.severity);
      if (sev < 0 || !inWindow(b, now) || dismissed(b)) return null;
      var t = pick(b.text, lang);
      if (!t || !isObj(t[1]) || !(text(t[1].headline) || text(t[1].body))) return null;
      var links = (Array.isArray(b.links) ? b.links : []).map(function (l) { return link(l, t[0]); });
      return {
        id: b.id, version: b.version, lang: t[0],
        rank: b.resolved === true ? 3 : sev,
        cls: b.resolved === true ? 'resolved' : b.severity,
        alert: b.severity === 'critical' && b.resolved !== true,
        headline: text(t[1].headline), body: text(t[1].body),
        links: links.filter(Boolean)
      };
    };

    var el = function (tag, cls, content) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (content) e.textContent = content;
      return e;
    };

    var dismiss = function (v) {
      gone[v.id] = v.version;
      try {
        window.localStorage.setItem(KEY + v.id, v.version);
      } catch (e) { /* private mode or storage blocked: remembered for this page only */ }
      draw();
    };

    var card = function (v) {
      var box = el('div', 'b ' + v.cls);
      box.setAttribute('role', v.alert ? 'alert' : 'status');
      if (/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/i.test(v.lang)) box.setAttribute('lang', v.lang);
      var body = el('div', 'c');
      if (v.headline) body.appendChild(el('p', 'h', v.headline));
      if (v.body) body.appendChild(el('p', 't', v.body));
      if (v.links.length) {
        var list = el('ul', 'l');
        v.links.forEach(function (l) {
          var a = el('a', '', l.label);
          a.setAttribute('href', l.href);
          list.appendChild(el('li')).appendChild(a);
        });
        body.appendChild(list);
      }
      var close = el('button', 'x', '\u00d7');
      close.type = 'button';
      close.setAttribute('aria-label', CLOSE[v.lang] || CLOSE.en);
      close.addEventListener('click', function () {
        try { dismiss(v); } catch (e) { /* never into the host page */ }
      });
      box.appendChild(body);
      box.appendChild(close);
      return box;
    };

    var mount = function () {
      var h = document.createElement('div');
      h.setAttribute('data-notifier-banner', '');
      var r = h.attachShadow({ mode: 'open' });
      try {
        // Constructable stylesheets are not subject to CSP style-src; a <style> element is.
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        r.adoptedStyleSheets = [sheet];
      } catch (e) { /* unsupported: unstyled but readable */ }
      var target = ds.target && document.getElementById(ds.target.replace(/^#/, ''));
      var parent = target || document.body;
      parent.insertBefore(h, parent.firstChild);
      host = h;
      root = r;
    };

    var unmount = function () {
      if (host && host.parentNode) host.parentNode.removeChild(host);
      host = root = null;
      shown = '';
    };

    var draw = function () {
      try {
        if (document.readyState === 'loading') return; // drawn on DOMContentLoaded, once data-target exists
        var lang = pageLang();
        var now = Date.now();
        var views = (data ? data.banners : []).map(function (b) { return view(b, lang, now); })
          .filter(Boolean).sort(function (a, b) { return a.rank - b.rank; });
        var key = JSON.stringify(views);
        if (host && host.isConnected && key === shown) return; // no re-announcement when unchanged
        if (!views.length) return unmount();
        if (!host || !host.isConnected) mount();
        while (root.firstChild) root.removeChild(root.firstChild);
        views.forEach(function (v) { root.appendChild(card(v)); });
        shown = key;
      } catch (e) {
        try { unmount(); } catch (e2) { /* nothing more to undo */ }
      }
    };

    var load = function () {
      var ctl = typeof AbortController === 'function' ? new AbortController() : null;
      var t = ctl ? setTimeout(function () { ctl.abort(); }, TIMEOUT) : 0;
      var done = function () { clearTimeout(t); };
      return fetch(SRC, { cache: 'no-cache', credentials: 'omit', signal: ctl ? ctl.signal : undefined })
        .then(function (r) {
          if (!r.ok) throw new Error('status');
          return r.json();
        })
        .then(function (doc) {
          done();
          if (!isObj(doc) || doc.version !== 1 || !Array.isArray(doc.banners)) throw new Error('shape');
          return doc;
        }, function (e) { done(); throw e; });
    };

    var poll = function () {
      if (document.hidden) waiting = true;
      else refresh();
    };

    var refresh = function () {
      if (!inflight) {
        clearTimeout(timer);
        inflight = load()
          .then(function (doc) { data = doc; fails = 0; }, function () { fails++; })
          .then(function () {
            inflight = null;
            draw();
            timer = setTimeout(poll, Math.min(EVERY * Math.pow(2, fails), MAX_DELAY));
          });
      }
      return inflight;
    };

    document.addEventListener('visibilitychange', function () {
      if (waiting && !document.hidden) {
        waiting = false;
        refresh();
      }
    });
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw);
    window.NotifierBanner = Object.freeze({ refresh: function () { return refresh(); } });
    refresh();
  } catch (e) { /* a broken banner must never break the host page */ }
})();
