// The transfer form (licensing/license_transfer.html): "Add a line" appends a copy of the empty form
// with the next index; the formset's TOTAL_FORMS follows.
(function () {
  'use strict';
  const button = document.getElementById('add-transfer-line');
  if (!button) return;
  const total = document.getElementById('id_lines-TOTAL_FORMS');
  const template = document.getElementById('transfer-line-template');
  button.addEventListener('click', function () {
    const index = +total.value;
    const html = template.innerHTML.replace(/__prefix__/g, index).replace(/\(line \)/g, '(line ' + (index + 1) + ')');
    document.getElementById('transfer-lines').insertAdjacentHTML('beforeend', html);
    total.value = index + 1;
    document.getElementById('id_lines-' + index + '-product').focus();
  });
})();
