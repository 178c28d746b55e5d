/* Camunda Forms (form-js viewer) on the task and start pages: render, translate, submit, show server errors.
 *
 * form-js has no public API for errors coming from the server (bpmn-io/form-js#1162 is still open), so
 * server messages are put into the form's own state with form._setState({ errors }) — the same internal
 * update form-js's validation commands use (UpdateFieldInstanceValidationHandler). Errors are keyed by
 * field id, with the row index for fields inside a dynamic list, which is how form-js renders them
 * next to each field. Values typed by the user stay in the form because nothing is re-imported.
 */
(function () {
  'use strict';

  var root = document.getElementById('form-root');
  if (!root) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var banner = document.getElementById('form-error');
  var submitButton = document.getElementById('form-submit');
  var readOnly = root.getAttribute('data-readonly') === 'true';
  var submitUrl = root.getAttribute('data-submit-url');
  var schemaNode = document.getElementById('form-schema');
  var form = null;
  var schema = null;

  // -- Chinese for form-js's built-in (English) messages and labels -------------------------
  var MESSAGES = [
    [/^Field is required\.$/, '此项为必填项'],
    [/^Field must have minimum value of (.+)\.$/, '应不小于 $1'],
    [/^Field must have maximum value of (.+)\.$/, '应不大于 $1'],
    [/^Field must have minimum length of (.+)\.$/, '长度应不少于 $1 个字符'],
    [/^Field must have maximum length of (.+)\.$/, '长度应不超过 $1 个字符'],
    [/^Field must match pattern .+\.$/, '格式不正确'],
    [/^Field must be a valid email\.$/, '邮箱格式不正确'],
    [/^Field must be a valid\s+international phone number.*$/, '电话号码格式不正确'],
    [/^Value is not a number\.$/, '请输入数字'],
    [/^Value is expected to be an integer\.$/, '请输入整数'],
    [/^Value is expected to have at most (\d+) decimal digits?\.$/, '最多保留 $1 位小数'],
    [/^Please select a valid value, the two nearest valid values are (.+) and (.+)\.$/, '请输入有效的值（最接近的有效值为 $1 或 $2）']
  ];
  function translate(message) {
    for (var i = 0; i < MESSAGES.length; i++) {
      if (MESSAGES[i][0].test(message)) { return message.replace(MESSAGES[i][0], MESSAGES[i][1]); }
    }
    return message;
  }
  var TEXTS = { 'Add new': '新增一行', 'Collapse': '收起', 'Select': '请选择', 'Search': '搜索',
                'Browse': '选择文件', 'No files selected': '未选择文件' };
  function localize(node) {
    var walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT, null);
    var text;
    while ((text = walker.nextNode())) {
      var value = text.nodeValue.trim();
      if (TEXTS[value]) { text.nodeValue = text.nodeValue.replace(value, TEXTS[value]); }
      var expand = /^Expand all \((\d+)\)$/.exec(value);
      if (expand) { text.nodeValue = '展开全部（' + expand[1] + '）'; }
      var picked = /^(\d+) files selected$/.exec(value);
      if (picked) { text.nodeValue = '已选择 ' + picked[1] + ' 个文件'; }
    }
    node.querySelectorAll('input[placeholder="Search"]').forEach(function (el) { el.placeholder = '搜索'; });
  }

  // -- Chinese calendar for form-js's date pickers ----------------------------------------------
  // form-js bundles flatpickr without exposing it or a locale option; every picker keeps its instance on the
  // input (input._flatpickr), and flatpickr's set('locale', …) re-renders the calendar in that locale.
  var MONTHS = ['一月', '二月', '三月', '四月', '五月', '六月', '七月', '八月', '九月', '十月', '十一月', '十二月'];
  var ZH = {
    weekdays: { shorthand: ['日', '一', '二', '三', '四', '五', '六'],
                longhand: ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'] },
    months: { shorthand: MONTHS, longhand: MONTHS },
    firstDayOfWeek: 1, rangeSeparator: ' 至 ', weekAbbreviation: '周', scrollTitle: '滚动切换',
    toggleTitle: '点击切换 12/24 小时制', amPM: ['上午', '下午'], yearAriaLabel: '年', monthAriaLabel: '月',
    hourAriaLabel: '时', minuteAriaLabel: '分', time_24hr: true
  };
  function localizePickers(node) {
    node.querySelectorAll('input').forEach(function (input) {
      var picker = input._flatpickr;
      if (picker && picker.l10n !== ZH && !picker._zh) { picker._zh = true; picker.set('locale', ZH); }
    });
  }
  var pickerTimer = null;
  function schedulePickers() {
    // Pickers are created in an effect after their input is in the DOM: look once the render has settled.
    if (pickerTimer) { return; }
    pickerTimer = setTimeout(function () { pickerTimer = null; localizePickers(root); }, 0);
  }

  // -- banner ----------------------------------------------------------------------------
  // A refusal is seen where the eye is: the banner scrolls to the top of the page below the sticky header
  // (web.css scroll-padding-top) and lists every field message; each one is a link to its field.
  function showBanner(message, extra) {
    if (!banner) { return; }
    banner.textContent = message;
    if (extra && extra.length) {
      var list = document.createElement('ul');
      extra.forEach(function (line) {
        var li = document.createElement('li');
        if (typeof line === 'string') { li.textContent = line; } else {
          var link = document.createElement('a');
          link.href = '#' + line.inputId;
          link.textContent = line.text;
          link.addEventListener('click', function (ev) {
            ev.preventDefault();
            var input = document.getElementById(line.inputId);
            if (input) { input.scrollIntoView({ block: 'center' }); input.focus({ preventScroll: true }); }
          });
          li.appendChild(link);
        }
        list.appendChild(li);
      });
      banner.appendChild(list);
    }
    banner.classList.remove('hidden');
    banner.setAttribute('tabindex', '-1');
    banner.scrollIntoView({ block: 'start' });
    banner.focus({ preventScroll: true });
  }
  function fieldMessages() {
    // The messages form-js shows next to fields, with their labels, for the banner.
    var out = [];
    root.querySelectorAll('.fjs-has-errors').forEach(function (holder) {
      var label = holder.querySelector('.fjs-form-field-label');
      var error = holder.querySelector('.fjs-form-field-error');
      var input = holder.querySelector('input, textarea');
      if (!error || !input || !input.id) { return; }
      out.push({ text: (label ? label.textContent.replace(/\*$/, '').trim() + '：' : '') + error.textContent.trim(),
                 inputId: input.id });
    });
    return out;
  }
  function hideBanner() { if (banner) { banner.classList.add('hidden'); banner.textContent = ''; } }

  // -- server errors → form-js error state ---------------------------------------------------
  function fields() { return form ? form.get('formFieldRegistry').getAll() : []; }
  function fieldByKey(key, parentId) {
    return fields().find(function (f) {
      return (f.key === key || f.path === key) && (parentId === undefined || f._parent === parentId);
    });
  }
  function descendantByKey(parent, key) {
    // A field keyed `key` anywhere below `parent` (dynamic lists may wrap their rows in groups).
    var all = fields();
    return all.find(function (f) {
      if (f.key !== key) { return false; }
      var p = f._parent;
      while (p) {
        if (p === parent.id) { return true; }
        var up = all.find(function (x) { return x.id === p; });
        p = up ? up._parent : null;
      }
      return false;
    });
  }
  function asList(value) { return Array.isArray(value) ? value.map(String) : [String(value)]; }

  /* {key: [msg]} or, for dynamic lists / groups, {path: {index: {key: [msg]}}} → ({fieldId: ...}, unmatched) */
  function mapErrors(errors) {
    var mapped = {};
    var unmatched = [];
    Object.keys(errors || {}).forEach(function (key) {
      var value = errors[key];
      var field = fieldByKey(key);
      if (field && (Array.isArray(value) || typeof value !== 'object')) {
        mapped[field.id] = asList(value);
        return;
      }
      if (field && typeof value === 'object') {
        Object.keys(value).forEach(function (index) {
          var inner = value[index];
          if (Array.isArray(inner)) {  // a list-level message, or a group's field
            var child = descendantByKey(field, index);
            if (child) { mapped[child.id] = inner.map(String); } else { unmatched.push(inner.join('；')); }
            return;
          }
          Object.keys(inner || {}).forEach(function (childKey) {
            var child = descendantByKey(field, childKey);
            if (!child) { unmatched.push(asList(inner[childKey]).join('；')); return; }
            if (field.type === 'dynamiclist') {
              mapped[child.id] = mapped[child.id] || {};
              mapped[child.id][index] = asList(inner[childKey]);
            } else {
              mapped[child.id] = asList(inner[childKey]);
            }
          });
        });
        return;
      }
      unmatched.push((key === '_' || key === 'data' ? '' : key + '：') + asList(value).join('；'));
    });
    return { mapped: mapped, unmatched: unmatched };
  }

  function showServerErrors(errors) {
    var result = mapErrors(errors);
    form._setState({ errors: result.mapped });
    return result.unmatched;
  }

  // -- numbers and amounts ----------------------------------------------------------------------
  // form-js's number field reads a comma as a decimal point (450,000 → 450) and blocks 万 and full-width
  // digits. Every number field is therefore rendered as a text field and read by GovMoney (money.js), the
  // same rules as the server (app/models/amounts.py): the digits typed are the value sent, or the field says
  // why not. Money (keys ending in amount/price, as the server decides) is shown as 450,000.00 with 元 and
  // a live “= 45 万元”. The stored forms are untouched: the server still validates them as numbers.
  var NUMBERS = {};
  function walkNumbers(data, convert) { return GovMoney.walk(data, NUMBERS, convert); }
  var toDisplay = GovMoney.display;
  function toValue(text, spec) {  // typed text → what is sent: a money amount as an exact decimal string
    var read = GovMoney.parse(text, spec);
    if (read.error || read.value === null) { return read.error ? text : null; }
    if (spec.money) { return read.value; }
    var n = Number(read.value);
    return Math.abs(n) <= Number.MAX_SAFE_INTEGER && String(n) === read.value ? n : read.value;
  }
  function numberInputs() {
    // Inputs of converted fields: form-js ids are fjs-form-<form>-<field id>[_<row>…] (prefixId).
    var found = [];
    fields().forEach(function (f) {
      if (!NUMBERS[f.key] || f.type !== 'textfield') { return; }
      root.querySelectorAll('input[id$="-' + f.id + '"], input[id*="-' + f.id + '_"]').forEach(function (input) {
        found.push({ input: input, spec: NUMBERS[f.key] });
      });
    });
    return found;
  }
  function hintFor(input, spec) {
    var holder = input.closest('.fjs-form-field');
    if (!holder || !spec.money) { return; }
    var hint = holder.querySelector('.money-hint');
    if (!hint) {
      hint = document.createElement('div');
      hint.className = 'money-hint';
      hint.id = input.id + '-wan';
      hint.setAttribute('aria-live', 'polite');
      holder.appendChild(hint);
    }
    var read = GovMoney.parse(input.value, spec);
    hint.textContent = read.value ? ('＝ ' + GovMoney.format(read.value, 2) + ' 元' +
      (GovMoney.wan(read.value) ? '（' + GovMoney.wan(read.value) + '）' : '')) : '';
  }
  function decorateNumbers() {
    numberInputs().forEach(function (n) {
      if (!n.input.hasAttribute('inputmode')) { n.input.setAttribute('inputmode', 'decimal'); }
      n.input._govSpec = n.spec;
      hintFor(n.input, n.spec);
    });
  }
  root.addEventListener('input', function (ev) {
    if (ev.target._govSpec) { hintFor(ev.target, ev.target._govSpec); }
  });
  root.addEventListener('focusout', function (ev) {
    // On leaving an amount, show it with separators (450000 → 450,000.00): what is read is what is seen.
    var input = ev.target, spec = input._govSpec;
    if (!spec || !spec.money || input.readOnly) { return; }
    var read = GovMoney.parse(input.value, spec);
    if (read.error || read.value === null) { return; }
    var shown = GovMoney.format(read.value, 2);
    if (shown !== input.value) {
      input.value = shown;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }
  });

  // -- mount ------------------------------------------------------------------------------
  function mount() {
    if (!schemaNode) { return Promise.resolve(); }
    schema = JSON.parse(schemaNode.textContent);
    NUMBERS = GovMoney.prepare(schema);
    var data = walkNumbers(JSON.parse(document.getElementById('form-data').textContent || '{}'), toDisplay);
    GovFiles.keep(schema, data);  // files uploaded before (an edit task) are listed beside the picker
    // debounce: false — every keystroke is in the form's data at once, so a quick click on 提交 right after
    // typing submits what is on screen (form-js otherwise applies input 300 ms later).
    form = new FormViewer.Form({ container: root, properties: { readOnly: readOnly }, debounce: false });
    var validator = form.get('validator');
    var validateFieldInstance = validator.validateFieldInstance.bind(validator);
    var registry = form.get('formFieldRegistry');
    validator.validateFieldInstance = function (instance, value) {
      var errors = validateFieldInstance(instance, value).map(translate);
      var field = registry.get(instance.id);
      var spec = field && field.type === 'textfield' ? NUMBERS[field.key] : null;
      var read = spec ? GovMoney.parse(value, spec) : {};
      return read.error ? errors.concat([read.error]) : errors;
    };
    new MutationObserver(function (records) {
      var added = false;
      records.forEach(function (r) {
        if (r.type === 'characterData' && r.target.parentNode) { localize(r.target.parentNode); }  // 1 → 2 files
        r.addedNodes.forEach(function (n) {
          if (n.nodeType === 1 && n.className !== 'money-hint') { added = true; localize(n); } else if (n.nodeType === 3 && n.parentNode) { localize(n.parentNode); }
        });
      });
      schedulePickers();
      if (added) { decorateNumbers(); }
    }).observe(root, { childList: true, subtree: true, characterData: true });
    // A picker opened before the timer ran (a fast click) is put into Chinese as it gets focus.
    root.addEventListener('focusin', function () { localizePickers(root); });
    return form.importSchema(schema, data).then(function () {
      localize(root);
      localizePickers(root);
      decorateNumbers();
      GovFiles.decorate(root, form, readOnly);
      root.setAttribute('data-ready', 'true');
      form.on('changed', function () { /* keep the banner until the next submit */ });
    }).catch(function (err) {
      showBanner('表单加载失败：' + (err && err.message ? err.message : err));
    });
  }

  // -- files chosen in file pickers → /api/attachments ----------------------------------------
  // form-js keeps picked files aside (submit().files, keyed by the "files::…" reference it puts in the data);
  // each is uploaded to the attachment store and the field's value becomes the list of attachment ids that
  // the handlers resolve (Attachment.resolve). On a task the files belong to its process instance; on a start
  // form to the record the procedure acts on. A file uploaded once is not uploaded again on a resubmit.
  var uploaded = new WeakMap();
  // A start form about no record yet (执行情况公告) files its uploads under the unit it is started for.
  var RECORD_KEYS = [['contract_id', 'contract'], ['project_id', 'project'], ['plan_id', 'plan'],
                     ['tender_id', 'tender']];
  function attachTarget(data) {
    var instanceId = root.getAttribute('data-instance-id');
    if (instanceId) { return { instance_id: instanceId }; }
    for (var i = 0; i < RECORD_KEYS.length; i++) {
      if (data[RECORD_KEYS[i][0]]) { return { record_type: RECORD_KEYS[i][1], record_id: data[RECORD_KEYS[i][0]] }; }
    }
    var unit = document.getElementById('unit-select');
    var unitId = unit ? unit.value : root.getAttribute('data-unit-id');
    return unitId ? { unit_id: unitId } : null;
  }
  function uploadOne(file, target) {
    if (uploaded.has(file)) { return Promise.resolve(uploaded.get(file)); }
    var body = new FormData();
    body.append('file', file, file.name);
    Object.keys(target).forEach(function (k) { body.append(k, target[k]); });
    return fetch('/api/attachments', {
      method: 'POST', credentials: 'same-origin', body: body,
      headers: { 'Accept': 'application/json', 'X-CSRF-Token': csrf, 'X-Requested-With': 'fetch' }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (response.status !== 201) {
          var reason = json.errors && json.errors.file ? asList(json.errors.file).join('；') : json.message;
          throw new Error('“' + file.name + '”上传失败：' + (reason || response.status));
        }
        uploaded.set(file, json.id);
        return json.id;
      });
    });
  }
  function uploadFiles(data, files) {
    var keys = Object.keys(data).filter(function (k) {
      return typeof data[k] === 'string' && data[k].indexOf('files::') === 0;
    });
    if (!keys.length) { return Promise.resolve(data); }
    var target = attachTarget(data);
    var chain = Promise.resolve();
    keys.forEach(function (key) {
      var picked = (files && files.get(data[key])) || [];
      var ids = [];
      picked.forEach(function (file) {
        chain = chain.then(function () {
          if (!target) { throw new Error('请先选择附件所属的合同或项目，再上传附件'); }
          return uploadOne(file, target).then(function (id) { ids.push(id); });
        }).catch(function (err) { err.field = err.field || key; throw err; });
      });
      chain = chain.then(function () { data[key] = ids; });
    });
    return chain.then(function () { return data; });
  }

  // -- submit -----------------------------------------------------------------------------
  function extraPayload() {
    var unit = document.getElementById('unit-select');
    return unit ? { unit_id: unit.value } : {};
  }

  function submit() {
    if (submitButton.disabled) { return; }
    hideBanner();
    var result = { data: {}, files: null };
    if (form) {
      result = form.submit();
      if (Object.keys(result.errors || {}).length) {
        requestAnimationFrame(function () { showBanner('请检查标红的字段后再提交。', fieldMessages()); });
        return;
      }
    }
    var ending = endingChoice(result.data);
    if (!ending) { proceed(result); return; }
    var reasonEmpty = ending.reasonKey && !String(result.data[ending.reasonKey] || '').trim();
    window.govConfirm({
      title: '确认' + ending.label,
      message: '您选择了“' + ending.label + '”。提交后不可撤销' + (ending.reasonKey ? '，原因将记入办理记录' : '') + '。确定提交吗？',
      confirmLabel: '确认' + ending.label, reasonLabel: reasonEmpty ? ending.reasonLabel : null
    }).then(function (answer) {
      if (!answer) { return; }
      if (reasonEmpty) { result.data[ending.reasonKey] = answer.reason; }
      proceed(result);
    });
  }

  // -- irreversible choices (删除, 取消, 撤销, 终止, 放弃 …) ask first --------------------------------
  // The reason a choice that ends something needs (取消原因 of 取消采购) is the form's one reason field; the server
  // refuses the choice without it (app/engine/forms.py, same rule), the dialog asks for it first.
  var DESTRUCTIVE = /^(delete|cancel|abandon|revoke|terminate|cancel_aggregation|withdraw)$/;
  var ENDING = /^(cancel|terminate|revoke)$/;
  function topFields() {
    var out = [];
    (function walk(components) {
      (components || []).forEach(function (c) {
        out.push(c);
        if (c.type === 'group' && !c.path) { walk(c.components); }
      });
    })(schema ? schema.components : []);
    return out;
  }
  function endingChoice(data) {
    var all = topFields();
    var reasons = all.filter(function (c) {
      return (c.type === 'textarea' || c.type === 'textfield') && c.key && (c.key === 'reason' || /_reason$/.test(c.key));
    });
    for (var i = 0; i < all.length; i++) {
      var c = all[i];
      if ((c.type !== 'radio' && c.type !== 'select') || !Array.isArray(c.values)) { continue; }
      var chosen = data[c.key];
      var option = c.values.find(function (o) { return o.value === chosen; });
      if (!option || !DESTRUCTIVE.test(String(chosen))) { continue; }
      var needs = ENDING.test(String(chosen)) && reasons.length === 1;
      return { label: option.label || chosen, reasonKey: needs ? reasons[0].key : null,
               reasonLabel: needs ? String(reasons[0].label || '原因').replace(/[（(].*$/, '') : null };
    }
    return null;
  }

  function proceed(result) {
    submitButton.disabled = true;
    submitButton.classList.add('loading');
    var typed = walkNumbers(JSON.parse(JSON.stringify(result.data)), toValue);
    uploadFiles(typed, result.files).then(function (data) {
      return send(Object.assign({ data: GovFiles.merge(data) }, extraPayload()));
    }, function (err) {
      submitButton.disabled = false;
      submitButton.classList.remove('loading');
      var errors = {};
      errors[err.field] = [err.message];
      showBanner('附件上传失败，表单未提交。', showServerErrors(errors));
    });
  }

  function send(payload) {
    return fetch(submitUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf,
                 'X-Requested-With': 'fetch' },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    }).then(function (res) {
      if (res.status >= 200 && res.status < 300 && res.body.redirect) {
        window.location.assign(res.body.redirect);
        return;
      }
      submitButton.disabled = false;
      submitButton.classList.remove('loading');
      if (res.status === 401 && res.body.redirect) {
        showBanner('登录已失效，请重新登录（已填写的内容不会提交）。');
        return;
      }
      var unmatched = res.body.errors && form ? showServerErrors(res.body.errors) : [];
      // form-js renders the field errors on its next frame; list them in the banner once they are there.
      requestAnimationFrame(function () {
        showBanner(res.body.message || ('提交失败（' + res.status + '）'), fieldMessages().concat(unmatched));
      });
    }).catch(function () {
      submitButton.disabled = false;
      submitButton.classList.remove('loading');
      showBanner('网络异常，提交未完成，请稍后重试。已填写的内容仍保留在页面上。');
    });
  }

  // "选用" buttons next to the form fill a field, keeping everything already typed.
  function fill(key, value) {
    if (!form) { return; }
    var field = fieldByKey(key);
    if (!field) { return; }
    var state = form._getState();
    var data = Object.assign({}, state.data);
    var picked = NUMBERS[key] ? toDisplay(value, NUMBERS[key]) : Number(value);
    // A field always hidden (kept for API callers) gives way to a dynamic list holding the same key (资金构成):
    // the value goes into the first row without one, or a new row.
    var hidden = field.conditional && String(field.conditional.hide).replace(/\s/g, '') === '=true';
    var list = hidden ? fields().find(function (f) { return f.type === 'dynamiclist' && descendantByKey(f, key); }) : null;
    if (list) {
      var rows = (data[list.path] || []).map(function (r) { return Object.assign({}, r); });
      var row = rows.find(function (r) { return r[key] === undefined || r[key] === null || r[key] === ''; });
      if (!row) { row = {}; rows.push(row); }
      row[key] = picked;
      data[list.path] = rows;
    } else {
      data[key] = picked;
    }
    hideBanner();
    form.importSchema(schema, data).then(function () { localize(root); });
  }
  document.querySelectorAll('[data-fill]').forEach(function (button) {
    button.addEventListener('click', function () { fill(button.getAttribute('data-fill'), button.getAttribute('data-value')); });
  });

  mount();
  if (submitButton) { submitButton.addEventListener('click', submit); }
  window.govForm = { get form() { return form; } };
})();
