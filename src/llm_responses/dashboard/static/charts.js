// Draws every chart a page declares as data: <div data-chart="LineChart" data-series='[...]'
// data-options='{...}'>. No inline script, so the Content-Security-Policy allows script from here only.
document.querySelectorAll("[data-chart]").forEach(function (element) {
  var series = JSON.parse(element.dataset.series || "[]");
  var options = JSON.parse(element.dataset.options || "{}");
  new Chartkick[element.dataset.chart](element, series, options);
});
