// Usage charts (licensing/_usage_chart.html; load after chart.umd.js): draw each
// <canvas data-usage-chart="<json_script id>">: per product, licenses in use (solid) and purchased
// (dashed), one colour per product.
(function () {
  'use strict';
  const colours = ['#0a58ca', '#d63384', '#198754', '#fd7e14', '#6f42c1', '#0dcaf0'];
  document.querySelectorAll('canvas[data-usage-chart]').forEach(function (canvas) {
    const data = JSON.parse(document.getElementById(canvas.dataset.usageChart).textContent);
    const datasets = [];
    data.products.forEach(function (p, i) {
      const colour = colours[i % colours.length];
      datasets.push({label: p.sku + ' in use', data: p.in_use, borderColor: colour, backgroundColor: colour,
                     borderWidth: 2, pointRadius: data.labels.length > 1 ? 2 : 4, tension: 0.2});
      datasets.push({label: p.sku + ' purchased', data: p.purchased, borderColor: colour, backgroundColor: 'transparent',
                     borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointStyle: 'line', tension: 0});
    });
    new Chart(canvas, {
      type: 'line',
      data: {labels: data.labels, datasets: datasets},
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: {mode: 'index', intersect: false},
        scales: {y: {beginAtZero: true, ticks: {precision: 0}, title: {display: true, text: 'Licenses'}}},
        plugins: {legend: {position: 'bottom', labels: {boxWidth: 18, usePointStyle: false}}}
      }
    });
  });
})();
