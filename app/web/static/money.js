/* Numbers as people type them, read exactly as app/models/amounts.py reads them on the server:
 * `450,000`, `450000`, `４５０，０００`, `45万`, `¥450,000.00 元` are 450000; `450,00`, `45o000`, `450 000` are
 * refused with the reason. Never a different number: values stay decimal strings, 万 moves the point.
 * GovMoney.parse(text, {money, integer, digits}) → {value: "450000.00"} or {error: "中文原因"};
 * GovMoney.format("450000") → "450,000.00"; GovMoney.wan("450000") → "45 万元" (blank below 1 万). */
(function () {
  'use strict';

  var NUMBER = /^[+-]?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]+)?$/;
  var SCALES = [['万元', 4], ['亿元', 8], ['万', 4], ['亿', 8], ['元', 0]];
  var MONEY_MAX = '9999999999999.99';

  function ascii(text) {  // NFKC for the characters a Chinese IME produces in numbers
    return String(text).normalize('NFKC').replace(/\u3000/g, ' ').trim();
  }

  /* "45.6" shifted 4 places → "456000"; keeps every digit. */
  function shift(text, places) {
    var sign = text.charAt(0) === '-' ? '-' : '';
    text = text.replace(/^[+-]/, '');
    var parts = text.split('.');
    var whole = parts[0], frac = parts[1] || '';
    while (frac.length < places) { frac += '0'; }
    whole += frac.slice(0, places);
    frac = frac.slice(places);
    whole = whole.replace(/^0+(?=\d)/, '');
    return sign + whole + (frac ? '.' + frac : '');
  }

  function compare(a, b) {  // two non-negative decimal strings
    var pa = a.split('.'), pb = b.split('.');
    var wa = pa[0].replace(/^0+(?=\d)/, ''), wb = pb[0].replace(/^0+(?=\d)/, '');
    if (wa.length !== wb.length) { return wa.length < wb.length ? -1 : 1; }
    if (wa !== wb) { return wa < wb ? -1 : 1; }
    var fa = (pa[1] || ''), fb = (pb[1] || '');
    while (fa.length < fb.length) { fa += '0'; }
    while (fb.length < fa.length) { fb += '0'; }
    return fa === fb ? 0 : (fa < fb ? -1 : 1);
  }

  function parse(input, opts) {
    opts = opts || {};
    if (input === null || input === undefined) { return { value: null }; }
    var text = ascii(input);
    if (text === '') { return { value: null }; }
    var places = 0;
    if (opts.money) {
      text = text.replace(/^¥/, '').trim();
      for (var i = 0; i < SCALES.length; i++) {
        var unit = SCALES[i][0];
        if (text.slice(-unit.length) === unit) { text = text.slice(0, -unit.length).trim(); places = SCALES[i][1]; break; }
      }
    }
    if (/[0-9,.]\s+[0-9,.]/.test(text)) { return { error: '数字中间不能有空格' }; }
    if (!NUMBER.test(text)) {
      if (text.indexOf(',') >= 0 && /^[+-]?[0-9,.]+$/.test(text)) {
        return { error: '千分位逗号位置不正确（应每三位一个，如 450,000）' };
      }
      return { error: opts.money ? '请输入金额数字，如 450000、450,000 或 45万' : '请输入数字' };
    }
    var value = shift(text.replace(/,/g, '').replace(/^\+/, ''), places);
    var fraction = (value.split('.')[1] || '').replace(/0+$/, '');
    value = value.split('.')[0] + (fraction ? '.' + fraction : '');
    var digits = opts.money && opts.digits === undefined ? 2 : opts.digits;
    if (opts.integer && fraction) { return { error: '请输入整数' }; }
    if (digits !== undefined && digits !== null && fraction.length > digits) {
      return { error: digits === 0 ? '请输入整数' : '最多保留 ' + digits + ' 位小数' };
    }
    var magnitude = value.replace(/^-/, '');
    if (opts.money && compare(magnitude, MONEY_MAX) > 0) { return { error: '金额应不超过 9999999999999.99 元' }; }
    if (opts.money && value.charAt(0) === '-' && !opts.signed) { return { error: '金额必须为非负数' }; }
    if (opts.min !== undefined && opts.min !== null && Number(value) < Number(opts.min)) { return { error: '应不小于 ' + opts.min }; }
    if (opts.max !== undefined && opts.max !== null && Number(value) > Number(opts.max)) { return { error: '应不大于 ' + opts.max }; }
    return { value: value };
  }

  function group(whole) { return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ','); }

  /* "450000" or 450000 → "450,000.00" (money) — the one display format, with "元" added by the caller. */
  function format(value, places) {
    if (value === null || value === undefined || value === '') { return ''; }
    var text = String(value);
    if (!/^-?\d+(\.\d+)?$/.test(text)) {
      var n = Number(text);
      if (!isFinite(n)) { return text; }
      text = String(n);
    }
    places = places === undefined ? 2 : places;
    var sign = text.charAt(0) === '-' ? '-' : '';
    var parts = text.replace(/^-/, '').split('.');
    var frac = parts[1] || '';
    if (places !== null) { while (frac.length < places) { frac += '0'; } }
    return sign + group(parts[0]) + (frac ? '.' + frac : '');
  }

  /* 万元 for large amounts people read: "450000" → "45 万元", "1234567.8" → "123.45678 万元" (exact). */
  function wan(value) {
    if (value === null || value === undefined || value === '') { return ''; }
    var text = String(value).replace(/^-/, '');
    if (compare(text, '10000') < 0) { return ''; }
    var parts = text.split('.');
    var whole = parts[0], frac = parts[1] || '';
    var w = whole.slice(0, whole.length - 4), f = (whole.slice(-4) + frac).replace(/0+$/, '');
    return (String(value).charAt(0) === '-' ? '-' : '') + group(w) + (f ? '.' + f : '') + ' 万元';
  }

  // -- Camunda Forms: number fields become text fields read by parse() (forms.js, request.js) ----------------
  function moneyKey(key) { return /(amount|price)$/.test(key || ''); }
  function convertNumbers(components, NUMBERS) {
    (components || []).forEach(function (c) {
      if (c.type === 'number' && c.key) {
        var v = c.validate || {};
        var money = moneyKey(c.key);
        NUMBERS[c.key] = { money: money, digits: c.decimalDigits,
                           integer: c.decimalDigits === 0 || /(^year$|^count$|_id$|_count$|_days$)/.test(c.key),
                           min: v.min, max: v.max };
        c.type = 'textfield';
        c.validate = { required: v.required };
        c.appearance = c.appearance || {};
        if (money && !c.appearance.suffixAdorner && !/元/.test(c.label || '')) { c.appearance.suffixAdorner = '元'; }
        delete c.decimalDigits; delete c.increment; delete c.serializeToString;
      }
      convertNumbers(c.components, NUMBERS);
    });
  }
  function walk(data, NUMBERS, convert) {
    if (Array.isArray(data)) { data.forEach(function (row) { walk(row, NUMBERS, convert); }); return data; }
    if (!data || typeof data !== 'object') { return data; }
    Object.keys(data).forEach(function (key) {
      if (NUMBERS[key] && (typeof data[key] !== 'object' || data[key] === null)) {
        data[key] = convert(data[key], NUMBERS[key]);
      } else {
        walk(data[key], NUMBERS, convert);
      }
    });
    return data;
  }
  function toDisplay(value, spec) {  // stored number → the text shown in the field
    if (value === null || value === undefined || value === '') { return ''; }
    return spec.money ? format(value, 2) : String(value);
  }
  /* Converts the schema's number fields in place; returns {key: {money, integer, digits, min, max}}. */
  function prepare(schema) { var found = {}; convertNumbers((schema || {}).components, found); return found; }

  window.GovMoney = { parse: parse, format: format, wan: wan, prepare: prepare, walk: walk, display: toDisplay };
})();
