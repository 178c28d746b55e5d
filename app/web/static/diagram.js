/* The instance's BPMN diagrams (bpmn-js NavigatedViewer) with progress marked: completed elements, taken
 * sequence flows, active tasks (marker "highlight"), listening boundary events. One viewer per element with
 * data-source (the id of its JSON: {xml, marks}): the instance's own diagram and those of the processes its
 * call activities ran. A diagram inside a closed <details> is drawn when it is opened (it needs a size). */
(function () {
  'use strict';
  function draw(container) {
    if (container.getAttribute('data-drawn')) { return; }
    container.setAttribute('data-drawn', 'true');
    var payload = JSON.parse(document.getElementById(container.getAttribute('data-source')).textContent);
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
  }
  document.querySelectorAll('.diagram[data-source]').forEach(function (container) {
    var details = container.closest('details');
    if (!details || details.open) { draw(container); return; }
    details.addEventListener('toggle', function () { if (details.open) { draw(container); } });
  });
})();
