// The e2e search page. Query string: host (keyhole's base URL), app, index, key, and optionally
// userToken (sent as X-Algolia-Secure-User-Token) and hitsPerPage.
(function () {
  'use strict';
  const q = new URLSearchParams(location.search);
  const host = new URL(q.get('host'));
  const appId = q.get('app') || 'keyhole';
  const indexName = q.get('index');
  const userToken = q.get('userToken');

  const client = window['algoliasearch/lite'].liteClient(appId, q.get('key'), {
    hosts: [{ url: host.hostname, port: Number(host.port), protocol: 'http', accept: 'read' }],
    baseHeaders: userToken ? { 'X-Algolia-Secure-User-Token': userToken } : {},
  });

  // window.e2e counts the searches sent through InstantSearch and those answered (from the
  // network or the client's cache), so a test can wait for the answer to its action instead of
  // sleeping. Every other client method is the client's own.
  const e2e = (window.e2e = { inflight: 0, answered: 0, key: q.get('key') });
  const searchClient = {
    ...client,
    search(requests) {
      e2e.inflight++;
      return client.search(requests).finally(() => { e2e.inflight--; e2e.answered++; });
    },
  };

  const { searchBox, hits, refinementList, rangeInput, pagination, stats, configure } = instantsearch.widgets;
  const search = instantsearch({ indexName, searchClient, insights: false, future: { preserveSharedStateOnUnmount: true } });

  search.on('error', (e) => { e2e.lastError = String((e && (e.error || e).message) || e); });

  search.addWidgets([
    configure({ hitsPerPage: Number(q.get('hitsPerPage') || 4) }),
    searchBox({ container: '#searchbox', placeholder: 'Search', showLoadingIndicator: false }),
    stats({
      container: '#stats',
      templates: { text: (data, { html }) => html`<span class="nbhits" data-nbhits="${data.nbHits}">${data.nbHits}</span> hits, page <span class="page">${data.page + 1}</span> of <span class="nbpages">${data.nbPages}</span>` },
    }),
    refinementList({ container: '#brands', attribute: 'brand', searchable: true, searchablePlaceholder: 'Search brands', limit: 20 }),
    rangeInput({ container: '#price', attribute: 'price' }),
    hits({
      container: '#hits',
      templates: {
        item: (hit, { html, components }) => html`<div class="hit" data-id="${hit.objectID}" data-team="${hit.team}" data-owner="${hit.owner}">
          <span class="name">${components.Highlight({ hit, attribute: 'name' })}</span>
          <span class="brand">${hit.brand}</span> <span class="price">${hit.price}</span>
        </div>`,
      },
    }),
    pagination({ container: '#pagination' }),
  ]);

  // Swaps the credential in place: the same client and the same InstantSearch instance (and so
  // the client's in-memory response cache) go on with the other key, and search again.
  e2e.swapKey = (key) => {
    client.setClientApiKey({ apiKey: key });
    e2e.key = key;
    search.helper.search();
  };

  search.start();
})();
