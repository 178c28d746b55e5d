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
      // Fit the whole drawing, but never below a scale where labels stay readable (≥ 11 px text): a large
      // diagram then opens at that scale on the current step, and is panned by dragging or zoomed below.
      var fitted = canvas.zoom('fit-viewport', 'auto');
      var readable = window.innerWidth < 760 ? 0.6 : 0.85;
      if (fitted < readable) {
        canvas.zoom(readable);
        var current = (payload.marks.active || []).map(function (id) { return registry.get(id); }).filter(Boolean)[0];
        if (current) { canvas.scrollToElement(current); }
      }
      controls(container, canvas);
      container.setAttribute('data-ready', 'true');
    }).catch(function (err) {
      container.textContent = '流程图加载失败：' + (err && err.message ? err.message : err);
    });
  }
  function controls(container, canvas) {
    var bar = document.createElement('div');
    bar.className = 'diagram-controls';
    bar.setAttribute('role', 'group');
    bar.setAttribute('aria-label', '流程图缩放');
    [['放大', function () { canvas.zoom(canvas.zoom() * 1.25); }],
     ['缩小', function () { canvas.zoom(canvas.zoom() / 1.25); }],
     ['适应窗口', function () { canvas.zoom('fit-viewport', 'auto'); }]].forEach(function (item) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn btn-sm';
      button.textContent = item[0];
      button.addEventListener('click', item[1]);
      bar.appendChild(button);
    });
    container.parentNode.insertBefore(bar, container);
  }

  document.querySelectorAll('.diagram[data-source]').forEach(function (container) {
    var details = container.closest('details');
    if (!details || details.open) { draw(container); return; }
    details.addEventListener('toggle', function () { if (details.open) { draw(container); } });
  });
})();
