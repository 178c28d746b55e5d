/* 批量审批 page: select tasks of one form, one comment, POST /api/tasks/batch-complete, list each task's outcome. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  document.querySelectorAll("form.batch-form").forEach(function (form) {
    var result = form.querySelector("[data-testid=batch-result]");
    var list = form.querySelector("[data-testid=batch-outcomes]");
    var comment = form.querySelector("textarea[name=comment]");
    form.querySelector(".batch-all").addEventListener("change", function (event) {
      form.querySelectorAll("input[name=task]").forEach(function (box) { box.checked = event.target.checked; });
    });
    form.querySelectorAll(".comment-chip").forEach(function (chip) {
      chip.addEventListener("click", function () { comment.value = chip.getAttribute("data-comment"); comment.focus(); });
    });
    function show(text, ok) {
      result.textContent = text;
      result.className = "alert " + (ok ? "alert-success" : "alert-error");
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var ids = Array.prototype.map.call(form.querySelectorAll("input[name=task]:checked"), function (b) { return b.value; });
      if (!ids.length) { show("请至少勾选一个任务", false); return; }
      var button = form.querySelector("[data-testid=batch-approve]");
      button.disabled = true;
      fetch(form.getAttribute("data-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ task_ids: ids, data: { approved: "true", comment: comment.value } })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          button.disabled = false;
          if (!response.ok) { show(data.message || ("批量审批失败（" + response.status + "）"), false); return; }
          show("已办理 " + data.succeeded + " 项，未通过 " + data.failed + " 项", data.failed === 0);
          list.textContent = "";
          data.outcomes.forEach(function (o) {
            var item = document.createElement("li");
            item.className = o.ok ? "text-green" : "text-red";
            item.setAttribute("data-testid", "batch-outcome");
            item.textContent = (o.name || o.task_id) + (o.instance_id ? " #" + o.instance_id : "") + "：" + o.message;
            list.appendChild(item);
            if (o.ok) {
              var box = form.querySelector('input[name=task][value="' + o.task_id + '"]');
              if (box) { box.checked = false; box.disabled = true; }
            }
          });
        });
      }).catch(function () { button.disabled = false; show("网络错误，请稍后重试", false); });
    });
  });
})();
