/* 任务操作 (issue 17): the unread count in the page title; the task page's operations panel and 常用意见.
 * Loaded by _notice_badge.html and _task_ops.html (both with defer; the guard below runs each part once).
 * No inline script or style (CSP). */
(function () {
  "use strict";
  if (window.__taskops) { return; }
  window.__taskops = true;

  var badge = document.querySelector("[data-testid=notice-badge]");
  if (badge) {
    var unread = parseInt(badge.getAttribute("data-unread") || "0", 10);
    if (unread > 0 && document.title.charAt(0) !== "(") {
      document.title = "(" + (unread > 99 ? "99+" : unread) + ") " + document.title;
    }
  }

  var panel = document.querySelector("[data-testid=task-ops]");
  if (!panel) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var result = panel.querySelector("[data-testid=ops-result]");

  function show(message, ok) {
    result.textContent = message;
    result.className = "alert ops-result " + (ok ? "alert-success" : "alert-error");
  }

  panel.querySelectorAll("[data-open]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-open"));
      panel.querySelectorAll(".ops-form.open").forEach(function (f) { if (f !== target) { f.classList.remove("open"); } });
      target.classList.toggle("open");
    });
  });

  function payload(form) {
    var body = {};
    form.querySelectorAll("select, textarea, input").forEach(function (el) {
      if (!el.name || ((el.type === "radio" || el.type === "checkbox") && !el.checked)) { return; }
      var value;
      if (el.getAttribute("data-list") === "true") {
        value = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else if (el.value !== "") {
        value = el.value;
      } else { return; }
      var path = el.name.split("."), target = body;  // "data.approved" → {data: {approved: …}}
      for (var i = 0; i < path.length - 1; i++) { target = target[path[i]] = target[path[i]] || {}; }
      target[path[path.length - 1]] = value;
    });
    if (body.mode === "before") { delete body.data; }
    return body;
  }

  function message(data, status) {
    if (data && data.errors) {
      var parts = [];
      Object.keys(data.errors).forEach(function (k) { parts = parts.concat(data.errors[k]); });
      if (parts.length) { return parts.join("；"); }
    }
    return (data && data.message) || ("操作失败（" + status + "）");
  }

  panel.querySelectorAll("form.ops-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      fetch(form.getAttribute("data-op-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(payload(form))
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          button.disabled = false;
          if (!response.ok) { show(message(data, response.status), false); return; }
          show(form.getAttribute("data-success") || "操作成功", true);
          var done = form.getAttribute("data-done");
          if (done === "leave") { setTimeout(function () { window.location = panel.getAttribute("data-workbench"); }, 800); }
          else if (done === "reload") { setTimeout(function () { window.location.reload(); }, 800); }
          else { form.classList.remove("open"); }
        });
      }).catch(function () { button.disabled = false; show("网络错误，请稍后重试", false); });
    });
  });

  // 常用意见: one click fills the form's comment (a form-js textarea: the native setter plus an input event, which
  // is what form-js listens to, so its own state takes the text too).
  function commentField() {
    var areas = Array.prototype.slice.call(document.querySelectorAll("#form-root textarea"));
    var labelled = areas.filter(function (a) {
      var label = a.id && document.querySelector('label[for="' + a.id + '"]');
      return label && label.textContent.indexOf("意见") >= 0;
    });
    return labelled[0] || areas[0] || panel.querySelector("#op-resolve textarea");
  }
  var save = document.getElementById("save-comment");
  if (save) {
    save.addEventListener("click", function () {
      var field = commentField();
      var text = field ? field.value.trim() : "";
      if (!text) { show("请先填写意见，再存为常用意见", false); return; }
      fetch(save.getAttribute("data-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ text: text })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          show(response.ok ? "已存为常用意见" : message(data, response.status), response.ok);
        });
      }).catch(function () { show("网络错误，请稍后重试", false); });
    });
  }
  panel.querySelectorAll(".comment-chip").forEach(function (chip) {
    chip.addEventListener("click", function () {
      var field = commentField();
      if (!field) { show("当前表单没有意见栏", false); return; }
      var setter = Object.getOwnPropertyDescriptor(window.HTMLTextAreaElement.prototype, "value").set;
      setter.call(field, chip.getAttribute("data-comment"));
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.focus();
    });
  });
  // Every handler is bound: a click before this would submit the bare form (tests wait for it after a reload).
  panel.setAttribute("data-ready", "true");
})();
