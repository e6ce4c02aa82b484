/* Offline-safe contact forms, on every client site.
 *
 * Each form[action="/api/intake"] works as a plain HTML form without this
 * script. With it, the form is sent with fetch; when the network or the
 * server fails (no connection, a timeout, 429, 5xx) the text fields are
 * kept in localStorage and sent again by themselves: with exponential
 * backoff and jitter (never sooner than Retry-After), on `online`, and on
 * the next load of any page that includes this script. The visitor is told
 * the message is waiting, and told when it has gone. Each submission has an
 * Idempotency-Key that stays with it, and its form token (_token) travels
 * with the fields; the server takes the token's nonce as the key (one
 * token, one submission), so any number of resends store it once.
 *
 * Per form: data-consult-offline="off" opts out; data-thanks="/path" is
 * where to go once sent (else where the server redirected, else /thanks.html).
 * Forms with chosen files are sent but never queued: files cannot be kept in
 * localStorage, and the text alone would be another message.
 */
(function () {
  'use strict';

  const STORE = 'consult-forms-queue-v1';
  const MAX_ENTRIES = 20;
  // Messages are personal data on a possibly shared device: kept a week at
  // most, and removed as soon as they are sent.
  const MAX_AGE_MS = 7 * 24 * 3600e3;
  const TIMEOUT_MS = 15000;            // a hung request counts as a failure
  const BASE_MS = 4000, MAX_MS = 5 * 60e3;
  const QUEUED = ' — your message is saved on this device and will be sent automatically.';
  const NOT_KEPT = 'Please try again when you are back online: what you typed is still here.';

  if (!window.fetch || !window.FormData || !window.URLSearchParams || !window.AbortController) return;

  const intakeForms = (root) => Array.from(root.querySelectorAll('form[action="/api/intake"]'))
    .filter((f) => f.getAttribute('data-consult-offline') !== 'off');
  const forms = intakeForms(document);
  let timer = 0, attempt = 0, draining = false, toldWaiting = false, pageStatus = null;

  /* ---- the queue: [{key, url, fields: [[name, value]…], created, page, form, notBefore?, held?}] */

  function load() {
    try {
      const q = JSON.parse(localStorage.getItem(STORE) || '[]');
      return Array.isArray(q) ? q.filter((e) => e && e.key && Date.now() - e.created < MAX_AGE_MS) : [];
    } catch (err) {
      return [];
    }
  }

  // Read, change, write; false when the browser will not store (storage
  // off, private mode, quota full), which the caller has to tell.
  function update(change) {
    try {
      const q = change(load());
      if (q.length) localStorage.setItem(STORE, JSON.stringify(q.slice(-MAX_ENTRIES)));
      else localStorage.removeItem(STORE);
      return true;
    } catch (err) {
      return false;
    }
  }

  const without = (key) => (q) => q.filter((e) => e.key !== key);
  const mark = (key, props) => update((q) => q.map((e) => (e.key === key ? Object.assign(e, props) : e)));
  const valueOf = (fields, name) => (fields.find(([k]) => k === name) || [])[1] || '';
  const textFields = (data) => Array.from(data).filter(([, v]) => typeof v === 'string');
  const sameOrigin = (u) => { try { return new URL(u, location.href).origin === location.origin; } catch (e) { return false; } };
  const formOf = (e) => (e.page === location.pathname ? forms[e.form] : null);
  const tokenInput = (form) => form.querySelector('input[name="_token"]');

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    // randomUUID is for secure contexts only; plain http gets 128 random bits too.
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /* ---- what the visitor sees */

  // A polite live region per form, made at load so it is in the
  // accessibility tree before anything is said there. Visible on purpose:
  // sighted visitors need to know their message is waiting too.
  function say(form, text, href) {
    let region = form ? form.consultStatus : pageStatus;
    if (!region) {
      region = pageStatus = document.createElement('div');
      region.setAttribute('role', 'status');
      (document.querySelector('main') || document.body).prepend(region);
    }
    clearTimeout(region.consultTimer);
    region.textContent = '';
    if (!text) return;
    const p = document.createElement('p');
    p.className = 'form-hint';          // every site styles its hint box
    p.textContent = text;
    if (href) Object.assign(p.appendChild(document.createElement('a')), { href, textContent: ' Open the form' });
    // Emptied first and filled a moment later, so a repeat is announced too.
    region.consultTimer = setTimeout(() => region.appendChild(p), 50);
  }

  function clearErrors(form) {
    form.querySelectorAll('[data-consult-error]').forEach((el) => el.remove());
    form.querySelectorAll('[aria-invalid]').forEach((c) => {
      c.removeAttribute('aria-invalid');
      const ids = (c.getAttribute('aria-describedby') || '').split(/\s+/).filter((id) => id && !id.startsWith('consult-error-'));
      if (ids.length) c.setAttribute('aria-describedby', ids.join(' '));
      else c.removeAttribute('aria-describedby');
    });
  }

  // The server's 400: {"errors": [{"field": "email", "message": "is not a valid email address"}, …]}.
  function showErrors(form, errors) {
    clearErrors(form);
    let first = null;
    const loose = [];
    errors.forEach((e, i) => {
      let c = form.elements.namedItem(e.field);
      if (c && !c.tagName) c = c[0];     // a radio group
      if (!c || c.type === 'hidden') { loose.push(e.field + ' ' + e.message); return; }
      const group = /^(radio|checkbox)$/.test(c.type) && c.closest('fieldset');
      const label = group ? group.querySelector('legend') : c.labels && c.labels[0];
      const name = label ? label.textContent.replace(/\([^)]*\)/g, '').trim() : e.field.replace(/_/g, ' ');
      const p = document.createElement('p');
      p.id = 'consult-error-' + forms.indexOf(form) + '-' + i;
      p.className = 'form-hint';
      p.setAttribute('data-consult-error', e.field);
      p.textContent = name.charAt(0).toUpperCase() + name.slice(1) + ' ' + e.message + '.';
      (group || c.parentElement).appendChild(p);
      c.setAttribute('aria-invalid', 'true');
      c.setAttribute('aria-describedby', ((c.getAttribute('aria-describedby') || '') + ' ' + p.id).trim());
      first = first || c;
    });
    say(form, 'Please check the form: ' + (loose.length ? loose.join('; ') + '.' : 'what needs changing is marked.'));
    if (first) first.focus();
  }

  // A refused submission back into its form, for the visitor to correct
  // (not its token: the page's own is fresher).
  function fill(form, fields) {
    for (const c of form.elements) {
      if (!c.name || c.name === '_token' || /^(file|hidden|submit|button)$/.test(c.type)) continue;
      const v = fields.filter(([k]) => k === c.name).map(([, x]) => x);
      if (/^(radio|checkbox)$/.test(c.type)) c.checked = v.includes(c.value);
      else if (c.multiple) Array.from(c.options).forEach((o) => { o.selected = v.includes(o.value); });
      else if (v.length) c.value = v[0];
    }
  }

  /* ---- sending */

  function retryAfterMs(res) {
    const v = (res.headers.get('Retry-After') || '').trim();
    if (/^\d+$/.test(v)) return Number(v) * 1000;
    const t = Date.parse(v);
    return isNaN(t) ? 0 : Math.max(0, t - Date.now());
  }

  // One POST, resolved as {kind: 'sent' | 'invalid' | 'rejected' | 'retry', …}.
  async function send(url, body, key) {
    const ctl = new AbortController();
    const cut = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const res = await fetch(url, { method: 'POST', body, credentials: 'same-origin', cache: 'no-store', signal: ctl.signal,
                                     headers: { Accept: 'application/json', 'Idempotency-Key': key } });
      // A form body is answered 303 to the thank-you page, and only once the
      // submission has committed; a redirect off this site (a wifi portal)
      // proves nothing and is retried below.
      if (res.redirected && sameOrigin(res.url)) return { kind: 'sent', thanks: res.url };
      const json = /json/.test(res.headers.get('Content-Type') || '') ? await res.json().catch(() => null) : null;
      if ((res.status === 201 || res.status === 200) && json && json.id != null) return { kind: 'sent' };
      if (res.status === 400 && json && Array.isArray(json.errors)) return { kind: 'invalid', errors: json.errors };
      if (res.status === 413) return { kind: 'rejected', text: 'Your message is too large to send: please shorten it, or attach fewer or smaller files.' };
      if (res.status === 415) return { kind: 'rejected', text: 'This kind of upload is not accepted here: please send your message without it.' };
      // Busy, limited, down, or an answer that is not ours: the key makes
      // another try harmless.
      if (res.status === 429 || res.status === 408 || res.status >= 500 || res.ok) return { kind: 'retry', wait: retryAfterMs(res) };
      return { kind: 'rejected', text: 'Sorry, your message could not be sent' + (json && json.message ? ': ' + json.message + '.' : '.') };
    } catch (err) {
      return { kind: 'retry', offline: true };    // no connection, or the timeout
    } finally {
      clearTimeout(cut);
    }
  }

  async function onSubmit(ev) {
    const form = ev.currentTarget;
    if (ev.defaultPrevented) return;     // another script has taken it
    ev.preventDefault();
    if (form.consultBusy) return;        // a double click: the first is on its way
    // A token already spent on a sent message would make this one its
    // "duplicate", and so lost; without one it is stored, marked spam
    // (no_form_token) for staff to rescue. freshToken() normally avoids this.
    if (form.consultSpent && tokenInput(form)) tokenInput(form).value = '';
    const data = new FormData(form, ev.submitter || null);
    const withFiles = Array.from(form.elements).some((c) => c.type === 'file' && c.files && c.files.length);
    const fields = textFields(data);
    // Sent again while still queued: the same token, so the same submission;
    // it keeps its key and takes the newer text.
    const token = valueOf(fields, '_token');
    const queued = token && load().find((e) => valueOf(e.fields, '_token') === token);
    // getAttribute: a field named "action" would shadow form.action.
    const entry = { key: queued ? queued.key : newKey(), url: new URL(form.getAttribute('action'), location.href).href,
                    fields, created: Date.now(), page: location.pathname, form: forms.indexOf(form) };

    form.consultBusy = true;
    form.setAttribute('aria-busy', 'true');
    clearErrors(form);
    say(form, 'Sending…');
    const r = await send(entry.url, withFiles ? data : new URLSearchParams(fields), entry.key);
    form.consultBusy = false;
    form.removeAttribute('aria-busy');

    if (r.kind === 'sent') {
      form.consultSpent = true;
      if (queued) update(without(queued.key));
      location.assign(form.getAttribute('data-thanks') || r.thanks || '/thanks.html');
    } else if (r.kind === 'invalid') {
      showErrors(form, r.errors);
    } else if (r.kind === 'rejected') {
      say(form, r.text);
    } else if (withFiles) {
      say(form, 'Your message could not be sent just now, and messages with files cannot be saved on this device. ' + NOT_KEPT);
    } else if (!update((q) => without(entry.key)(q).concat(Object.assign(entry, r.wait ? { notBefore: Date.now() + r.wait } : {})))) {
      say(form, 'Your message could not be sent just now, and this browser does not let us save it. ' + NOT_KEPT);
    } else {
      say(form, (r.offline ? 'No connection' : 'We could not reach our inbox just now') + QUEUED);
      schedule(r.wait);
    }
  }

  /* ---- resending */

  function schedule(minMs) {
    clearTimeout(timer);
    const waiting = load().filter((e) => !e.held);
    if (!waiting.length || navigator.onLine === false) return;   // `online` calls drain()
    const backoff = Math.min(MAX_MS, BASE_MS * 2 ** attempt++);
    const due = Math.max(0, ...waiting.map((e) => (e.notBefore || 0) - Date.now()));
    // Jitter: a room full of phones back online must not retry in step.
    timer = setTimeout(drain, Math.max(minMs || 0, due, backoff / 2 + Math.random() * backoff / 2));
  }

  // A resend the server answered. Its _token may be days old by now: past
  // the token's 24 h the server stores it all the same, marked spam
  // (form_token_expired) for staff to rescue, rather than refusing it.
  function settled(e, r) {
    const form = formOf(e);
    if (r.kind !== 'sent') {
      mark(e.key, { held: r });          // retrying cannot fix a refusal: kept for its form
      return;
    }
    update(without(e.key));
    if (form && tokenInput(form) && tokenInput(form).value === valueOf(e.fields, '_token')) {
      form.consultSpent = true;
      // Cleared only if it still holds just what was sent.
      if (new URLSearchParams(textFields(new FormData(form))).toString() === new URLSearchParams(e.fields).toString()) form.reset();
      freshToken(form);
    }
    say(form || forms[0], 'Your message from earlier has been sent.');
  }

  // Refused submissions go back into their form, if it is on this page and
  // not holding something else the visitor has typed since.
  function restoreHeld() {
    for (const e of load().filter((x) => x.held)) {
      const form = formOf(e), typed = form && form.elements.namedItem('message');
      if (!form || (typed && typed.value && typed.value !== valueOf(e.fields, 'message'))) {
        say(form || forms[0], 'A message saved on this device could not be sent: please check it and send it again.', form ? '' : e.page);
        continue;
      }
      update(without(e.key));
      fill(form, e.fields);
      if (e.held.kind === 'invalid') showErrors(form, e.held.errors);
      else say(form, e.held.text);
    }
  }

  async function drainNow() {
    for (const e of load()) {
      if (e.held || (e.notBefore || 0) > Date.now()) continue;
      if (!sameOrigin(e.url)) { update(without(e.key)); continue; }
      const r = await send(e.url, new URLSearchParams(e.fields), e.key);
      if (r.kind !== 'retry') { settled(e, r); attempt = 0; continue; }
      if (r.wait) mark(e.key, { notBefore: Date.now() + r.wait });
      if (!toldWaiting && !forms.some((f) => f.consultStatus.textContent)) {
        say(forms[0], 'Your message from earlier is still saved on this device and will be sent automatically.');
      }
      toldWaiting = true;
      break;                              // the rest would fail the same way now
    }
    restoreHeld();
  }

  async function drain() {
    if (draining) return;
    draining = true;
    clearTimeout(timer);
    try {
      // One tab at a time; a second sender would still store nothing twice.
      if (navigator.locks) await navigator.locks.request(STORE, { ifAvailable: true }, (lock) => lock && drainNow());
      else await drainNow();
    } finally {
      draining = false;
      schedule(0);
    }
  }

  // The page served again carries a new token: it replaces a spent one long
  // before the visitor can send again (a token used within 3 s of being
  // served is marked spam as too fast, so it is not fetched at submit time).
  async function freshToken(form) {
    try {
      const res = await fetch(location.href, { cache: 'no-store', credentials: 'same-origin' });
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      const fresh = tokenInput(intakeForms(doc)[forms.indexOf(form)] || doc);
      if (res.ok && fresh && fresh.value && !fresh.value.startsWith('__')) {
        tokenInput(form).value = fresh.value;
        form.consultSpent = false;
      }
    } catch (err) { /* offline: onSubmit sends without the spent token */ }
  }

  forms.forEach((form) => {
    const button = form.querySelector('[type=submit]');
    form.consultStatus = document.createElement('div');
    form.consultStatus.setAttribute('role', 'status');
    if (button) button.after(form.consultStatus);       // where the eye is after pressing it
    else form.appendChild(form.consultStatus);
    form.addEventListener('submit', onSubmit);
  });
  window.addEventListener('online', () => { attempt = 0; drain(); });
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') drain(); });
  // Back from the thank-you page: the back/forward cache kept the spent token.
  window.addEventListener('pageshow', (ev) => {
    if (ev.persisted) forms.forEach((f) => { if (f.consultSpent) { say(f, ''); freshToken(f); } });
  });
  update((q) => q);                      // what has expired leaves the device now
  drain();
})();
