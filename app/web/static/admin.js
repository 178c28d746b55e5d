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

  function checked(scope, name) {
    return Array.prototype.map.call(scope.querySelectorAll('input[name="' + name + '"]:checked'), function (b) { return b.value; });
  }

  // A message that must survive the reload showing the new row stays until the next action (not 0.8 s).
  var KEPT = 'admin-message';
  function reloadWith(message) {
    try { sessionStorage.setItem(KEPT, message); } catch (e) { /* private mode: the new row shows it */ }
    window.location.reload();
  }

  // -- sections as tabs: one at a time, the choice kept in the address (#thresholds) ------------------
  var tabs = Array.prototype.slice.call(document.querySelectorAll('[data-tab-for]'));
  function select(key, focus) {
    if (!document.getElementById('panel-' + key)) { key = 'users'; }
    tabs.forEach(function (tab) {
      var on = tab.dataset.tabFor === key;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.setAttribute('tabindex', on ? '0' : '-1');
      tab.classList.toggle('active', on);
      document.getElementById('panel-' + tab.dataset.tabFor).classList.toggle('hidden', !on);
      if (on && focus) { tab.focus(); }
    });
    if (window.location.hash !== '#' + key) { history.replaceState(null, '', '#' + key); }
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener('click', function () { select(tab.dataset.tabFor); });
    tab.addEventListener('keydown', function (ev) {
      var step = ev.key === 'ArrowRight' ? 1 : (ev.key === 'ArrowLeft' ? -1 : 0);
      if (step) { ev.preventDefault(); select(tabs[(i + step + tabs.length) % tabs.length].dataset.tabFor, true); }
    });
  });
  if (tabs.length) { select((window.location.hash || '#users').slice(1)); }

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
      var body = { roles: checked(form, 'roles') };
      ['username', 'display_name', 'password'].forEach(function (k) { body[k] = form.elements[k].value.trim(); });
      body.unit_id = form.elements.unit_id.value ? Number(form.elements.unit_id.value) : null;
      body.agency_id = form.elements.agency_id.value ? Number(form.elements.agency_id.value) : null;
      if (body.agency_id && !body.unit_id) { body.grants = []; }  // 代理机构的用户: no purchaser unit
      send('POST', '/api/users', body, function (json) {
        reloadWith('已新增用户 ' + json.username + '。');
      });
    },
    'user-edit': function (button) {
      // 所属单位, 岗位 and 授权单位 of an existing user (PATCH /api/users/<id>); sessions follow the new rights.
      var editor = button.closest('[data-user-editor]');
      var body = { display_name: editor.querySelector('[name=display_name]').value.trim(), roles: checked(editor, 'roles'),
                   unit_id: editor.querySelector('[name=unit_id]').value ? Number(editor.querySelector('[name=unit_id]').value) : null,
                   agency_id: editor.querySelector('[name=agency_id]').value ? Number(editor.querySelector('[name=agency_id]').value) : null,
                   grants: checked(editor, 'grants').map(function (id) {
                     var children = editor.querySelector('[name="children-' + id + '"]');
                     return { unit_id: Number(id), include_children: !!(children && children.checked) };
                   }) };
      send('PATCH', '/api/users/' + editor.dataset.userEditor, body, function (json) {
        reloadWith('已保存用户 ' + json.username + ' 的单位、岗位和授权。');
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
        reloadWith('已新增单位 ' + json.name + '。');
      });
    },
    agency: function () {
      // 代理机构库: POST /api/agencies (统一社会信用代码 checked, a duplicate is refused with 409).
      var form = document.getElementById('agency-form');
      var body = {};
      ['name', 'credit_code', 'kind', 'region', 'contact_name', 'contact_phone'].forEach(function (k) { body[k] = form.elements[k].value.trim(); });
      send('POST', '/api/agencies', body, function (json) {
        reloadWith('已新增代理机构 ' + json.name + '。');
      });
    },
    'agency-edit': function (button) {
      var editor = button.closest('[data-agency-editor]');
      var body = {};
      ['name', 'credit_code', 'kind', 'region', 'contact_name', 'contact_phone'].forEach(function (k) {
        body[k] = editor.querySelector('[name=' + k + ']').value.trim();
      });
      send('PATCH', '/api/agencies/' + editor.dataset.agencyEditor, body, function (json) {
        reloadWith('已保存代理机构 ' + json.name + '。');
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
        reloadWith('已新增专家 ' + json.name + '（编号 ' + json.id + '）。');
      });
    }
  };

  document.addEventListener('click', function (event) {
    var edit = event.target.closest('[data-edit-user]');
    if (edit) {
      var editor = document.getElementById(edit.getAttribute('aria-controls'));
      var open = editor.classList.toggle('hidden') === false;
      edit.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (open) { editor.querySelector('input, select').focus(); }
      return;
    }
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

  document.querySelectorAll('[data-toggle-agency]').forEach(function (box) {
    box.addEventListener('change', function () {
      var tr = box.closest('[data-agency]');
      send('PATCH', '/api/agencies/' + tr.dataset.agency, { active: box.checked }, function (json) {
        show(okBox, json.name + (json.active ? ' 已恢复在用。' : ' 已停用，委托单不能再选择它。'));
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
  var kept = null;
  try { kept = sessionStorage.getItem(KEPT); sessionStorage.removeItem(KEPT); } catch (e) { kept = null; }
  if (kept) { show(okBox, kept); }
})();
