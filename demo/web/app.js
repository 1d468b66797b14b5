// The keyhole demo page: one InstantSearch app per pane, each with its own credential.
// Nothing here knows about tenants: the secured key (or the token) carries the restriction,
// and the server forces it into every search.
(async function () {
  'use strict';

  const showError = (msg) => {
    const el = document.getElementById('error');
    el.textContent = msg;
    el.hidden = false;
  };
  if (!window.instantsearch || !window['algoliasearch/lite']) {
    showError('The InstantSearch or algoliasearch scripts did not load (offline, or the CDN is blocked?). ' +
      'Install them locally and pass --assets, see `keyhole demo --help`.');
    return;
  }
  const cfg = await (await fetch('/demo/config.json')).json();
  const { liteClient } = window['algoliasearch/lite'];
  const { searchBox, hits, refinementList, rangeInput, pagination, stats, configure } = instantsearch.widgets;

  // The client talks to this very server (wire.md section 2), with any credential.
  function client(apiKey) {
    const host = { url: location.hostname, protocol: location.protocol.replace(':', ''), accept: 'read' };
    if (location.port) host.port = Number(location.port);
    return liteClient(cfg.appId, apiKey, { hosts: [host] });
  }

  // A secured key is base64(hex HMAC-SHA256 + restrictions as a query string): anyone can read
  // the restrictions; only the server, which knows the parent key, can check the signature.
  function decodeSecuredKey(key) {
    const raw = atob(key);
    const restrictions = {};
    for (const [k, v] of new URLSearchParams(raw.slice(64))) restrictions[k] = v;
    return { signature: raw.slice(0, 64), restrictions };
  }

  function decodeJWT(token) {
    const part = (s) => JSON.parse(decodeURIComponent(escape(atob(s.replace(/-/g, '+').replace(/_/g, '/')))));
    const [h, p] = token.split('.');
    return { header: part(h), claims: part(p) };
  }

  const when = (unix) => {
    const d = new Date(unix * 1000);
    const mins = Math.round((d - Date.now()) / 60000);
    const rel = mins === 0 ? 'now' : mins > 0 ? `in ${Math.floor(mins / 60)} h ${mins % 60} min` : `${-mins} min ago`;
    return `${d.toISOString().replace('.000Z', 'Z')} (${rel})`;
  };

  function describe(dl, rows) {
    for (const [term, value] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dl.append(dt, dd);
    }
  }

  const hitTemplate = (hit, { html, components }) => html`
    <article class="hit" data-team=${hit.team}>
      <div class="hit-top">
        <span class="hit-name">${components.Highlight({ hit, attribute: 'name' })}</span>
        <span class="hit-price">$${Number(hit.price).toFixed(2)}</span>
      </div>
      <div class="hit-meta">
        <span class=${'badge team-' + hit.team}>${hit.team}</span>
        ${hit.brand} · ${hit.category} · ★ ${hit.rating} · owner ${hit.owner}
      </div>
      <p class="hit-desc">${components.Snippet({ hit, attribute: 'description' })}</p>
    </article>`;

  function start(pane, apiKey, { facets, placeholder }) {
    const $ = (sel) => pane.querySelector(sel);
    const search = instantsearch({ indexName: cfg.indexName, searchClient: client(apiKey), insights: false });
    const widgets = [
      configure({ hitsPerPage: facets ? 4 : 2, attributesToSnippet: ['description:14'] }),
      searchBox({ container: $('.searchbox'), placeholder, showLoadingIndicator: false }),
      stats({ container: $('.stats') }),
      hits({ container: $('.hits'), templates: { item: hitTemplate, empty: (r, { html }) => html`<p class="empty">No results for “${r.query}”.</p>` } }),
      pagination({ container: $('.pagination'), padding: 2, showFirst: false, showLast: false }),
    ];
    if (facets) {
      widgets.push(
        refinementList({ container: $('.brand'), attribute: 'brand', searchable: true, searchablePlaceholder: 'Search brands…', limit: 6 }),
        rangeInput({ container: $('.price'), attribute: 'price' }),
      );
    }
    search.addWidgets(widgets);
    search.on('error', ({ error }) => showError(`${pane.id}: ${error.message}`));
    search.start();
  }

  for (const t of cfg.tenants) {
    const pane = document.getElementById(t.id);
    pane.querySelector('.key').textContent = t.securedKey;
    const { signature, restrictions } = decodeSecuredKey(t.securedKey);
    describe(pane.querySelector('.decoded'), [
      ['filters', restrictions.filters],
      ['restrictIndices', restrictions.restrictIndices],
      ['validUntil', when(Number(restrictions.validUntil))],
      ['signature', signature.slice(0, 16) + '… (HMAC-SHA256 with the parent key; only the server can check it)'],
    ]);
    start(pane, t.securedKey, { facets: true, placeholder: `Search ${t.shop}…` });
  }

  const user = document.getElementById(cfg.user.id);
  user.querySelector('.key').textContent = cfg.user.token;
  const { header, claims } = decodeJWT(cfg.user.token);
  describe(user.querySelector('.decoded'), [
    ['header', `alg ${header.alg}, kid ${header.kid}`],
    ['sub', claims.sub],
    ['restrictIndices', (claims.restrictIndices || []).join(', ')],
    ['iat', when(claims.iat)],
    ['exp', when(claims.exp)],
    ['jti', claims.jti],
  ]);
  start(user, cfg.user.token, { facets: false, placeholder: `Search ${claims.sub}'s records` });
})().catch((err) => {
  const el = document.getElementById('error');
  el.textContent = 'demo: ' + err.message;
  el.hidden = false;
});
