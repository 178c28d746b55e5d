/* File pickers (附件) in Camunda Forms, around form-js's own picker (which knows only files picked in this page):
 * - its description (accepted types, size limit) is shown under it, as for other fields;
 * - files already uploaded (an edit task after 退回: the ids in the field's data, their names in `_files_<key>`
 *   from the server) are listed with download links and a 移除 button and submitted again with any new ones,
 *   so a clerk who resubmits does not have to upload them again; the server still checks every id.
 * Used by forms.js: GovFiles.keep(schema, data) before importSchema, GovFiles.decorate(root, form) after it,
 * GovFiles.merge(data) on submit. */
(function () {
  'use strict';
  var kept = {};      // key → [{id, name, size, url}] still attached
  var required = {};  // key → the picker was required (the server still requires it)

  function pickers(components, out) {
    (components || []).forEach(function (c) {
      if (c.type === 'filepicker' && c.key) { out.push(c); }
      pickers(c.components, out);
    });
    return out;
  }

  function keep(schema, data) {
    pickers(schema.components, []).forEach(function (c) {
      var ids = data[c.key];
      var files = data['_files_' + c.key];
      if (!Array.isArray(ids) || !ids.length) { return; }
      kept[c.key] = Array.isArray(files) ? files.slice() : ids.map(function (id) { return { id: id, name: '附件 ' + id }; });
      delete data[c.key];  // form-js's picker would drop ids it did not pick itself
      if (c.validate && c.validate.required) { required[c.key] = true; c.validate = Object.assign({}, c.validate, { required: false }); }
    });
  }

  function holderOf(root, field) {
    var input = root.querySelector('input[type=file][id$="-' + field.id + '"]');
    return input ? input.closest('.fjs-form-field') : null;
  }

  function renderKept(holder, key, readOnly) {
    var list = holder.querySelector('.kept-files');
    if (!list) {
      list = document.createElement('ul');
      list.className = 'file-list kept-files';
      list.setAttribute('aria-label', '已上传的附件');
      var container = holder.querySelector('.fjs-filepicker-container');
      holder.insertBefore(list, container ? container.nextSibling : null);
    }
    list.textContent = '';
    (kept[key] || []).forEach(function (file, i) {
      var li = document.createElement('li');
      var link = document.createElement(file.url ? 'a' : 'span');
      if (file.url) { link.href = file.url; link.setAttribute('download', ''); }
      link.textContent = file.name;
      li.appendChild(link);
      if (file.size) {
        var size = document.createElement('span');
        size.className = 'muted small';
        size.textContent = ' ' + file.size;
        li.appendChild(size);
      }
      if (!readOnly) {
        var remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'btn btn-sm';
        remove.textContent = '移除';
        remove.setAttribute('aria-label', '移除附件 ' + file.name);
        remove.addEventListener('click', function () { kept[key].splice(i, 1); renderKept(holder, key, readOnly); });
        li.appendChild(document.createTextNode(' '));
        li.appendChild(remove);
      }
      list.appendChild(li);
    });
  }

  function decorate(root, form, readOnly) {
    form.get('formFieldRegistry').getAll().forEach(function (field) {
      if (field.type !== 'filepicker') { return; }
      var holder = holderOf(root, field);
      if (!holder) { return; }
      if (field.description && !holder.querySelector('.fjs-form-field-description')) {
        var note = document.createElement('div');
        note.className = 'fjs-form-field-description';
        note.id = holder.querySelector('input[type=file]').id + '-description';
        note.textContent = field.description;
        holder.appendChild(note);
        holder.querySelector('input[type=file]').setAttribute('aria-describedby', note.id);
      }
      if (kept[field.key]) { renderKept(holder, field.key, readOnly); }
    });
  }

  /* The ids to submit for each picker: those kept, then the new uploads (data[key] after upload). A required
   * picker emptied by 移除 is sent empty, and the server's 此项为必填项 is shown next to it. */
  function merge(data) {
    Object.keys(kept).forEach(function (key) {
      var fresh = Array.isArray(data[key]) ? data[key] : [];
      data[key] = kept[key].map(function (f) { return f.id; }).concat(fresh);
    });
    return data;
  }

  window.GovFiles = { keep: keep, decorate: decorate, merge: merge };
})();
