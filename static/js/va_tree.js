// The Virtual Account tree of the account home (portal/smart_account_detail.html): rows come in
// depth-first order, a node's children (fetched by htmx on the first expand, then kept) right below
// it; collapsing hides every following row of a greater level. Delete asks first (portal.js).
(function () {
  'use strict';
  const table = document.getElementById('va-tree');
  if (!table) return;
  function mark(btn, open) {
    btn.setAttribute('aria-expanded', open);
    btn.setAttribute('aria-label', (open ? 'Collapse ' : 'Expand ') + btn.dataset.name);
    btn.querySelector('i').className = open ? 'bi bi-caret-down-fill' : 'bi bi-caret-right-fill';
  }
  function show(row, open) {
    const level = +row.dataset.level;
    let hiddenBelow = null;  // rows below a collapsed node stay hidden when an ancestor opens
    for (let r = row.nextElementSibling; r && +r.dataset.level > level; r = r.nextElementSibling) {
      if (!open) { r.hidden = true; continue; }
      const l = +r.dataset.level;
      if (hiddenBelow !== null && l > hiddenBelow) { r.hidden = true; continue; }
      hiddenBelow = null;
      r.hidden = false;
      const b = r.querySelector('.va-toggle');
      if (b && b.getAttribute('aria-expanded') === 'false') hiddenBelow = l;
    }
  }
  table.addEventListener('click', function (event) {
    const btn = event.target.closest('.va-toggle');
    if (!btn) return;
    const open = btn.getAttribute('aria-expanded') !== 'true';
    mark(btn, open);
    if (btn.hasAttribute('hx-get') && !btn.dataset.loaded) { btn.dataset.loaded = '1'; return; }  // htmx fetches
    show(btn.closest('tr'), open);
  });
  table.addEventListener('htmx:afterSwap', function (event) {
    // Children that arrive after their node was collapsed again stay hidden.
    const btn = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (btn && btn.classList.contains('va-toggle') && btn.getAttribute('aria-expanded') === 'false') show(btn.closest('tr'), false);
  });
  document.body.addEventListener('htmx:afterSettle', function () {
    // A search result opened the tree down to a Virtual Account: bring it into view.
    const found = table.querySelector('tr.va-found');
    if (found && !found.dataset.shown) { found.dataset.shown = '1'; found.scrollIntoView({block: 'center'}); }
  });
  document.querySelectorAll('[data-tree-action="collapse"]').forEach(function (b) {
    b.addEventListener('click', function () {
      Array.from(table.querySelectorAll('tbody tr')).reverse().forEach(function (row) {
        const btn = row.querySelector('.va-toggle[aria-expanded="true"]');
        if (btn) { mark(btn, false); show(row, false); }
      });
    });
  });
})();
