/* 任务操作 (issue 17): the unread count in the page title; the task page's operations panel. No inline script (CSP). */
(function () {
  "use strict";
  var badge = document.querySelector("[data-testid=notice-badge]");
  if (badge) {
    var unread = parseInt(badge.getAttribute("data-unread") || "0", 10);
    if (unread > 0 && document.title.indexOf("(") !== 0) {
      document.title = "(" + (unread > 99 ? "99+" : unread) + ") " + document.title;
    }
  }
})();
