// Baoxiao's small client script: no build step, progressive enhancement only.
(function () {
  "use strict";

  // ECharts is a deferred script too: draw once every script has run.
  function onLoaded(fn) {
    if (document.readyState === "complete") fn(); else window.addEventListener("load", fn);
  }

  // A select marked data-autosubmit submits its form (the language switcher).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]")) el.form.submit();
  });

  // Preview a receipt before it is uploaded: images inline, PDFs by name.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-preview]")) return;
    var box = document.getElementById(input.dataset.preview);
    if (!box) return;
    box.textContent = "";
    var file = input.files && input.files[0];
    if (!file) return;
    if (file.type.indexOf("image/") === 0) {
      var img = document.createElement("img");
      img.alt = file.name;
      img.src = URL.createObjectURL(file);
      box.appendChild(img);
    } else {
      box.textContent = file.name;
    }
  });

  // "Select all" for batch approval.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.matches || !el.matches("input[data-select-all]")) return;
    document.querySelectorAll("input[name=" + el.dataset.selectAll + "]").forEach(function (box) {
      box.checked = el.checked;
    });
  });

  // Dashboard charts: each .chart element names its data in a JSON script tag.
  function drawCharts() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      var option = {
        tooltip: { trigger: spec.kind === "pie" ? "item" : "axis" },
        grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
        animation: false
      };
      if (spec.kind === "pie") {
        option.series = [{ type: "pie", radius: ["35%", "70%"], data: spec.labels.map(function (label, i) {
          return { name: label, value: Number(spec.values[i]) };
        }) }];
      } else {
        option.xAxis = { type: "category", data: spec.labels,
          axisLabel: { interval: 0, rotate: spec.labels.length > 4 ? 30 : 0 } };
        option.yAxis = { type: "value", name: spec.unit || "" };
        option.series = [{ type: spec.kind || "bar", data: spec.values.map(Number), name: spec.name }];
      }
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  onLoaded(drawCharts);
})();
