/* The request a reviewer decides (task page, app/web/review.py): the submitted Camunda Form rendered read-only
 * by form-js from the stored values, amounts as 450,000.00 元 with 万元 beside them. */
(function () {
  'use strict';
  var root = document.getElementById('request-root');
  var schemaNode = document.getElementById('request-schema');
  if (!root || !schemaNode || !window.FormViewer) { return; }
  var schema = JSON.parse(schemaNode.textContent);
  var numbers = GovMoney.prepare(schema);
  var data = GovMoney.walk(JSON.parse(document.getElementById('request-data').textContent || '{}'), numbers,
                           GovMoney.display);
  var form = new FormViewer.Form({ container: root, properties: { readOnly: true } });
  form.importSchema(schema, data).then(function () {
    // 万元 beside large amounts: one line under each read-only amount field.
    form.get('formFieldRegistry').getAll().forEach(function (field) {
      var spec = numbers[field.key];
      if (!spec || !spec.money) { return; }
      root.querySelectorAll('input[id$="-' + field.id + '"], input[id*="-' + field.id + '_"]').forEach(function (input) {
        var read = GovMoney.parse(input.value, spec);
        var wan = read.value ? GovMoney.wan(read.value) : '';
        if (!wan) { return; }
        var hint = document.createElement('div');
        hint.className = 'money-hint';
        hint.textContent = '＝ ' + wan;
        input.closest('.fjs-form-field').appendChild(hint);
      });
    });
    root.setAttribute('data-ready', 'true');
  }).catch(function (err) {
    root.textContent = '申请内容加载失败：' + (err && err.message ? err.message : err);
  });
})();
