// Live progress of a notice: poll while anything is queued, sending or waiting, then a while
// longer for delivery receipts. Texts come translated from the server.
(function () {
  'use strict';
  var box = document.querySelector('[data-progress-url]');
  if (!box) { return; }
  var url = box.getAttribute('data-progress-url');
  var missedAtLoad = Number(box.getAttribute('data-missed') || '0');
  var SVG = 'http://www.w3.org/2000/svg';
  var afterFinish = 0;

  function updateCounts(counts) {
    Object.keys(counts).forEach(function (channel) {
      var row = box.querySelector('tr[data-channel="' + channel + '"]');
      if (!row) { return; }
      row.querySelectorAll('td[data-status]').forEach(function (cell) {
        var n = counts[channel][cell.getAttribute('data-status')] || 0;
        cell.textContent = String(n);
        cell.classList.toggle('zero', n === 0);
      });
    });
  }

  function updateBars(channels) {
    Object.keys(channels).forEach(function (channel) {
      var row = box.querySelector('.bar-row[data-channel="' + channel + '"]');
      if (!row) { return; }
      var info = channels[channel];
      var eta = row.querySelector('[data-live="eta"]');
      if (eta) { eta.textContent = info.words; }
      var svg = row.querySelector('svg');
      svg.setAttribute('aria-label', info.label);
      svg.querySelectorAll('rect[data-status]').forEach(function (r) { r.remove(); });
      info.bar.forEach(function (part) {
        var rect = document.createElementNS(SVG, 'rect');
        rect.setAttribute('class', 'part-' + part[0]);
        rect.setAttribute('data-status', part[0]);
        rect.setAttribute('x', part[1] + '%');
        rect.setAttribute('y', '0');
        rect.setAttribute('width', part[2] + '%');
        rect.setAttribute('height', '18');
        svg.appendChild(rect);
      });
    });
  }

  function updateWaiting(texts) {
    var waiting = document.querySelector('[data-live="waiting"]');
    if (!waiting || !texts) { return; }
    waiting.replaceChildren.apply(waiting, texts.map(function (text) {
      var p = document.createElement('p');
      p.className = 'flash error';
      p.setAttribute('role', 'status');
      p.textContent = text;
      return p;
    }));
  }

  function update(data) {
    updateCounts(data.counts);
    updateWaiting(data.waiting);
    updateBars(data.channels || {});
    var state = document.querySelector('[data-live="state"]');
    if (state) { state.textContent = data.state_name; }
    var summary = box.querySelector('[data-live="summary"]');
    if (summary) { summary.textContent = data.summary; }
    var changed = box.querySelector('[data-live="changed"]');
    if (changed) { changed.hidden = data.missed === missedAtLoad; }
    if (data.finished) { afterFinish += 1; }
    // Receipts (delivered / undelivered) keep arriving for a minute or two after the last send.
    return afterFinish > 60;
  }

  function tick() {
    fetch(url, {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) { return r.json(); })
      .then(function (data) { if (!update(data)) { setTimeout(tick, 2000); } })
      .catch(function () { setTimeout(tick, 5000); });
  }
  tick();
}());

// Ask before destructive actions (a form with data-confirm).
document.querySelectorAll('form[data-confirm]').forEach(function (form) {
  form.addEventListener('submit', function (event) {
    if (!window.confirm(form.getAttribute('data-confirm'))) { event.preventDefault(); }
  });
});
// Idle sign-out: warn a minute before the session ends; one click keeps it going. Activity in
// another tab counts too, so the server is asked how much time is really left before warning.
(function () {
  'use strict';
  var body = document.body;
  var box = document.getElementById('idle-warning');
  var button = document.getElementById('idle-extend');
  if (!box || !button || !body.hasAttribute('data-idle-seconds')) { return; }
  var timer = null;
  function schedule(left) {
    clearTimeout(timer);
    if (left <= 0) { window.location.assign(body.getAttribute('data-login-url')); return; }
    if (left <= 60) {
      box.hidden = false;
      timer = setTimeout(check, left * 1000);
    } else {
      box.hidden = true;
      timer = setTimeout(check, (left - 60) * 1000);
    }
  }
  function check() {
    fetch(body.getAttribute('data-session-url'), {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) { return r.json(); })
      .then(function (data) { schedule(data.signed_in ? data.idle_left : 0); })
      .catch(function () { timer = setTimeout(check, 30000); });
  }
  button.addEventListener('click', function () {
    fetch(body.getAttribute('data-extend-url'), {method: 'POST', credentials: 'same-origin',
      headers: {'X-CSRFToken': button.getAttribute('data-csrf')}})
      .then(function (r) { return r.json(); })
      .then(function (data) { schedule(data.signed_in ? data.idle_left : 0); })
      .catch(function () { box.hidden = true; });
  });
  schedule(parseInt(body.getAttribute('data-idle-seconds'), 10));
}());

// Narrow a list while typing (the template chooser): items carry data-search text.
document.querySelectorAll('[data-filter]').forEach(function (input) {
  var list = document.querySelector(input.getAttribute('data-filter'));
  if (!list) { return; }
  var count = document.querySelector(input.getAttribute('data-filter-count'));
  input.addEventListener('input', function () {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    list.querySelectorAll('[data-search]').forEach(function (item) {
      var text = item.getAttribute('data-search');
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      item.hidden = !match;
      if (match) { shown += 1; }
    });
    if (count) { count.textContent = String(shown); }
  });
});
