// desk.js — the behaviour of Vigil's desk page: sign-in with a bearer token, English/French
// strings, hash routes (#/, #/region/<code>, #/alert/<id>, #/report/<id>, #/audit), the live
// alert stream (SSE read with fetch) and every view, over the API of docs/desk.md. Server
// strings only ever reach the page as text nodes. Part of Vigil, licensed under Apache-2.0.
'use strict';
(() => {
  // ---- Strings: key → [English, French], kept in index.html (#strings) ----
  const S = JSON.parse(document.getElementById('strings').textContent);
  const SEVERITIES = ['critical', 'warning', 'watch'], VERDICTS = ['acknowledged', 'confirmed', 'false_alarm'];
  const RFS = Array.from({ length: 14 }, (_, i) => 'RF' + (i + 1));
  const BUCKETS = [[0, '0'], [2, '1–2'], [5, '3–5'], [10, '6–10'], [20, '11–20'], [Infinity, '21+']];
  const TREND_ARROW = { rising: '↑', steady: '→', falling: '↓', new: '★', none: '–' };
  const TOKEN_KEY = 'vigil.desk.token', LANG_KEY = 'vigil.desk.lang';

  let lang = 'en';
  const t = (key, ...args) => (S[key] ? S[key][lang === 'fr' ? 1 : 0] : key).replace(/\{(\d)\}/g, (_, i) => String(args[+i] ?? ''));
  const label = (prefix, v) => (S[prefix + v] ? t(prefix + v) : String(v ?? '–'));

  // ---- DOM helpers: text only, never HTML ----
  const $ = (sel) => document.querySelector(sel);
  function build(el, attrs, kids) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid != null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }
  const h = (tag, attrs, ...kids) => build(document.createElement(tag), attrs, kids);
  const svg = (tag, attrs, ...kids) => build(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, kids);
  const enc = encodeURIComponent;
  const fmtTime = (s) => (s ? String(s).replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1') + ' UTC' : '–');
  const timeEl = (s) => h('time', { datetime: s || null, text: fmtTime(s) });
  const table = (heads, rows, attrs) => h('div', { class: 'scroll' }, h('table', attrs || {},
    h('thead', {}, h('tr', {}, heads.map((x) => h('th', { scope: 'col', text: x })))), h('tbody', {}, rows)));
  const reportLink = (id) => h('a', { href: '#/report/' + enc(id), 'data-report-id': id, class: 'mono', text: id });
  const regionLink = (code) => h('a', { href: '#/region/' + enc(code), text: code });
  const dl = (pairs) => h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));

  // ---- Session and API ----
  const session = { token: null, me: null, gen: 0, lastId: null, abort: null, retryMs: 1000, openP: null, episodes: new Map() };
  const canWrite = () => !!session.me && (session.me.role === 'analyst' || session.me.role === 'admin');

  class ApiError extends Error {
    constructor(status, message, retryAfter) { super(message); this.status = status; this.retryAfter = retryAfter; }
  }
  async function api(path, opts = {}) {
    const gen = session.gen;
    const headers = { Authorization: 'Bearer ' + (opts.token || session.token), Accept: 'application/json' };
    let body;
    if (opts.body !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(opts.body); }
    let res;
    try {
      res = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-store', credentials: 'omit' });
    } catch (_) { throw new ApiError(0, t('eNet')); }
    let data = null;
    try { data = await res.json(); } catch (_) { /* empty or not JSON */ }
    if (res.status === 401 && !opts.token && gen === session.gen && session.me) signOut(t('e401'));
    if (!res.ok) throw new ApiError(res.status, (data && data.error) || '', res.headers.get('Retry-After'));
    return data;
  }
  function errText(e) {
    if (!(e instanceof ApiError)) return t('eOther', e && e.message);
    if (e.status === 0) return t('eNet');
    if (e.status === 429) return t('e429', e.retryAfter || '?');
    if ([401, 403, 404, 413, 503].includes(e.status)) return t('e' + e.status);
    return t('eOther', e.status + (e.message ? ': ' + e.message : ''));
  }
  const errBox = (e) => h('p', { class: 'error', role: 'alert', text: errText(e) });

  // ---- Episodes held in memory, fed by the list and the stream ----
  const latest = (ep) => ep.records[ep.records.length - 1] || {};
  const isOpen = (ep) => latest(ep).status !== 'resolved';
  const byUpdatedDesc = (a, b) => String(latest(b).updated_at).localeCompare(String(latest(a).updated_at));
  const rank = (r) => ['firing', 'escalated', 'resolved'].indexOf(r.status); // same instant: this order
  const recKey = (r) => [r.updated_at, r.status, r.severity].join('|');
  function addRecord(ep, r) {
    if (ep.records.some((x) => recKey(x) === recKey(r))) return false;
    ep.records.push(r);
    ep.records.sort((a, b) => String(a.updated_at).localeCompare(String(b.updated_at)) || rank(a) - rank(b));
    ep.status = latest(ep).status; ep.severity = latest(ep).severity;
    return true;
  }
  function addReview(ep, v) {
    if (ep.reviews.some((x) => x.review_id === v.review_id)) return false;
    ep.reviews.push(v);
    ep.reviews.sort((a, b) => String(a.at).localeCompare(String(b.at)));
    return true;
  }
  function episode(r) { // the episode of a record or an episode, created empty if new
    const { alert_id, region, signal, rule, status, severity } = r;
    if (!session.episodes.has(alert_id)) session.episodes.set(alert_id, { alert_id, region, signal, rule, status, severity, records: [], reviews: [] });
    return session.episodes.get(alert_id);
  }
  function mergeEpisode(e) {
    const ep = episode(e);
    if (!ep.records.length) { ep.status = e.status; ep.severity = e.severity; }
    (e.records || []).forEach((r) => addRecord(ep, r));
    (e.reviews || []).forEach((v) => addReview(ep, v));
    return ep;
  }
  // The open episodes, from the list. One held open but not listed had closed by the time the
  // list was read (a gap before the stream was open), unless the stream has updated it since.
  let streamed = 0;
  function loadOpen() {
    const gen = session.gen, mark = streamed;
    session.openP = api('/api/v1/alerts?status=open&limit=500').then((d) => {
      if (gen !== session.gen) return;
      d.alerts.forEach((e) => changed(mergeEpisode(e).alert_id));
      const listed = new Set(d.alerts.map((e) => e.alert_id));
      session.episodes.forEach((ep, id) => {
        if (d.alerts.length < 500 && isOpen(ep) && !listed.has(id) && !(ep.streamed > mark)) { session.episodes.delete(id); changed(id); }
      });
    });
    session.openP.catch(() => { if (gen === session.gen) session.openP = null; });
    return session.openP;
  }

  // Views register `current.live(ids)` to redraw what changed; calls are batched.
  let current = { seq: 0, live: null, timers: [] };
  let pending = new Set(), flushTimer = null;
  function changed(id) {
    pending.add(id);
    flushTimer = flushTimer || setTimeout(() => {
      const ids = pending; [pending, flushTimer] = [new Set(), null];
      if (current.live) current.live(ids);
    }, 150);
  }

  // ---- The stream: SSE over fetch, so the bearer token travels in a header ----
  function setStream(state) {
    document.body.dataset.stream = state;
    $('#stream-state').textContent = state === 'off' ? '' : t('s_' + state);
    $('#stream-state').className = 'stream ' + state;
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function streamLoop(gen) {
    let delay = session.retryMs;
    while (gen === session.gen) {
      const ctrl = session.abort = new AbortController();
      let watchdog = null;
      const kick = () => { clearTimeout(watchdog); watchdog = setTimeout(() => ctrl.abort(), 45000); };
      try {
        const headers = { Authorization: 'Bearer ' + session.token, Accept: 'text/event-stream' };
        if (session.lastId !== null) headers['Last-Event-ID'] = session.lastId;
        kick();
        const res = await fetch('/api/v1/stream', { headers, signal: ctrl.signal, cache: 'no-store', credentials: 'omit' });
        if (gen !== session.gen) { ctrl.abort(); return; }
        if (res.status === 401) { signOut(t('e401')); return; }
        if (!res.ok || !res.body) { if (res.body) res.body.cancel().catch(() => {}); throw new Error('stream ' + res.status); }
        setStream('live');
        delay = session.retryMs;
        if (session.lastId === null) loadOpen().catch(() => {});
        await readSse(res.body.getReader(), kick, gen);
      } catch (_) { /* dropped, refused or timed out: retry below */ }
      clearTimeout(watchdog);
      if (gen !== session.gen) return;
      setStream('down');
      if (!session.openP) loadOpen().catch(() => {});
      await sleep(delay * (0.75 + Math.random() / 2));
      delay = Math.min(delay * 2, 30000);
    }
  }
  async function readSse(reader, kick, gen) {
    const dec = new TextDecoder();
    let buf = '', cr = false, data = [], event = '', idBuf = session.lastId;
    for (;;) {
      const { value, done } = await reader.read();
      if (gen !== session.gen) { reader.cancel().catch(() => {}); return; }
      if (done) return;
      kick();
      let text = dec.decode(value, { stream: true });
      if (cr && text.startsWith('\n')) text = text.slice(1);
      cr = text.endsWith('\r');
      buf += text;
      const lines = buf.split(/\r\n|\r|\n/);
      buf = lines.pop();
      for (const line of lines) {
        if (line === '') {
          session.lastId = idBuf;
          if (data.length) dispatch(event || 'message', data.join('\n'));
          data = []; event = '';
        } else if (line[0] !== ':') {
          const i = line.indexOf(':'), field = i < 0 ? line : line.slice(0, i);
          const val = i < 0 ? '' : line.slice(i + (line[i + 1] === ' ' ? 2 : 1));
          if (field === 'data') data.push(val);
          else if (field === 'event') event = val;
          else if (field === 'id' && !val.includes('\0')) idBuf = val;
          else if (field === 'retry' && /^\d+$/.test(val)) session.retryMs = Math.max(500, +val);
        }
      }
    }
  }
  function dispatch(event, data) {
    let obj = null;
    try { obj = JSON.parse(data); } catch (_) { /* not JSON: skip it */ }
    if (!obj || !obj.alert_id) return;
    if (event === 'alert') { const ep = episode(obj); ep.streamed = ++streamed; if (addRecord(ep, obj)) changed(obj.alert_id); }
    const ep = session.episodes.get(obj.alert_id);
    if (event === 'review' && (!ep || addReview(ep, obj))) changed(obj.alert_id);
  }

  // ---- Sign-in, sign-out, header ----
  async function signIn(token, fromForm) {
    $('#login-error').hidden = true;
    $('#login').disabled = true;
    let me = null;
    try { me = await api('/api/v1/whoami', { token }); } catch (e) {
      if (e.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      showLogin(e.status === 401 ? t('badToken') : errText(e));
    }
    $('#login').disabled = false;
    if (!me || session.me) return;
    if (fromForm) sessionStorage.setItem(TOKEN_KEY, token);
    $('#token').value = '';
    session.token = token; session.me = me;
    $('#login-form').hidden = true;
    ['#nav', '#who', '#logout'].forEach((s) => { $(s).hidden = false; });
    $('#nav-audit').hidden = !canWrite();
    showWho();
    setStream('connecting');
    streamLoop(session.gen);
    route(false);
  }
  function showWho() {
    const me = session.me;
    if (me) $('#who').textContent = t('who', me.name, label('r_', me.role), (me.regions || []).join(', ') || t('none'));
  }
  function showLogin(message) {
    $('#login-form').hidden = false;
    Object.assign($('#login-error'), { hidden: !message, textContent: message || '' });
    $('#token').focus();
  }
  function signOut(message) {
    session.gen++;
    if (session.abort) session.abort.abort();
    Object.assign(session, { token: null, me: null, lastId: null, abort: null, openP: null, episodes: new Map() });
    sessionStorage.removeItem(TOKEN_KEY);
    leaveView();
    current.seq = ++viewSeq;
    $('#view').replaceChildren(); delete $('#view').dataset.view;
    ['#nav', '#who', '#logout', '#nav-audit'].forEach((s) => { $(s).hidden = true; }); $('#who').textContent = '';
    setStream('off');
    showLogin(message);
  }

  // ---- Router ----
  let viewSeq = 0;
  function leaveView() {
    current.timers.forEach(clearInterval);
    current = { seq: current.seq, live: null, timers: [] };
  }
  function mount(seq, name, ...nodes) {
    if (seq !== viewSeq) return false;
    const v = $('#view');
    v.replaceChildren(...nodes.flat(Infinity).filter((n) => n != null && n !== ''));
    v.dataset.view = name;
    return true;
  }
  async function route(moveFocus) {
    if (!session.me) return;
    const hash = location.hash || '#/';
    if (!hash.startsWith('#/')) return;
    const [path, query] = hash.slice(2).split('?');
    const [name, ...rest] = path.split('/');
    let arg = rest.join('/');
    try { arg = decodeURIComponent(arg); } catch (_) { /* keep it as written */ }
    const params = new URLSearchParams(query || '');
    leaveView();
    const seq = current.seq = ++viewSeq;
    $('#view').replaceChildren(h('p', { class: 'muted', text: t('loading') }));
    const view = { '': viewOverview, region: viewRegion, alert: viewAlert, report: viewReport, audit: viewAudit }[name];
    try { await (view ? view(seq, arg, params) : mount(seq, 'none', h('p', { class: 'error', text: t('notFoundPage') }))); }
    catch (e) { mount(seq, 'error', errBox(e)); }
    const head = moveFocus && seq === viewSeq && $('#view h1, #view h2');
    if (head) { head.tabIndex = -1; head.focus(); }
  }

  // Keyed list update: keeps unchanged items in place (quiet for screen readers and tests).
  function syncList(ul, eps) {
    const old = new Map([...ul.children].map((li) => [li.dataset.key, li]));
    let prev = null;
    for (const ep of eps) {
      const sig = [lang, ep.status, ep.severity, ep.records.length, (ep.reviews || []).length].join('|');
      let li = old.get(ep.alert_id);
      if (li && li.dataset.sig === sig) old.delete(ep.alert_id);
      else {
        if (li) { li.remove(); old.delete(ep.alert_id); }
        li = h('li', { 'data-key': ep.alert_id, 'data-sig': sig }, alertLink(ep));
      }
      const want = prev ? prev.nextSibling : ul.firstChild;
      if (want !== li) ul.insertBefore(li, want);
      prev = li;
    }
    old.forEach((li) => li.remove());
  }
  function alertLink(ep) {
    const last = latest(ep);
    return h('a', { href: '#/alert/' + enc(ep.alert_id), class: 'alert sev-' + ep.severity, 'data-alert-id': ep.alert_id, 'data-region': ep.region, 'data-severity': ep.severity },
      h('span', { class: 'badge sev-' + ep.severity, text: label('sev_', ep.severity) }), ' ',
      h('strong', { text: ep.region }), ' · ', h('span', { class: 'mono', text: ep.signal }), ' · ', label('st_', ep.status),
      h('span', { class: 'meta' }, t('updatedAt', fmtTime(last.updated_at)), (ep.reviews || []).length ? ' · ' + t('nReviews', ep.reviews.length) : ''));
  }
  const sevBadge = (sev) => (sev ? h('span', { class: 'badge sev-' + sev, text: label('sev_', sev) }) : '–');

  // ---- Overview ----
  async function viewOverview(seq) {
    const [regions, sil] = await Promise.all([api('/api/v1/regions'), api('/api/v1/silences'), session.openP || loadOpen()]);
    const live = h('div', { id: 'live-alerts', role: 'status', 'aria-live': 'polite' });
    const heat = h('div', { id: 'heat' }, heatMap(regions));
    const silBox = h('div', { id: 'silences' });
    if (!mount(seq, 'overview', h('h1', { id: 'h-alerts', text: t('openAlerts') }), live,
      h('h2', { id: 'h-heat', text: t('heatmap') }), heat, h('h2', { id: 'h-silences', text: t('silences') }), silBox)) return;
    fillSilences(silBox, sil.silences || []);
    const groups = () => {
      const open = [...session.episodes.values()].filter(isOpen).sort(byUpdatedDesc);
      for (const sev of SEVERITIES) {
        let sec = live.querySelector(`section[data-group="${sev}"]`);
        if (!sec) live.append(sec = h('section', { class: 'group', 'data-group': sev }, h('h2', { class: 'h3' }), h('ul', { class: 'alerts' })));
        const list = open.filter((e) => e.severity === sev);
        sec.querySelector('h2').textContent = t('groupHead', label('sev_', sev), list.length);
        syncList(sec.querySelector('ul'), list);
      }
    };
    groups();
    let heatTimer = null;
    current.live = () => {
      groups();
      clearTimeout(heatTimer);
      heatTimer = setTimeout(() => api('/api/v1/regions').then((r) => {
        if (seq === viewSeq) heat.replaceChildren(...[].concat(heatMap(r)));
      }).catch(() => {}), 3000);
    };
  }
  const bucket = (n) => BUCKETS.findIndex(([max]) => n <= max);
  function heatMap(d) {
    const regions = d.regions || [];
    if (!regions.length) return h('p', { class: 'muted', text: t('noRegions') });
    const rows = regions.map((r) => h('tr', { 'data-region': r.code },
      h('th', { scope: 'row' }, regionLink(r.code)),
      RFS.map((rf) => { const n = (r.risk_factors || {})[rf] || 0; return h('td', { class: 'heat b' + bucket(n), text: n }); }),
      h('td', { class: 'num', text: r.open_alerts }), h('td', {}, sevBadge(r.highest_severity)), h('td', { class: 'num', text: r.reports_30d })));
    return [
      h('p', { class: 'muted', text: t('heatNote', fmtTime(d.latest_event_time)) }),
      h('p', { class: 'legend', id: 'heat-legend' }, t('legend'), ' ', BUCKETS.map(([, text], i) => h('span', { class: 'heat b' + i, text }))),
      table([t('region'), ...RFS, t('openCount'), t('highest'), t('reports30')], rows,
        { id: 'heatmap', class: 'heatmap', 'aria-describedby': 'heat-legend' }),
    ];
  }
  function fillSilences(box, list) {
    const active = list.filter((s) => !s.expired_by && Date.parse(s.ends_at) > Date.now());
    if (!active.length) { box.replaceChildren(h('p', { class: 'muted', text: t('noSilences') })); return; }
    const join = (xs) => (xs && xs.length ? xs.join(', ') : t('any'));
    box.replaceChildren(h('ul', { class: 'silences' }, active.map((s) => {
      const msg = h('span', { class: 'msg', role: 'status' });
      return h('li', { class: 'silence', 'data-silence-id': s.id },
        t('silenceLine', join(s.regions), join(s.signals), join(s.rules), fmtTime(s.ends_at), s.created_by),
        s.comment ? h('q', { text: s.comment }) : '',
        canWrite() ? h('button', { type: 'button', class: 'small', text: t('expire'), onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            Object.assign(s, await api('/api/v1/silences/' + enc(s.id) + '/expire', { method: 'POST', body: {} }));
            fillSilences(box, list);
          } catch (e) { msg.textContent = errText(e); ev.target.disabled = false; }
        } }) : '', msg);
    })));
  }

  // ---- Region ----
  async function viewRegion(seq, code, params) {
    const asOf = params.get('as_of') || '';
    const q = asOf ? 'as_of=' + enc(asOf) : '';
    const [prof, hist] = await Promise.all([
      api('/api/v1/regions/' + enc(code) + '/profile' + (q ? '?' + q : '')),
      api('/api/v1/alerts?region=' + enc(code) + '&limit=100' + (q ? '&' + q : ''))]);
    if (!asOf) [...(prof.open_alerts || []), ...(hist.alerts || [])].forEach(mergeEpisode);
    const input = h('input', { type: 'datetime-local', id: 'as-of', step: 1, value: asOf ? asOf.replace(/(\.\d+)?Z$/, '') : null });
    const asOfErr = h('span', { class: 'error', role: 'alert' });
    const form = h('form', { class: 'inline', onsubmit: (ev) => {
      ev.preventDefault();
      const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d)(:\d\d)?/.exec(input.value);
      if (!m) { asOfErr.textContent = t('badAsOf'); return; }
      location.hash = '#/region/' + enc(code) + '?as_of=' + enc(m[1] + (m[2] || ':00') + 'Z');
    } }, h('label', { for: 'as-of', text: t('asOf') }), input, h('button', { type: 'submit', text: t('apply') }),
    asOf ? h('a', { href: '#/region/' + enc(code), class: 'button', text: t('now') }) : '', asOfErr);
    const openUl = h('ul', { class: 'alerts', id: 'region-open', role: 'status', 'aria-live': 'polite' });
    const openEps = () => (asOf ? (prof.open_alerts || []) : [...session.episodes.values()].filter((e) => e.region === prof.region && isOpen(e)))
      .slice().sort(byUpdatedDesc);
    if (!mount(seq, 'region', h('h1', { text: t('regionTitle', prof.region) }), form,
      h('p', { class: 'muted' }, asOf ? t('asOfNote', fmtTime(asOf)) + ' ' : '', t('latestEvent', fmtTime(prof.latest_event_time))),
      h('h2', { text: t('riskFactors') }), rfTable(prof.risk_factors || []),
      h('h2', { text: t('threats') }), threatCharts(prof.threats || []),
      h('h2', { text: t('regionOpen') }), openUl,
      h('h2', { text: t('history') }), historyTable(hist.alerts || []))) return;
    const fill = () => {
      const eps = openEps();
      syncList(openUl, eps);
      if (!eps.length) openUl.replaceChildren(h('li', { class: 'muted', text: t('noneOpen') }));
    };
    fill();
    if (!asOf) current.live = (ids) => { if ([...ids].some((id) => (session.episodes.get(id) || {}).region === prof.region)) fill(); };
  }
  function rfTable(rfs) {
    const w = (rf, k) => { const x = (rf.windows || {})[k] || {}; return h('td', { class: 'num' }, String(x.reports ?? 0), h('small', { text: t('nInd', x.indicators ?? 0) })); };
    return table([t('factor'), t('w7'), t('w30'), t('w90'), t('baseline'), t('trend'), t('indicators'), t('evidence')],
      rfs.map((rf) => h('tr', { 'data-rf': rf.code },
        h('th', { scope: 'row' }, h('span', { class: 'rf', text: rf.code }), h('small', { text: rf.name || '' })),
        w(rf, '7d'), w(rf, '30d'), w(rf, '90d'),
        h('td', { class: 'num', text: Number(rf.baseline_per_7d || 0).toFixed(1) }),
        h('td', { class: 'trend trend-' + rf.trend }, h('span', { 'aria-hidden': 'true', text: (TREND_ARROW[rf.trend] || '') + ' ' }), label('tr_', rf.trend)),
        h('td', { text: (rf.indicators_seen || []).map((i) => `${i.code} (${i.reports})`).join(', ') || '–' }),
        h('td', { class: 'evidence' }, (rf.evidence || []).map((id) => [reportLink(id), ' '])))), { class: 'rf-table' });
  }
  function threatCharts(threats) {
    if (!threats.length) return h('p', { class: 'muted', text: t('noThreats') });
    return h('ul', { class: 'charts' }, threats.map((th) => {
      const series = th.series || [], n = Math.max(series.length, 1);
      const max = Math.max(1, ...series.map((d) => d.reports || 0));
      const total = series.reduce((a, d) => a + (d.reports || 0), 0);
      const W = 300, H = 60, bw = W / n, name = String(th.code).replace(/_/g, ' ');
      const text = t('chartLabel', name, total, series.length, max);
      return h('li', { class: 'chart' }, h('figure', {},
        h('figcaption', {}, h('strong', { text: name }), ' ', h('span', { class: 'muted', text: `(${total})` })),
        svg('svg', { viewBox: `0 0 ${W} ${H + 2}`, role: 'img', 'aria-label': text, preserveAspectRatio: 'none' },
          svg('title', { text }),
          series.map((d, i) => {
            const bh = Math.round(((d.reports || 0) / max) * H);
            return svg('rect', { class: 'bar', x: (i * bw + 1).toFixed(1), y: H - bh, width: Math.max(bw - 2, 1).toFixed(1), height: bh },
              svg('title', { text: `${d.day}: ${d.reports}` }));
          }),
          svg('line', { class: 'axis', x1: 0, x2: W, y1: H + 1, y2: H + 1 }))));
    }));
  }
  function historyTable(eps) {
    return table([t('updated'), t('severity'), t('status'), t('signal'), t('rule')], eps.map((e) => {
      const recs = e.records || [], last = recs[recs.length - 1] || {};
      const attrs = { 'data-alert-id': e.alert_id, 'data-region': e.region, 'data-severity': e.severity };
      return h('tr', attrs, h('td', {}, h('a', { href: '#/alert/' + enc(e.alert_id), ...attrs }, timeEl(last.updated_at))),
        h('td', {}, sevBadge(e.severity)), h('td', { text: label('st_', e.status) }),
        h('td', { class: 'mono', text: e.signal }), h('td', { class: 'mono', text: e.rule }));
    }), { class: 'history' });
  }

  // ---- Alert ----
  async function findEpisode(id) {
    const found = ((await api('/api/v1/alerts?alert_id=' + enc(id))).alerts || [])[0];
    if (found) return mergeEpisode(found);
    if (session.episodes.has(id)) return session.episodes.get(id);
    throw new ApiError(404, '');
  }
  async function viewAlert(seq, id) {
    const ep = await findEpisode(id);
    const facts = h('div', { id: 'alert-facts' }), evidence = h('div', { id: 'alert-evidence' });
    const records = h('div', { id: 'records' }), reviews = h('ul', { id: 'reviews', class: 'reviews', 'aria-live': 'polite' });
    const fill = () => {
      const last = latest(ep);
      facts.replaceChildren(dl([[t('region'), regionLink(ep.region)], [t('signal'), ep.signal], [t('rule'), ep.rule],
        [t('severity'), sevBadge(ep.severity)], [t('status'), label('st_', ep.status)],
        [t('firstSeen'), timeEl(last.first_seen)], [t('alertId'), h('span', { class: 'mono', text: ep.alert_id })]]));
      const uniq = (f) => [...new Set(ep.records.slice().reverse().flatMap((r) => f(r) || []))]; // newest first
      const ids = uniq((r) => (r.evidence || {}).report_ids), inds = uniq((r) => (r.evidence || {}).indicators), rfs = uniq((r) => r.risk_factors);
      evidence.replaceChildren(dl([[t('evidence'), h('span', { class: 'evidence' }, ids.map((x) => [reportLink(x), ' ']))],
        [t('indicators'), inds.join(', ') || '–'], [t('rfShort'), rfs.join(', ') || '–']]));
      records.replaceChildren(table([t('updated'), t('status'), t('severity'), t('window'), t('observed'), t('summary')],
        ep.records.slice().reverse().map((r) => h('tr', {}, h('td', {}, timeEl(r.updated_at)), h('td', { text: label('st_', r.status) }),
          h('td', {}, sevBadge(r.severity)), h('td', {}, timeEl((r.window || {}).start), ' – ', timeEl((r.window || {}).end)),
          h('td', { text: observed(r) }), h('td', { text: r.summary || '' })))));
      reviews.replaceChildren(...(ep.reviews.length ? ep.reviews.map((v) => h('li', { class: 'review', 'data-verdict': v.verdict },
        h('strong', { class: 'verdict', text: label('v_', v.verdict) }), ' ', h('span', { class: 'muted', text: t('reviewBy', v.author, fmtTime(v.at)) }),
        v.note ? h('p', { class: 'note', text: v.note }) : '')) : [h('li', { class: 'muted', text: t('noReviews') })]));
    };
    if (!mount(seq, 'alert', h('h1', { text: t('alertTitle', ep.signal, ep.region) }), facts, evidence,
    h('h2', { text: t('records') }), records, h('h2', { text: t('reviews') }), reviews,
    canWrite() ? [reviewForm(ep, fill), silenceForm(ep)] : [])) return;
    fill();
    current.live = (ids) => { if (ids.has(ep.alert_id)) fill(); };
  }
  function observed(r) {
    const o = r.observed || {};
    const cas = Object.entries(o.casualties || {}).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${label('c_', k)}`);
    return t('obs', o.reports ?? '–', o.distinct_sources ?? '–', o.value ?? '–', r.threshold ?? '–', o.score ?? '–') + (cas.length ? ' · ' + cas.join(', ') : '');
  }
  // A card form whose submit runs `send` and shows the message it returns, or the error.
  function actionForm(id, title, fields, [buttonId, buttonText], send) {
    const msg = h('p', { class: 'msg', role: 'status' });
    const btn = h('button', { type: 'submit', id: buttonId, text: buttonText });
    return h('form', { class: 'card', id, onsubmit: async (ev) => {
      ev.preventDefault();
      btn.disabled = true; msg.textContent = '';
      try { msg.textContent = await send(); } catch (e) { msg.textContent = errText(e); }
      btn.disabled = false;
    } }, title, fields.map(([input, text]) => [h('label', { for: input.id, text }), input]), btn, msg);
  }
  function reviewForm(ep, fill) {
    const verdict = h('select', { id: 'verdict' }, VERDICTS.map((v) => h('option', { value: v, text: label('v_', v) })));
    const note = h('textarea', { id: 'note', rows: 3, maxlength: 2000 });
    return actionForm('review-form', h('h2', { text: t('addReview') }), [[verdict, t('verdict')], [note, t('note')]],
      ['submit-review', t('submitReview')], async () => {
        const body = { verdict: verdict.value, note: note.value };
        addReview(ep, await api('/api/v1/alerts/' + enc(ep.alert_id) + '/reviews', { method: 'POST', body }));
        fill(); note.value = '';
        return t('saved');
      });
  }
  function silenceForm(ep) {
    const hours = h('input', { type: 'number', id: 'silence-hours', min: 1, max: 720, value: 24, required: true });
    const comment = h('input', { type: 'text', id: 'silence-comment', maxlength: 500 });
    return actionForm('silence-form', [h('h2', { text: t('silenceTitle', ep.region) }), h('p', { class: 'mono', text: ep.signal })],
      [[hours, t('hours')], [comment, t('comment')]], ['silence-submit', t('silenceBtn')], async () => {
        const body = { regions: [ep.region], signals: [ep.signal], rules: [], hours: Number(hours.value), comment: comment.value };
        const silence = await api('/api/v1/silences', { method: 'POST', body });
        comment.value = '';
        return t('silenced', fmtTime(silence.ends_at));
      });
  }

  // ---- Report ----
  async function viewReport(seq, id) {
    const r = await api('/api/v1/reports/' + enc(id));
    const hasText = typeof r.text === 'string';
    const tags = (r.tags || []).map((g) => h('tr', {}, h('td', { class: 'mono', text: g.code }), h('td', { text: label('k_', g.kind) }),
      h('td', { text: g.indicator || '–' }), h('td', { class: 'mono', text: g.rule || '' }),
      h('td', { text: (g.evidence || []).map((e) => (e.phrase ? `“${e.phrase}”` : e.field)).filter(Boolean).join('; ') || '–' })));
    mount(seq, 'report', h('h1', { text: t('reportTitle', r.id) }),
      dl([[t('region'), regionLink(r.region)], [t('eventTime'), timeEl(r.event_time)],
        [t('threatsShort'), (r.threats || []).join(', ') || '–'], [t('rfShort'), (r.risk_factors || []).join(', ') || '–']]),
      h('h2', { text: t('text') }),
      hasText ? [r.title ? h('p', { class: 'report-title', id: 'report-title', text: r.title }) : '',
        h('div', { id: 'report-text', class: 'report-text', text: r.text })]
        : h('p', { id: 'no-text', class: 'note', text: t('noText') }),
      h('h2', { text: t('tags') }), table([t('code'), t('kind'), t('indicator'), t('rule'), t('phrases')], tags, { class: 'tags' }));
  }

  // ---- Audit: the newest 100 entries, then more on demand; the first page refreshes itself ----
  async function viewAudit(seq) {
    const head = h('h1', { text: t('audit') });
    if (!canWrite()) { mount(seq, 'audit', head, errBox(new ApiError(403, ''))); return; }
    const rows = [], box = h('div', { id: 'audit' }), msg = h('p', { class: 'msg', role: 'status' });
    const more = h('button', { type: 'button', id: 'audit-more', text: t('more'), onclick: () => load(false).catch((e) => { msg.textContent = errText(e); }) });
    async function load(fresh) {
      const entries = (await api(`/api/v1/audit?limit=100&offset=${fresh ? 0 : rows.length}`)).entries || [];
      if (fresh) rows.length = 0;
      entries.forEach((e) => rows.push(h('tr', { class: 'audit-entry', 'data-target': e.target },
        h('td', {}, timeEl(e.at)), h('td', { text: e.author }), h('td', { text: label('a_', e.action) }),
        h('td', { class: 'mono' }, e.action === 'review' ? h('a', { href: '#/alert/' + enc(e.target), text: e.target }) : e.target),
        h('td', { text: e.region || (e.regions || []).join(', ') || '–' }), h('td', { text: e.detail || '' }))));
      box.replaceChildren(rows.length ? table([t('time'), t('author'), t('action'), t('target'), t('region'), t('detail')], rows, { class: 'audit' })
        : h('p', { class: 'muted', text: t('noEntries') }));
      more.hidden = entries.length < 100;
    }
    await load(true);
    if (!mount(seq, 'audit', head, box, more, msg)) return;
    const refresh = () => { if (rows.length <= 100) load(true).catch(() => {}); };
    current.timers.push(setInterval(refresh, 10000));
    current.live = refresh;
  }

  // ---- Language and start-up ----
  function setLang(l, rerender) {
    lang = l === 'fr' ? 'fr' : 'en';
    document.documentElement.lang = lang;
    $('#lang').value = lang;
    document.title = t('title');
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll('[data-i18n-label]').forEach((el) => el.setAttribute('aria-label', t(el.dataset.i18nLabel)));
    if (document.body.dataset.stream && document.body.dataset.stream !== 'off') setStream(document.body.dataset.stream);
    showWho();
    if (rerender) route(false);
  }
  function start() {
    let stored = null;
    try { stored = localStorage.getItem(LANG_KEY); } catch (_) { /* storage refused */ }
    setLang(stored || ((navigator.language || 'en').toLowerCase().startsWith('fr') ? 'fr' : 'en'), false);
    $('#lang').addEventListener('change', (ev) => {
      try { localStorage.setItem(LANG_KEY, ev.target.value); } catch (_) { /* storage refused */ }
      setLang(ev.target.value, true);
    });
    $('#skip').addEventListener('click', (ev) => { ev.preventDefault(); $('#main').focus(); });
    $('#login-form').addEventListener('submit', (ev) => { ev.preventDefault(); if ($('#token').value.trim()) signIn($('#token').value.trim(), true); });
    $('#logout').addEventListener('click', () => signOut(''));
    window.addEventListener('hashchange', () => route(true));
    setStream('off');
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) signIn(token, false); else showLogin('');
  }
  start();
})();
