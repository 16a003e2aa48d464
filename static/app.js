// qrdesk: progressive enhancement only; every page works without this file.
(function () {
  'use strict';
  var form = document.getElementById('request-form');
  if (form) {
    var code = form.getAttribute('data-code');
    var key = 'qrdesk-draft-' + code;
    var fields = ['description', 'name', 'phone', 'email'];
    var store = null;
    try { store = window.localStorage; } catch (e) { store = null; }

    // Keep a draft on the phone until the request is accepted.
    if (store) {
      var draft = null;
      try { draft = JSON.parse(store.getItem(key) || 'null'); } catch (e) { draft = null; }
      fields.forEach(function (f) {
        var el = form.elements[f];
        if (!el) return;
        if (draft && draft[f] && !el.value) el.value = draft[f];
        el.addEventListener('input', function () {
          var d = {};
          fields.forEach(function (g) { if (form.elements[g]) d[g] = form.elements[g].value; });
          try { store.setItem(key, JSON.stringify(d)); } catch (e) { /* storage full or blocked */ }
        });
      });
    }

    // A live character count near the limit.
    var text = form.elements.description;
    var counter = document.getElementById('description-counter');
    if (text && counter) {
      var max = parseInt(text.getAttribute('maxlength'), 10) || 4000;
      var update = function () {
        var left = max - text.value.length;
        counter.hidden = left > 200;
        counter.textContent = left + ' / ' + max;
      };
      text.addEventListener('input', update);
      update();
    }

    // Back from the next page: the button works again.
    window.addEventListener('pageshow', function () {
      var button = document.getElementById('submit');
      if (button && button.disabled) { button.disabled = false; }
    });

    // One tap sends once.
    form.addEventListener('submit', function () {
      var button = document.getElementById('submit');
      if (button) {
        button.disabled = true;
        button.textContent = form.getAttribute('data-sending') || button.textContent;
      }
    });
  }

  // The request reached us: the draft is no longer needed.
  var status = document.querySelector('.status[data-code]');
  if (status) {
    try { window.localStorage.removeItem('qrdesk-draft-' + status.getAttribute('data-code')); } catch (e) { /* ignore */ }
  }
})();
