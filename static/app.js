// qrdesk: progressive enhancement only; every page works without this file.
(function () {
  'use strict';
  // A form back with errors: the summary gets the focus, its links the fields.
  var errorSummary = document.getElementById('error-summary');
  if (errorSummary) {
    errorSummary.focus();
    Array.prototype.forEach.call(errorSummary.querySelectorAll('a[href^="#"]'), function (link) {
      link.addEventListener('click', function (event) {
        var field = document.getElementById(link.getAttribute('href').slice(1));
        if (!field) return;
        event.preventDefault();
        field.focus();
        field.scrollIntoView({ block: 'center' });
      });
    });
  }
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

    // Proof of work while requests come in faster than usual: the browser finds
    // the number behind the form's hash, starting at once so it is usually
    // done before the person is. Without this (or if it fails) the sum stays.
    var challenge = document.getElementById('challenge');
    if (challenge && window.crypto && window.crypto.subtle && window.TextEncoder && form.requestSubmit) {
      var powInput = form.elements.pow;
      var note = document.getElementById('challenge-progress');
      var salt = challenge.getAttribute('data-salt');
      var target = challenge.getAttribute('data-hash');
      var limit = parseInt(challenge.getAttribute('data-max'), 10) || 0;
      var checking = challenge.getAttribute('data-checking');
      var waiting = false;
      var encoder = new TextEncoder();
      var hex = function (buffer) {
        var bytes = new Uint8Array(buffer), out = '';
        for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
        return out;
      };
      var giveUp = function () { challenge.hidden = false; if (note) note.hidden = true; };
      var solve = function (from) {
        if (from > limit) { giveUp(); return; }
        var batch = [], n;
        for (n = from; n < from + 1000 && n <= limit; n++) {
          batch.push(window.crypto.subtle.digest('SHA-256', encoder.encode(salt + n)));
        }
        Promise.all(batch).then(function (hashes) {
          for (var i = 0; i < hashes.length; i++) {
            if (hex(hashes[i]) === target) {
              powInput.value = String(from + i);
              if (waiting) form.requestSubmit();
              return;
            }
          }
          if (note && waiting) note.textContent = checking + ' ' + Math.min(99, Math.round(100 * n / limit)) + ' %';
          solve(n);
        }, giveUp);
      };
      if (!challenge.hasAttribute('data-keep')) challenge.hidden = true;
      form.addEventListener('submit', function (event) {
        if (powInput.value || (form.elements.answer && form.elements.answer.value.trim())) return;
        event.preventDefault();
        event.stopImmediatePropagation();
        waiting = true;
        if (note) { note.hidden = false; note.textContent = checking; }
      });
      solve(0);
    }

    // Back from the next page: the button works again.
    window.addEventListener('pageshow', function () {
      var button = document.getElementById('submit');
      if (button && button.disabled) { button.disabled = false; }
    });

    // One tap sends once; photos go through the picker below.
    photoForm(form, document.getElementById('photos'), document.getElementById('thumbs'),
      document.getElementById('upload-progress'), function () {
        var button = document.getElementById('submit');
        if (button) {
          button.disabled = true;
          button.textContent = form.getAttribute('data-sending') || button.textContent;
        }
      });
  }

  // Photos: shrunk on the phone to about 2048 px JPEG, shown as thumbnails
  // with a remove button, sent with a progress bar. Without this script the
  // plain file input sends the originals and the server shrinks them.
  function photoForm(form, input, thumbs, progress, sending) {
    var photos = [];
    var MAX_SIDE = 2048;
    var note = input && document.getElementById(input.id + '-note');

    function shrink(file) {
      if (!window.createImageBitmap || !file.type || file.type.indexOf('image/') !== 0) {
        return Promise.resolve(file);
      }
      return createImageBitmap(file, { imageOrientation: 'from-image' }).then(function (bitmap) {
        var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
        var canvas = document.createElement('canvas');
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        var ctx = canvas.getContext('2d');
        ctx.fillStyle = '#fff';
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        return new Promise(function (resolve) {
          canvas.toBlob(function (blob) { resolve(blob || file); }, 'image/jpeg', 0.85);
        });
      }).catch(function () { return file; });
    }

    function render() {
      thumbs.textContent = '';
      thumbs.hidden = photos.length === 0;
      // The browser's "no file chosen" would contradict the thumbnails.
      input.classList.toggle('picked', photos.length > 0);
      photos.forEach(function (p, i) {
        var box = document.createElement('div');
        box.className = 'thumb';
        var img = document.createElement('img');
        img.src = p.url;
        img.alt = '';
        var remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'remove';
        remove.textContent = '×';
        remove.setAttribute('aria-label', (input.getAttribute('data-remove') || 'Remove') + ' ' + (i + 1));
        remove.addEventListener('click', function () {
          URL.revokeObjectURL(p.url);
          photos.splice(i, 1);
          if (note) note.hidden = true;
          render();
        });
        box.appendChild(img);
        box.appendChild(remove);
        thumbs.appendChild(box);
      });
    }

    if (input && thumbs && window.FormData && window.XMLHttpRequest) {
      var maxPhotos = parseInt(input.getAttribute('data-max'), 10) || 5;
      input.addEventListener('change', function () {
        var files = Array.prototype.slice.call(input.files || []);
        input.value = '';
        var room = Math.max(0, maxPhotos - photos.length);
        if (note) {
          // Say so when some were left out, rather than dropping them silently.
          note.hidden = files.length <= room;
          note.textContent = (note.getAttribute('data-kept') || '')
            .replace('{kept}', String(Math.min(room, files.length)))
            .replace('{picked}', String(files.length))
            .replace('{max}', String(maxPhotos));
        }
        files.slice(0, room).forEach(function (file) {
          shrink(file).then(function (blob) {
            if (photos.length >= maxPhotos) return;
            photos.push({ blob: blob, url: URL.createObjectURL(blob), name: (file.name || 'photo').replace(/\.[^.]*$/, '') + '.jpg' });
            render();
          });
        });
      });
    }

    form.addEventListener('submit', function (event) {
      if (event.defaultPrevented) return;
      if (!photos.length) {
        sending();
        return;
      }
      event.preventDefault();
      sending();
      var data = new FormData(form);
      data.delete(input.name);
      photos.forEach(function (p) { data.append(input.name, p.blob, p.name); });
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      if (progress) {
        progress.hidden = false;
        xhr.upload.addEventListener('progress', function (e) {
          if (e.lengthComputable) progress.value = Math.round(100 * e.loaded / e.total);
        });
      }
      xhr.addEventListener('load', function () {
        if (xhr.status < 400 && xhr.responseURL && xhr.responseURL.indexOf('/t/') !== -1) {
          var after = form.getAttribute('data-after') || '';
          if (xhr.responseURL === window.location.href.split('#')[0]) {
            // Back to this very page (a comment): show it again, at the place.
            if (after) window.location.hash = after;
            window.location.reload();
          } else {
            window.location.assign(xhr.responseURL + after);
          }
        } else {
          // The form came back with a message: show it as the page.
          document.open();
          document.write(xhr.responseText);
          document.close();
        }
      });
      xhr.addEventListener('error', function () { form.submit(); });
      xhr.send(data);
    });
  }

  var commentForm = document.querySelector('.comment-form');
  if (commentForm) {
    photoForm(commentForm, document.getElementById('comment-photos'), document.getElementById('comment-thumbs'),
      document.getElementById('comment-progress'), function () {
        var button = commentForm.querySelector('button[type=submit]');
        if (button) button.disabled = true;
      });
  }

  // Times in the reader's own format and time zone; the server's text stays
  // where the browser cannot format dates.
  var localTimes = function (root) {
    if (!window.Intl || !Intl.DateTimeFormat) return;
    var format;
    try {
      format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) { return; }
    Array.prototype.forEach.call(root.querySelectorAll('time[datetime]'), function (el) {
      var at = new Date(el.getAttribute('datetime'));
      if (!isNaN(at.getTime())) el.textContent = format.format(at);
    });
  };

  // The status page follows the task without reloading: the parts that
  // change are fetched and put in place, except a part holding the focus (a
  // button being pressed); the comment form is never touched.
  var live = document.getElementById('live-state');
  var parts = ['live-state', 'live-feedback', 'live-messages'];
  var shown = {};
  parts.forEach(function (id) {
    var el = document.getElementById(id);
    if (el) shown[id] = el.innerHTML;
  });
  var liveOn = function () {
    Array.prototype.forEach.call(document.querySelectorAll('.live-on'), function (el) { el.hidden = false; });
  };
  localTimes(document);
  if (live && window.fetch && window.DOMParser) {
    liveOn();
    var note = document.getElementById('live-note');
    var timer = null;
    var summary = function () {
      return Array.prototype.map.call(live.querySelectorAll('.state, .badge'), function (el) {
        return el.textContent.trim();
      }).join(' ');
    };
    var schedule = function () {
      var secs = parseInt(live.getAttribute('data-poll'), 10) || 0;
      if (secs > 0 && !timer) timer = setTimeout(look, secs * 1000);
    };
    var look = function () {
      timer = null;
      if (document.hidden) return; // again when the page is looked at
      fetch(live.getAttribute('data-live'), { credentials: 'same-origin', headers: { Accept: 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, 'text/html');
          // The task now takes comments: the page needs its form, and since
          // a page without the form has nothing to type in, it may reload.
          if (fresh.querySelector('#live-state[data-comment]') && !document.querySelector('.comment-form')) {
            window.location.reload();
            return;
          }
          var before = summary();
          parts.forEach(function (id) {
            var now = document.getElementById(id), next = fresh.getElementById(id);
            if (!now || !next || shown[id] === next.innerHTML) return;
            if (now.contains(document.activeElement) && document.activeElement !== document.body) return;
            now.innerHTML = next.innerHTML;
            shown[id] = next.innerHTML;
            localTimes(now);
          });
          var freshState = fresh.getElementById('live-state');
          if (freshState) live.setAttribute('data-poll', freshState.getAttribute('data-poll') || '0');
          liveOn();
          var after = summary();
          if (note && after !== before) note.textContent = note.getAttribute('data-changed') + ' ' + after;
        })
        .catch(function () { /* offline for a moment: try again later */ })
        .then(schedule);
    };
    document.addEventListener('visibilitychange', function () {
      if (!document.hidden && !timer) look();
    });
    schedule();
  }

  // A comment being written is kept on the phone until it is sent.
  var comment = document.getElementById('comment');
  if (comment && comment.form) {
    var commentKey = 'qrdesk-comment-' + window.location.pathname;
    try {
      if (!comment.value) comment.value = window.localStorage.getItem(commentKey) || '';
      comment.addEventListener('input', function () { window.localStorage.setItem(commentKey, comment.value); });
      comment.form.addEventListener('submit', function () { window.localStorage.removeItem(commentKey); });
    } catch (e) { /* storage blocked: the text lives only in the field */ }
  }

  // A link, token or secret to keep: select on tap, copy with one button
  // (data-copy-from names the field).
  Array.prototype.forEach.call(document.querySelectorAll('[data-copy-from]'), function (copy) {
    var field = document.getElementById(copy.getAttribute('data-copy-from'));
    if (!field) return;
    field.addEventListener('focus', function () { field.select(); });
    if (!navigator.clipboard || !window.isSecureContext) return;
    copy.hidden = false;
    copy.addEventListener('click', function () {
      navigator.clipboard.writeText(field.value).then(function () {
        copy.textContent = copy.getAttribute('data-copied');
      }, function () { field.select(); });
    });
  });

  // Admin lists: a tick in the header ticks the whole page, and the count of
  // ticked rows (or "everything in this filter") stays in view.
  // Ticks on a list page are kept while the person pages on (per tab, per
  // list and filter) and sent with the form as hidden fields.
  Array.prototype.forEach.call(document.querySelectorAll('form[data-selection]'), function (form) {
    var boxes = Array.prototype.slice.call(form.querySelectorAll('tbody input[type=checkbox]'));
    var all = form.querySelector('[data-select-all]');
    var whole = form.querySelector('input[name=all]');
    var count = form.querySelector('[data-selected-count]');
    var clear = form.querySelector('[data-clear-ticks]');
    var query = window.location.search.replace(/^\?/, '').split('&').filter(function (p) {
      return p && !/^(page|done|lang)=/.test(p);
    }).sort().join('&');
    var key = 'qrdesk-ticks:' + window.location.pathname + '?' + query;
    var ticked = {};
    try { ticked = JSON.parse(window.sessionStorage.getItem(key) || '{}') || {}; } catch (e) { ticked = {}; }
    function save() {
      try { window.sessionStorage.setItem(key, JSON.stringify(ticked)); } catch (e) { /* ignore */ }
    }
    boxes.forEach(function (b) { if (ticked[b.name]) b.checked = true; });
    function update() {
      boxes.forEach(function (b) { if (b.checked) ticked[b.name] = 1; else delete ticked[b.name]; });
      save();
      var n = boxes.filter(function (b) { return b.checked; }).length;
      var total = Object.keys(ticked).length;
      if (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
      if (count) {
        count.textContent = whole && whole.checked
          ? (count.getAttribute('data-whole') || '')
          : (total ? (count.getAttribute('data-ticked') || '') + ' ' + total : '');
      }
      if (clear) clear.hidden = total === 0;
    }
    if (all) {
      all.hidden = false;
      all.addEventListener('change', function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    if (clear) {
      clear.addEventListener('click', function () {
        ticked = {};
        boxes.forEach(function (b) { b.checked = false; });
        update();
      });
    }
    boxes.forEach(function (b) { b.addEventListener('change', update); });
    if (whole) whole.addEventListener('change', update);
    form.addEventListener('submit', function () {
      var here = {};
      boxes.forEach(function (b) { here[b.name] = 1; });
      Object.keys(ticked).forEach(function (name) {
        if (here[name] || !/^[ac][A-Za-z0-9]{1,40}$/.test(name)) return;
        var input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = 'on';
        form.appendChild(input);
      });
      try { window.sessionStorage.removeItem(key); } catch (e) { /* ignore */ }
    });
    update();
  });

  // The request reached us: the draft is no longer needed.
  var status = document.querySelector('.status[data-code]');
  if (status) {
    try { window.localStorage.removeItem('qrdesk-draft-' + status.getAttribute('data-code')); } catch (e) { /* ignore */ }
  }
})();
