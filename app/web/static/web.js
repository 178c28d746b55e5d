/* Every page: a form with data-confirm asks before it is sent (no inline handlers: the CSP allows none). */
(function () {
  'use strict';
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) { ev.preventDefault(); }
  });
})();

/* Phones: the main menu folds into the 菜单 button of the header (web.css hides it below 760 px). */
(function () {
  'use strict';
  var button = document.querySelector('.menu-toggle');
  var menu = document.getElementById('sidenav');
  if (!button || !menu) { return; }
  function set(open) {
    menu.classList.toggle('open', open);
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
  }
  button.addEventListener('click', function () { set(!menu.classList.contains('open')); });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && menu.classList.contains('open')) { set(false); button.focus(); }
  });
})();
