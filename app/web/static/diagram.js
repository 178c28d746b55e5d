/* The instance's BPMN diagrams (bpmn-js NavigatedViewer) with progress marked: completed elements, taken
 * sequence flows, active tasks (marker "highlight"), listening boundary events. One viewer per element with
 * data-source (the id of its JSON: {xml, marks}): the instance's own diagram and those of the processes its
 * call activities ran. A diagram inside a closed <details> is drawn when it is opened (it needs a size).
 * It opens fitted; a diagram too wide to read fitted opens at READABLE zoom on the active step instead.
 * Zoom controls (放大 / 缩小 / 适应窗口 / 100%) sit over each diagram; the wheel and dragging pan and zoom. */
(function () {
  'use strict';
  var READABLE = 0.6;  // below this zoom the 11–12 px labels are too small to read

  function open(viewer, focus) {
    var canvas = viewer.get('canvas');
    canvas.zoom('fit-viewport', 'auto');
    if (canvas.zoom() < READABLE) {
      canvas.zoom(READABLE);
      if (focus) { canvas.scrollToElement(focus); }
    }
  }

  function controls(container, viewer, focus) {
    var canvas = viewer.get('canvas');
    var bar = document.createElement('div');
    bar.className = 'diagram-zoom';
    bar.setAttribute('role', 'toolbar');
    bar.setAttribute('aria-label', '流程图缩放');
    [['＋', '放大', function () { canvas.zoom(Math.min(canvas.zoom() * 1.25, 4)); }],
     ['－', '缩小', function () { canvas.zoom(Math.max(canvas.zoom() / 1.25, 0.2)); }],
     ['适应', '适应窗口', function () { canvas.zoom('fit-viewport', 'auto'); }],
     ['100%', '原始大小', function () { canvas.zoom(1); if (focus) { canvas.scrollToElement(focus); } }]
    ].forEach(function (spec) {
      var button = document.createElement('button');
      button.type = 'button';
      button.textContent = spec[0];
      button.title = spec[1];
      button.setAttribute('aria-label', spec[1]);
      button.addEventListener('click', spec[2]);
      bar.appendChild(button);
    });
    container.appendChild(bar);
  }

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
      var first = (payload.marks.active || []).concat(payload.marks.waiting || []).map(function (id) {
        return registry.get(id);
      }).filter(Boolean)[0];
      open(viewer, first);
      controls(container, viewer, first);
      container.setAttribute('data-ready', 'true');
    }).catch(function (err) {
      container.textContent = '流程图加载失败：' + (err && err.message ? err.message : err);
    });
  }
  // the audit page draws its own viewer (audit.js) and opens it the same way
  window.DiagramView = { open: open, controls: controls };

  document.querySelectorAll('.diagram[data-source]').forEach(function (container) {
    var details = container.closest('details');
    if (!details || details.open) { draw(container); return; }
    details.addEventListener('toggle', function () { if (details.open) { draw(container); } });
  });
})();
