/* 部署预演: post the chosen files to POST /api/deployments/dry-run and draw the report (no inline script: CSP). */
(function () {
  'use strict';
  var form = document.getElementById('dry-run-form');
  if (!form) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var errorBox = document.getElementById('dry-run-error');
  var busy = document.getElementById('dry-run-busy');
  var report = document.getElementById('dry-run-report');
  var STATUS = { running: '运行中', completed: '已结束', cancelled: '已取消' };

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }
  function showError(message, problems) {
    errorBox.textContent = message;
    (problems || []).forEach(function (p) {
      errorBox.appendChild(el('div', p.file + (p.element ? ' [' + p.element + ']' : '') + '：' + p.message));
    });
    errorBox.classList.remove('hidden');
  }
  function where(d) {
    if (!d) { return ''; }
    var parts = [];
    if (d.seq) { parts.push('历史事件 #' + d.seq); }
    if (d.task) { parts.push(d.task); }
    if (d.type === 'position') {
      parts.push('现在：' + ((d.expected && (d.expected.active || []).join('、')) || '已结束') +
                 '；新版本：' + ((d.actual && (d.actual.active || []).join('、')) || '—'));
    }
    parts.push(d.reason || '');
    return parts.join(' · ');
  }
  function fill(row, numbers) {
    ['checked', 'match', 'diverge'].forEach(function (k) {
      row.querySelector('[data-field="' + k + '"]').textContent = numbers[k];
    });
  }
  function draw(data) {
    var versions = document.getElementById('dry-run-versions');
    versions.textContent = '';
    (data.deploys || []).forEach(function (d) {
      versions.appendChild(el('li', d.name + '（' + d.key + '）：版本 ' + (d.from_version || '—') + ' → ' + d.to_version));
    });
    (data.forms || []).forEach(function (f) { versions.appendChild(el('li', '表单 ' + f.key + '：版本 ' + f.to_version)); });
    document.getElementById('dry-run-message').textContent = data.message ||
      (data.running_not_checked ? '另有 ' + data.running_not_checked + ' 个运行中的实例未检查（超出上限）。' : '');
    fill(report.querySelector('[data-testid="dry-run-running"]'), data.running);
    fill(report.querySelector('[data-testid="dry-run-completed"]'), data.completed);
    var warnings = document.getElementById('dry-run-warnings');
    warnings.textContent = '';
    (data.warnings || []).forEach(function (w) { warnings.appendChild(el('li', '提示：' + w.file + ' ' + w.message)); });
    var rows = document.getElementById('dry-run-rows');
    rows.textContent = '';
    (data.instances || []).forEach(function (r) {
      var tr = el('tr');
      tr.setAttribute('data-instance', r.instance_id);
      var link = el('a', '#' + r.instance_id + (r.business_key ? ' ' + r.business_key : ''));
      link.href = '/audit/instances/' + r.instance_id;
      var first = el('td'); first.appendChild(link); tr.appendChild(first);
      tr.appendChild(el('td', r.key + ' v' + r.from_version));
      tr.appendChild(el('td', STATUS[r.status] || r.status));
      var result = el('td'); result.appendChild(el('span', r.match ? '吻合' : '分歧', 'badge ' + (r.match ? 'green' : 'red')));
      tr.appendChild(result);
      tr.appendChild(el('td', r.match ? '' : where(r.divergence)));
      rows.appendChild(tr);
    });
    if (!(data.instances || []).length) {
      var empty = el('tr'); var cell = el('td', '没有受影响的流程实例。', 'muted'); cell.colSpan = 5;
      empty.appendChild(cell); rows.appendChild(empty);
    }
    report.classList.remove('hidden');
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    errorBox.classList.add('hidden');
    report.classList.add('hidden');
    var body = new FormData();
    Array.prototype.forEach.call(document.getElementById('dry-run-files').files, function (file) {
      body.append(file.name, file, file.name);
    });
    busy.classList.remove('hidden');
    fetch('/api/deployments/dry-run', { method: 'POST', body: body, credentials: 'same-origin',
                                         headers: { 'Accept': 'application/json', 'X-CSRF-Token': csrf } })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (result) {
        busy.classList.add('hidden');
        if (!result.ok) { showError(result.data.message || '预演失败', result.data.problems); return; }
        draw(result.data);
      })
      .catch(function () { busy.classList.add('hidden'); showError('网络错误，请重试'); });
  });
})();
