// The order form (orders/order_place.html): add and remove lines (a formset), show what the chosen
// product is, and the inline account forms refresh the lines' choices.
(function () {
  'use strict';
  const form = document.getElementById('order-form');
  if (!form) return;
  const lines = document.getElementById('lines');
  const template = document.getElementById('line-template');
  const total = form.querySelector('input[name="lines-TOTAL_FORMS"]');
  const modal = document.getElementById('account-request-modal');
  const products = {};
  document.querySelectorAll('#product-options option').forEach(function (o) { products[o.value.toUpperCase()] = o.dataset; });

  function renumber() {
    let n = 0;
    lines.querySelectorAll('.order-line').forEach(function (line) {
      if (!line.hidden) line.querySelector('.line-number').textContent = ++n;
    });
  }
  function badge(text, css, icon) {
    const b = document.createElement('span');
    b.className = 'badge ms-1 ' + css;
    if (icon) { const i = document.createElement('i'); i.className = 'bi bi-' + icon; i.setAttribute('aria-hidden', 'true'); b.append(i, ' '); }
    b.append(text);
    return b;
  }
  function showProduct(input) {
    const info = input.closest('.order-line').querySelector('.line-product-info');
    const p = products[input.value.trim().toUpperCase()];
    info.replaceChildren();
    if (!p) return;
    const name = document.createElement('span');
    name.className = 'fw-semibold';
    name.textContent = p.name;
    info.append(name);
    if (p.saRequired === '1') info.append(badge('Needs an assignment', 'text-bg-warning sa-required-badge', 'exclamation-circle'));
    if (p.term) info.append(badge(p.term + '-month subscription', 'text-bg-light border'));
    if (p.kind === 'classic') info.append(badge('Classic (PAK)', 'text-bg-light border'));
  }

  document.getElementById('add-line').addEventListener('click', function () {
    const index = parseInt(total.value, 10);
    const holder = document.createElement('div');
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, index);
    const line = holder.firstElementChild;
    lines.append(line);
    total.value = index + 1;
    htmx.process(line);
    renumber();
    line.querySelector('input.line-product').focus();
  });
  lines.addEventListener('click', function (e) {
    const button = e.target.closest('.line-remove');
    if (!button) return;
    const line = button.closest('.order-line');
    line.querySelector('input[name$="-DELETE"]').checked = true;
    line.hidden = true;
    renumber();
  });
  lines.addEventListener('input', function (e) { if (e.target.matches('input.line-product')) showProduct(e.target); });

  // The request dialog knows which line asked, and starts from the end customer's details.
  modal.addEventListener('show.bs.modal', function (e) {
    const prefix = e.relatedTarget ? e.relatedTarget.dataset.linePrefix : '';
    modal.querySelector('input[name="line_prefix"]').value = prefix || '';
    const name = modal.querySelector('input[name="newsa-name"]');
    const domain = modal.querySelector('input[name="newsa-domain"]');
    const contact = modal.querySelector('input[name="newsa-contact_email"]');
    const customer = form.querySelector('input[name="end_customer_name"]').value.trim();
    const email = form.querySelector('input[name="end_customer_email"]').value.trim();
    if (name && !name.value) name.value = customer;
    if (contact && !contact.value) contact.value = email;
    if (domain && !domain.value && email.includes('@')) domain.value = email.split('@').pop();
  });
  document.body.addEventListener('accountRequested', function () { bootstrap.Modal.getOrCreateInstance(modal).hide(); });

  // A holding account created beside the form becomes a choice of every line (and of new ones).
  document.body.addEventListener('holdingAccountCreated', function (e) {
    const selects = Array.from(form.querySelectorAll('select[name$="-holding_account"]'))
      .concat(Array.from(template.content.querySelectorAll('select[name$="-holding_account"]')));
    selects.forEach(function (select) { select.append(new Option(e.detail.label, e.detail.id)); });
    form.querySelectorAll('.order-line:not([hidden]) select[name$="-holding_account"]').forEach(function (select) {
      if (!select.value) select.value = String(e.detail.id);
    });
    form.dataset.hasHolding = '1';
  });
  lines.querySelectorAll('input.line-product').forEach(function (input) { if (input.value) showProduct(input); });
})();
