// The replay page's chart: the ledger's and the replay's equity after each close, on one Lightweight Charts
// chart (static/vendor/lightweight-charts/). A script file, not an inline script: the page's Content-Security-Policy
// allows scripts from this site only. The data is the page's own JSON (#replay-curves), written when the replay is
// done; the chart is drawn when that part arrives (at load, or when the poll brings it in).
(() => {
  const css = getComputedStyle(document.documentElement);
  const colour = (name) => css.getPropertyValue(name).trim();

  // One point a second at most (the library's time scale is in seconds): closes in one second keep the last.
  function points(curve) {
    const bySecond = new Map();
    for (const [time, equity] of curve) bySecond.set(Math.floor(Date.parse(time) / 1000), Number(equity));
    return [...bySecond].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
  }

  function draw() {
    const element = document.querySelector("[data-replay-chart]:not([data-drawn])");
    const source = document.getElementById("replay-curves");
    if (!element || !source || !window.LightweightCharts) return;
    const LC = window.LightweightCharts;
    const curves = JSON.parse(source.textContent);
    const chart = LC.createChart(element, {
      autoSize: true,
      layout: { attributionLogo: false, background: { color: colour("--card") }, textColor: colour("--ink") },
      grid: { vertLines: { color: colour("--line") }, horzLines: { color: colour("--line") } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    const actual = chart.addSeries(LC.LineSeries, { color: colour("--muted"), lineWidth: 2, title: "" });
    const replayed = chart.addSeries(LC.LineSeries, { color: colour("--accent"), lineWidth: 2, title: "" });
    actual.setData(points(curves.actual));
    replayed.setData(points(curves.replay));
    chart.timeScale().fitContent();
    // What was drawn, for the browser tests and for anyone reading the page's markup.
    element.dataset.drawn = "";
    element.dataset.actualPoints = curves.actual.length;
    element.dataset.replayPoints = curves.replay.length;
  }

  draw();
  document.body.addEventListener("htmx:afterSettle", draw);
})();
