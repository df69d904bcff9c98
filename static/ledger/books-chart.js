// /books/'s chart: each book's balance at the end of each day with a close, one line per book on one Lightweight
// Charts chart (static/vendor/lightweight-charts/). A script file, not an inline script: the page's
// Content-Security-Policy allows scripts from this site only. The data is the page's own JSON (#books-curves);
// each line takes its book's colour from the stylesheet (--series-N), as its swatch in the legend and the table.
(() => {
  const css = getComputedStyle(document.documentElement);
  const colour = (name) => css.getPropertyValue(name).trim();

  function draw() {
    const element = document.querySelector("[data-books-chart]:not([data-drawn])");
    const source = document.getElementById("books-curves");
    if (!element || !source || !window.LightweightCharts) return;
    const LC = window.LightweightCharts;
    const curves = JSON.parse(source.textContent);
    const chart = LC.createChart(element, {
      autoSize: true,
      layout: { attributionLogo: false, background: { color: colour("--card") }, textColor: colour("--ink") },
      grid: { vertLines: { color: colour("--line") }, horzLines: { color: colour("--line") } },
    });
    curves.forEach((curve, n) => {
      const line = chart.addSeries(LC.LineSeries, { color: colour(`--series-${n % 10}`), lineWidth: 2, title: "" });
      // Days as "YYYY-MM-DD" (the library's business days), balances as numbers for drawing only.
      line.setData(curve.points.map(([day, balance]) => ({ time: day, value: Number(balance) })));
    });
    chart.timeScale().fitContent();
    // What was drawn, for the browser tests and for anyone reading the page's markup.
    element.dataset.drawn = "";
    element.dataset.series = curves.length;
    element.dataset.points = curves.reduce((sum, curve) => sum + curve.points.length, 0);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
