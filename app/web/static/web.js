/* Confirmation of irreversible actions (issue 15 point 4), for every page: an accessible <dialog> that names the
 * action, says it cannot be undone and, where the action needs one, asks for the reason (required).
 * govConfirm({title, message, confirmLabel, reasonLabel}) → Promise of {reason} when confirmed, null otherwise.
 * A <form data-confirm="…"> (instance page: 撤回 …) asks the same way before it is sent; no inline handlers. */
(function () {
  'use strict';
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }
  window.govConfirm = function (opts) {
    return new Promise(function (resolve) {
      var dialog = el('dialog', { 'class': 'confirm-dialog', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' });
      var form = el('form', { method: 'dialog' });
      form.appendChild(el('h2', { id: 'confirm-title' }, opts.title || '请确认'));
      form.appendChild(el('p', { id: 'confirm-text' }, opts.message));
      var reason = null, error = null;
      if (opts.reasonLabel) {
        var label = el('label', { 'class': 'field', 'for': 'confirm-reason' }, opts.reasonLabel + '（必填）');
        reason = el('textarea', { id: 'confirm-reason', rows: '3', maxlength: '1000', 'aria-required': 'true' });
        reason.value = opts.reason || '';
        error = el('div', { 'class': 'field-error', role: 'alert' });
        form.appendChild(label); form.appendChild(reason); form.appendChild(error);
      }
      var actions = el('div', { 'class': 'form-actions' });
      var ok = el('button', { type: 'submit', 'class': 'btn btn-danger', value: 'ok' }, opts.confirmLabel || '确认');
      var back = el('button', { type: 'button', 'class': 'btn' }, '返回');
      actions.appendChild(ok); actions.appendChild(back);
      form.appendChild(actions);
      dialog.appendChild(form);
      document.body.appendChild(dialog);
      var answered = false;
      function finish(value) {
        if (answered) { return; }
        answered = true;
        if (dialog.open) { dialog.close(); }
        dialog.remove();
        resolve(value);
      }
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        if (reason && !reason.value.trim()) { error.textContent = '请填写' + opts.reasonLabel; reason.focus(); return; }
        finish({ reason: reason ? reason.value.trim() : '' });
      });
      back.addEventListener('click', function () { finish(null); });
      dialog.addEventListener('close', function () { finish(null); });
      dialog.showModal();
      (reason || back).focus();
    });
  };

  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (!question || form._confirmed) { return; }
    ev.preventDefault();
    window.govConfirm({ message: question, confirmLabel: form.getAttribute('data-confirm-label') || '确认' })
      .then(function (answer) {
        if (answer) { form._confirmed = true; form.submit(); }
      });
  });
})();

/* Phones: the main menu folds into the 菜单 button of the header (web.css hides it below 760 px). */
(function () {
  'use strict';
  var button = document.querySelector('.menu-toggle');
  var menu = document.getElementById('sidenav');
  if (!button || !menu) { return; }
  function set(open) {
    menu.classList.toggle('open', open);
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
  }
  button.addEventListener('click', function () { set(!menu.classList.contains('open')); });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && menu.classList.contains('open')) { set(false); button.focus(); }
  });
})();

/* A table wider than the phone scrolls inside its box (web.css); keyboard users reach it with Tab. */
(function () {
  'use strict';
  function mark() {
    document.querySelectorAll('table.table').forEach(function (table) {
      if (table.scrollWidth > table.clientWidth + 1) {
        table.setAttribute('tabindex', '0');
        if (!table.hasAttribute('aria-label')) { table.setAttribute('aria-label', '表格（可左右滑动）'); }
      } else if (table.getAttribute('tabindex') === '0') {
        table.removeAttribute('tabindex');
      }
    });
  }
  mark();
  window.addEventListener('resize', mark);
})();

/* Tables of class "cards" (task, process and record lists) are read as cards on a phone (web.css): each cell
 * carries its column's name in data-label, taken from the header, so the templates need not repeat it. */
(function () {
  'use strict';
  document.querySelectorAll('table.cards').forEach(function (table) {
    var names = Array.prototype.map.call(table.querySelectorAll('thead th'), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll('tbody tr').forEach(function (row) {
      Array.prototype.forEach.call(row.cells, function (cell, i) {
        if (!cell.hasAttribute('data-label') && names[i] && !cell.hasAttribute('colspan')) {
          cell.setAttribute('data-label', names[i]);
        }
      });
    });
  });
})();
