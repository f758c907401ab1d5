// SPDX-License-Identifier: Apache-2.0
// The Unified Alert Center console (served as /ui/app.js; no dependencies).
// Every data call goes to this server's API with the bearer token kept in
// sessionStorage. Content is put in the page as text nodes only (never as
// HTML), and nothing runs inline: the page's Content-Security-Policy forbids
// it. Views are chosen by the location hash: #/ (incidents), #/alerts,
// #/incident/ID, #/alert/ID, #/silences, #/escalation, #/oncall, #/stats,
// #/audit. Lists are paged (50 a page, the API's cursors); the open-incident
// and alert lists poll every 3 s with If-None-Match and redraw only when the
// answer changed.
'use strict';
(function () {
  const PAGE = 50;
  const POLL_MS = 3000;
  const LEVELS = ['P1', 'P2', 'P3', 'P4'];
  const SVG = 'http://www.w3.org/2000/svg';
  let token = sessionStorage.getItem('ac_token') || '';
  let timer = null;   // the current view's poll
  let teams = null;   // [{id, name}], loaded once a sign-in

  // --- DOM helpers -------------------------------------------------------------

  // el('tr', {class: 'x', onclick: fn, 'data-id': 1}, 'text', childNode, ...)
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids.flat()) {
      if (k === null || k === undefined || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  function svg(tag, attrs, ...kids) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }

  const $ = (id) => document.getElementById(id);
  const view = () => $('view');

  function when(t) {
    if (!t) return '-';
    const d = new Date(t);
    return isNaN(d) ? t : d.toISOString().replace('T', ' ').slice(0, 19);
  }

  function ago(t) {
    if (!t) return '';
    const s = Math.max(0, (Date.now() - new Date(t).getTime()) / 1000);
    if (s < 90) return Math.round(s) + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    if (s < 172800) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }

  function secs(v) {
    if (v === null || v === undefined) return '-';
    if (v < 120) return v.toFixed(v < 10 ? 1 : 0) + ' s';
    if (v < 7200) return (v / 60).toFixed(1) + ' min';
    return (v / 3600).toFixed(1) + ' h';
  }

  const lvl = (l) => el('span', {class: 'lvl ' + l}, l || '-');
  const st = (s) => el('span', {class: 'st ' + s}, s || '-');

  function flash(msg, bad) {
    const f = $('flash');
    flash.at = Date.now();
    f.textContent = msg;
    f.className = 'flash' + (bad ? ' bad' : '');
    f.hidden = false;
    clearTimeout(flash.t);
    flash.t = setTimeout(() => { f.hidden = true; }, 6000);
  }

  function table(cols, rows, onRow) {
    const head = el('tr', {}, cols.map((c) => el('th', {}, c[0])));
    const body = rows.map((r) => el('tr', onRow ? {class: 'click', onclick: () => onRow(r),
      'data-id': r.id} : {'data-id': r.id}, cols.map((c) => el('td', {}, c[1](r)))));
    return el('table', {}, el('thead', {}, head), el('tbody', {}, body));
  }

  // --- the API -----------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      const e = body && body.error;
      super(e ? e.message + (e.details && e.details.length ? ': ' + e.details.map(
        (d) => d.path + ' ' + d.message).join('; ') : '') : 'HTTP ' + status);
      this.status = status;
    }
  }

  // GET/POST/DELETE path; opts.etag: the ETag a list was drawn from (then
  // null comes back for "unchanged"). Returns the JSON, or {etag, data}.
  async function api(method, path, body, opts) {
    const headers = {Authorization: 'Bearer ' + token};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts && opts.etag) headers['If-None-Match'] = opts.etag;
    const r = await fetch(path, {method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body)});
    if (r.status === 304) return null;
    let data = null;
    const text = await r.text();
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (r.status === 401) { signOut('The token was refused (401).'); throw new ApiError(401, data); }
    if (!r.ok) throw new ApiError(r.status, data);
    return opts && 'etag' in opts ? {etag: r.headers.get('ETag'), data} : data;
  }

  const get = (p) => api('GET', p);
  const qs = (o) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) if (v !== '' && v !== null && v !== undefined) p.set(k, v);
    const s = p.toString();
    return s ? '?' + s : '';
  };

  // --- sign in -----------------------------------------------------------------

  function signOut(msg) {
    token = '';
    sessionStorage.removeItem('ac_token');
    teams = null;
    stopPoll();
    showLogin(msg);
  }

  function showLogin(msg) {
    $('login').hidden = false;
    $('nav').hidden = true;
    $('logout').hidden = true;
    $('live').hidden = true;
    view().replaceChildren();
    $('login-error').textContent = msg || '';
    $('token').focus();
  }

  async function signIn(t) {
    token = t.trim();
    try {
      await get('/v1/summary');
    } catch (e) {
      token = '';
      $('login-error').textContent = e.status === 403
        ? 'This token lacks the read scope.' : 'Sign-in failed: ' + e.message;
      return;
    }
    sessionStorage.setItem('ac_token', token);
    $('token').value = '';
    route();
  }

  async function teamList() {
    if (!teams) {
      try { teams = (await get('/v1/teams?limit=1000')).items.map((t) => ({id: t.id, name: t.name})); }
      catch (e) { teams = []; }
    }
    return teams;
  }

  const teamName = (id) => {
    const t = (teams || []).find((x) => x.id === id);
    return t ? t.name : (id || '-');
  };

  // --- polling -----------------------------------------------------------------

  function stopPoll() { if (timer) { clearInterval(timer); timer = null; } }

  function startPoll(fn) {
    stopPoll();
    timer = setInterval(() => { if (!document.hidden) fn().catch(() => {}); }, POLL_MS);
  }

  function markLive(changed) {
    const l = $('live');
    l.hidden = false;
    l.textContent = (changed ? 'updated ' : 'checked ') + new Date().toLocaleTimeString();
    l.setAttribute('data-changed', changed ? '1' : '0');
  }

  // --- lists of incidents and alerts ---------------------------------------------

  // A filtered, paged, live list: kind 'incidents' or 'alerts'.
  async function listView(kind) {
    const isInc = kind === 'incidents';
    await teamList();
    const state = {cursor: '', stack: [], etag: null, sumEtag: null};
    const f = {
      status: el('select', {id: 'f-status'}, (isInc
        ? [['active', 'open + acknowledged'], ['open', 'open'], ['acknowledged', 'acknowledged'],
           ['resolved', 'resolved']]
        : [['open', 'firing + acknowledged'], ['firing', 'firing'], ['acknowledged', 'acknowledged'],
           ['resolved', 'resolved']]).map(([v, t]) => el('option', {value: v}, t))),
      level: el('select', {id: 'f-level'}, el('option', {value: ''}, 'any'),
        LEVELS.map((l) => el('option', {value: l}, l))),
      team: el('select', {id: 'f-team'}, el('option', {value: ''}, 'any'),
        teams.map((t) => el('option', {value: t.id}, t.name))),
      type: el('input', {id: 'f-type', placeholder: 'type', size: 16}),
      app: el('input', {id: 'f-app', placeholder: 'app id', size: 12}),
    };
    const cards = el('div', {class: 'cards', id: 'cards'});
    const list = el('div', {id: 'list'});
    const pager = el('div', {class: 'pager'});
    const filters = el('form', {class: 'filters', onsubmit: (e) => { e.preventDefault(); reset(); }},
      el('label', {}, 'status', f.status), el('label', {}, 'level', f.level),
      el('label', {}, 'team', f.team), el('label', {}, 'type', f.type),
      el('label', {}, 'app', f.app), el('button', {type: 'submit'}, 'Apply'));
    for (const k of ['status', 'level', 'team']) f[k].addEventListener('change', () => reset());
    view().replaceChildren(el('h1', {}, isInc ? 'Incidents' : 'Alerts'), cards, filters, list, pager);

    const query = (extra) => {
      const q = {status: f.status.value, level: f.level.value, team_id: f.team.value,
        type: f.type.value.trim(), limit: PAGE};
      if (!isInc) q.app_id = f.app.value.trim();
      return Object.assign(q, extra);
    };

    async function drawSummary(force) {
      const q = {type: f.type.value.trim(), team_id: f.team.value, app_id: f.app.value.trim()};
      const r = await api('GET', '/v1/summary' + qs(q), undefined, {etag: force ? null : state.sumEtag});
      if (!r) return false;
      state.sumEtag = r.etag;
      const n = isInc ? r.data.incidents : r.data.alerts;
      const a = isInc ? r.data.incidents_acknowledged : r.data.alerts_acknowledged;
      cards.replaceChildren(...LEVELS.map((l) => el('div', {class: 'card ' + l, 'data-level': l},
        el('div', {class: 'sub'}, l + (isInc ? ' incidents' : ' alerts')),
        el('div', {class: 'n', 'data-count': l}, n[l]),
        el('div', {class: 'sub'}, a[l] + ' acknowledged'))));
      return true;
    }

    async function drawList(force) {
      const r = await api('GET', '/v1/' + kind + qs(query({cursor: state.cursor})), undefined,
        {etag: force ? null : state.etag});
      if (!r) return false;
      state.etag = r.etag;
      state.next = r.data.next_cursor;
      const cols = isInc ? [
        ['ID', (x) => x.id], ['Level', (x) => lvl(x.level)], ['Status', (x) => st(x.status)],
        ['Title', (x) => x.title], ['Team', (x) => teamName(x.team_id)],
        ['Alerts', (x) => String(x.open_alerts) + ' / ' + x.alerts], ['Apps', (x) => x.apps],
        ['GC6/7 users', (x) => x.gc_users], ['Since', (x) => ago(x.first_seen)],
      ] : [
        ['ID', (x) => x.id], ['Level', (x) => lvl(x.level)], ['Status', (x) => st(x.status)],
        ['Type', (x) => x.type], ['Title', (x) => x.title || ''], ['App', (x) => x.app_id || '-'],
        ['Count', (x) => x.count], ['Last seen', (x) => ago(x.last_seen)],
      ];
      const items = r.data.items;
      list.replaceChildren(items.length ? table(cols, items,
        (x) => { location.hash = (isInc ? '#/incident/' : '#/alert/') + x.id; })
        : el('p', {class: 'muted'}, 'Nothing here.'));
      const page = state.stack.length + 1;
      pager.replaceChildren(
        el('button', {class: 'secondary', id: 'prev', disabled: state.stack.length === 0,
          onclick: () => { state.cursor = state.stack.pop(); state.etag = null; drawList(true); }},
        '‹ Newer'),
        el('span', {id: 'page'}, 'page ' + page + ' · ' + items.length + ' shown'),
        el('button', {class: 'secondary', id: 'next', disabled: !state.next,
          onclick: () => { state.stack.push(state.cursor); state.cursor = state.next; state.etag = null;
            drawList(true); }}, 'Older ›'));
      return true;
    }

    async function refresh(force) {
      const [a, b] = await Promise.all([drawSummary(force), drawList(force)]);
      markLive(a || b);
    }

    function reset() {
      state.cursor = '';
      state.stack = [];
      refresh(true).catch((e) => flash(e.message, true));
    }

    await refresh(true);
    startPoll(() => refresh(false));
  }

  // --- one incident or alert ---------------------------------------------------

  function fields(obj, keys) {
    return el('dl', {class: 'fields'}, keys.filter((k) => obj[k] !== null && obj[k] !== undefined &&
      obj[k] !== '').flatMap((k) => [el('dt', {}, k), el('dd', {'data-field': k},
      typeof obj[k] === 'object' ? JSON.stringify(obj[k]) : String(obj[k]))]));
  }

  function timeline(items) {
    return table([
      ['When', (x) => when(x.at)], ['What', (x) => x.action], ['Who', (x) => x.actor || ''],
      ['Details', (x) => {
        const d = Object.assign({}, x);
        delete d.at; delete d.action; delete d.actor;
        return el('pre', {class: 'json'}, JSON.stringify(d.details || d));
      }],
    ], items || []);
  }

  async function transition(kind, id, action) {
    try {
      await api('POST', '/v1/' + kind + '/' + id + '/' + action, {comment: 'from the console'});
      flash((kind === 'incidents' ? 'Incident ' : 'Alert ') + id + ': ' + action + ' done.');
    } catch (e) {
      flash(action + ' failed: ' + e.message, true);
    }
    route();
  }

  async function itemView(kind, id) {
    const isInc = kind === 'incidents';
    await teamList();
    const x = await get('/v1/' + kind + '/' + encodeURIComponent(id));
    const open = x.status !== 'resolved';
    const buttons = el('div', {class: 'actions'},
      el('button', {id: 'ack', disabled: x.status !== 'open' && x.status !== 'firing',
        onclick: () => transition(kind, id, 'ack')}, 'Acknowledge'),
      el('button', {id: 'resolve', disabled: !open, onclick: () => transition(kind, id, 'resolve')},
        'Resolve'),
      el('button', {id: 'silence', class: 'secondary', disabled: !open, onclick: () => {
        location.hash = '#/silences?' + (isInc ? 'incident=' : 'alert=') + id;
      }}, isInc ? 'Silence this incident…' : 'Silence alerts like this…'));
    const keys = isInc
      ? ['id', 'type', 'title', 'level', 'initial_level', 'level_reason', 'status', 'team_id', 'tier',
         'alerts', 'open_alerts', 'apps', 'gc_users', 'top_apps', 'first_seen', 'last_seen',
         'acked_at', 'acked_by', 'notified_at', 'delivered_at', 'next_tier_at', 'resolved_at']
      : ['id', 'type', 'title', 'level', 'initial_level', 'status', 'incident_id', 'team_id', 'count',
         'source', 'app_id', 'namespace', 'cluster', 'region', 'instance', 'user_id', 'gc_level',
         'first_seen', 'last_seen', 'acked_at', 'acked_by', 'resolved_at', 'runbook_url'];
    const parts = [
      el('h1', {}, (isInc ? 'Incident ' : 'Alert ') + x.id + ' · ', lvl(x.level), ' ',
        st(x.status), ' ', x.title || x.type),
      buttons, fields(x, keys),
    ];
    if (isInc && x.alert_list) {
      parts.push(el('h2', {}, 'Alerts'), table([
        ['ID', (a) => a.id], ['Level', (a) => lvl(a.level)], ['Status', (a) => st(a.status)],
        ['Title', (a) => a.title || a.type], ['App', (a) => a.app_id || '-'], ['Count', (a) => a.count],
      ], x.alert_list, (a) => { location.hash = '#/alert/' + a.id; }));
    }
    if (!isInc && x.incident_id) {
      parts.push(el('p', {}, el('a', {href: '#/incident/' + x.incident_id},
        'Incident ' + x.incident_id)));
    }
    parts.push(el('h2', {}, 'Timeline'), timeline(x.timeline));
    view().replaceChildren(...parts);
  }

  // --- silences -----------------------------------------------------------------

  // "name=value", "name!=v", "name=~re", "name!~re" per line → API matchers.
  function parseMatchers(text) {
    const out = [];
    for (const line of text.split('\n').map((s) => s.trim()).filter(Boolean)) {
      const m = /^([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?$/.exec(line);
      if (!m) throw new Error('not a matcher: ' + line);
      out.push({name: m[1], op: m[2], value: m[3]});
    }
    return out;
  }

  async function silencesView(params) {
    const all = params.get('state') === 'all';
    const prefill = [];
    let bind = null;
    if (params.get('alert')) {
      // the alert's labels: its type and labels, as matchers
      const a = await get('/v1/alerts/' + encodeURIComponent(params.get('alert')));
      prefill.push('type=' + a.type);
      const labels = (a.latest_event && a.latest_event.labels) || {};
      for (const [k, v] of Object.entries(labels)) prefill.push('labels.' + k + '=' + v);
    }
    if (params.get('incident')) bind = params.get('incident');
    const matchers = el('textarea', {id: 's-matchers', placeholder: 'type=DiskFull\nlabels.team=sre'});
    matchers.value = prefill.join('\n');
    const dur = el('select', {id: 's-duration'}, [['3600', '1 hour'], ['14400', '4 hours'],
      ['86400', '1 day'], ['604800', '1 week']].map(([v, t]) => el('option', {value: v}, t)));
    const comment = el('input', {id: 's-comment', placeholder: 'why', size: 40});
    const form = el('form', {class: 'panel', id: 'silence-form', onsubmit: async (e) => {
      e.preventDefault();
      try {
        const body = {duration_s: Number(dur.value), comment: comment.value || undefined};
        const ms = parseMatchers(matchers.value);
        if (ms.length) body.matchers = ms;
        if (bind) body.incident_id = bind;
        const s = await api('POST', '/v1/silences', body);
        flash('Silence ' + s.id + ' created.');
        location.hash = '#/silences';
        route();
      } catch (err) {
        flash('Not created: ' + err.message, true);
      }
    }},
    el('h2', {}, bind ? 'Silence incident ' + bind : 'New silence'),
    bind ? el('p', {class: 'muted'}, 'Holds every alert of the incident; matchers (optional) narrow it.')
      : el('p', {class: 'muted'}, 'One matcher a line: name=value, name!=value, name=~regex, name!~regex' +
        ' (fields such as type, app_id, level, labels.team).'),
    matchers, el('div', {class: 'filters'}, el('label', {}, 'for', dur), el('label', {}, 'comment',
      comment), el('button', {type: 'submit', id: 's-create'}, 'Create silence')));
    const r = await get('/v1/silences' + qs({state: all ? 'all' : '', limit: 200}));
    const rows = r.items;
    const list = rows.length ? table([
      ['ID', (s) => s.id], ['Active', (s) => s.active ? 'yes' : (s.expired_at ? 'ended' : 'no')],
      ['Matchers', (s) => (s.matchers || []).map((m) => m.name + m.op + JSON.stringify(m.value))
        .join(' ') || (s.alert_id ? 'alert ' + s.alert_id : s.incident_id ? 'incident ' +
        s.incident_id : 'everything')],
      ['Ends', (s) => s.ends_at ? when(s.ends_at) : 'when resolved'], ['By', (s) => s.created_by],
      ['Comment', (s) => s.comment || ''],
      ['', (s) => s.expired_at ? '' : el('button', {class: 'danger', 'data-end': s.id,
        onclick: async () => {
          try { await api('DELETE', '/v1/silences/' + s.id); flash('Silence ' + s.id + ' ended.'); }
          catch (e) { flash('Not ended: ' + e.message, true); }
          route();
        }}, 'End')],
    ], rows) : el('p', {class: 'muted', id: 'no-silences'}, 'No silences.');
    view().replaceChildren(el('h1', {}, 'Silences'),
      el('p', {}, el('a', {href: all ? '#/silences' : '#/silences?state=all'},
        all ? 'Show active only' : 'Show all (ended too)')), list, el('h2', {}, ''), form);
  }

  // --- escalation windows ---------------------------------------------------------

  function meter(value, limit) {
    const w = 160;
    const frac = limit > 0 ? Math.min(1, value / limit) : 0;
    return svg('svg', {width: w + 90, height: 16, class: 'meter'},
      svg('rect', {x: 0, y: 3, width: w, height: 10, rx: 3, class: 'track'}),
      svg('rect', {x: 0, y: 3, width: Math.max(1, Math.round(w * frac)), height: 10, rx: 3,
        class: 'fill' + (value >= limit ? ' over' : '')}),
      svg('text', {x: w + 6, y: 12}, value + ' / ' + limit));
  }

  async function escalationView() {
    const [w, p] = await Promise.all([get('/v1/escalation/windows?limit=200'),
      get('/v1/escalation/policies')]);
    const next = (win) => ((p.types && p.types[win.type]) || p.policies[win.policy] || [])
      .find((s) => s.from === win.level);
    view().replaceChildren(el('h1', {}, 'Escalation windows'),
      el('p', {class: 'muted'}, 'Each open window counts the distinct apps and GC6/GC7 users of a ' +
        'type; reaching the next step\'s threshold raises the level.'),
      w.windows.length ? table([
        ['Type', (x) => x.type], ['Policy', (x) => x.policy], ['Level', (x) => lvl(x.level)],
        ['Events', (x) => x.events], ['Since', (x) => ago(x.since)],
        ['Apps → next', (x) => { const s = next(x); return s ? meter(x.apps, s.apps) : 'top level'; }],
        ['GC6/7 users → next', (x) => { const s = next(x); return s ? meter(x.gc_users, s.gc_users) : ''; }],
        ['Next', (x) => { const s = next(x); return s ? s.from + ' → ' + s.to : '-'; }],
      ], w.windows) : el('p', {class: 'muted'}, 'No open windows.'));
  }

  // --- on call -------------------------------------------------------------------------

  async function oncallView() {
    const r = await get('/v1/oncall');
    const rows = [];
    for (const t of r.teams) {
      for (const tier of t.tiers) {
        for (const x of tier.targets) {
          rows.push({team: t.name + (t.default ? ' (default)' : ''), tier: tier.tier,
            via: x.kind === 'schedule' ? 'schedule ' + x.schedule : x.kind,
            who: x.contact ? x.contact.name : 'nobody', until: x.until});
        }
      }
    }
    const sched = await get('/v1/schedules?limit=200');
    const now = await Promise.all(sched.items.map((s) => get('/v1/schedules/' + s.id + '/oncall')
      .catch(() => null)));
    view().replaceChildren(el('h1', {}, 'On call now'),
      el('h2', {}, 'Teams'), rows.length ? table([
        ['Team', (x) => x.team], ['Tier', (x) => x.tier], ['Via', (x) => x.via],
        ['Who', (x) => x.who], ['Until', (x) => x.until ? when(x.until) : '-'],
      ], rows) : el('p', {class: 'muted'}, 'No teams.'),
      el('h2', {}, 'Schedules'), sched.items.length ? table([
        ['Schedule', (s) => s.name], ['Who', (s, i) => {
          const o = now[sched.items.indexOf(s)];
          return o && o.contact ? o.contact.name : 'nobody';
        }], ['Until', (s) => { const o = now[sched.items.indexOf(s)]; return o ? when(o.until) : '-'; }],
      ], sched.items) : el('p', {class: 'muted'}, 'No schedules.'));
  }

  // --- MTTD / MTTA / MTTR ------------------------------------------------------------------

  // One figure per level as a share of its target (the dashed line is
  // 100 %), labelled with the median and the target themselves.
  function barChart(title, groups, key, targets) {
    const W = 420, H = 230, L = 44, B = 44, T = 30;
    const vals = LEVELS.map((l) => {
      const g = groups.find((x) => x.key === l);
      const f = g && g[key];
      const t = targets[l] ? targets[l][key + '_s'] : null;
      const v = f ? f.p50_s : null;
      return {l, v, n: f ? f.count : 0, t, pct: v !== null && t ? 100 * v / t : null};
    });
    const max = Math.max(150, ...vals.map((x) => x.pct || 0));
    const bw = (W - L - 10) / LEVELS.length;
    const y = (p) => T + (H - T - B) * (1 - p / max);
    const g = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, class: 'chart', 'data-chart': key});
    g.append(svg('text', {x: 10, y: 18}, title + ': median as % of target, last 7 days'));
    g.append(svg('line', {x1: L, y1: H - B, x2: W - 10, y2: H - B, stroke: '#999'}));
    g.append(svg('line', {x1: L, y1: y(100), x2: W - 10, y2: y(100), class: 'target'}));
    g.append(svg('text', {x: 4, y: y(100) + 4}, '100%'));
    vals.forEach((x, i) => {
      const x0 = L + i * bw + bw * 0.2;
      if (x.pct !== null) {
        g.append(svg('rect', {x: x0, y: y(x.pct), width: bw * 0.6,
          height: Math.max(1, H - B - y(x.pct)), class: 'bar ' + x.l, 'data-level': x.l}));
        g.append(svg('text', {x: x0, y: y(x.pct) - 4}, secs(x.v)));
      } else {
        g.append(svg('text', {x: x0, y: H - B - 4, class: 'muted'}, 'no data'));
      }
      g.append(svg('text', {x: x0, y: H - 26}, x.l + ' (' + x.n + ')'));
      g.append(svg('text', {x: x0, y: H - 10}, 'target ' + secs(x.t)));
    });
    return g;
  }

  async function statsView() {
    const to = new Date();
    const from = new Date(to.getTime() - 7 * 86400 * 1000);
    const s = await get('/v1/stats' + qs({by: 'level', from: from.toISOString(), to: to.toISOString()}));
    view().replaceChildren(el('h1', {}, 'Time to detect, acknowledge, resolve'),
      el('div', {class: 'grid3'},
        barChart('MTTD', s.groups, 'mttd', s.targets), barChart('MTTA', s.groups, 'mtta', s.targets),
        barChart('MTTR', s.groups, 'mttr', s.targets)),
      el('h2', {}, 'Figures'), table([
        ['Level', (g) => lvl(g.key)], ['Alerts', (g) => g.alerts],
        ['MTTD p50 / p90', (g) => secs(g.mttd.p50_s) + ' / ' + secs(g.mttd.p90_s)],
        ['MTTA p50 / p90', (g) => secs(g.mtta.p50_s) + ' / ' + secs(g.mtta.p90_s)],
        ['MTTR p50 / p90', (g) => secs(g.mttr.p50_s) + ' / ' + secs(g.mttr.p90_s)],
      ], s.groups.slice().sort((a, b) => String(a.key).localeCompare(String(b.key)))));
  }

  // --- audit log ----------------------------------------------------------------------------

  async function auditView(params) {
    const keys = ['actor', 'action', 'target_type', 'target_id', 'since', 'until'];
    const inputs = Object.fromEntries(keys.map((k) => [k, el('input', {id: 'a-' + k, size: 14,
      placeholder: k === 'since' || k === 'until' ? '2026-12-01T00:00:00Z' : k,
      value: params.get(k) || ''})]));
    const q = {limit: PAGE, cursor: params.get('cursor') || ''};
    for (const k of keys) q[k] = params.get(k) || '';
    const r = await get('/v1/audit' + qs(q));
    const go = (extra) => {
      const p = new URLSearchParams();
      for (const k of keys) if (inputs[k].value.trim()) p.set(k, inputs[k].value.trim());
      for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
      location.hash = '#/audit' + (p.toString() ? '?' + p : '');
    };
    view().replaceChildren(el('h1', {}, 'Audit log'),
      el('form', {class: 'filters', onsubmit: (e) => { e.preventDefault(); go(); }},
        keys.map((k) => el('label', {}, k, inputs[k])), el('button', {type: 'submit'}, 'Filter')),
      r.items.length ? table([
        ['#', (x) => x.id], ['When', (x) => when(x.at)], ['Who', (x) => x.actor],
        ['What', (x) => x.action], ['Target', (x) => x.target_type + ' ' + (x.target_id || '')],
        ['Details', (x) => el('pre', {class: 'json'}, JSON.stringify(x.details))],
      ], r.items) : el('p', {class: 'muted'}, 'No entries.'),
      el('div', {class: 'pager'}, r.next_cursor ? el('button', {class: 'secondary', id: 'next',
        onclick: () => go({cursor: r.next_cursor})}, 'Older ›') : el('span', {}, 'end of the log')));
  }

  // --- routing --------------------------------------------------------------------------------

  async function route() {
    stopPoll();
    document.body.removeAttribute('data-ready');
    if (!flash.at || Date.now() - flash.at > 2000) $('flash').hidden = true;
    if (!token) { showLogin(); return; }
    $('login').hidden = true;
    $('nav').hidden = false;
    $('logout').hidden = false;
    $('live').hidden = true;
    const h = location.hash.replace(/^#\/?/, '');
    const [path, query] = h.split('?');
    const params = new URLSearchParams(query || '');
    const parts = path.split('/');
    const name = parts[0] || 'overview';
    for (const a of document.querySelectorAll('#nav a')) {
      a.classList.toggle('active', a.getAttribute('data-view') === name ||
        (name === 'incident' && a.getAttribute('data-view') === 'overview') ||
        (name === 'alert' && a.getAttribute('data-view') === 'alerts'));
    }
    document.body.setAttribute('data-view', name);
    try {
      switch (name) {
        case 'overview': await listView('incidents'); break;
        case 'alerts': await listView('alerts'); break;
        case 'incident': await itemView('incidents', parts[1]); break;
        case 'alert': await itemView('alerts', parts[1]); break;
        case 'silences': await silencesView(params); break;
        case 'escalation': await escalationView(); break;
        case 'oncall': await oncallView(); break;
        case 'stats': await statsView(); break;
        case 'audit': await auditView(params); break;
        default: view().replaceChildren(el('p', {}, 'No such view.'));
      }
      document.body.setAttribute('data-ready', name);
    } catch (e) {
      if (e.status !== 401) {
        view().replaceChildren(el('p', {class: 'error', id: 'view-error'}, e.message));
      }
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('token').value); });
    $('logout').addEventListener('click', () => signOut());
    window.addEventListener('hashchange', route);
    route();
  });
})();
