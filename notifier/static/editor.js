// Live preview of a template being edited: POST the form, show every language x channel.
(function () {
  'use strict';
  var form = document.getElementById('template-form');
  var out = document.getElementById('preview');
  if (!form || !out) { return; }
  var url = form.getAttribute('data-preview-url');
  var timer = null;
  var sent = 0;
  // Every text comes translated from the page (data-texts on the preview box).
  var T = JSON.parse(out.getAttribute('data-texts') || '{}');
  function t(key, fallback) { return T[key] || fallback; }
  var NAMES = {sv: t('sv', 'Svenska'), en: t('en', 'English')};

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function smsLine(info) {
    return info.encoding + ' · ' + info.characters + ' ' + t('characters', 'characters') + ' · ' +
      info.units + ' ' + t('units', 'units') + ' · ' + info.segments + ' ' +
      (info.segments === 1 ? t('segment', 'segment') : t('segments', 'segments')) +
      ' (' + info.per_segment + ' ' + t('per_segment', 'per segment') + ')';
  }

  function gsmBlock(gsm) {
    var box = el('div', null, 'gsm');
    box.appendChild(el('p', t('changed', 'GSM-safe normalisation changed the text:'), 'hint'));
    box.appendChild(el('p', t('before', 'Before (as written):') + ' ' + smsLine(gsm.before_sms)));
    box.appendChild(el('pre', gsm.before, 'before'));
    box.appendChild(el('p', t('after', 'After (as sent):')));
    box.appendChild(el('pre', gsm.after, 'after'));
    return box;
  }

  function variant(m) {
    var art = el('article', null, 'variant');
    art.appendChild(el('h4', t('channel_' + m.channel, m.channel)));
    if (m.subject) { art.appendChild(el('p', t('subject', 'Subject:') + ' ' + m.subject)); }
    if (m.headline) { art.appendChild(el('p', t('headline', 'Headline:') + ' ' + m.headline)); }
    art.appendChild(el('pre', m.channel === 'banner' ? m.body : m.text));
    if (m.sms) { art.appendChild(el('p', smsLine(m.sms), 'sms-count')); }
    if (m.gsm && m.gsm.changed) { art.appendChild(gsmBlock(m.gsm)); }
    (m.warnings || []).forEach(function (w) { art.appendChild(el('p', t('warning', 'Warning:') + ' ' + w, 'flash warn')); });
    return art;
  }

  function show(data) {
    out.textContent = '';
    if (!data.ok) {
      var box = el('div', null, 'flash error');
      box.appendChild(el('p', t('invalid', 'Not valid yet:')));
      var list = el('ul');
      data.problems.forEach(function (p) { list.appendChild(el('li', p)); });
      box.appendChild(list);
      out.appendChild(box);
      return;
    }
    var samples = Object.keys(data.samples).map(function (k) {
      var v = data.samples[k];
      return k + ' = ' + (Array.isArray(v) ? v.join(', ') : v);
    });
    if (samples.length) { out.appendChild(el('p', t('samples', 'Sample values:') + ' ' + samples.join('; '), 'hint')); }
    Object.keys(data.variants).forEach(function (lang) {
      out.appendChild(el('h3', NAMES[lang] || lang));
      var grid = el('div', null, 'variants');
      Object.keys(data.variants[lang]).forEach(function (ch) { grid.appendChild(variant(data.variants[lang][ch])); });
      out.appendChild(grid);
    });
  }

  function refresh() {
    var mine = ++sent;
    fetch(url, {method: 'POST', body: new FormData(form), credentials: 'same-origin'})
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === sent) { show(data); } })
      .catch(function () {
        if (mine === sent) { out.textContent = ''; out.appendChild(el('p', t('unavailable', 'The preview is unavailable right now; you can still save.'), 'flash warn')); }
      });
  }

  form.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  refresh();
}());
