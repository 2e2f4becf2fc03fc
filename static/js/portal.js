// Behaviour shared by every page (base.html loads it). The Content-Security-Policy runs no inline
// script, so templates describe behaviour with data attributes and classes, and this file acts on
// them, by delegation, so content that htmx swaps in later works the same.
(function () {
  'use strict';

  // Confirm before submitting: data-confirm="…" on the form, or on the button that submits it.
  document.addEventListener('submit', function (event) {
    const text = (event.submitter && event.submitter.dataset.confirm) || event.target.dataset.confirm;
    if (text && !window.confirm(text)) event.preventDefault();
  });

  // Copy buttons: <button data-copy-target="#id">; copies the target's value (or text) to the clipboard.
  function copied(button, ok) {
    const label = button.querySelector('.copy-label');
    const icon = button.querySelector('i');
    label.textContent = ok ? 'Copied' : 'Press Ctrl+C to copy';
    if (icon) icon.className = ok ? 'bi bi-clipboard-check' : 'bi bi-clipboard';
    setTimeout(function () { label.textContent = 'Copy'; if (icon) icon.className = 'bi bi-clipboard'; }, 2500);
  }
  document.addEventListener('click', function (event) {
    const button = event.target.closest('[data-copy-target]');
    if (!button) return;
    const target = document.querySelector(button.dataset.copyTarget);
    const text = 'value' in target ? target.value : target.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button, true); }, function () { if (target.select) target.select(); copied(button, false); });
    } else {
      // Plain http on another host than localhost has no clipboard API: select it for the user.
      if (target.select) target.select();
      copied(button, false);
    }
  });

  // "Select all" boxes: <input type="checkbox" class="select-all" data-group="G"> ticks the boxes of group G.
  document.addEventListener('change', function (event) {
    const box = event.target;
    if (!box.matches('input.select-all[data-group]')) return;
    document.querySelectorAll('input[type="checkbox"][data-group="' + CSS.escape(box.dataset.group) + '"]:not(.select-all)')
      .forEach(function (b) { b.checked = box.checked; });
  });

  // Enter in an account search box (orders) searches instead of submitting the form around it.
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && event.target.matches('input.account-search')) {
      event.preventDefault();
      htmx.trigger(event.target, 'search');
    }
  });

  // A filter's Virtual Account box (licensing/_virtual_account_search.html): .va-picker holds the
  // typed name (.va-picker-box), the chosen id (its hidden input) and the suggestions (.va-picker-options).
  // The typed name goes to the server as `q`; choose a suggestion (click, or Enter for the first name);
  // Escape closes; arrows move through them.
  function picker(element) {
    const root = element.closest('.va-picker');
    return root && {
      box: root.querySelector('.va-picker-box'),
      value: root.querySelector('input[type="hidden"]'),
      options: root.querySelector('.va-picker-options'),
    };
  }
  function choices(p) { return Array.from(p.options.querySelectorAll('[data-va-id]')); }
  function close(p) { p.options.replaceChildren(); p.box.setAttribute('aria-expanded', 'false'); }
  function choose(p, option) { p.value.value = option.dataset.vaId; p.box.value = option.dataset.vaName; close(p); p.box.focus(); }

  document.addEventListener('htmx:configRequest', function (event) {
    const box = event.detail.elt;
    if (box.matches && box.matches('.va-picker-box')) event.detail.parameters.q = box.value;
  });
  document.addEventListener('htmx:afterSwap', function (event) {
    if (!event.target.matches('.va-picker-options')) return;
    const p = picker(event.target);
    p.box.setAttribute('aria-expanded', choices(p).length ? 'true' : 'false');
  });
  document.addEventListener('click', function (event) {
    const option = event.target.closest('.va-picker-options [data-va-id]');
    if (option) choose(picker(option), option);
  });
  document.addEventListener('input', function (event) {
    if (!event.target.matches('.va-picker-box')) return;
    const p = picker(event.target);
    if (!p.box.value.trim()) p.value.value = '';
  });
  document.addEventListener('keydown', function (event) {
    if (!event.target.closest('.va-picker')) return;
    const p = picker(event.target);
    const list = choices(p);
    if (event.target === p.box) {
      if (event.key === 'Enter' && list.length) { event.preventDefault(); if (list.length > 1) choose(p, list[1]); else close(p); }
      else if (event.key === 'Escape') close(p);
      else if (event.key === 'ArrowDown') { event.preventDefault(); if (list.length) list[0].focus(); else htmx.trigger(p.box, 'search'); }
    } else if (p.options.contains(event.target)) {
      const at = list.indexOf(document.activeElement);
      if (event.key === 'ArrowDown' && at < list.length - 1) { event.preventDefault(); list[at + 1].focus(); }
      else if (event.key === 'ArrowUp') { event.preventDefault(); (at > 0 ? list[at - 1] : p.box).focus(); }
      else if (event.key === 'Escape') { close(p); p.box.focus(); }
    }
  });
})();
