// Live progress of a notice: poll the counts while anything is queued, sending or waiting.
(function () {
  'use strict';
  var box = document.querySelector('[data-progress-url]');
  if (!box) { return; }
  var url = box.getAttribute('data-progress-url');
  function update(data) {
    Object.keys(data.counts).forEach(function (channel) {
      var row = box.querySelector('tr[data-channel="' + channel + '"]');
      if (!row) { return; }
      row.querySelectorAll('td[data-status]').forEach(function (cell) {
        var n = data.counts[channel][cell.getAttribute('data-status')] || 0;
        cell.textContent = String(n);
        cell.classList.toggle('zero', n === 0);
      });
    });
    var waiting = document.querySelector('[data-live="waiting"]');
    if (waiting && data.waiting) {
      waiting.replaceChildren.apply(waiting, data.waiting.map(function (text) {
        var p = document.createElement('p');
        p.className = 'flash error';
        p.setAttribute('role', 'status');
        p.textContent = text + ' (Swedish time).';
        return p;
      }));
    }
    var state = document.querySelector('[data-live="state"]');
    if (state) { state.textContent = data.state; }
    var summary = box.querySelector('[data-live="summary"]');
    if (summary) {
      summary.textContent = data.finished ? 'Finished. Last message sent ' + (data.last_sent ? data.last_sent + ' (Swedish time)' : '-') + '.'
        : (data.state === 'paused' ? 'Paused: nothing more is sent until you resume.' : 'Sending… (updates every 2 seconds)');
    }
    return data.finished;
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
