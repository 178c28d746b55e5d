/* 审计 instance page: step through the history on the diagram; each event shows where the tokens stood after it.
 * The diagram and the positions come from the page's <script type="application/json" id="audit-data">. */
(function () {
  'use strict';
  var payload = JSON.parse(document.getElementById('audit-data').textContent);
  var container = document.getElementById('diagram');
  var items = Array.prototype.slice.call(document.querySelectorAll('.step'));
  var viewer = new BpmnJS({ container: container });
  var canvas, registry, marked = [], current = -1;
  function clear() { marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); }); marked = []; }
  function mark(ids, marker) {
    (ids || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, marker); marked.push([id, marker]); } });
  }
  function show(index) {
    if (!canvas || index < 0 || index >= payload.steps.length) { return; }
    current = index;
    var pos = payload.steps[index].position || {};
    var done = {}; (pos.completed || []).forEach(function (id) { done[id] = true; });
    var live = {}; (pos.active || []).forEach(function (id) { live[id] = true; });
    var flows = payload.flows.filter(function (f) { return done[f[1]] && (done[f[2]] || live[f[2]]); })
      .map(function (f) { return f[0]; });
    clear();
    mark(pos.completed, 'completed'); mark(flows, 'taken'); mark(pos.waiting, 'waiting'); mark(pos.active, 'highlight');
    items.forEach(function (li, i) { li.classList.toggle('current', i === index); });
    document.getElementById('step-label').textContent = '（事件 #' + payload.steps[index].seq + ' 之后）';
    container.setAttribute('data-step', String(payload.steps[index].seq));
  }
  items.forEach(function (li, i) { li.addEventListener('click', function (ev) {
    if (ev.target.closest('details')) { return; } show(i); }); });
  document.getElementById('step-prev').addEventListener('click', function () { show(Math.max(0, current - 1)); });
  document.getElementById('step-next').addEventListener('click', function () { show(Math.min(payload.steps.length - 1, current + 1)); });
  viewer.importXML(payload.xml).then(function () {
    canvas = viewer.get('canvas'); registry = viewer.get('elementRegistry');
    show(payload.steps.length - 1);
    var last = (payload.steps[payload.steps.length - 1] || {}).position || {};
    var focus = (last.active || []).map(function (id) { return registry.get(id); }).filter(Boolean)[0];
    if (window.DiagramView) { window.DiagramView.open(viewer, focus); window.DiagramView.controls(container, viewer, focus); }
    else { canvas.zoom('fit-viewport', 'auto'); }
    container.setAttribute('data-ready', 'true');
  }).catch(function (err) { container.textContent = '流程图加载失败：' + (err && err.message ? err.message : err); });
})();
