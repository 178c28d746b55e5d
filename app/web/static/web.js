/* Every page: a form with data-confirm asks before it is sent (no inline handlers: the CSP allows none). */
(function () {
  'use strict';
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) { ev.preventDefault(); }
  });
})();
