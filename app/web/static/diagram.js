/* The instance's BPMN diagram (bpmn-js NavigatedViewer) with its progress marked:
 * completed elements, taken sequence flows, active tasks (marker "highlight"), listening boundary events. */
(function () {
  'use strict';
  var container = document.getElementById('diagram');
  var source = document.getElementById('diagram-data');
  if (!container || !source) { return; }
  var payload = JSON.parse(source.textContent);
  var viewer = new BpmnJS({ container: container });
  viewer.importXML(payload.xml).then(function () {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    function mark(ids, marker) {
      (ids || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, marker); } });
    }
    mark(payload.marks.completed, 'completed');
    mark(payload.marks.flows, 'taken');
    mark(payload.marks.waiting, 'waiting');
    mark(payload.marks.active, 'highlight');
    canvas.zoom('fit-viewport', 'auto');
    container.setAttribute('data-ready', 'true');
  }).catch(function (err) {
    container.textContent = '流程图加载失败：' + (err && err.message ? err.message : err);
  });
})();
