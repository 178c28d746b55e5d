/* 系统设置: each 保存 sends the section's values to the admin API (the same rules and messages as any client)
 * and shows the API's answer; a field the API refuses is marked and named in the banner. */
(function () {
  'use strict';
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var errorBox = document.getElementById('admin-error');
  var okBox = document.getElementById('admin-ok');

  function show(box, text, lines) {
    [errorBox, okBox].forEach(function (b) { b.classList.add('hidden'); b.textContent = ''; });
    box.textContent = text;
    if (lines && lines.length) {
      var list = document.createElement('ul');
      lines.forEach(function (line) { var li = document.createElement('li'); li.textContent = line; list.appendChild(li); });
      box.appendChild(list);
    }
    box.classList.remove('hidden');
    box.scrollIntoView({ block: 'nearest' });
  }

  function flatten(errors, prefix, out) {
    // {"days": {"0": {"date": ["…"]}}} or {"days.0.date": ["…"]} → ["days.0.date：…"]
    Object.keys(errors || {}).forEach(function (key) {
      var value = errors[key];
      var path = prefix ? prefix + '.' + key : key;
      if (Array.isArray(value)) { out.push(value.join('；')); } else if (value && typeof value === 'object') { flatten(value, path, out); }
    });
    return out;
  }

  function send(method, url, body, done, failed) {
    fetch(url, {
      method: method, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf,
                 'X-Requested-With': 'fetch' }
    }).then(function (response) {
      return (response.status === 204 ? Promise.resolve({}) : response.json().catch(function () { return {}; })).then(function (json) {
        if (response.ok) { done(json); return; }
        if (failed) { failed(); }
        show(errorBox, json.message || ('保存失败（' + response.status + '）'), flatten(json.errors, '', []));
      });
    }).catch(function () { show(errorBox, '网络异常，未能保存，请稍后重试。'); });
  }

  var savers = {
    thresholds: function () {
      var rows = [], added = false;
      document.querySelectorAll('input[data-threshold]').forEach(function (input) {
        if (input.value.trim() !== input.getAttribute('data-original')) {
          var region = input.dataset.region;
          if (!region) {  // the 新增区划 row: its region is typed in the row's first cell
            region = input.closest('tr').querySelector('[name=region]').value.trim();
            added = true;
          }
          rows.push({ kind: input.dataset.kind, region: region, category: input.dataset.category,
                      amount: input.value.trim() });
        }
      });
      if (!rows.length) { show(okBox, '限额标准没有改动。'); return; }
      send('PUT', '/api/thresholds', { thresholds: rows }, function () {
        if (added) { window.location.reload(); return; }  // the new region becomes a row of its own
        document.querySelectorAll('input[data-threshold]').forEach(function (input) {
          input.setAttribute('data-original', input.value.trim());
        });
        show(okBox, '已保存 ' + rows.length + ' 项限额标准。');
      });
    },
    calendar: function () {
      var table = document.getElementById('calendar-table');
      var days = [];
      table.querySelectorAll('[data-day]').forEach(function (tr) {
        var day = tr.querySelector('[name=date]').value;
        if (day) {
          days.push({ date: day, kind: tr.querySelector('[name=kind]').value, name: tr.querySelector('[name=name]').value });
        }
      });
      var year = Number(table.dataset.year);
      send('PUT', '/api/calendar', { year: year, days: days }, function (json) {
        show(okBox, '已保存 ' + year + ' 年工作日历（' + json.days.length + ' 天）。');
      });
    },
    rule: function (button) {
      var tr = button.closest('[data-rule]');
      var params = {};
      tr.querySelectorAll('[data-param]').forEach(function (input) { params[input.name] = input.value.trim(); });
      send('PUT', '/api/supervision/rules/' + tr.dataset.rule,
           { enabled: tr.querySelector('[name=enabled]').checked, params: params }, function (json) {
        show(okBox, '已保存预警规则“' + json.name + '”。');
      });
    },
    user: function () {
      var form = document.getElementById('user-form');
      var body = { roles: Array.prototype.map.call(form.elements.roles.selectedOptions, function (o) { return o.value; }) };
      ['username', 'display_name', 'password'].forEach(function (k) { body[k] = form.elements[k].value.trim(); });
      body.unit_id = form.elements.unit_id.value ? Number(form.elements.unit_id.value) : null;
      send('POST', '/api/users', body, function (json) {
        show(okBox, '已新增用户 ' + json.username + '。');
        setTimeout(function () { window.location.reload(); }, 800);
      });
    },
    password: function (button) {
      var tr = button.closest('[data-user]');
      var input = tr.querySelector('[name=password]');
      send('PATCH', '/api/users/' + tr.dataset.user, { password: input.value }, function (json) {
        input.value = '';
        show(okBox, '已重置 ' + json.username + ' 的密码，其已登录的会话已失效。');
      });
    },
    unit: function () {
      var form = document.getElementById('unit-form');
      var body = {};
      ['code', 'name', 'level', 'region'].forEach(function (k) { body[k] = form.elements[k].value.trim(); });
      body.parent_id = form.elements.parent_id.value ? Number(form.elements.parent_id.value) : null;
      send('POST', '/api/units', body, function (json) {
        show(okBox, '已新增单位 ' + json.name + '。');
        setTimeout(function () { window.location.reload(); }, 800);
      });
    },
    unlock: function (button) {
      var tr = button.closest('[data-throttle]');
      send('DELETE', '/api/login-throttles/' + tr.dataset.throttle, undefined, function () {
        tr.remove();
        show(okBox, '已解锁，该用户名或登录地址可以重新登录。');
      });
    },
    expert: function () {
      var form = document.getElementById('expert-form');
      var body = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.value.trim()) { body[el.name] = el.value.trim(); }
      });
      send('POST', '/api/experts', body, function (json) {
        show(okBox, '已新增专家 ' + json.name + '（编号 ' + json.id + '）。');
        setTimeout(function () { window.location.reload(); }, 800);
      });
    }
  };

  document.addEventListener('click', function (event) {
    var button = event.target.closest('[data-save]');
    if (button) { savers[button.dataset.save](button); return; }
    if (event.target.closest('[data-add-day]')) {
      var row = document.getElementById('day-row').content.firstElementChild.cloneNode(true);
      document.querySelector('#calendar-table tbody').appendChild(row);
      return;
    }
    var remove = event.target.closest('[data-remove]');
    if (remove) { remove.closest('tr').remove(); }
  });

  document.querySelectorAll('[data-toggle-user]').forEach(function (box) {
    box.addEventListener('change', function () {
      var tr = box.closest('[data-user]');
      send('PATCH', '/api/users/' + tr.dataset.user, { active: box.checked }, function (json) {
        show(okBox, json.username + (json.active ? ' 已启用。' : ' 已停用，其已登录的会话已失效。'));
      }, function () { box.checked = !box.checked; });
    });
  });

  document.querySelectorAll('[data-toggle-expert]').forEach(function (box) {
    box.addEventListener('change', function () {
      var tr = box.closest('[data-expert]');
      send('PATCH', '/api/experts/' + tr.dataset.expert, { available: box.checked }, function (json) {
        show(okBox, json.name + (json.available ? ' 已恢复抽取。' : ' 已暂停抽取。'));
      });
    });
  });
})();
