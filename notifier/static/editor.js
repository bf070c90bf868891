// Live preview of a template being edited: POST the form, show every language x channel.
(function () {
  'use strict';
  var form = document.getElementById('template-form');
  var out = document.getElementById('preview');
  if (!form || !out) { return; }
  var url = form.getAttribute('data-preview-url');
  var timer = null;
  var sent = 0;
  var NAMES = {sv: 'Svenska', en: 'English'};

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function smsLine(info) {
    return info.encoding + ' · ' + info.characters + ' characters · ' + info.units + ' units · ' +
      info.segments + (info.segments === 1 ? ' segment' : ' segments') +
      ' (' + info.per_segment + ' per segment)';
  }

  function gsmBlock(gsm) {
    var box = el('div', null, 'gsm');
    box.appendChild(el('p', 'GSM-safe normalisation changed the text:', 'hint'));
    box.appendChild(el('p', 'Before (as written): ' + smsLine(gsm.before_sms)));
    box.appendChild(el('pre', gsm.before, 'before'));
    box.appendChild(el('p', 'After (as sent):'));
    box.appendChild(el('pre', gsm.after, 'after'));
    return box;
  }

  function variant(m) {
    var art = el('article', null, 'variant');
    art.appendChild(el('h4', m.channel));
    if (m.subject) { art.appendChild(el('p', 'Subject: ' + m.subject)); }
    if (m.headline) { art.appendChild(el('p', 'Headline: ' + m.headline)); }
    art.appendChild(el('pre', m.channel === 'banner' ? m.body : m.text));
    if (m.sms) { art.appendChild(el('p', smsLine(m.sms), 'sms-count')); }
    if (m.gsm && m.gsm.changed) { art.appendChild(gsmBlock(m.gsm)); }
    (m.warnings || []).forEach(function (w) { art.appendChild(el('p', 'Warning: ' + w, 'flash warn')); });
    return art;
  }

  function show(data) {
    out.textContent = '';
    if (!data.ok) {
      var box = el('div', null, 'flash error');
      box.appendChild(el('p', 'Not valid yet:'));
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
    if (samples.length) { out.appendChild(el('p', 'Sample values: ' + samples.join('; '), 'hint')); }
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
        if (mine === sent) { out.textContent = ''; out.appendChild(el('p', 'The preview is unavailable right now; you can still save.', 'flash warn')); }
      });
  }

  form.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  refresh();
}());
